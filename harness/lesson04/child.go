package lesson04

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"udpbook/harness"
)

// How the socket-activation checks work. A service manager binds a socket,
// starts the service with the socket as descriptor 3 and sets LISTEN_FDS
// and LISTEN_PID. The harness does the same with the lesson's test binary
// (the running one, or in the grader's judge, the driver's): it starts it
// again, running only the check at hand (-test.run), with the socket in
// ExtraFiles and childEnv naming the check, and closes its own copies of
// the sockets, as a service manager lets go of them. In that child process
// the check does not grade: it calls the learner's Listeners, prints a
// report line, and answers datagrams on what Listeners returned with the
// echo service. When the parent writes "close" on its standard input, it
// closes those connections and reports again, so that the parent can see
// the ports come free; it exits when its standard input closes. The parent
// grades the reports and the replies, and kills the child when the check
// ends.
//
// The parent cannot know the child's pid before starting it, so it cannot
// set LISTEN_PID itself. A service manager sets it between fork and exec;
// here the child sets it, from ownPIDEnv, before it calls Listeners. Either
// way the learner's code reads the real environment variable.
const (
	childEnv  = "UDPBOOK_LESSON04_CHILD"   // the check the child runs
	ownPIDEnv = "UDPBOOK_LESSON04_OWN_PID" // "1": set LISTEN_PID to the child's own pid first
	reportTag = "udpbook-lesson04-child: "
)

// childBound is how long the parent waits for the child's report. Starting
// a test binary built with -race on a loaded machine takes a while; a
// child that answers passes as soon as it reports.
const childBound = 5 * time.Second

// childOf is the check whose child this process is, or "". It is read
// while this package initializes, before the learner's package does, so
// that setting childEnv in the learner's init makes no child of the main
// run. (The grader goes further: it runs the checks in a judge process
// that runs no learner code at all, and starts the children from there.)
var childOf = os.Getenv(childEnv)

// childProgram is the program the socket-activation checks start as a
// child: the running test binary itself, or, in a judge, the driver's
// (set by Judge).
var childProgram string

// childAware wraps each check so that, in a child process, the check named
// by childEnv does the child's part and the others skip at once.
func childAware(checks []harness.Check[Impl]) []harness.Check[Impl] {
	for i := range checks {
		id, run := checks[i].ID, checks[i].Run
		checks[i].Run = func(c *harness.C, impl Impl) {
			switch childOf {
			case "":
				run(c, impl)
			case id:
				runChild(impl) // never returns
			default:
				c.Skipf("this process is the child of check %q", childOf)
			}
		}
	}
	return checks
}

// report is what the child tells the parent.
type report struct {
	Conns []string          // LocalAddr of each connection Listeners returned, in order
	Err   string            // Listeners' error
	Panic string            // Listeners' panic
	Env   map[string]string // LISTEN_* variables in the environment after Listeners
	FD3   string            // what descriptor 3 is after Listeners

	// Closed is set in the second report, sent once the child has closed
	// every connection Listeners returned; Stuck says which of them still
	// had a read running after Patience.
	Closed bool
	Stuck  []string
}

// runChild is the child's part: call Listeners, report, serve, exit.
func runChild(impl Impl) {
	if os.Getenv(ownPIDEnv) == "1" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	}
	os.Unsetenv(ownPIDEnv)
	var rep report
	var conns []net.PacketConn
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				rep.Panic = fmt.Sprint(r)
			}
		}()
		var err error
		conns, err = impl.Listeners()
		if err != nil {
			rep.Err = err.Error()
		}
	}()
	select {
	case <-done:
	case <-time.After(harness.Patience):
		rep.Panic = fmt.Sprintf("Listeners() did not return within %v", harness.Patience)
		conns = nil
	}
	var served []chan struct{} // one per connection the echo service runs on
	if rep.Panic == "" {
		for _, conn := range conns {
			done := make(chan struct{})
			served = append(served, done)
			if conn == nil || conn.LocalAddr() == nil {
				rep.Conns = append(rep.Conns, "<nil>")
				close(done)
				continue
			}
			rep.Conns = append(rep.Conns, harness.AddrPort(conn.LocalAddr()).String())
			go func() {
				defer close(done)
				serveEcho(conn)
			}()
		}
	}
	// What a program started from here would inherit.
	rep.Env = map[string]string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LISTEN_") {
			k, v, _ := strings.Cut(kv, "=")
			rep.Env[k] = v
		}
	}
	rep.FD3 = describeFD(3)
	tell(rep)
	// Serve until the parent closes our standard input (or dies), with a
	// bound of our own in case it never does. "close" closes the
	// connections first.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	bound := time.After(harness.CheckBound)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				os.Exit(0)
			}
			if line == "close" {
				tell(closeConns(conns, served, rep.Conns))
			}
		case <-bound:
			os.Exit(0)
		}
	}
}

