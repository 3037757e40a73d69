// Package lesson04 grades lesson 04, adopted socket. The lesson's test file
// and the reference solution's (the same file) call Run.
//
// The socket-activation checks need a process started with the socket as
// descriptor 3: they start the test binary again, running only the same
// check, which in that child process calls the learner's Listeners and
// reports back (see child.go).
package lesson04

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"udpbook/harness"
)

// Options mirrors the lesson's Options. The lesson's test file converts
// between the two: Options(opts).
type Options struct {
	ReusePort  bool
	ReadBuffer int
}

// Impl is the lesson's API: the functions the suite grades, and the
// sentinel errors Adopt's errors must wrap.
type Impl struct {
	Adopt     func(f *os.File) (net.PacketConn, error)
	Listeners func() ([]net.PacketConn, error)
	Listen    func(ctx context.Context, addr string, opts Options) (net.PacketConn, error)

	ErrNotSocket, ErrNotUDP, ErrNotBound error

	// test is the running test's name, which the socket-activation checks
	// run again in a child process; perCheck says whether each check is a
	// subtest of it (Run) or not (Grade, GradeOne).
	test     string
	perCheck bool
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) {
	impl.test, impl.perCheck = t.Name(), true
	Suite.Run(t, impl)
}

// Grade runs every check against impl, as Suite.Grade does, for the
// self-tests. t is the running test: the socket-activation checks start it
// again in a child process.
func Grade(t *testing.T, impl Impl) []harness.Result {
	impl.test = t.Name()
	return Suite.Grade(impl)
}

// GradeOne runs the check with the given ID against impl, as
// Suite.GradeOne does; t is the running test (see Grade).
func GradeOne(t *testing.T, id string, impl Impl) harness.Result {
	impl.test = t.Name()
	return Suite.GradeOne(id, impl)
}

// InTest returns impl for grading with Suite.Grade or Suite.GradeOne from
// within the test (or subtest) named test, such as "TestSelf/reference":
// the socket-activation checks run that test again in their child process.
// The self-test kit grades without a testing.T, so the self-tests name the
// subtest each implementation is graded in.
func (impl Impl) InTest(test string) Impl {
	impl.test, impl.perCheck = test, false
	return impl
}

