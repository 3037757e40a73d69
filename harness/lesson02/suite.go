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
	"slices"
	"strings"
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
// the longest legitimate one takes DefaultTimeout, 1 s, and a little.
const GreetBound = 5 * time.Second

// StopBound is how long Greet may take to return once its context is done.
const StopBound = time.Second

// DefaultTimeout and DefaultAttempts are the lesson's: what zero Options
// mean.
const (
	DefaultTimeout  = time.Second
	DefaultAttempts = 3
)

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
		Run: checkThreeNames,
	},
	{
		ID: "no-server", Points: 3,
		Title: "with no reply, Greet sends the name Attempts times (zero: 3), waits Timeout each time, " +
			"then fails with os.ErrDeadlineExceeded and the replies so far",
		Hint: "Set a read deadline before every attempt's reads (SetReadDeadline(time.Now().Add(opts.Timeout))). " +
			"When it passes, send again; after the last attempt return the replies so far and an error made " +
			"with %w from the read's error. Attempts 0 means DefaultAttempts.",
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
		Title: "when the first reply is lost, Greet with zero Options sends the request again after DefaultTimeout (1s) and succeeds",
		Hint: "The server cannot tell a repeated request from a new one; it just answers again. " +
			"Send the name again when no reply comes in time. A zero Timeout means DefaultTimeout, " +
			"not \"no deadline\" and not a default of your own.",
		Run: checkLostReply,
	},
	{
		ID: "interloper", Points: 2,
		Title: "a datagram from an address other than the server's is not taken as the reply",
		Hint: "ReadFrom tells you who sent the datagram. Compare it with the server's address " +
			"(as netip.AddrPort, unmapped: address and port) and keep reading if they differ.",
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
		Title: "cancelling ctx makes Greet return within 1s with an error wrapping context.Canceled, and the replies so far",
		Hint: "A blocked read does not watch ctx. Use context.AfterFunc(ctx, ...) to set a read deadline in the past, " +
			"and after a failed read, return the replies so far and ctx.Err() (wrapped with %w) if ctx is done.",
		Run: checkCancel,
	},
	{
		ID: "closes-socket", Points: 1,
		Title: "Greet closes its socket and leaves no goroutine running when it returns: after success, " +
			"after giving up part-way, and after its context is cancelled",
		Hint: "Right after opening the socket, defer conn.Close(); after context.AfterFunc, defer stop(): every " +
			"return path then cleans up. Do not start goroutines that wait for ctx or for a channel nobody reads.",
		Run: checkClosesSocket,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "the same over IPv6 loopback [::1], where a datagram from 127.0.0.1 with the server's port is not the reply",
		Hint: "Resolve the server's address with network \"udp\", not \"udp4\", and open the socket with \"udp\" too. " +
			"Compare the whole unmapped netip.AddrPort, address and port.",
		Run: checkIPv6,
	},
	{
		ID: "names-as-they-are", Points: 2,
		Title: "names are sent and greeted exactly as they are (empty, spaces, newlines, 2,000 and 60,000 bytes); " +
			"no names send nothing",
		Hint: "Send []byte(name) as it is: do not trim it or add to it, and skip no name. Read into a 65,535-byte " +
			"buffer, or a long reply is cut short and never matches. With no names, return no replies and no error.",
		Run: checkNamesAsTheyAre,
	},
}}