// closeConns closes every connection Listeners returned and waits, with a
// bound, for the echo service on each to stop reading.
func closeConns(conns []net.PacketConn, served []chan struct{}, names []string) report {
	rep := report{Closed: true}
	for _, conn := range conns {
		if conn != nil {
			conn.Close()
		}
	}
	timeout := time.After(harness.Patience)
	for i, done := range served {
		select {
		case <-done:
		case <-timeout:
			rep.Stuck = append(rep.Stuck, names[i])
		}
	}
	return rep
}

// tell writes a report line for the parent.
func tell(rep report) {
	b, _ := json.Marshal(rep)
	os.Stdout.Write([]byte("\n" + reportTag + string(b) + "\n"))
}

// spec says how to start a child.
type spec struct {
	files  []*os.File // descriptors 3, 4, ...
	env    []string   // LISTEN_* variables
	ownPID bool       // the child sets LISTEN_PID to its own pid
}

// child is a running child process.
type child struct {
	pid     int
	reports chan report // up to two reports, none if the child exits first
	stderr  *tail
	stdin   io.WriteCloser
}

// startChild starts the test binary again as the child of check id, and
// kills it when the check ends.
func startChild(c *harness.C, impl Impl, id string, s spec) *child {
	if !unixSockets {
		c.Skipf("socket activation passes Unix descriptors; not supported on %s", runtime.GOOS)
	}
	if impl.test == "" {
		c.Fatalf("harness: the socket-activation checks need the running test's name; " +
			"call lesson04.Run, Grade or GradeOne, not the Suite's methods")
	}
	exe := childProgram
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			c.Fatalf("harness could not find its own executable: %v", err)
		}
	}
	cmd := exec.Command(exe, "-test.run="+runPattern(impl, id), "-test.count=1", "-test.timeout=1m")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LISTEN_") || k == harness.ReportEnv || k == harness.KeyEnv || k == childEnv || k == ownPIDEnv {
			continue // the grader's report file and key are the parent's alone
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, childEnv+"="+id)
	cmd.Env = append(cmd.Env, s.env...)
	if s.ownPID {
		cmd.Env = append(cmd.Env, ownPIDEnv+"=1")
	}
	cmd.ExtraFiles = s.files
	stdin, err := cmd.StdinPipe()
	if err != nil {
		c.Fatalf("harness could not make a pipe: %v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		c.Fatalf("harness could not make a pipe: %v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		c.Fatalf("harness could not make a pipe: %v", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	// The child has its copies; the harness lets go of its own, as a
	// service manager's launcher does, so that only the child holds the
	// sockets now.
	for _, f := range s.files {
		f.Close()
	}
	if err != nil {
		outR.Close()
		errR.Close()
		c.Fatalf("harness could not start a child process: %v", err)
	}
	ch := &child{pid: cmd.Process.Pid, reports: make(chan report, 2), stderr: &tail{}, stdin: stdin}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	readers := make(chan struct{}, 2)
	go func() {
		defer func() { readers <- struct{}{} }()
		io.Copy(ch.stderr, errR)
	}()
	go func() {
		defer func() { readers <- struct{}{} }()
		defer close(ch.reports)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), reportTag); ok {
				var rep report
				if json.Unmarshal([]byte(line), &rep) == nil {
					ch.reports <- rep
					if n++; n == cap(ch.reports) {
						io.Copy(io.Discard, outR)
						return
					}
					continue
				}
			}
			// What the child printed besides, for the failure message.
			ch.stderr.Write([]byte(sc.Text() + "\n"))
		}
	}()
	c.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		for _, wait := range []chan struct{}{exited} {
			select {
			case <-wait:
			case <-time.After(childBound):
			}
		}
		for range 2 {
			select {
			case <-readers:
			case <-time.After(childBound):
			}
		}
		outR.Close()
		errR.Close()
	})
	return ch
}