// Suite is lesson 04's list of checks.
var Suite = harness.Suite[Impl]{Checks: childAware([]harness.Check[Impl]{
	{
		ID: "adopt", Points: 3,
		Title: "Adopt turns a UDP socket made with raw system calls into a net.PacketConn with the same address, and the echo service works on it",
		Hint: "net.FilePacketConn(f) makes a net.PacketConn from an *os.File holding a socket. " +
			"Return that connection, not a new socket: its LocalAddr must be the address the socket was bound to.",
		Run: checkAdopt,
	},
	{
		ID: "close-original", Points: 2,
		Title: "the caller closes its file right after Adopt and the connection keeps working; once both are closed, the port is free",
		Hint: "net.FilePacketConn duplicates the descriptor, so do not close f in Adopt: it is the caller's. " +
			"Do not make other duplicates (a second FilePacketConn, unix.Dup) that you never close: they keep the port bound.",
		Run: checkCloseOriginal,
	},
	{
		ID: "read-deadline", Points: 2,
		Title: "read deadlines work on the adopted connection",
		Hint: "Do not call f.Fd() once you have the connection: Fd puts a descriptor Go made non-blocking back in blocking mode, " +
			"the duplicate shares that mode, and a blocking read ignores deadlines. Use f.SyscallConn() and Control to look at the socket.",
		Run: checkReadDeadline,
	},
	{
		ID: "not-a-socket", Points: 2,
		Title: "Adopt refuses a pipe and a regular file (ErrNotSocket) and a closed file (os.ErrClosed), without a connection",
		Hint: "f.Stat() fails on a closed file with an error wrapping os.ErrClosed, and its Mode().Type() is fs.ModeSocket only for a socket. " +
			"Wrap the sentinel with %w, and return a nil connection with the error.",
		Run: checkNotASocket,
	},
	{
		ID: "not-udp", Points: 2,
		Title: "Adopt refuses a TCP socket and a Unix datagram socket with ErrNotUDP",
		Hint: "net.FilePacketConn accepts a Unix datagram socket and fails on TCP with a bare \"invalid argument\": check first. " +
			"getsockopt(SO_TYPE) must be SOCK_DGRAM, and getsockname must give an IPv4 or IPv6 address.",
		Run: checkNotUDP,
	},
	{
		ID: "not-bound", Points: 2,
		Title: "Adopt refuses a UDP socket that was never bound, with ErrNotBound",
		Hint: "net.FilePacketConn happily wraps an unbound socket, whose address is 0.0.0.0:0. " +
			"Ask getsockname and refuse port 0 with ErrNotBound.",
		Run: checkNotBound,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "Adopt works on an IPv6 socket bound to [::1]",
		Hint:  "getsockname gives a *unix.SockaddrInet6 for an IPv6 socket: accept it as well as *unix.SockaddrInet4.",
		Run:   checkIPv6,
	},
	{
		ID: "not-activated", Points: 1,
		Title: "in a process started without LISTEN_PID, Listeners returns no connections and no error, and leaves descriptor 3 alone",
		Hint: "A program that was not socket-activated is normal: it binds its own socket. " +
			"When LISTEN_PID is not set, return nil, nil, even if LISTEN_FDS is set, and remove the variables all the same.",
		Run: checkNotActivated,
	},
	{
		ID: "activation", Points: 3,
		Title: "socket activation: with LISTEN_PID = its pid and LISTEN_FDS=1, Listeners adopts descriptor 3, a datagram sent before the process started is answered, and the port is free once the connection is closed",
		Hint: "Compare LISTEN_PID with os.Getpid(), read N from LISTEN_FDS, and adopt descriptors 3 to 3+N-1: " +
			"os.NewFile(uintptr(fd), name), then Adopt, then close the file: the connection holds its own duplicate, " +
			"and a descriptor left open keeps the port bound after the connection is closed.",
		Run: checkActivation,
	},
	{
		ID: "activation-clears-env", Points: 2,
		Title: "Listeners removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment",
		Hint: "os.Unsetenv both (and LISTEN_FDNAMES), whatever they said: otherwise a program your server starts " +
			"inherits them and may take descriptor 3 for its own.",
		Run: checkActivationClearsEnv,
	},
	{
		ID: "activation-fds", Points: 2,
		Title: "with LISTEN_FDS=2, Listeners returns both sockets, descriptor 3 first",
		Hint:  "Loop over every descriptor from 3 to 3+N-1, in order: the service manager passes the sockets in the order it was told.",
		Run:   checkActivationFDs,
	},
	{
		ID: "activation-other-pid", Points: 2,
		Title: "when LISTEN_PID names another process, Listeners returns nothing and leaves descriptor 3 alone",
		Hint:  "The variables were meant for another process (your parent, say). Return nil, nil without touching the descriptors.",
		Run:   checkActivationOtherPID,
	},
	{
		ID: "activation-bad-fd", Points: 2,
		Title: "when a passed descriptor is not a UDP socket, Listeners returns no connections and an error naming it, and lets go of the sockets it adopted",
		Hint: "Adopt the descriptors in turn and close each file once adopted (the connection holds a duplicate). " +
			"When one fails, close the connections made so far and return nil and the error; " +
			"name each file after its descriptor (os.NewFile(uintptr(fd), \"descriptor \"+strconv.Itoa(fd))) and Adopt's error names it.",
		Run: checkActivationBadFD,
	},
	{
		ID: "reuse-port", Points: 2,
		Title: "Listen with ReusePort sets SO_REUSEPORT before bind: two sockets share a port, and only with the option",
		Hint: "In net.ListenConfig.Control, call unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) inside " +
			"c.Control, only when ReusePort is set. SO_REUSEADDR is a different option: on Linux it lets UDP sockets share a port, " +
			"but one of them gets every datagram.",
		Run: checkReusePort,
	},
	{
		ID: "read-buffer", Points: 2,
		Title: "Listen with ReadBuffer sets the receive buffer (SO_RCVBUF, read back with getsockopt)",
		Hint: "Set unix.SO_RCVBUF (not SO_SNDBUF) to ReadBuffer in the Control function when ReadBuffer > 0, " +
			"and return the connection from ListenConfig.ListenPacket itself.",
		Run: checkReadBuffer,
	},
})}

