package lesson05

// The checks of Join (client-*) against a fake server, and how they run a
// learner's client.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"time"

	"udpbook/harness"
)

func checkClientJoin(c *harness.C, impl Impl) {
	fake := c.NewPeer("fake server", "udp4")
	// Config{}: the defaults, an Interval of 5s and a Timeout of 15s, much
	// longer than this check.
	cl := startClient(c, impl, fake.Addr().String(), Config{})
	me := firstHeartbeat(c, cl, fake, "with the default Interval of 5s, the first heartbeat goes out at once, not after an interval")
	long := string(pattern('a', 2000))
	for _, msg := range []string{"hello", "héllo, 你好", "two  spaces ", "@not a heartbeat@", " hi\n", "quit\n", long} {
		put(c, cl.send, msg, "Join")
		d, ok := fake.Recv(c.Patience())
		if !ok {
			c.Fatalf("expected %s from your client within %v; got nothing", harness.Quote([]byte(msg)), c.Patience())
		}
		if d.From != me {
			c.Fatalf("the message came from %s, but the heartbeat came from %s: send everything on one socket, "+
				"so that the server sees one member", d.From, me)
		}
		if string(d.Data) != msg {
			c.Fatalf("your client sent %s, want %s%s: send each message as it is", harness.Quote(d.Data), harness.Quote([]byte(msg)),
				harness.Difference(d.Data, []byte(msg)))
		}
	}
}

func checkClientHeartbeat(c *harness.C, impl Impl) {
	window := c.Dur(300 * time.Millisecond)
	cfg := Config{Interval: c.Dur(15 * time.Millisecond), Timeout: time.Minute}
	// On a machine too busy to run the harness on time, your client's
	// ticker falls behind too: a ticker drops a tick only when its reader
	// is late by a whole interval, so the count holds while the harness is
	// never that late.
	c.Timed(cfg.Interval)
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), cfg)
	start := time.Now()
	var got []string
	for time.Since(start) < window {
		d, ok := fake.RecvQuiet(window - time.Since(start))
		if ok {
			got = append(got, string(d.Data))
		}
	}
	c.Step("harness cancels Join's context")
	stopped := time.Now()
	cl.stop(c, true)
	if err := cl.wait(c); !errors.Is(err, context.Canceled) {
		c.Step("(Join returned %v)", err)
	}
	// Heartbeats are counted from Join's start to when it was told to stop
	// (what Join sends while stopping is counted against the upper bound).
	running := stopped.Sub(start)
	elapsed := time.Since(start)
	for _, d := range fake.DrainQuiet() {
		got = append(got, string(d.Data))
	}
	beats := 0
	for _, g := range got {
		if g == heartbeat {
			beats++
		}
	}
	c.Step("fake server received %d datagrams from your client, %d of them %q, in the %v from calling Join to its return (Interval %v)",
		len(got), beats, heartbeat, elapsed.Round(time.Millisecond), cfg.Interval)
	for i, g := range got {
		if g != quit {
			continue
		}
		// A second quit is harmless; anything else re-registers the member.
		var after []string
		for _, h := range got[i+1:] {
			if h != quit {
				after = append(after, h)
			}
		}
		if len(after) > 0 {
			c.Fatalf("your client sent %s after %q: the server would take the member back in; stop the heartbeats "+
				"before sending quit", quoteAll(after), quit)
		}
		break
	}
	if len(got) == 0 || got[0] != heartbeat {
		c.Fatalf("the first datagram from your client must be %q; got %s", heartbeat, quoteAll(got))
	}
	// One at once, then one per interval: the bounds allow a quarter of
	// the count either way, and one more heartbeat while stopping.
	want := 1 + int(running/cfg.Interval)
	if most := 1 + int(elapsed/cfg.Interval) + want/4 + 1; beats > most {
		c.Fatalf("%d heartbeats in %v is too many for an Interval of %v: want at most %d (one at once, then one per interval)",
			beats, elapsed.Round(time.Millisecond), cfg.Interval, most)
	}
	if least := want - want/4; beats < least {
		c.Slow("%d heartbeats in %v is too few for an Interval of %v: want at least %d (one at once, then one per "+
			"interval, less a quarter); is the Interval from Config used?",
			beats, running.Round(time.Millisecond), cfg.Interval, least)
	}
	// After Join returns, nothing more may come: wait a few intervals.
	c.Pause(5 * cfg.Interval)
	if late := fake.DrainQuiet(); len(late) > 0 {
		var ls []string
		for _, d := range late {
			ls = append(ls, string(d.Data))
		}
		c.Fatalf("your client sent %s after Join had returned: the server would take the member back in; stop the ticker "+
			"(and any goroutine sending heartbeats) before returning", quoteAll(ls))
	}
}