func checkThreeNames(c *harness.C, impl Impl) {
	srv := startEcho(c, "udp4", echoAll)
	got, err := greet(c, impl, srv.addr, names, 0, 0)
	if err != nil {
		for _, r := range srv.flush() {
			if !slices.Contains(names, string(r.Data)) {
				c.Fatalf("Greet(%v) with zero Options returned error: %v\nthe server received %s, which is none of the names: "+
					"send each name as it is, as its own datagram", names, err, harness.Quote(r.Data))
			}
		}
		c.Fatalf("Greet(%v) with zero Options returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
	reqs := srv.requests()
	if diff := cmp.Diff(names, payloads(reqs)); diff != "" {
		c.Fatalf("the server received the wrong datagrams (-want +got):\n%s\nwant one datagram per name, each sent once", diff)
	}
	sameSocket(c, reqs)
}

// sameSocket fails the check unless every request came from one address.
func sameSocket(c *harness.C, reqs []harness.Datagram) {
	for _, r := range reqs[1:] {
		if r.From != reqs[0].From {
			c.Fatalf("requests came from %v and %v; want every request from one socket (one local port)", reqs[0].From, r.From)
		}
	}
}

func checkNoServer(c *harness.C, impl Impl) {
	timeout := c.Dur(50 * time.Millisecond)
	// Greet's time is judged from both sides: the verdict holds while the
	// harness is never late by a quarter of the Timeout.
	c.Timed(timeout / 4)

	// A server that never answers.
	silent := c.NewPeer("silent server", "udp4")
	two := []string{"Michael", "Tracy"}
	got, elapsed := gaveUp(c, impl, silent.Addr(), two, timeout, 3)
	if len(got) != 0 {
		c.Fatalf("Greet returned %q with no server answering; want the replies so far: none", got)
	}
	// Greet has returned, so everything it sent is in the silent server's socket.
	countSends(c, payloads(silent.Drain()), two, 3, "Michael")
	tookAttempts(c, elapsed, timeout, 3)

	// A server that answers every name but Tracy: Greet fails part-way,
	// and Attempts 0 means DefaultAttempts.
	c.Step("(now a server that answers every name but \"Tracy\", and Attempts 0)")
	srv := startEcho(c, "udp4", echoExcept("Tracy"))
	got, elapsed = gaveUp(c, impl, srv.addr, names, timeout, 0)
	if diff := cmp.Diff(greetings[:1], got); diff != "" {
		c.Fatalf("Greet gave up on \"Tracy\" and returned the wrong replies (-want +got):\n%s\n"+
			"want the replies so far: the greetings of the names before the one that failed, in order", diff)
	}
	countSends(c, payloads(srv.flush()), names, 0, "Tracy")
	tookAttempts(c, elapsed, timeout, 0)
}

// gaveUp calls Greet against a server that leaves at least one name
// unanswered, checks that it gave up with os.ErrDeadlineExceeded, and
// returns its replies and how long it took.
func gaveUp(c *harness.C, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int) ([]string, time.Duration) {
	// Greet's time is taken on the goroutine that calls it, so that the
	// harness's own hand-offs do not count against it.
	var elapsed time.Duration
	got, err := greetTimed(c, impl, server, names, timeout, attempts, &elapsed)
	c.Step("Greet returned after %v: %q, %v", elapsed.Round(time.Millisecond), got, err)
	if err == nil {
		c.Fatalf("Greet returned no error, but the server never replied to one name; want an error wrapping os.ErrDeadlineExceeded")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.Fatalf("Greet returned %q, which does not wrap os.ErrDeadlineExceeded", err)
	}
	return got, elapsed
}

// tookAttempts checks, from both sides, that a Greet that gave up took
// Attempts times Timeout (attempts 0 meaning DefaultAttempts).
func tookAttempts(c *harness.C, elapsed, timeout time.Duration, attempts int) {
	n := attempts
	if n == 0 {
		n = DefaultAttempts
	}
	if min := time.Duration(n) * timeout; elapsed < min {
		c.Fatalf("Greet gave up after %v; with Timeout %v and Attempts %d it must wait at least %v",
			elapsed.Round(time.Millisecond), timeout, attempts, min)
	}
	if most := time.Duration(n) * timeout * 3 / 2; elapsed > most {
		c.Slow("Greet gave up after %v; with Timeout %v and Attempts %d it must give up within %v "+
			"(Attempts times the Timeout, and half as much again): is the Timeout from Options used for every attempt?",
			elapsed.Round(time.Millisecond), timeout, attempts, most)
	}
}

// countSends checks what a server received from a Greet, called with
// Attempts attempts, that gave up on unanswered: that name was sent
// exactly Attempts times (0 meaning DefaultAttempts), and no name more
// often (a client may send the names after it too, as one that sends all
// names at once does).
func countSends(c *harness.C, sent, names []string, attempts int, unanswered string) {
	how := ""
	n := attempts
	if n == 0 {
		how, n = fmt.Sprintf(" (so DefaultAttempts, %d)", DefaultAttempts), DefaultAttempts
	}
	count := map[string]int{}
	for _, s := range sent {
		count[s]++
	}
	for _, s := range sent {
		if !slices.Contains(names, s) {
			c.Fatalf("the server received %q, which is none of the names %q; it received %q", s, names, sent)
		}
		if count[s] > n {
			c.Fatalf("the server received %q %d times; with Attempts %d%s, want at most %d (it received %q)",
				s, count[s], attempts, how, n, sent)
		}
	}
	if count[unanswered] != n {
		c.Fatalf("the server never answered %q and received it %d times; with Attempts %d%s, want %d "+
			"(the first send and %d more; it received %q)",
			unanswered, count[unanswered], attempts, how, n, n-1, sent)
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

// checkLostReply loses the first reply to a Greet with zero Options: it
// must send again after DefaultTimeout, which the harness cannot scale, so
// the verdict's bounds are DefaultTimeout and DefaultTimeout and a half
// (more at larger time scales).
func checkLostReply(c *harness.C, impl Impl) {
	slack := c.Dur(250 * time.Millisecond)
	c.Timed(slack)
	srv := startEcho(c, "udp4", echoAll)
	relay := c.NewRelay("udp4", srv.addr, harness.Rule{Dir: harness.ToClient, Nth: 1, Action: harness.Drop})
	ctx, cancel := context.WithCancel(context.Background())
	g := startGreet(c, ctx, impl, relay.Addr(), names, 0, 0)
	c.Cleanup(cancel) // after startGreet: stops a Greet that waits forever
	g.run.Expect()
	most := DefaultTimeout + 2*slack
	if _, ok := g.run.Wait(most); !ok {
		c.Slow("with zero Options, Greet had not returned %v after it was called, although the relay lost only one "+
			"reply: a zero Timeout means DefaultTimeout (1s) for each attempt, then a new send", most)
	}
	c.Step("Greet returned after %v: %q, %v", g.took.Round(time.Millisecond), g.got, g.err)
	if g.err != nil {
		c.Fatalf("Greet(%v) with zero Options returned error: %v", names, g.err)
	}
	if diff := cmp.Diff(greetings, g.got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
	if g.took < DefaultTimeout {
		c.Fatalf("with zero Options and the first reply lost, Greet returned after %v: it sent \"Michael\" again "+
			"before DefaultTimeout (1s) had passed; a zero Timeout means DefaultTimeout", g.took.Round(time.Millisecond))
	}
}

func checkInterloper(c *harness.C, impl Impl) {
	interloper := c.Listen("udp4")
	c.Name(harness.AddrPort(interloper.LocalAddr()), "interloper")
	srv := startEcho(c, "udp4", interloperFirst(interloper))
	got, err := greet(c, impl, srv.addr, names, c.Dur(100*time.Millisecond), 3)
	tookInterlopers(c, srv, interloper, got)
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
}

// interloperFirst is a server that leaves the first "Michael" unanswered,
// while interloper answers it first with exactly the right words: the
// client must wait and send "Michael" again.
func interloperFirst(interloper *net.UDPConn) func(s *echo, n int, req harness.Datagram) {
	return func(s *echo, n int, req harness.Datagram) {
		if string(req.Data) == "Michael" && s.count("Michael") == 1 {
			// To the client's port, on the interloper's own loopback
			// address: 127.0.0.1 reaches a client on [::1] too when its
			// socket is bound to every address, [::].
			from := harness.AddrPort(interloper.LocalAddr())
			to := netip.AddrPortFrom(from.Addr(), req.From.Port())
			s.c.Step("%s -> %s: %q", s.c.Who(from), s.c.Who(to), "Hello, Michael!")
			interloper.WriteToUDPAddrPort([]byte("Hello, Michael!"), to)
			return
		}
		echoAll(s, n, req)
	}
}

// tookInterlopers fails the check if Greet returned "Hello, Michael!" that
// the server never sent: the only one there was came from interloper.
func tookInterlopers(c *harness.C, srv *echo, interloper *net.UDPConn, got []string) {
	if len(got) == 0 || got[0] != "Hello, Michael!" || srv.sentAny("Hello, Michael!") {
		return
	}
	c.Fatalf("Greet returned %q, but the server had not sent \"Hello, Michael!\": the only one came from %s. "+
		"Only a datagram from the server's address (%v) is a reply.",
		got, c.Who(harness.AddrPort(interloper.LocalAddr())), srv.addr)
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
	ctx, cancel := context.WithCancel(context.Background())
	g := startGreet(c, ctx, impl, silent.Addr(), []string{"Michael"}, timeout, 1)
	c.Cleanup(cancel)
	d, ok := silent.Recv(c.Patience())
	if !ok {
		c.Fatalf("expected a request at %s within %v; got nothing", c.Who(silent.Addr()), c.Patience())
	}
	// From here on Greet may give up: it does, after one Timeout.
	g.run.Expect()
	client := d.From
	c.Step("%s sends %q to %s every %v, up to %d times, while Greet waits", c.Who(stranger.Addr()), "Hello, Michael!", client, every, strays)
	last, gap := time.Now(), time.Duration(0) // the stranger's last datagram, and the longest gap so far
	next := last
	for range strays {
		next = next.Add(every)
		if err, done := g.run.Wait(time.Until(next)); done {
			c.Within("the longest gap between the stranger's datagrams", max(gap, time.Since(last)), timeout*3/4)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				c.Fatalf("Greet returned %v; want an error wrapping os.ErrDeadlineExceeded, since the server never replied", err)
			}
			return
		}
		stranger.Conn().WriteToUDPAddrPort([]byte("Hello, Michael!"), client)
		now := time.Now()
		gap, last = max(gap, now.Sub(last)), now
	}
	c.Fatalf("with Timeout %v and Attempts 1, Greet was still waiting after %d datagrams from a stranger (%v): "+
		"each datagram that was not the reply started its wait again", timeout, strays, time.Duration(strays)*every)
}

func checkCancel(c *harness.C, impl Impl) {
	// The server answers Michael, then leaves Tracy unanswered.
	srv := startEcho(c, "udp4", echoExcept("Tracy"))
	ctx, cancel := context.WithCancel(context.Background())
	// A Timeout far longer than the wait for Greet to return, at every
	// time scale: 10s at 1x.
	timeout := c.Dur(10 * time.Second)
	g := startGreet(c, ctx, impl, srv.addr, names, timeout, 3)
	c.Cleanup(cancel)
	srv.await(c, "Tracy")
	c.Step("harness cancels Greet's context (Timeout is %v)", timeout)
	c.Timed(c.Dur(StopBound) / 4)
	g.run.Expect()
	cancel()
	err, ok := g.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Greet did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, Greet returned %v; want an error wrapping context.Canceled", err)
	}
	// A client that sends every name at once may not have read the reply
	// to Michael yet; one that waits for it before it sends Tracy has.
	// Either way, what it returns are greetings of the first names.
	if len(g.got) > 1 || (len(g.got) == 1 && g.got[0] != greetings[0]) {
		c.Fatalf("after its context was cancelled, with only \"Michael\" answered, Greet returned %q; "+
			"want the replies so far, in the order of names: %q", g.got, greetings[:1])
	}
}

func checkClosesSocket(c *harness.C, impl Impl) {
	srv := startEcho(c, "udp4", echoAll)
	partial := startEcho(c, "udp4", echoExcept("Tracy"))
	silent := c.NewPeer("silent server", "udp4")
	if _, ok := harness.OpenSockets(); !ok {
		c.Skipf("listing a process's sockets is not supported on %s", runtime.GOOS)
	}
	// A socket nobody refers to is closed by a finalizer when the garbage
	// collector runs, which would hide the mistake at random. No
	// collection, no finalizers, while this check looks.
	gc := debug.SetGCPercent(-1)
	c.Cleanup(func() { debug.SetGCPercent(gc) })
	pkg := harness.PackageOf(impl.Greet)

	before, _ := harness.OpenSockets()
	goroutines := harness.Goroutines(pkg)
	if _, err := greet(c, impl, srv.addr, names, c.Patience(), 1); err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	leftNothing(c, pkg, before, goroutines, "returned its replies")

	greet(c, impl, partial.addr, names, 20*time.Millisecond, 1)
	leftNothing(c, pkg, before, goroutines, "gave up on \"Tracy\" after the reply to \"Michael\"")

	ctx, cancel := context.WithCancel(context.Background())
	g := startGreet(c, ctx, impl, silent.Addr(), []string{"Michael"}, 10*time.Second, 1)
	c.Cleanup(cancel)
	if _, ok := silent.Recv(c.Patience()); !ok {
		c.Fatalf("expected a request at %s within %v; got nothing", c.Who(silent.Addr()), c.Patience())
	}
	c.Step("harness cancels Greet's context")
	g.run.Expect()
	cancel()
	if _, ok := g.run.Wait(c.Dur(StopBound)); !ok {
		// Whether Greet stops in time is the cancel check's to grade; there
		// is no socket to look at until it returns.
		c.Step("(Greet did not return within %v after its context was cancelled: see the cancel check)", c.Dur(StopBound))
		return
	}
	leftNothing(c, pkg, before, goroutines, "returned after its context was cancelled")
}

// leftNothing fails the check if a socket opened, or a goroutine of pkg
// started, since before is still there once Greet has returned (how says
// how it returned).
func leftNothing(c *harness.C, pkg string, before map[string]bool, goroutines map[int]string, how string) {
	if left := harness.NewSockets(before, StopBound); len(left) > 0 {
		c.Fatalf("after Greet %s, the socket it opened (%s) was still open: Greet did not close its socket on that path",
			how, left[0])
	}
	if left := harness.LeftBehind(pkg, goroutines, StopBound); len(left) > 0 {
		c.Fatalf("after Greet %s, %d goroutine(s) it started were still running, the first:\n%s",
			how, len(left), harness.FirstLines(left[0], 8))
	}
}

// checkIPv6 runs Michael, Tracy and Sarah against a server on [::1] whose
// port an interloper on 127.0.0.1 holds too: the interloper answers the
// first "Michael", and the server leaves it unanswered.
func checkIPv6(c *harness.C, impl Impl) {
	c.Require(harness.IPv6)
	var interloper, conn *net.UDPConn
	for try := 0; conn == nil; try++ {
		interloper = c.Listen("udp4")
		port := harness.AddrPort(interloper.LocalAddr()).Port()
		var err error
		conn, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(harness.Loopback("udp6"), port)))
		if err != nil && try == 5 {
			c.Fatalf("harness could not bind [::1] with the port of 127.0.0.1:%d: %v", port, err)
		}
	}
	c.Cleanup(func() { conn.Close() })
	c.Name(harness.AddrPort(interloper.LocalAddr()), "interloper")
	srv := startEchoOn(c, conn, interloperFirst(interloper))
	got, err := greet(c, impl, srv.addr, names, c.Dur(100*time.Millisecond), 3)
	tookInterlopers(c, srv, interloper, got)
	if err != nil {
		c.Fatalf("Greet(%v) returned error: %v", names, err)
	}
	if diff := cmp.Diff(greetings, got); diff != "" {
		c.Fatalf("Greet(%v) returned the wrong replies (-want +got):\n%s", names, diff)
	}
	sameSocket(c, srv.requests())
}

// odd are names that a client that trims, skips or cuts gets wrong.
var odd = []string{"", "  Tracy \n", "quit\r\n", string(pattern(2000)), string(pattern(60000))}

func checkNamesAsTheyAre(c *harness.C, impl Impl) {
	srv := startEcho(c, "udp4", echoAll)
	got, err := greet(c, impl, srv.addr, odd, c.Patience(), 1)
	if err != nil {
		c.Fatalf("Greet returned error: %s", short(err))
	}
	if len(got) != len(odd) {
		c.Fatalf("Greet returned %d replies for %d names; want one for each name, in order", len(got), len(odd))
	}
	for i, name := range odd {
		if want := "Hello, " + name + "!"; got[i] != want {
			c.Fatalf("Greet's reply %d is %s, want %s%s", i+1, harness.Quote([]byte(got[i])), harness.Quote([]byte(want)),
				harness.Difference([]byte(got[i]), []byte(want)))
		}
	}
	reqs := srv.flush()
	for i, r := range reqs {
		if i >= len(odd) || string(r.Data) != odd[i] {
			c.Fatalf("the server received %d datagrams; want exactly the %d names, each as it is and sent once, "+
				"and datagram %d is %s", len(reqs), len(odd), i+1, harness.Quote(r.Data))
		}
	}
	if len(reqs) != len(odd) {
		c.Fatalf("the server received %d datagrams; want one for each of the %d names", len(reqs), len(odd))
	}

	c.Step("(now with no names at all)")
	srv = startEcho(c, "udp4", echoAll)
	got, err = greet(c, impl, srv.addr, nil, c.Patience(), 1)
	if err != nil || len(got) != 0 {
		c.Fatalf("Greet with no names returned %q, %v; want no replies and no error", got, err)
	}
	if reqs := srv.flush(); len(reqs) > 0 {
		c.Fatalf("Greet with no names sent %s to the server; want nothing sent", harness.Quote(reqs[0].Data))
	}
}

// short returns err's text, cut short if a long name made it long.
func short(err error) string {
	const show = 300
	if msg := err.Error(); len(msg) > show {
		return fmt.Sprintf("%s... (%d characters)", msg[:show], len(msg))
	}
	return err.Error()
}

// pattern returns n bytes of a-z, repeating, so that a reply cut short
// shows where.
func pattern(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	return data
}

// greeting is a running call of Greet; got, err and took are set once
// run has returned.
type greeting struct {
	run  *harness.Running
	got  []string
	err  error
	took time.Duration
}

// startGreet runs impl.Greet on its own goroutine (see C.Go). If Greet
// returns before the check expects it to (Running.Expect), the check is
// aborted with its error, so a wait for Greet's request ends at once (a
// stub fails in milliseconds). Register the clean-up that cancels ctx
// after calling it.
func startGreet(c *harness.C, ctx context.Context, impl Impl, server netip.AddrPort, names []string,
	timeout time.Duration, attempts int) *greeting {
	g := &greeting{}
	c.Step("harness calls %s", describe(server, names, timeout, attempts))
	g.run = c.Go("Greet", func() error {
		start := time.Now()
		g.got, g.err = impl.Greet(ctx, server.String(), names, timeout, attempts)
		g.took = time.Since(start)
		return g.err
	})
	return g
}

// greet calls impl.Greet with a time bound, adding the call to the trace.
func greet(c *harness.C, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int) (got []string, err error) {
	var took time.Duration
	return greetTimed(c, impl, server, names, timeout, attempts, &took)
}

// greetTimed is greet that also stores how long Greet took in took.
func greetTimed(c *harness.C, impl Impl, server netip.AddrPort, names []string, timeout time.Duration, attempts int,
	took *time.Duration) (got []string, err error) {
	call := describe(server, names, timeout, attempts)
	c.Step("harness calls %s", call)
	c.Call(call, c.Dur(GreetBound), func() {
		start := time.Now()
		got, err = impl.Greet(context.Background(), server.String(), names, timeout, attempts)
		*took = time.Since(start)
	})
	return got, err
}

// describe writes a call of Greet for the trace, with long names cut short.
func describe(server netip.AddrPort, names []string, timeout time.Duration, attempts int) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = harness.Quote([]byte(n))
	}
	list := "[" + strings.Join(quoted, " ") + "]"
	if names == nil {
		list = "nil"
	}
	return fmt.Sprintf("Greet(ctx, %q, %s, Options{Timeout: %v, Attempts: %d})", server, list, timeout, attempts)
}