// ---- Adopt ----

func checkAdopt(c *harness.C, impl Impl) {
	f, addr := rawSocket(c, "udp4", true)
	conn := adopt(c, impl, f, "the raw socket")
	checkSame(c, conn, addr)
	echo := startEcho(c, conn)
	p := c.NewPeer("harness", "udp4")
	exchange(c, p, addr, "Michael")
	exchange(c, p, addr, "Tracy")

	// The other order than close-original's: the connection first, and the
	// caller's file is still the caller's.
	c.Step("harness closes the adopted connection, and keeps its own file")
	conn.Close()
	echo.wait(c)
	if held, known := harness.LearnerHolds(f); known && !held {
		c.Fatalf("closing the adopted connection closed the caller's file too: the connection must close only its own " +
			"duplicate, and f stays the caller's to close")
	}
	c.Step("harness closes its file")
	if err := f.Close(); err != nil {
		c.Fatalf("the caller's f.Close() after closing the adopted connection returned %v; want nil", err)
	}
	free(c, addr, "with the adopted connection and the caller's file both closed",
		"some duplicate of the descriptor is still open and holds the port")
}

func checkCloseOriginal(c *harness.C, impl Impl) {
	f, addr := rawSocket(c, "udp4", true)
	conn := adopt(c, impl, f, "the raw socket")
	checkSame(c, conn, addr)
	c.Step("harness closes its file (as the tutorial closes portSocket right after adopting it)")
	if err := f.Close(); err != nil {
		c.Fatalf("the caller's f.Close() after Adopt returned %v; Adopt must leave f open: "+
			"it belongs to the caller, and the connection has its own duplicate", err)
	}
	echo := startEcho(c, conn)
	exchange(c, c.NewPeer("harness", "udp4"), addr, "Michael")

	c.Step("harness closes the adopted connection")
	conn.Close()
	echo.wait(c)
	free(c, addr, "with the file and the adopted connection both closed",
		"some duplicate of the descriptor is still open and holds the port")
}

func checkReadDeadline(c *harness.C, impl Impl) {
	needUnix(c)
	// A socket another Go library made and handed over: File() gives a
	// duplicate that Go itself put in non-blocking mode.
	u := c.Listen("udp4")
	addr := harness.AddrPort(u.LocalAddr())
	f, err := u.File()
	if err != nil {
		c.Fatalf("harness could not get the socket's file: %v", err)
	}
	u.Close()
	c.Cleanup(func() { f.Close() })
	c.Step("harness bound %v with net.ListenUDP and hands over its (*net.UDPConn).File()", addr)
	conn := adopt(c, impl, f, "the socket's file")
	p := c.NewPeer("harness", "udp4")

	const wait = 50 * time.Millisecond
	c.Step("harness sets a read deadline %v away on the adopted connection and reads", wait)
	conn.SetReadDeadline(time.Now().Add(wait))
	done := make(chan error, 1)
	go func() {
		_, _, err := conn.ReadFrom(make([]byte, 64))
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(harness.Patience):
		// Wake the read up, so that nothing is left blocked.
		c.Cleanup(func() {
			p.Conn().WriteToUDPAddrPort([]byte("wake up"), addr)
			select {
			case <-done:
			case <-time.After(harness.Patience):
			}
		})
		c.Fatalf("ReadFrom with a deadline %v away had not returned after %v: the socket is in blocking mode, "+
			"so the read sleeps in the kernel and no deadline can wake it", wait, harness.Patience)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.Fatalf("ReadFrom with a deadline returned %v; want an error wrapping os.ErrDeadlineExceeded", err)
	}
	c.Step("ReadFrom returned %v", err)
	// With no deadline, the connection still reads.
	p.Send(addr, []byte("ping"))
	conn.SetReadDeadline(time.Now().Add(harness.Patience))
	buf := make([]byte, 64)
	n, from, err := conn.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || harness.AddrPort(from) != p.Addr() {
		c.Fatalf("after the deadline passed, ReadFrom returned %q from %v, error %v; want \"ping\" from %v",
			buf[:n], from, err, p.Addr())
	}
}