func checkClientReceive(c *harness.C, impl Impl) {
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: time.Minute, Timeout: time.Minute})
	me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	long := "127.0.0.1:4444 " + string(pattern('a', 4096))
	sent := []string{heartbeat, "127.0.0.1:1111 one", heartbeat, "127.0.0.1:2222 two", long, heartbeat, "[::1]:3333 three"}
	for _, s := range sent {
		fake.Send(me, []byte(s))
	}
	var want []string
	for _, s := range sent {
		if s != heartbeat {
			want = append(want, s)
		}
	}
	for _, w := range want {
		got := next(c, cl.recv, "Join")
		if got != w {
			why := "hand over the broadcasts, whole and in order"
			if got == heartbeat {
				why = "the server's \"@im@\" answers prove it is alive; they are not messages for the caller"
			}
			c.Fatalf("recv gave %s, want %s%s: %s", harness.Quote([]byte(got)), harness.Quote([]byte(w)),
				harness.Difference([]byte(got), []byte(w)), why)
		}
	}
	// Nothing more: a last broadcast must come next.
	fake.Send(me, []byte("127.0.0.1:1111 last"))
	if got := next(c, cl.recv, "Join"); got != "127.0.0.1:1111 last" {
		c.Fatalf("recv gave %s, want %q: each datagram is handed over once", harness.Quote([]byte(got)), "127.0.0.1:1111 last")
	}
}

func checkClientQuit(c *harness.C, impl Impl) {
	for _, how := range []string{"cancels Join's context", "closes send"} {
		fake := c.NewPeer("fake server", "udp4")
		cl := startClient(c, impl, fake.Addr().String(), Config{Interval: time.Minute, Timeout: time.Minute})
		me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
		put(c, cl.send, "bye all", "Join")
		expectNext(c, fake, me, "bye all", "each message goes out as it is")
		c.Step("harness %s", how)
		cl.stop(c, how == "cancels Join's context")
		d, ok := fake.Recv(c.Patience())
		if !ok {
			c.Fatalf("after the harness %s, expected %q from your client within %v; got nothing", how, quit, c.Patience())
		}
		if string(d.Data) != quit || d.From != me {
			c.Fatalf("after the harness %s, your client sent %s from %s; want %q from %s, the socket it used all along",
				how, harness.Quote(d.Data), d.From, quit, me)
		}
		cl.wait(c)
	}
}

func checkClientStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Join)
	before := harness.Goroutines(pkg)
	for _, viaCtx := range []bool{true, false} {
		fake := c.NewPeer("fake server", "udp4")
		cl := startClient(c, impl, fake.Addr().String(), Config{Interval: 10 * time.Millisecond, Timeout: time.Minute})
		me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
		fake.Send(me, []byte("127.0.0.1:1111 hello"))
		if got := next(c, cl.recv, "Join"); got != "127.0.0.1:1111 hello" {
			c.Fatalf("recv gave %s, want %q", harness.Quote([]byte(got)), "127.0.0.1:1111 hello")
		}
		// Two more broadcasts that nobody takes from recv: Join must not
		// wait for the caller to take them when it is told to stop. (Two,
		// because the grader passes recv between processes, which holds
		// one message on the way.) Three more heartbeats give the client
		// time to read them.
		fake.Send(me, []byte("127.0.0.1:1111 unread"))
		fake.Send(me, []byte("127.0.0.1:1111 unread too"))
		for beats := 0; beats < 3; {
			d, ok := fake.RecvQuiet(c.Patience())
			if !ok {
				c.Fatalf("expected a heartbeat every %v from your client; got nothing for %v", 10*time.Millisecond, c.Patience())
			}
			if string(d.Data) == heartbeat {
				beats++
			}
		}
		how, want := "cancels Join's context", error(context.Canceled)
		if !viaCtx {
			how, want = "closes send", nil
		}
		c.Step("harness %s, without taking the last broadcast from recv", how)
		cl.stop(c, viaCtx)
		err, ok := cl.run.Wait(c.Dur(StopBound))
		if !ok {
			c.Slow("Join did not return within %v after the harness %s", c.Dur(StopBound), how)
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			c.Fatalf("after the harness %s, Join returned %v; want %v", how, err, want)
		}
		if !recvClosed(c, cl.recv) {
			c.Fatalf("Join returned without closing recv: close it (defer close(recv)) so that a caller ranging over it stops")
		}
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Join returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}
	if runtime.GOOS == "windows" {
		return // no refused datagrams there (see client-refused)
	}

	// The third way out: the server goes away. Join returns on its own.
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: 10 * time.Millisecond, Timeout: time.Minute})
	me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	fake.Send(me, []byte("127.0.0.1:1111 unread"))
	c.Pause(3 * 10 * time.Millisecond) // a few heartbeats: time for the client to read it
	cl.run.Expect()
	fake.Conn().Close()
	c.Step("harness closes the fake server's socket, without taking the last broadcast from recv")
	err, ok := cl.run.Wait(c.Patience())
	if !ok {
		c.Slow("Join did not return within %v after the fake server's port was closed (client-refused grades why)", c.Patience())
	}
	c.Step("(Join returned %v)", err)
	if !recvClosed(c, cl.recv) {
		c.Fatalf("Join returned, the server down, without closing recv: close it on every way out " +
			"(defer close(recv) as the first line does it)")
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Join returned, the server down, but left %d goroutine(s) running, the first:\n%s\n"+
			"(every way out of Join must stop the goroutines it started and wait for them, not only ctx and send)",
			len(left), harness.FirstLines(left[0], 8))
	}
}