// report waits for the child's report and fails the check without one.
func (ch *child) report(c *harness.C) report {
	select {
	case rep, ok := <-ch.reports:
		if ok {
			c.Step("the child (pid %d) reports: Listeners() returned %s", ch.pid, rep.summary())
			if rep.Panic != "" {
				c.Fatalf("in the child process, Listeners() panicked: %s", rep.Panic)
			}
			return rep
		}
		c.Fatalf("the child process (pid %d) exited without reporting; it wrote:\n%s", ch.pid, ch.stderr.String())
	case <-time.After(childBound):
		c.Fatalf("the child process (pid %d) did not report within %v; it wrote:\n%s", ch.pid, childBound, ch.stderr.String())
	}
	panic("unreachable")
}

// closeConns asks the child to close every connection Listeners returned,
// and waits for it to say it has.
func (ch *child) closeConns(c *harness.C) {
	c.Step("harness asks the child to close the connection(s) Listeners() returned")
	if _, err := io.WriteString(ch.stdin, "close\n"); err != nil {
		c.Fatalf("harness could not write to the child process (pid %d): %v; it wrote:\n%s", ch.pid, err, ch.stderr.String())
	}
	select {
	case rep, ok := <-ch.reports:
		if !ok || !rep.Closed {
			c.Fatalf("the child process (pid %d) exited without closing its connections; it wrote:\n%s", ch.pid, ch.stderr.String())
		}
		if len(rep.Stuck) > 0 {
			c.Fatalf("in the child, a read on the connection(s) on %v did not return within %v of Close", rep.Stuck, harness.Patience)
		}
	case <-time.After(childBound):
		c.Fatalf("the child process (pid %d) did not close its connections within %v; it wrote:\n%s", ch.pid, childBound, ch.stderr.String())
	}
}

func (r report) summary() string {
	if r.Panic != "" {
		return "nothing: " + r.Panic
	}
	s := fmt.Sprintf("%d connection(s) %v", len(r.Conns), r.Conns)
	if r.Err != "" {
		s += fmt.Sprintf(" and error %q", r.Err)
	}
	return s
}

// runPattern returns the -test.run pattern that runs check id of the
// running test again, and nothing else.
func runPattern(impl Impl, id string) string {
	parts := strings.Split(impl.test, "/")
	if impl.perCheck {
		parts = append(parts, id)
	}
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// tail keeps the last few KiB written to it, for failure messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4<<10 {
		t.buf = t.buf[len(t.buf)-4<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(nothing)"
	}
	return string(t.buf)
}

// passed binds a socket for the child, sends it a datagram before the child
// starts, and returns the socket's file, address and the sending peer.
func passed(c *harness.C, p *harness.Peer, name, early string) (*os.File, netip.AddrPort) {
	u := c.Listen("udp4")
	addr := harness.AddrPort(u.LocalAddr())
	f, err := u.File()
	if err != nil {
		c.Fatalf("harness could not get the socket's file: %v", err)
	}
	u.Close()
	c.Cleanup(func() { f.Close() })
	c.Name(addr, name)
	c.Step("harness binds %v, as a service manager would", addr)
	if early != "" {
		p.Send(addr, []byte(early))
	}
	return f, addr
}

// ---- the checks ----
//
// Every check that starts a child grades the whole of Listeners' contract
// in it, not only the part it is named after: the LISTEN_* variables gone
// whatever they said, the descriptors left alone when they are not for this
// process, and the ports free once the connections are closed when they
// are (Listeners closes each descriptor it adopts).

// fdNames is the LISTEN_FDNAMES every child is started with: Listeners must
// remove it with the other two.
const fdNames = "LISTEN_FDNAMES=udpbook"

func checkNotActivated(c *harness.C, impl Impl) {
	p := c.NewPeer("harness", "udp4")
	f, addr := passed(c, p, "the passed socket", "")
	ch := startChild(c, impl, "not-activated", spec{files: []*os.File{f}, env: []string{"LISTEN_FDS=1", fdNames}})
	c.Step("harness starts a child process (pid %d) with the socket as descriptor 3, LISTEN_FDS=1 and %s, "+
		"and no LISTEN_PID", ch.pid, fdNames)
	rep := ch.report(c)
	if rep.Err != "" {
		c.Fatalf("Listeners() returned error %q in a process that was not socket-activated (no LISTEN_PID); want no connections and no error", rep.Err)
	}
	if len(rep.Conns) > 0 {
		c.Fatalf("Listeners() returned %d connection(s) %v in a process that was not socket-activated (no LISTEN_PID); want none", len(rep.Conns), rep.Conns)
	}
	cleared(c, rep, "LISTEN_FDS=1 and no LISTEN_PID")
	untouched(c, rep, addr)
}

