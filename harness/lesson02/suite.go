// Package lesson02 grades lesson 02, the echo client. The lesson's test
// file and the reference solution's (the same file) call Run.
package lesson02

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"udpbook/harness"
)

// Impl is the lesson's API. Greet calls the learner's Greet with
// Options{Timeout: timeout, Attempts: attempts}.
type Impl struct {
	Greet func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error)
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// GreetBound is the longest any one call to Greet may take in these checks;
// the longest legitimate one takes 3 x 100 ms.
const GreetBound = 5 * time.Second

// StopBound is how long Greet may take to return once its context is done.
const StopBound = time.Second

var names = []string{"Michael", "Tracy", "Sarah"}
var greetings = []string{"Hello, Michael!", "Hello, Tracy!", "Hello, Sarah!"}

// Suite is lesson 02's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	{
		ID: "three-names", Points: 3,
		Title: "Michael, Tracy and Sarah get their three greetings, in order, one datagram each, from one local port",
		Hint: "Open one socket (net.ListenUDP(\"udp\", nil)) before the loop and close it when Greet returns; " +
			"in the loop, WriteTo one name, then read its reply. Zero Options mean the defaults. " +
			"If the server replied but Greet timed out, compare addresses as unmapped netip.AddrPort values: " +
			"the socket reports 127.0.0.1 as ::ffff:127.0.0.1.",
		Run: func(c *harness.C, impl Impl) { checkThreeNames(c, impl, "udp4") },
	},
	{
		ID: "no-server", Points: 3,
		Title: "with no reply, Greet sends the name Attempts times, waits Timeout each time, then fails with os.ErrDeadlineExceeded",
		Hint: "Set a read deadline before every read (SetReadDeadline(time.Now().Add(opts.Timeout))). " +
			"When it passes, send again; after the last attempt return an error made with %w from the read's error.",
		Run: checkNoServer,
	},
	{
		ID: "lost-request", Points: 2,
		Title: "when the first request is lost, Greet sends it again and succeeds",
		Hint:  "A request that gets no reply within Timeout may have been lost: send the same name again.",
		Run: func(c *harness.C, impl Impl) {
			checkThroughRelay(c, impl, harness.Rule{Dir: harness.ToServer, Nth: 1, Action: harness.Drop})
		},
	},
	{
		ID: "lost-reply", Points: 2,
		Title: "when the first reply is lost, Greet sends the request again and succeeds",
		Hint: "The server cannot tell a repeated request from a new one; it just answers again. " +
			"Send the name again when no reply comes in time.",
		Run: func(c *harness.C, impl Impl) {
			checkThroughRelay(c, impl, harness.Rule{Dir: harness.ToClient, Nth: 1, Action: harness.Drop})
		},
	},
	{
		ID: "interloper", Points: 2,
		Title: "a datagram from an address other than the server's is not taken as the reply",
		Hint: "ReadFrom tells you who sent the datagram. Compare it with the server's address " +
			"(as netip.AddrPort, unmapped) and keep reading if they differ.",
		Run: checkInterloper,
	},
	{
		ID: "stale-reply", Points: 2,
		Title: "a duplicated or late reply to an earlier name is not taken as the reply to the current one",
		Hint: "The reply to name is exactly \"Hello, <name>!\". Throw away anything else from the server " +
			"(an old reply that arrived twice or late) and keep reading until the deadline.",
		Run: checkStaleReply,
	},
	{
		ID: "deadline-per-attempt", Points: 1,
		Title: "datagrams that are not the reply do not make Greet wait longer than Timeout for it",
		Hint: "Set the read deadline once per attempt, before the reading loop, not before every read: " +
			"a stranger sending a datagram every few milliseconds must not keep Greet waiting forever.",
		Run: checkDeadlinePerAttempt,
	},
	{
		ID: "cancel", Points: 2,
		Title: "cancelling ctx makes Greet return within 1s with an error wrapping context.Canceled",
		Hint: "A blocked read does not watch ctx. Use context.AfterFunc(ctx, ...) to set a read deadline in the past, " +
			"and after a failed read, return ctx.Err() (wrapped with %w) if ctx is done.",
		Run: checkCancel,
	},
	{
		ID: "closes-socket", Points: 1,
		Title: "Greet closes its socket when it returns, after success and after giving up",
		Hint: "Right after opening the socket, defer conn.Close(): every return path then closes it. " +
			"A socket left open holds a descriptor and a port until the program exits.",
		Run: checkClosesSocket,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "the same over IPv6 loopback [::1]",
		Hint:  "Resolve the server's address with network \"udp\", not \"udp4\", and open the socket with \"udp\" too.",
		Run:   func(c *harness.C, impl Impl) { checkThreeNames(c, impl, "udp6") },
	},
}}