func checkNotASocket(c *harness.C, impl Impl) {
	needUnix(c)
	checkSentinels(c, impl)
	r, w, err := os.Pipe()
	if err != nil {
		c.Fatalf("harness could not make a pipe: %v", err)
	}
	c.Cleanup(func() { r.Close(); w.Close() })
	refuse(c, impl, r, "the read end of a pipe", impl.ErrNotSocket, "ErrNotSocket")

	tmp, err := os.CreateTemp("", "lesson04-*.txt")
	if err != nil {
		c.Fatalf("harness could not make a file: %v", err)
	}
	c.Cleanup(func() { tmp.Close(); os.Remove(tmp.Name()) })
	tmp.WriteString("not a socket\n")
	refuse(c, impl, tmp, "a regular file", impl.ErrNotSocket, "ErrNotSocket")

	f, _ := rawSocket(c, "udp4", true)
	f.Close()
	c.Step("harness closed that socket's file")
	conn, err := callAdopt(c, impl, f, "the closed file")
	if conn != nil {
		c.Fatalf("Adopt(the closed file) returned a connection (error %v); want no connection and an error", err)
	}
	if err == nil {
		c.Fatalf("Adopt(the closed file) returned no connection and no error; want an error wrapping os.ErrClosed")
	}
	if !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EBADF) {
		c.Fatalf("Adopt(the closed file) returned %q, which wraps neither os.ErrClosed nor syscall.EBADF", err)
	}
	c.Step("Adopt(the closed file) returned %q", err)

	c.Step("harness calls Adopt(nil)")
	conn, err = callAdopt(c, impl, nil, "nil")
	if conn != nil {
		c.Fatalf("Adopt(nil) returned a connection on %v (error %v); want no connection and an error wrapping os.ErrInvalid", conn.LocalAddr(), err)
	}
	if err == nil {
		c.Fatalf("Adopt(nil) returned no connection and no error; want an error wrapping os.ErrInvalid")
	}
	if !errors.Is(err, os.ErrInvalid) {
		c.Fatalf("Adopt(nil) returned %q, which does not wrap os.ErrInvalid", err)
	}
	c.Step("Adopt(nil) returned %q", err)
}

func checkNotUDP(c *harness.C, impl Impl) {
	needUnix(c)
	checkSentinels(c, impl)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		c.Fatalf("harness could not listen on TCP: %v", err)
	}
	c.Cleanup(func() { l.Close() })
	tf, err := l.(*net.TCPListener).File()
	if err != nil {
		c.Fatalf("harness could not get the TCP socket's file: %v", err)
	}
	c.Cleanup(func() { tf.Close() })
	what := "a TCP socket listening on " + l.Addr().String()
	refuse(c, impl, tf, what, impl.ErrNotUDP, "ErrNotUDP")
	dropped(c, tf, what, func() { tf.Close(); l.Close() })

	uf := unixgram(c)
	what = "a Unix datagram socket (one end of a socketpair)"
	refuse(c, impl, uf, what, impl.ErrNotUDP, "ErrNotUDP")
	dropped(c, uf, what, func() { uf.Close() })

	bf, path := boundUnixgram(c)
	what = "a Unix datagram socket bound to " + path
	refuse(c, impl, bf, what, impl.ErrNotUDP, "ErrNotUDP")
	dropped(c, bf, what, func() { bf.Close() })
}

func checkNotBound(c *harness.C, impl Impl) {
	checkSentinels(c, impl)
	f, _ := rawSocket(c, "udp4", false)
	what := "a UDP socket that was never bound"
	refuse(c, impl, f, what, impl.ErrNotBound, "ErrNotBound")
	dropped(c, f, what, func() { f.Close() })
}

func checkIPv6(c *harness.C, impl Impl) {
	f, addr := rawSocket(c, "udp6", true)
	conn := adopt(c, impl, f, "the raw IPv6 socket")
	checkSame(c, conn, addr)
	startEcho(c, conn)
	exchange(c, c.NewPeer("harness", "udp6"), addr, "Michael")
}