// activate starts a child holding the given sockets, with LISTEN_FDS set to
// their number and LISTEN_PID to the child's pid, and returns its report.
func activate(c *harness.C, impl Impl, id string, files []*os.File) (*child, report) {
	n := strconv.Itoa(len(files))
	ch := startChild(c, impl, id, spec{files: files, env: []string{"LISTEN_FDS=" + n, fdNames}, ownPID: true})
	c.Step("harness starts a child process (pid %d) with the socket(s) as descriptor 3 on, LISTEN_FDS=%s, %s "+
		"and LISTEN_PID=%d (its own pid), and closes its own copies", ch.pid, n, fdNames, ch.pid)
	rep := ch.report(c)
	if rep.Err != "" {
		c.Fatalf("in the socket-activated child, Listeners() returned error: %s", rep.Err)
	}
	return ch, rep
}

// released asks the child to close its connections, then fails the check
// unless every port in addrs can be bound again: once the connections are
// closed, nothing in the child may hold the sockets.
func released(c *harness.C, ch *child, addrs ...netip.AddrPort) {
	ch.closeConns(c)
	for _, addr := range addrs {
		free(c, addr, "with the harness's copy and the child's connection closed",
			"the child still holds a passed descriptor, or another duplicate of the socket: "+
				"Listeners closes each descriptor it adopts, since the connection holds its own duplicate")
	}
}