func checkClientRefused(c *harness.C, impl Impl) {
	if runtime.GOOS == "windows" {
		c.Skipf("Go does not report refused UDP datagrams on windows (go.dev/issue/5834)")
	}
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: 10 * time.Millisecond, Timeout: time.Minute})
	firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	cl.run.Expect()
	fake.Conn().Close()
	c.Step("harness closes the fake server's socket: the next heartbeat gets ICMP port unreachable back (Timeout is 1m)")
	err := cl.waitDown(c, c.Patience(), "after the fake server's port was closed")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		c.Fatalf("Join returned %q, which does not wrap syscall.ECONNREFUSED (errors.Is is false): "+
			"wrap the error from Read or Write with %%w", err)
	}
}

func checkClientSilence(c *harness.C, impl Impl) {
	cfg := Config{Interval: c.Dur(10 * time.Millisecond), Timeout: c.Dur(250 * time.Millisecond)}
	c.Timed(cfg.Timeout / 8)
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), cfg)
	me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	cl.run.Expect() // a return is reported below, with what led to it
	// The fake server answers every heartbeat for one and a half times
	// the Timeout: your client must not call it down.
	phase := cfg.Timeout * 3 / 2
	start := time.Now()
	answers := 0
	lastAnswer := start
	for time.Since(start) < phase {
		d, ok := fake.RecvQuiet(phase - time.Since(start))
		if ok && string(d.Data) == heartbeat && d.From == me {
			lastAnswer = time.Now()
			fake.SendQuiet(me, []byte(heartbeat))
			answers++
		}
		if err, returned := cl.run.Wait(time.Millisecond); returned {
			// The verdict holds if the harness answered in time: your
			// client heard from the server less than the Timeout before.
			since := cl.returnedAt().Sub(lastAnswer)
			c.Within("the fake server's silence before Join returned", since, cfg.Timeout*3/4)
			c.Slow("Join returned %v after %v, while the server answered each of its heartbeats (%d answers, the last %v before): "+
				"silence is the time since anything last came from the server",
				err, time.Since(start).Round(time.Millisecond), answers, since.Round(time.Millisecond))
		}
	}
	c.Step("fake server answered %d heartbeats with %q over %v; now it goes silent (Timeout %v)",
		answers, heartbeat, phase, cfg.Timeout)
	// Not too late: one and a half times the Timeout, and an interval for
	// a client that looks at the time only when it sends a heartbeat.
	most := cfg.Timeout*3/2 + cfg.Interval
	err := cl.waitDown(c, time.Until(lastAnswer.Add(most))+c.Patience(), "after the fake server went silent")
	took := cl.returnedAt().Sub(lastAnswer)
	if errors.Is(err, syscall.ECONNREFUSED) {
		c.Fatalf("Join returned %q, but the server's port is open: it fell silent, it did not close", err)
	}
	if took < cfg.Timeout*9/10 {
		c.Fatalf("Join reported the server down %v after its last answer; want no sooner than the Timeout of %v",
			took.Round(time.Millisecond), cfg.Timeout)
	}
	if took > most {
		c.Slow("Join reported the server down %v after its last answer; want no later than %v (the Timeout of %v, "+
			"half as much again, and one Interval): is the Timeout from Config used, as the deadline of every read?",
			took.Round(time.Millisecond), most, cfg.Timeout)
	}
	c.Step("Join returned %v after %v of silence", err, took.Round(time.Millisecond))
}