// echo is the harness's own echo server. For the n-th request it receives
// (from 1), it calls respond, which decides what to send back.
type echo struct {
	c       *harness.C
	conn    *net.UDPConn
	addr    netip.AddrPort
	respond func(s *echo, n int, req harness.Datagram)
	news    chan struct{} // a request came in, or a marker (see flush)
	mu      sync.Mutex
	reqs    []harness.Datagram
	sent    []string
	markers int
}

// echoAll answers every request as lesson 01's server does.
func echoAll(s *echo, _ int, req harness.Datagram) {
	s.send(req.From, "Hello, "+string(req.Data)+"!")
}

// echoExcept answers every request but name's.
func echoExcept(name string) func(s *echo, n int, req harness.Datagram) {
	return func(s *echo, n int, req harness.Datagram) {
		if string(req.Data) != name {
			echoAll(s, n, req)
		}
	}
}

func startEcho(c *harness.C, network string, respond func(s *echo, n int, req harness.Datagram)) *echo {
	return startEchoOn(c, c.Listen(network), respond)
}

func startEchoOn(c *harness.C, conn *net.UDPConn, respond func(s *echo, n int, req harness.Datagram)) *echo {
	s := &echo{c: c, conn: conn, respond: respond, news: make(chan struct{}, 1)}
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
		from = harness.Unmap(from)
		if from == s.addr {
			// The server's own marker (see flush).
			s.mu.Lock()
			s.markers++
			s.mu.Unlock()
			s.notify()
			continue
		}
		req := harness.Datagram{From: from, Data: append([]byte(nil), buf[:n]...)}
		s.c.NameNew(req.From, "your client")
		s.c.Step("%s -> %s: %s", s.c.Who(req.From), s.c.Who(s.addr), harness.Quote(req.Data))
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		count := len(s.reqs)
		s.mu.Unlock()
		s.respond(s, count, req)
		s.notify()
	}
}