// free fails the check unless addr, whose socket the harness has passed on
// and closed, can be bound again within Patience.
func free(c *harness.C, addr netip.AddrPort, after, why string) {
	deadline := time.Now().Add(c.Patience())
	for {
		probe, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
		if err == nil {
			probe.Close()
			c.Step("harness bound %v again: the port is free", addr)
			return
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			c.Fatalf("%s, binding %v again still failed after %v: %v\n(%s)", after, addr, c.Patience(), err, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cleared fails the check unless Listeners removed the LISTEN_* variables
// the child was started with.
func cleared(c *harness.C, rep report, started string) {
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if v, ok := rep.Env[k]; ok {
			c.Fatalf("after Listeners(), %s=%s is still in the environment (the child was started with %s): "+
				"a program this one starts would inherit it", k, v, started)
		}
	}
	c.Step("after Listeners(), LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are gone from the child's environment")
}

// untouched fails the check unless descriptor 3 is still the socket on
// addr after Listeners.
func untouched(c *harness.C, rep report, addr netip.AddrPort) {
	if want := "UDP socket " + addr.String(); rep.FD3 != want {
		c.Fatalf("after Listeners(), descriptor 3 is %s; want it untouched (%s): the descriptors are not for this process", rep.FD3, want)
	}
	c.Step("after Listeners(), descriptor 3 is still the UDP socket on %v", addr)
}

func checkActivation(c *harness.C, impl Impl) {
	p := c.NewPeer("harness", "udp4")
	f, addr := passed(c, p, "the passed socket", "early")
	ch, rep := activate(c, impl, "activation", []*os.File{f})
	if want := []string{addr.String()}; !equal(rep.Conns, want) {
		c.Fatalf("Listeners() returned connection(s) on %v; want one, on %v (descriptor 3)", rep.Conns, want)
	}
	c.Step("the child answers on that connection with the echo service")
	p.Expect(addr, []byte("Hello, early!"), "reply to the datagram sent before the child started")
	exchange(c, p, addr, "Michael")
	cleared(c, rep, "LISTEN_FDS=1 and its own LISTEN_PID")
	released(c, ch, addr)
}

func checkActivationClearsEnv(c *harness.C, impl Impl) {
	p := c.NewPeer("harness", "udp4")
	f, addr := passed(c, p, "the passed socket", "")
	ch, rep := activate(c, impl, "activation-clears-env", []*os.File{f})
	cleared(c, rep, "LISTEN_FDS=1 and its own LISTEN_PID")
	if want := []string{addr.String()}; !equal(rep.Conns, want) {
		c.Fatalf("Listeners() returned connection(s) on %v; want one, on %v (descriptor 3)", rep.Conns, want)
	}
	exchange(c, p, addr, "Michael")
	released(c, ch, addr)
}

func checkActivationFDs(c *harness.C, impl Impl) {
	// One client per socket: the two sockets answer concurrently.
	p1, p2 := c.NewPeer("client 1", "udp4"), c.NewPeer("client 2", "udp4")
	f1, a1 := passed(c, p1, "socket 1", "early 1")
	f2, a2 := passed(c, p2, "socket 2", "early 2")
	ch, rep := activate(c, impl, "activation-fds", []*os.File{f1, f2})
	if want := []string{a1.String(), a2.String()}; !equal(rep.Conns, want) {
		c.Fatalf("Listeners() returned connection(s) on %v; want %v (descriptors 3 and 4, in that order)", rep.Conns, want)
	}
	p1.Expect(a1, []byte("Hello, early 1!"), "reply")
	p2.Expect(a2, []byte("Hello, early 2!"), "reply")
	exchange(c, p1, a1, "Michael")
	exchange(c, p2, a2, "Tracy")
	cleared(c, rep, "LISTEN_FDS=2 and its own LISTEN_PID")
	released(c, ch, a1, a2)
}

func checkActivationOtherPID(c *harness.C, impl Impl) {
	p := c.NewPeer("harness", "udp4")
	f, addr := passed(c, p, "the passed socket", "")
	other := os.Getpid() // the parent: a live process, not the child
	ch := startChild(c, impl, "activation-other-pid", spec{
		files: []*os.File{f},
		env:   []string{"LISTEN_FDS=1", "LISTEN_PID=" + strconv.Itoa(other), fdNames},
	})
	c.Step("harness starts a child process (pid %d) with the socket as descriptor 3, LISTEN_FDS=1, %s "+
		"and LISTEN_PID=%d (another process)", ch.pid, fdNames, other)
	rep := ch.report(c)
	if rep.Err != "" {
		c.Fatalf("Listeners() returned error %q; when LISTEN_PID names another process, the descriptors are not "+
			"for this one: return no connections and no error", rep.Err)
	}
	if len(rep.Conns) > 0 {
		c.Fatalf("Listeners() returned %d connection(s) %v although LISTEN_PID=%d names another process (the child is %d); want none",
			len(rep.Conns), rep.Conns, other, ch.pid)
	}
	untouched(c, rep, addr)
	cleared(c, rep, "LISTEN_PID="+strconv.Itoa(other)+", another process's")
}

// descriptorFour matches an error text that names descriptor 4.
var descriptorFour = regexp.MustCompile(`\b4\b`)

func checkActivationBadFD(c *harness.C, impl Impl) {
	p := c.NewPeer("harness", "udp4")
	f, addr := passed(c, p, "socket 1", "")
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		c.Fatalf("harness could not listen on TCP: %v", err)
	}
	tf, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		c.Fatalf("harness could not get the TCP socket's file: %v", err)
	}
	c.Cleanup(func() { tf.Close() })
	c.Step("harness listens on TCP %v, as a unit with ListenStream= would", l.Addr())
	ch := startChild(c, impl, "activation-bad-fd", spec{
		files: []*os.File{f, tf}, env: []string{"LISTEN_FDS=2", fdNames}, ownPID: true})
	c.Step("harness starts a child process (pid %d) with the UDP socket as descriptor 3 and the TCP socket as 4, "+
		"LISTEN_FDS=2, %s and LISTEN_PID=%d (its own pid), and closes its own copies", ch.pid, fdNames, ch.pid)
	rep := ch.report(c)
	if rep.Err == "" {
		c.Fatalf("Listeners() returned connection(s) %v and no error, with descriptor 4 a TCP socket; "+
			"want an error naming descriptor 4", rep.Conns)
	}
	if len(rep.Conns) > 0 {
		c.Fatalf("Listeners() returned error %q and %d connection(s) %v; when one descriptor is not a bound UDP socket, "+
			"want no connections: close the ones made so far", rep.Err, len(rep.Conns), rep.Conns)
	}
	if !descriptorFour.MatchString(rep.Err) {
		c.Fatalf("Listeners() returned error %q, which does not name descriptor 4, the TCP socket", rep.Err)
	}
	cleared(c, rep, "LISTEN_FDS=2 and its own LISTEN_PID")
	free(c, addr, "with the harness's copy closed and Listeners() failed",
		"the child still holds descriptor 3, or the connection made from it: "+
			"when Listeners fails, it closes the connections it made, and it closes each descriptor it adopts")
}

func equal(a, b []string) bool {
	return strings.Join(a, " ") == strings.Join(b, " ") && len(a) == len(b)
}