func checkThreeNames(c *harness.C, impl Impl, network string) {
	srv := startEcho(c, network, echoAll)
	got, err := greet(c, impl, srv.addr, names, 0, 0)
	if err != nil {
		c.Fatalf("Greet(%v) with zero Options returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
	reqs := srv.requests()
	if diff := cmp.Diff(names, payloads(reqs)); diff != "" {
		c.Fatalf("the server received the wrong datagrams (-want +got):\n%s\nwant one datagram per name, each sent once", diff)
	}
	for _, r := range reqs[1:] {
		if r.From != reqs[0].From {
			c.Fatalf("requests came from %v and %v; want every request from one socket (one local port)", reqs[0].From, r.From)
		}
	}
}

func checkNoServer(c *harness.C, impl Impl) {
	timeout, attempts := c.Dur(50*time.Millisecond), 3
	// Greet's time is judged from both sides: the verdict holds while the
	// harness is never late by a quarter of the Timeout.
	c.Timed(timeout / 4)
	silent := c.NewPeer("silent server", "udp4")
	// Greet's time is taken on the goroutine that calls it, so that the
	// harness's own hand-offs do not count against it.
	var elapsed time.Duration
	got, err := greetTimed(c, impl, silent.Addr(), []string{"Michael", "Tracy"}, timeout, attempts, &elapsed)
	c.Step("Greet returned after %v: %v, %v", elapsed.Round(time.Millisecond), got, err)
	if err == nil {
		c.Fatalf("Greet returned no error, but the server never replied; want an error wrapping os.ErrDeadlineExceeded")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.Fatalf("Greet returned %q, which does not wrap os.ErrDeadlineExceeded", err)
	}
	if len(got) != 0 {
		c.Fatalf("Greet returned replies %q with no server answering; want none", got)
	}
	// Greet has returned, so everything it sent is in the silent server's socket.
	sent := payloads(silent.Drain())
	want := []string{"Michael", "Michael", "Michael"}
	if diff := cmp.Diff(want, sent); diff != "" {
		c.Fatalf("with Attempts %d, the server should get \"Michael\" %d times, then nothing (-want +got):\n%s",
			attempts, attempts, diff)
	}
	if min := time.Duration(attempts) * timeout; elapsed < min {
		c.Fatalf("Greet gave up after %v; with Timeout %v and Attempts %d it must wait at least %v",
			elapsed.Round(time.Millisecond), timeout, attempts, min)
	}
	if most := time.Duration(attempts) * timeout * 3 / 2; elapsed > most {
		c.Slow("Greet gave up after %v; with Timeout %v and Attempts %d it must give up within %v "+
			"(Attempts times the Timeout, and half as much again): is the Timeout from Options used for every attempt?",
			elapsed.Round(time.Millisecond), timeout, attempts, most)
	}
}

func checkThroughRelay(c *harness.C, impl Impl, rule harness.Rule) {
	srv := startEcho(c, "udp4", echoAll)
	relay := c.NewRelay("udp4", srv.addr, rule)
	got, err := greet(c, impl, relay.Addr(), names, 100*time.Millisecond, 3)
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
}

func checkInterloper(c *harness.C, impl Impl) {
	interloper := c.Listen("udp4")
	c.Name(harness.AddrPort(interloper.LocalAddr()), "interloper")
	srv := startEcho(c, "udp4", func(s *echo, n int, req harness.Datagram) {
		if n == 1 {
			// The interloper answers first, with exactly the right words;
			// the server stays silent, so the client must wait and retry.
			s.c.Step("%s -> %s: %q", s.c.Who(harness.AddrPort(interloper.LocalAddr())), s.c.Who(req.From), "Hello, Michael!")
			interloper.WriteToUDPAddrPort([]byte("Hello, Michael!"), req.From)
			return
		}
		echoAll(s, n, req)
	})
	got, err := greet(c, impl, srv.addr, names, c.Dur(100*time.Millisecond), 3)
	// The server leaves the first "Michael" unanswered, so a client that
	// returns Michael's greeting must have asked for it again.
	asked := 0
	for _, r := range payloads(srv.requests()) {
		if r == "Michael" {
			asked++
		}
	}
	if err == nil && asked < 2 {
		c.Fatalf("your server never answered \"Michael\" (only the interloper did), and your client asked for Michael only "+
			"once, yet Greet returned %q: it took the interloper's \"Hello, Michael!\" as the reply. Only a datagram "+
			"from the server's address (%v) is a reply.", got, srv.addr)
	}
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
}

func checkStaleReply(c *harness.C, impl Impl) {
	// A duplicate: the reply to Michael arrives twice. The second copy is
	// waiting in the client's socket when it asks for Tracy.
	srv := startEcho(c, "udp4", echoAll)
	relay := c.NewRelay("udp4", srv.addr, harness.Rule{Dir: harness.ToClient, Nth: 1, Action: harness.Duplicate})
	got, err := greet(c, impl, relay.Addr(), names, c.Patience(), 2)
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("with the reply to Michael duplicated, Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
	// A late reply: the first reply to Michael is held back until the
	// client has asked again and had the second.
	c.Step("(now with a reply that comes late)")
	srv = startEcho(c, "udp4", echoAll)
	relay = c.NewRelay("udp4", srv.addr, harness.Rule{Dir: harness.ToClient, Nth: 1, Action: harness.Hold})
	got, err = greet(c, impl, relay.Addr(), names, 100*time.Millisecond, 3)
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("with the first reply to Michael arriving late, Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
}

func checkDeadlinePerAttempt(c *harness.C, impl Impl) {
	timeout, every, strays := c.Dur(100*time.Millisecond), c.Dur(20*time.Millisecond), 100
	// A correct Greet returns after one Timeout, some 5 strays in. Its
	// return means something only while the strays come more often than
	// the Timeout: a Greet that starts its wait again at every datagram
	// also returns after a gap of a whole Timeout between two of them.
	c.Timed(timeout / 4)
	silent := c.NewPeer("silent server", "udp4")
	stranger := c.NewPeer("stranger", "udp4")
	done := goGreet(c, context.Background(), impl, silent.Addr(), []string{"Michael"}, timeout, 1)
	c.Step("harness calls Greet(ctx, %q, [\"Michael\"], Options{Timeout: %v, Attempts: 1})", silent.Addr(), timeout)
	d, ok := silent.Recv(c.Patience())
	if !ok {
		c.Fatalf("expected a request at %s within %v; got nothing", c.Who(silent.Addr()), c.Patience())
	}
	client := d.From
	c.Step("%s sends %q to %s every %v, up to %d times, while Greet waits", c.Who(stranger.Addr()), "Hello, Michael!", client, every, strays)
	tick := time.NewTicker(every)
	defer tick.Stop()
	last, gap := time.Now(), time.Duration(0) // the stranger's last datagram, and the longest gap so far
	for range strays {
		select {
		case err := <-done:
			c.Within("the longest gap between the stranger's datagrams", max(gap, time.Since(last)), timeout*3/4)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				c.Fatalf("Greet returned %v; want an error wrapping os.ErrDeadlineExceeded, since the server never replied", err)
			}
			return
		case <-tick.C:
			stranger.Conn().WriteToUDPAddrPort([]byte("Hello, Michael!"), client)
			now := time.Now()
			gap, last = max(gap, now.Sub(last)), now
		}
	}
	c.Fatalf("with Timeout %v and Attempts 1, Greet was still waiting after %d datagrams from a stranger (%v): "+
		"each datagram that was not the reply started its wait again", timeout, strays, time.Duration(strays)*every)
}

func checkCancel(c *harness.C, impl Impl) {
	silent := c.NewPeer("silent server", "udp4")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := goGreet(c, ctx, impl, silent.Addr(), names, 10*time.Second, 3)
	if _, ok := silent.Recv(c.Patience()); !ok {
		c.Fatalf("expected a request at %s within %v; got nothing", c.Who(silent.Addr()), c.Patience())
	}
	select {
	case err := <-done:
		c.Fatalf("Greet returned before its context was cancelled, with the server silent: %v", err)
	default:
	}
	c.Step("harness cancels Greet's context (Timeout is 10s)")
	c.Timed(c.Dur(StopBound) / 4)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			c.Fatalf("after its context was cancelled, Greet returned %v; want an error wrapping context.Canceled", err)
		}
	case <-time.After(c.Dur(StopBound)):
		c.Slow("Greet did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
}

func checkClosesSocket(c *harness.C, impl Impl) {
	srv := startEcho(c, "udp4", echoAll)
	silent := c.NewPeer("silent server", "udp4")
	if _, ok := harness.OpenSockets(); !ok {
		c.Skipf("listing a process's sockets is not supported on %s", runtime.GOOS)
	}
	// A socket nobody refers to is closed by a finalizer when the garbage
	// collector runs, which would hide the mistake at random. No
	// collection, no finalizers, while this check looks.
	gc := debug.SetGCPercent(-1)
	c.Cleanup(func() { debug.SetGCPercent(gc) })

	before, _ := harness.OpenSockets()
	if _, err := greet(c, impl, srv.addr, names, c.Patience(), 1); err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if left := harness.NewSockets(before, StopBound); len(left) > 0 {
		c.Fatalf("after Greet returned its replies, the socket it opened (%s) was still open: Greet did not close its socket", left[0])
	}
	greet(c, impl, silent.Addr(), []string{"Michael"}, 20*time.Millisecond, 1)
	if left := harness.NewSockets(before, StopBound); len(left) > 0 {
		c.Fatalf("after Greet gave up on a silent server, the socket it opened (%s) was still open: "+
			"Greet did not close its socket on that path", left[0])
	}
}

// goGreet runs impl.Greet on its own goroutine and sends its error (or
// its panic, as an error) on the returned channel when it returns. If
// Greet returns while ctx is live, the check is aborted with its error, so
// a wait for Greet's request ends at once (a stub fails in milliseconds).
func goGreet(c *harness.C, ctx context.Context, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int) <-chan error {
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("Greet panicked: %v", r)
			}
			if ctx.Err() == nil {
				c.Abort(fmt.Errorf("Greet returned while the server was silent: %v", err))
			}
			done <- err
		}()
		_, err = impl.Greet(ctx, server.String(), names, timeout, attempts)
	}()
	return done
}