// ---- Listen ----

func checkReusePort(c *harness.C, impl Impl) {
	needUnix(c)
	if runtime.GOOS == "solaris" || runtime.GOOS == "illumos" {
		c.Skipf("SO_REUSEPORT is not supported on %s", runtime.GOOS)
	}
	on := Options{ReusePort: true}
	first := listen(c, impl, "127.0.0.1:0", on)
	addr := harness.AddrPort(first.LocalAddr())
	if addr.Port() == 0 || addr.Addr() != harness.Loopback("udp4") {
		c.Fatalf("Listen(\"127.0.0.1:0\", %+v) bound %v, want 127.0.0.1 and a port the kernel chose", on, first.LocalAddr())
	}
	c.Name(addr, "the shared port")
	c.Step("Listen(\"127.0.0.1:0\", %+v) bound %v", on, addr)
	second, err := callListen(c, impl, addr.String(), on)
	if err != nil {
		c.Fatalf("a second Listen(%q, %+v) failed: %v\n(with SO_REUSEPORT set on both sockets before bind, they may share the port)", addr, on, err)
	}
	if got := harness.AddrPort(second.LocalAddr()); got != addr {
		c.Fatalf("the second Listen(%q, %+v) bound %v, want exactly %v", addr, on, got, addr)
	}
	c.Step("a second Listen(%q, %+v) bound the same port", addr, on)
	third, err := callListen(c, impl, addr.String(), Options{})
	if err == nil {
		c.Fatalf("Listen(%q, Options{}) also bound the shared port (%v); without ReusePort it must fail with "+
			"EADDRINUSE: set SO_REUSEPORT only when asked", addr, third.LocalAddr())
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		c.Fatalf("Listen(%q, Options{}) on the shared port returned %q, which does not wrap syscall.EADDRINUSE", addr, err)
	}
	c.Step("Listen(%q, Options{}) failed, as it should: %v", addr, err)
	if runtime.GOOS != "linux" {
		return // other systems do not promise to spread datagrams across the sockets
	}
	spread(c, addr, first, second)
}

// spread sends one datagram from each of many ports to addr and checks that
// both sockets bound there received some: Linux picks the socket by a hash
// of the sender's address. With 32 senders, all landing on one socket by
// chance has a probability of 2^-31.
func spread(c *harness.C, addr netip.AddrPort, a, b net.PacketConn) {
	const senders = 32
	for i := range senders {
		s := c.Listen("udp4")
		if _, err := s.WriteToUDPAddrPort([]byte("n"+strconv.Itoa(i)), addr); err != nil {
			c.Fatalf("harness could not send: %v", err)
		}
	}
	c.Step("harness sent one datagram to %v from each of %d sockets", addr, senders)
	got := make(chan int, 2*senders)
	readers := make(chan struct{}, 2)
	for i, conn := range []net.PacketConn{a, b} {
		go func() {
			defer func() { readers <- struct{}{} }()
			buf := make([]byte, 64)
			conn.SetReadDeadline(time.Now().Add(harness.Patience))
			for {
				if _, _, err := conn.ReadFrom(buf); err != nil {
					return
				}
				got <- i
			}
		}()
	}
	var counts [2]int
	timeout := time.After(harness.Patience)
collect:
	for counts[0]+counts[1] < senders {
		select {
		case i := <-got:
			counts[i]++
		case <-timeout:
			break collect
		}
	}
	a.SetReadDeadline(time.Now())
	b.SetReadDeadline(time.Now())
	<-readers
	<-readers
	c.Step("the first socket received %d, the second %d", counts[0], counts[1])
	if counts[0]+counts[1] < senders {
		c.Fatalf("the two sockets received %d of the %d datagrams within %v", counts[0]+counts[1], senders, harness.Patience)
	}
	if counts[0] == 0 || counts[1] == 0 {
		c.Fatalf("one socket received all %d datagrams from %d different senders: with SO_REUSEPORT, Linux spreads them "+
			"across the sockets. Sockets that share a port through SO_REUSEADDR behave like this", senders, senders)
	}
}