func (s *echo) notify() {
	select {
	case s.news <- struct{}{}:
	default:
	}
}

func (s *echo) send(to netip.AddrPort, msg string) {
	s.c.Step("%s -> %s: %s", s.c.Who(s.addr), s.c.Who(to), harness.Quote([]byte(msg)))
	// Recorded before it goes out: a client cannot have it before then.
	s.mu.Lock()
	s.sent = append(s.sent, msg)
	s.mu.Unlock()
	s.conn.WriteToUDPAddrPort([]byte(msg), to)
}

// sentAny reports whether the server has sent msg.
func (s *echo) sentAny(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.sent {
		if m == msg {
			return true
		}
	}
	return false
}

// count returns how many of the requests so far were name.
func (s *echo) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if string(r.Data) == name {
			n++
		}
	}
	return n
}

// requests returns the requests received so far.
func (s *echo) requests() []harness.Datagram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]harness.Datagram(nil), s.reqs...)
}

// flush returns every request sent to the server before flush was called.
// It sends the server a marker from its own socket and waits for the
// server to read it: on loopback a datagram is in the receiver's socket by
// the time the sender's write returns, so everything sent before is read
// before the marker.
func (s *echo) flush() []harness.Datagram {
	s.mu.Lock()
	want := s.markers + 1
	s.mu.Unlock()
	if _, err := s.conn.WriteToUDPAddrPort([]byte("udpbook marker"), s.addr); err != nil {
		s.c.Fatalf("harness could not send its marker: %v", err)
	}
	s.wait(func() bool { return s.markers >= want }, "the harness's own marker datagram")
	return s.requests()
}

// await waits for the server to receive name.
func (s *echo) await(c *harness.C, name string) {
	s.wait(func() bool {
		for _, r := range s.reqs {
			if string(r.Data) == name {
				return true
			}
		}
		return false
	}, fmt.Sprintf("a request %q at %s", name, c.Who(s.addr)))
}

// wait waits up to Patience until cond, called with s.mu held, is true.
func (s *echo) wait(cond func() bool, what string) {
	timer := time.NewTimer(s.c.Patience())
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.news:
		case <-timer.C:
			s.c.Fatalf("expected %s within %v; got nothing", what, s.c.Patience())
		case <-s.c.Context().Done():
			s.c.FailIfAborted()
			s.c.Fatalf("the check ended while it waited for %s", what)
		}
	}
}

func payloads(ds []harness.Datagram) []string {
	ps := make([]string, len(ds))
	for i, d := range ds {
		ps[i] = string(d.Data)
	}
	return ps
}