// greet calls impl.Greet with a time bound, adding the call to the trace.
func greet(c *harness.C, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int) (got []string, err error) {
	var took time.Duration
	return greetTimed(c, impl, server, names, timeout, attempts, &took)
}

// greetTimed is greet that also stores how long Greet took in took.
func greetTimed(c *harness.C, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int,
	took *time.Duration) (got []string, err error) {
	call := fmt.Sprintf("Greet(ctx, %q, %q, Options{Timeout: %v, Attempts: %d})", server, names, timeout, attempts)
	c.Step("harness calls %s", call)
	c.Call(call, c.Dur(GreetBound), func() {
		start := time.Now()
		got, err = impl.Greet(context.Background(), server.String(), names, timeout, attempts)
		*took = time.Since(start)
	})
	return got, err
}

// echo is the harness's own echo server. For the n-th request it receives
// (from 1), it calls respond, which decides what to send back.
type echo struct {
	c       *harness.C
	conn    *net.UDPConn
	addr    netip.AddrPort
	respond func(s *echo, n int, req harness.Datagram)
	mu      sync.Mutex
	reqs    []harness.Datagram
}

// echoAll answers every request as lesson 01's server does.
func echoAll(s *echo, _ int, req harness.Datagram) {
	s.send(req.From, "Hello, "+string(req.Data)+"!")
}