func checkReadBuffer(c *harness.C, impl Impl) {
	needUnix(c)
	plain := c.Listen("udp4")
	def, err := recvBuffer(plain)
	if err != nil {
		c.Fatalf("harness could not read SO_RCVBUF: %v", err)
	}
	c.Step("a socket with no options has a %d-byte receive buffer (getsockopt SO_RCVBUF)", def)
	if got := readBuffer(c, impl, 0); got != def {
		c.Fatalf("with ReadBuffer 0 the receive buffer is %d bytes; want the default, %d: 0 keeps the system's default", got, def)
	}
	negativeBuffer(c, impl)
	limit, limited := rmemMax()
	checked := false

	// A larger buffer, as a busy server asks for. Linux grants at most
	// net.core.rmem_max; what it grants must exceed the default to show.
	const large = 256 << 10
	want := large
	if limited && limit < want {
		want = limit
	}
	if want > def {
		got := readBuffer(c, impl, large)
		if got < want {
			c.Fatalf("with ReadBuffer %d the receive buffer is %d bytes; want at least %d (the default is %d)", large, got, want, def)
		}
		checked = true
	} else {
		c.Step("this system caps receive buffers at %d bytes, not above its default: a larger buffer cannot be seen", limit)
	}
	// A smaller buffer: always below the default, whatever the cap.
	const small = 16 << 10
	if def > 2*small {
		got := readBuffer(c, impl, small)
		if got < small || got >= def {
			c.Fatalf("with ReadBuffer %d the receive buffer is %d bytes; want at least %d and below the default %d", small, got, small, def)
		}
		checked = true
	}
	if !checked {
		c.Skipf("this system's default receive buffer (%d bytes) and cap (%d bytes) leave no size to test", def, limit)
	}
}

// negativeBuffer checks that Listen refuses a negative ReadBuffer, and
// leaves no socket open when it does.
func negativeBuffer(c *harness.C, impl Impl) {
	opts := Options{ReadBuffer: -1}
	before, known := harness.OpenSockets()
	conn, err := callListen(c, impl, "127.0.0.1:0", opts)
	if conn != nil {
		c.Fatalf("Listen(\"127.0.0.1:0\", %+v) returned a connection on %v (error %v); want no connection and an error: "+
			"a negative size is not a buffer size", opts, conn.LocalAddr(), err)
	}
	if err == nil {
		c.Fatalf("Listen(\"127.0.0.1:0\", %+v) returned no connection and no error; want an error", opts)
	}
	c.Step("Listen(\"127.0.0.1:0\", %+v) returned %q", opts, err)
	if !known {
		return
	}
	if left := harness.NewSockets(before, c.Patience()); len(left) > 0 {
		c.Fatalf("Listen(\"127.0.0.1:0\", %+v) failed, but left %d socket(s) open: check the options before binding, "+
			"or close the socket you bound", opts, len(left))
	}
}

// readBuffer calls Listen with ReadBuffer: size and returns the receive
// buffer size the socket has.
func readBuffer(c *harness.C, impl Impl, size int) int {
	opts := Options{ReadBuffer: size}
	conn := listen(c, impl, "127.0.0.1:0", opts)
	got, err := recvBuffer(conn)
	if err != nil {
		c.Fatalf("harness could not read SO_RCVBUF of the connection from Listen (a %T): %v", conn, err)
	}
	c.Step("Listen(\"127.0.0.1:0\", %+v): getsockopt SO_RCVBUF says %d", opts, got)
	return got
}

// rmemMax returns Linux's cap on receive buffers, if it can be read.
func rmemMax() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, err == nil
}

// ---- helpers ----

// needUnix skips the check where the harness cannot make sockets with raw
// system calls.
func needUnix(c *harness.C) {
	if !unixSockets {
		c.Skipf("adopting socket descriptors is not supported on %s", runtime.GOOS)
	}
}