// client is a learner's Join running against a harness server.
type client struct {
	send    chan string
	recv    chan string
	run     *harness.Running
	doneAt  time.Time // when Join returned, written before run has its result
	cancel  context.CancelFunc
	closed  bool  // send is closed
	errDown error // the lesson's ErrServerDown
}

// startClient runs impl.Join against server with cfg and stops it when
// the check ends. If Join returns while the check does not expect it to,
// the check is aborted with Join's error, so a stub fails at once.
func startClient(c *harness.C, impl Impl, server string, cfg Config) *client {
	// Waits for the learner's code to return are timing verdicts too.
	c.Timed(c.Dur(StopBound) / 4)
	cl := &client{send: make(chan string), recv: make(chan string), errDown: impl.ErrServerDown}
	ctx, cancel := context.WithCancel(context.Background())
	cl.cancel = cancel
	c.Step("harness calls Join(ctx, %q, %s, send, recv)", server, describe(cfg))
	cl.run = c.Go("Join", func() error {
		err := impl.Join(ctx, server, cfg, cl.send, cl.recv)
		cl.doneAt = time.Now()
		return err
	})
	c.Cleanup(func() {
		cl.run.Expect()
		cancel()
		drainFor(cl.recv, StopBound) // a Join waiting to deliver must not hold up the next check
	})
	return cl
}

// returnedAt returns when Join returned; call it only after Join's result
// has come from run.
func (cl *client) returnedAt() time.Time { return cl.doneAt }

// stop tells Join to leave: by cancelling its context, or by closing send.
func (cl *client) stop(c *harness.C, viaCtx bool) {
	cl.run.Expect()
	if viaCtx {
		cl.cancel()
		return
	}
	if !cl.closed {
		cl.closed = true
		close(cl.send)
	}
}

// wait waits up to StopBound for Join to return, taking from recv
// meanwhile, and returns its error.
func (cl *client) wait(c *harness.C) error {
	stop := drainWhile(cl.recv)
	err, ok := cl.run.Wait(c.Dur(StopBound))
	stop()
	if !ok {
		c.Slow("Join did not return within %v after it was told to stop", c.Dur(StopBound))
	}
	return err
}

// waitDown waits up to d for Join to return an error that wraps
// ErrServerDown, taking from recv meanwhile.
func (cl *client) waitDown(c *harness.C, d time.Duration, when string) error {
	stop := drainWhile(cl.recv)
	err, ok := cl.run.Wait(d)
	stop()
	if !ok {
		c.Slow("Join did not return within %v %s: the server is down, and Join must say so", d, when)
	}
	if cl.errDown == nil {
		c.Fatalf("the lesson's ErrServerDown is nil: declare it with errors.New")
	}
	if err == nil || !errors.Is(err, cl.errDown) {
		c.Fatalf("%s, Join returned %v; want an error that wraps ErrServerDown (use %%w)", when, err)
	}
	return err
}

// firstHeartbeat waits for the client's first datagram, which must be a
// heartbeat, names the client's address for the trace and returns it.
func firstHeartbeat(c *harness.C, cl *client, fake *harness.Peer, rule string) netip.AddrPort {
	d, ok := fake.Recv(c.Patience())
	if !ok {
		c.Fatalf("expected %q from your client within %v; got nothing.\n   The rule: %s", heartbeat, c.Patience(), rule)
	}
	c.Name(d.From, "your client")
	if string(d.Data) != heartbeat {
		c.Fatalf("your client's first datagram was %s, want %q: join with a heartbeat at once", harness.Quote(d.Data), heartbeat)
	}
	return d.From
}

func quoteAll(ss []string) string {
	var qs []string
	for _, s := range ss {
		qs = append(qs, harness.Quote([]byte(s)))
	}
	if len(qs) > 8 {
		qs = append(qs[:8], fmt.Sprintf("... (%d in all)", len(ss)))
	}
	return "[" + strings.Join(qs, " ") + "]"
}