func startEcho(c *harness.C, network string, respond func(s *echo, n int, req harness.Datagram)) *echo {
	s := &echo{c: c, conn: c.Listen(network), respond: respond}
	s.addr = harness.AddrPort(s.conn.LocalAddr())
	c.Name(s.addr, "server")
	done := make(chan struct{})
	go s.loop(done)
	c.Cleanup(func() {
		s.conn.Close()
		<-done
	})
	return s
}

func (s *echo) loop(done chan struct{}) {
	defer close(done)
	buf := make([]byte, harness.MaxDatagram+1)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed when the check ends
		}
		req := harness.Datagram{From: harness.Unmap(from), Data: append([]byte(nil), buf[:n]...)}
		s.c.NameNew(req.From, "your client")
		s.c.Step("%s -> %s: %s", s.c.Who(req.From), s.c.Who(s.addr), harness.Quote(req.Data))
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		count := len(s.reqs)
		s.mu.Unlock()
		s.respond(s, count, req)
	}
}

func (s *echo) send(to netip.AddrPort, msg string) {
	s.c.Step("%s -> %s: %s", s.c.Who(s.addr), s.c.Who(to), harness.Quote([]byte(msg)))
	s.conn.WriteToUDPAddrPort([]byte(msg), to)
}

// requests returns the requests received so far.
func (s *echo) requests() []harness.Datagram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]harness.Datagram(nil), s.reqs...)
}

func payloads(ds []harness.Datagram) []string {
	ps := make([]string, len(ds))
	for i, d := range ds {
		ps[i] = string(d.Data)
	}
	return ps
}