// rawSocket makes a UDP socket with raw system calls, as the tutorial does
// (socket, non-blocking, bind), and closes it when the check ends.
func rawSocket(c *harness.C, network string, bind bool) (*os.File, netip.AddrPort) {
	needUnix(c)
	if network == "udp6" {
		c.Require(harness.IPv6)
	}
	f, addr, err := newRawSocket(network, bind)
	if err != nil {
		c.Fatalf("harness could not make a socket: %v", err)
	}
	c.Cleanup(func() { f.Close() })
	if bind {
		c.Step("harness made a UDP socket with raw system calls (socket, non-blocking, bind): %v, in a file named %q", addr, f.Name())
	} else {
		c.Step("harness made a UDP socket with raw system calls (socket, non-blocking) and did not bind it, in a file named %q", f.Name())
	}
	return f, addr
}

// callAdopt calls impl.Adopt(f) with a time bound and closes what it
// returns when the check ends.
func callAdopt(c *harness.C, impl Impl, f *os.File, what string) (conn net.PacketConn, err error) {
	c.Call("Adopt("+what+")", harness.Patience, func() { conn, err = impl.Adopt(f) })
	if conn != nil {
		c.Cleanup(func() { conn.Close() })
	}
	return conn, err
}

// adopt calls impl.Adopt(f) and fails the check unless it returns a
// connection and no error.
func adopt(c *harness.C, impl Impl, f *os.File, what string) net.PacketConn {
	conn, err := callAdopt(c, impl, f, what)
	if err != nil {
		c.Fatalf("Adopt(%s) returned error: %v", what, err)
	}
	if conn == nil {
		c.Fatalf("Adopt(%s) returned a nil connection and no error", what)
	}
	c.Step("Adopt(%s) returned a %T", what, conn)
	return conn
}

// refuse checks that Adopt(f) fails with an error wrapping want and returns
// no connection.
func refuse(c *harness.C, impl Impl, f *os.File, what string, want error, name string) {
	c.Step("harness calls Adopt(%s)", what)
	conn, err := callAdopt(c, impl, f, what)
	if conn != nil {
		c.Fatalf("Adopt(%s) returned a connection on %v (error %v); want no connection and an error wrapping %s",
			what, conn.LocalAddr(), err, name)
	}
	if err == nil {
		c.Fatalf("Adopt(%s) returned no connection and no error; want an error wrapping %s", what, name)
	}
	if !errors.Is(err, want) {
		c.Fatalf("Adopt(%s) returned %q, which does not wrap %s (errors.Is(err, %s) is false)", what, err, name, name)
	}
	others := []error{impl.ErrNotSocket, impl.ErrNotUDP, impl.ErrNotBound}
	for i, oname := range []string{"ErrNotSocket", "ErrNotUDP", "ErrNotBound"} {
		if others[i] != want && errors.Is(err, others[i]) {
			c.Fatalf("Adopt(%s) returned %q, which wraps %s as well as %s: name the one problem", what, err, oname, name)
		}
	}
	c.Step("Adopt(%s) returned %q", what, err)
	if isClosed(f) {
		c.Fatalf("after Adopt(%s) refused it, the caller's file is closed: Adopt leaves f open, whatever it returns", what)
	}
}

// isClosed reports whether f has been closed.
func isClosed(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	return rc.Control(func(uintptr) {}) != nil
}

// socketName returns the kernel's name of the socket f holds
// ("socket:[12345]"), as OpenSockets lists it, or "" where it cannot be
// told.
func socketName(f *os.File) string {
	rc, err := f.SyscallConn()
	if err != nil {
		return ""
	}
	var name string
	rc.Control(func(fd uintptr) { name, _ = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))) })
	if !strings.HasPrefix(name, "socket:") {
		return ""
	}
	return name
}

// dropped closes the harness's own copies of the socket f holds (with
// closeOwn) after Adopt refused it, and fails the check unless, within
// Patience, no descriptor of that socket is left open where the learner's
// code runs: a refused file leaves nothing behind.
func dropped(c *harness.C, f *os.File, what string, closeOwn func()) {
	name := socketName(f)
	closeOwn()
	if _, known := harness.OpenSockets(); !known || name == "" {
		return // this system cannot list open sockets
	}
	deadline := time.Now().Add(c.Patience())
	for {
		open, _ := harness.OpenSockets()
		if !open[name] {
			c.Step("harness closed its copies of %s: no descriptor of it is left open", what)
			return
		}
		if time.Now().After(deadline) {
			c.Fatalf("after Adopt(%s) refused it and the harness closed its own copies, a descriptor of that socket "+
				"was still open %v later in the process that ran Adopt: a duplicate made while refusing it (net.FilePacketConn makes one) was not closed",
				what, c.Patience())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkSentinels fails the check unless the lesson's three errors are set
// and distinct.
func checkSentinels(c *harness.C, impl Impl) {
	errs := []error{impl.ErrNotSocket, impl.ErrNotUDP, impl.ErrNotBound}
	for i, err := range errs {
		if err == nil {
			c.Fatalf("%s is nil; it must be an error of its own (errors.New)", []string{"ErrNotSocket", "ErrNotUDP", "ErrNotBound"}[i])
		}
	}
	if errs[0] == errs[1] || errs[1] == errs[2] || errs[0] == errs[2] {
		c.Fatalf("ErrNotSocket, ErrNotUDP and ErrNotBound must be three different errors")
	}
}

// checkSame fails the check unless conn is a UDP connection on addr.
func checkSame(c *harness.C, conn net.PacketConn, addr netip.AddrPort) {
	la := conn.LocalAddr()
	if la == nil || la.Network() != "udp" {
		c.Fatalf("the adopted connection is on %v, want a UDP socket on %v", la, addr)
	}
	if got := harness.AddrPort(la); got != addr {
		c.Fatalf("the adopted connection's LocalAddr is %v, want %v, the address the socket was bound to "+
			"(return a connection for the socket you were given, not a new one)", got, addr)
	}
	c.Name(addr, "the adopted socket")
}

// echo is the harness's own echo service, lesson 01's protocol, running on
// a connection from the learner's code.
type echo struct{ done chan struct{} }

// startEcho answers each datagram on conn with "Hello, <data>!" until conn
// is closed, which happens when the check ends.
func startEcho(c *harness.C, conn net.PacketConn) *echo {
	e := &echo{done: make(chan struct{})}
	go func() {
		defer close(e.done)
		serveEcho(conn)
	}()
	c.Cleanup(func() {
		conn.Close()
		e.wait(c)
	})
	return e
}

// wait waits, with a bound, for the echo service to stop after its
// connection is closed.
func (e *echo) wait(c *harness.C) {
	select {
	case <-e.done:
	case <-time.After(harness.Patience):
		c.Fatalf("reading from the adopted connection did not stop within %v after it was closed", harness.Patience)
	}
}

// serveEcho answers every datagram on conn with "Hello, <data>!" until
// reading fails.
func serveEcho(conn net.PacketConn) {
	buf := make([]byte, harness.MaxDatagram+1)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		reply := append(append([]byte("Hello, "), buf[:n]...), '!')
		conn.WriteTo(reply, from)
	}
}

// exchange sends msg from p to addr and expects "Hello, <msg>!" back.
func exchange(c *harness.C, p *harness.Peer, addr netip.AddrPort, msg string) {
	p.Send(addr, []byte(msg))
	p.Expect(addr, []byte("Hello, "+msg+"!"), "reply")
}

// listen calls impl.Listen, fails the check on an error and closes the
// connection when the check ends.
func listen(c *harness.C, impl Impl, addr string, opts Options) net.PacketConn {
	conn, err := callListen(c, impl, addr, opts)
	if err != nil {
		c.Fatalf("Listen(%q, %+v) returned error: %v", addr, opts, err)
	}
	if conn == nil {
		c.Fatalf("Listen(%q, %+v) returned a nil connection and no error", addr, opts)
	}
	return conn
}

// callListen calls impl.Listen with a time bound and closes what it returns
// when the check ends.
func callListen(c *harness.C, impl Impl, addr string, opts Options) (conn net.PacketConn, err error) {
	c.Call(fmt.Sprintf("Listen(%q, %+v)", addr, opts), harness.Patience, func() {
		conn, err = impl.Listen(c.Context(), addr, opts)
	})
	if conn != nil {
		c.Cleanup(func() { conn.Close() })
	}
	return conn, err
}
