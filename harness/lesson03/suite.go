// Package lesson03 grades lesson 03, connected UDP. The lesson's test file
// and the reference solution's (the same file) call Run.
//
// The checks reach the learner's socket only through the learner's own
// Client type, so that they tell a socket the kernel has connected from one
// that only remembers its peer's address: the second kind receives
// strangers' datagrams and never hears of a refusal.
package lesson03

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"udpbook/harness"
)

// Client is what the lesson's Dial returns: a UDP socket connected to one
// peer. The lesson's own type has these methods; DialFunc adapts its Dial.
type Client interface {
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	Close() error
	Request(msg []byte, wait time.Duration) ([]byte, error)
	SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error
}

// Impl is the lesson's API: the functions the suite grades.
type Impl struct {
	Dial func(ctx context.Context, addr string) (Client, error)
}

// DialFunc turns the lesson's Dial, which returns the lesson's own client
// type, into Impl's Dial. A nil pointer it returns becomes a nil Client.
func DialFunc[T Client](dial func(context.Context, string) (T, error)) func(context.Context, string) (Client, error) {
	return func(ctx context.Context, addr string) (Client, error) {
		cl, err := dial(ctx, addr)
		if v := reflect.ValueOf(cl); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
			return nil, err
		}
		return cl, err
	}
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// The durations the checks use. A passing check never waits for a bound;
// it waits for the event.
const (
	// StopBound is how long SendEvery may take to return once its context
	// is done.
	StopBound = time.Second
	// RefuseBound is how soon a Request to a port nobody listens on must
	// fail. On loopback the refusal comes back in microseconds.
	RefuseBound = time.Second
	// RefusedWait is the wait given to that Request: far longer than
	// RefuseBound, so only the refusal can end it in time.
	RefusedWait = 10 * time.Second
	// TimeoutWait is the wait given to a Request that gets no reply.
	TimeoutWait = 100 * time.Millisecond
	// Interval is SendEvery's interval when the checks count messages, and
	// Window how long they count.
	Interval = 10 * time.Millisecond
	Window   = 40 * Interval
	// RefusedInterval is SendEvery's interval while nobody listens.
	RefusedInterval = 5 * time.Millisecond
)

// Suite is lesson 03's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	{
		ID: "dial", Points: 3,
		Title: "Dial connects without sending anything, even when nobody listens; LocalAddr and RemoteAddr are set",
		Hint: "Use net.Dialer's DialContext(ctx, \"udp\", addr) and keep the connection it returns. " +
			"Do not send a probe or wait for an answer in Dial: a UDP connect sends nothing and cannot know " +
			"whether anybody listens. Do not bind with ListenUDP and remember the address yourself.",
		Run: checkDial,
	},
	{
		ID: "request", Points: 3,
		Title: "Request writes the message with no address, from the client's socket, and returns the whole reply",
		Hint: "On a connected socket, send with Write (WriteTo fails: the socket already has its peer) and read " +
			"with Read into a 65,535-byte buffer; return buf[:n]. Use the client's own socket, not a new one.",
		Run: checkRequest,
	},
	{
		ID: "timeout", Points: 2,
		Title: "with no reply, Request waits its whole wait, then fails with os.ErrDeadlineExceeded; the client still works",
		Hint: "Call SetReadDeadline(time.Now().Add(wait)) before Read, and return Read's error wrapped with %w " +
			"(never %v) so that errors.Is(err, os.ErrDeadlineExceeded) finds it.",
		Run: checkTimeout,
	},
	{
		ID: "filters-strangers", Points: 2,
		Title: "a datagram from a third socket never reaches Request; only the peer's reply does",
		Hint: "The kernel drops datagrams from anyone but the peer, but only on a socket that is really connected: " +
			"get it from DialContext, and do not read from a socket bound with ListenUDP.",
		Run: checkStrangers,
	},
	{
		ID: "refused", Points: 3,
		Title: "with nobody on the peer's port, Request fails within 1s with an error wrapping syscall.ECONNREFUSED",
		Hint: "Only a connected socket hears of ICMP port unreachable: Read returns \"connection refused\". " +
			"Return that error at once, wrapped with %w; do not retry, and do not keep reading until the deadline.",
		Run: checkRefused,
	},
	{
		ID: "refused-then-works", Points: 2,
		Title: "refusal is transient: once a peer listens on the port, the same client's next Request succeeds",
		Hint: "A refusal concerns one datagram. Do not close the socket or remember the error: " +
			"the next Request writes and reads as usual.",
		Run: checkRefusedThenWorks,
	},
	{
		ID: "send-every", Points: 3,
		Title: "SendEvery sends msg() at once and then about once per interval",
		Hint: "Send once, then wait for a time.Ticker's tick (or ctx.Done()) before each next send. " +
			"Call msg for each message and send exactly what it returns.",
		Run: checkSendEvery,
	},
	{
		ID: "send-every-refused", Points: 3,
		Title: "SendEvery reports each refused send to refused (wrapping ECONNREFUSED) and keeps sending",
		Hint: "When Write fails and errors.Is(err, syscall.ECONNREFUSED), call refused(err) and go on to the next tick; " +
			"return only for other errors or when ctx is done.",
		Run: checkSendEveryRefused,
	},
	{
		ID: "send-every-stop", Points: 2,
		Title: "cancelling ctx makes SendEvery return ctx.Err() within 1s, even mid-interval, with no goroutine left behind",
		Hint: "Wait with select on ctx.Done() and the ticker's channel, not with time.Sleep; return ctx.Err(). " +
			"Stop the ticker (defer ticker.Stop()).",
		Run: checkSendEveryStop,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "the same over IPv6 loopback [::1]",
		Hint:  "Dial with the network \"udp\", not \"udp4\": the address says which IP version to use.",
		Run:   checkIPv6,
	},
}}

func checkDial(c *harness.C, impl Impl) {
	// First a port where nobody listens: Dial must still succeed.
	g := closedPort(c)
	c.Step("nothing listens on %v", g.addr)
	if _, err := callDial(c, impl, context.Background(), g.addr.String()); err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			c.Fatalf("Dial(ctx, %q) returned error: %v\n(a UDP connect sends nothing and cannot know that nobody "+
				"listens; Dial must succeed all the same, and leave finding out to the first Request)", g.addr.String(), err)
		}
		c.Fatalf("Dial(ctx, %q) returned error: %v", g.addr.String(), err)
	}

	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	la := cl.LocalAddr()
	if la == nil {
		c.Fatalf("LocalAddr() returned nil, want the address the socket sends from")
	}
	if got := harness.AddrPort(la); got.Addr() != harness.Loopback("udp4") || got.Port() == 0 {
		c.Fatalf("LocalAddr() is %v, want 127.0.0.1 with a port the kernel chose (not 0): "+
			"connecting to 127.0.0.1 gives the socket that local address", la)
	}
	if got := harness.AddrPort(cl.RemoteAddr()); got != p.Addr() {
		c.Fatalf("RemoteAddr() is %v, want %v, the address given to Dial", cl.RemoteAddr(), p.Addr())
	}
	c.Step("(Dial has returned: anything it sent is in the harness peer's socket by now)")
	if ds := p.Drain(); len(ds) > 0 {
		c.Fatalf("Dial sent %d datagram(s) to the peer; want none: connecting a UDP socket sends nothing", len(ds))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Step("harness calls Dial with a cancelled ctx")
	if _, err := callDial(c, impl, ctx, p.Addr().String()); !errors.Is(err, context.Canceled) {
		c.Fatalf("Dial(ctx, %q) with a cancelled ctx returned error %v; want an error wrapping context.Canceled "+
			"(net.Dialer's DialContext does this)", p.Addr().String(), err)
	}
}

func checkRequest(c *harness.C, impl Impl) {
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	cl.exchange(p, "ping", "pong")
	big := make([]byte, 60000)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	cl.exchange(p, "Michael", string(big))
	cl.exchange(p, "", "")
}

func checkTimeout(c *harness.C, impl Impl) {
	wait := c.Dur(TimeoutWait)
	// Request's time is judged from both sides; the verdicts hold while
	// the harness is never late by a quarter of the wait.
	c.Timed(wait / 4)
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	r := cl.start([]byte("ping"), wait, false)
	p.Expect(cl.addr, []byte("ping"), "request")
	c.Step("harness does not answer")
	most := wait * 3 / 2
	res := cl.await(r, most+wait/4, fmt.Sprintf("with a wait of %v it must give up within %v: set a read deadline of "+
		"time.Now().Add(wait) before reading, with the wait Request was given", wait, most))
	if res.err == nil {
		c.Fatalf("Request returned %s and no error, though no reply came; want an error wrapping os.ErrDeadlineExceeded",
			harness.Quote(res.reply))
	}
	if !errors.Is(res.err, os.ErrDeadlineExceeded) {
		c.Fatalf("Request returned error %q, which does not wrap os.ErrDeadlineExceeded "+
			"(errors.Is(err, os.ErrDeadlineExceeded) is false)", res.err)
	}
	if res.took < wait {
		c.Fatalf("Request gave up after %v; want it to wait the whole %v for the reply", res.took, wait)
	}
	if res.took > most {
		c.Slow("Request gave up after %v; with a wait of %v it must give up within %v: is the read deadline "+
			"time.Now().Add(wait), with the wait it was given?", res.took.Round(time.Millisecond), wait, most)
	}
	cl.exchange(p, "ping again", "pong")
}

func checkStrangers(c *harness.C, impl Impl) {
	p := c.NewPeer("your peer", "udp4")
	s := c.NewPeer("a stranger", "udp4")
	cl := dial(c, impl, p.Addr().String())
	s.Send(cl.addr, []byte("intruder 1"))
	r := cl.start([]byte("ping"), c.Patience(), true)
	p.Expect(cl.addr, []byte("ping"), "request")
	s.Send(cl.addr, []byte("intruder 2"))
	r.replying()
	p.Send(cl.addr, []byte("pong"))
	res := cl.await(r, c.Patience(), "")
	if res.err != nil {
		c.Fatalf("Request returned error: %v", res.err)
	}
	if !bytes.Equal(res.reply, []byte("pong")) {
		c.Fatalf("Request returned %s, want \"pong\" from your peer: a stranger's datagram reached your socket, "+
			"so it is not connected to the peer", harness.Quote(res.reply))
	}
}

func checkRefused(c *harness.C, impl Impl) {
	skipUnlessRefusals(c)
	g := closedPort(c)
	cl := dial(c, impl, g.addr.String())
	refusedRequest(c, cl, g)
}

// refusedRequest makes a Request to g, where nothing listens, and fails the
// check unless it is refused in time.
func refusedRequest(c *harness.C, cl *client, g *gate) {
	c.Step("nothing listens on %v", g.addr)
	c.Timed(c.Dur(RefuseBound) / 4)
	r := cl.start([]byte("ping"), c.Dur(RefusedWait), false)
	res := cl.await(r, c.Dur(RefuseBound), "nobody listens there, so the peer's host answered with ICMP port unreachable, "+
		"which a connected socket's Read returns as an error wrapping syscall.ECONNREFUSED; return it at once")
	if res.err == nil {
		c.Fatalf("Request returned %s and no error; want an error wrapping syscall.ECONNREFUSED", harness.Quote(res.reply))
	}
	if !errors.Is(res.err, syscall.ECONNREFUSED) {
		c.Fatalf("Request returned error %q, which does not wrap syscall.ECONNREFUSED "+
			"(errors.Is(err, syscall.ECONNREFUSED) is false)", res.err)
	}
}

func checkRefusedThenWorks(c *harness.C, impl Impl) {
	skipUnlessRefusals(c)
	g := closedPort(c)
	cl := dial(c, impl, g.addr.String())
	refusedRequest(c, cl, g)
	g.open(cl.addr)
	cl.exchange(g, "ping again", "pong")
}

func checkSendEvery(c *harness.C, impl Impl) {
	interval, window := c.Dur(Interval), c.Dur(Window)
	// On a machine too busy to run the harness on time, your ticker falls
	// behind too: a ticker drops a tick only when its reader is late by a
	// whole interval, so the count holds while the harness is never that
	// late.
	c.Timed(interval)
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	start := time.Now()
	s := cl.startSending(interval, ticks(), func(error) {})
	end := start.Add(window)
	count := 0
	for {
		d, ok := p.Recv(time.Until(end))
		if !ok {
			break
		}
		count++
		if d.From != cl.addr {
			c.Fatalf("a datagram came from %s; want every message from your client %v", c.Who(d.From), cl.addr)
		}
		if want := fmt.Sprintf("tick-%d", count); string(d.Data) != want {
			c.Fatalf("message %d was %s, want %q: call msg once for each message and send what it returns",
				count, harness.Quote(d.Data), want)
		}
		// Timers never fire early: by now at most one message at once and
		// one per whole interval can have been sent.
		elapsed := time.Since(start)
		if most := int(elapsed/interval) + 2; count > most {
			c.Fatalf("%d messages arrived within %v of calling SendEvery with an interval of %v; want at most %d "+
				"(one at once, then one per interval)", count, elapsed.Round(time.Millisecond), interval, most)
		}
	}
	c.Step("(%v have passed since SendEvery was called)", window)
	// One at once, then one per interval, less a quarter for the last
	// messages still on their way and a ticker that drops a tick.
	want := 1 + int(window/interval)
	if least := want - want/4; count < least {
		c.Slow("%d messages arrived within %v with an interval of %v; want about %d, and at least %d: "+
			"is the interval the one SendEvery was given, and the wait a ticker rather than a sleep after each send?",
			count, window, interval, want, least)
	}
	s.mustRun()
}

func checkSendEveryRefused(c *harness.C, impl Impl) {
	skipUnlessRefusals(c)
	g := closedPort(c)
	cl := dial(c, impl, g.addr.String())
	c.Step("nothing listens on %v", g.addr)
	refusals := make(chan error, 1000)
	s := cl.startSending(RefusedInterval, ticks(), func(err error) {
		select {
		case refusals <- err:
		default:
		}
	})
	for i := range 2 {
		var err error
		select {
		case err = <-refusals:
		case err = <-s.done:
			s.returned = true
			c.Fatalf("SendEvery returned after %d call(s) of refused, with error %q; want it to report each refused send "+
				"and carry on sending", i, err)
		case <-time.After(c.Patience()):
			if i == 0 {
				c.Fatalf("refused was not called within %v, though nothing listens on the peer's port: "+
					"with nobody there, every other send fails with ECONNREFUSED", c.Patience())
			}
			c.Fatalf("refused was called once, then not again within %v: after a refused send, "+
				"SendEvery must go on sending (and so be refused again)", c.Patience())
		}
		c.Step("harness's refused was called with %q", err)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			c.Fatalf("refused was called with %q, which does not wrap syscall.ECONNREFUSED", err)
		}
	}
	g.open(cl.addr)
	d, ok := g.recv(c.Patience())
	if !ok {
		c.Fatalf("no message arrived within %v after a peer appeared: SendEvery must keep sending after refusals",
			c.Patience())
	}
	if d.From != cl.addr || !strings.HasPrefix(string(d.Data), "tick-") {
		c.Fatalf("got %s from %s, want a message from msg (\"tick-...\") from your client", harness.Quote(d.Data), c.Who(d.From))
	}
	s.stop()
}

func checkSendEveryStop(c *harness.C, impl Impl) {
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	before := harness.Goroutines(cl.pkg)
	s := cl.startSending(time.Hour, ticks(), func(error) {})
	d, ok := p.Recv(c.Patience())
	if !ok {
		c.Fatalf("expected the first message within %v of calling SendEvery; got nothing: send it at once, "+
			"then wait an interval before each next one", c.Patience())
	}
	if string(d.Data) != "tick-1" {
		c.Fatalf("the first message was %s, want \"tick-1\"", harness.Quote(d.Data))
	}
	c.Step("(SendEvery's interval is %v: it is now waiting for the next tick)", time.Hour)
	s.stop()
	if left := harness.LeftBehind(cl.pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("SendEvery returned but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
}

func checkIPv6(c *harness.C, impl Impl) {
	p := c.NewPeer("harness peer", "udp6")
	cl := dial(c, impl, p.Addr().String())
	if got := harness.AddrPort(cl.RemoteAddr()); got != p.Addr() {
		c.Fatalf("RemoteAddr() is %v, want %v, the address given to Dial", cl.RemoteAddr(), p.Addr())
	}
	cl.exchange(p, "ping", "pong")
}

// ticks returns a msg function for SendEvery that returns "tick-1",
// "tick-2", ... on successive calls.
func ticks() func() []byte {
	var n atomic.Int64
	return func() []byte { return fmt.Appendf(nil, "tick-%d", n.Add(1)) }
}

// skipUnlessRefusals skips a check on systems that do not report ICMP port
// unreachable as ECONNREFUSED on a connected socket, or where the harness
// cannot make a port refuse and then accept.
func skipUnlessRefusals(c *harness.C) {
	if runtime.GOOS == "windows" {
		c.Skipf("Windows reports a refused datagram as WSAECONNRESET, not ECONNREFUSED; this check runs on Linux and macOS")
	}
	if !canReconnect {
		c.Skipf("the harness cannot reconnect a socket on %s", runtime.GOOS)
	}
}

// client is the learner's Client, with its local address for the trace.
type client struct {
	Client
	c    *harness.C
	addr netip.AddrPort
	pkg  string // the package that defines the learner's client type
}

// dial calls impl.Dial(ctx, addr), fails the check on an error, and closes
// the client when the check ends.
func dial(c *harness.C, impl Impl, addr string) *client {
	cl, err := callDial(c, impl, context.Background(), addr)
	if err != nil {
		c.Fatalf("Dial(ctx, %q) returned error: %v", addr, err)
	}
	if cl == nil {
		c.Fatalf("Dial(ctx, %q) returned a nil client and no error", addr)
	}
	w := &client{Client: cl, c: c, addr: harness.AddrPort(cl.LocalAddr()), pkg: pkgOf(cl)}
	c.Name(w.addr, "your client")
	return w
}

// callDial calls impl.Dial(ctx, addr) with a time bound and closes what it
// returns when the check ends.
func callDial(c *harness.C, impl Impl, ctx context.Context, addr string) (cl Client, err error) {
	c.Call(fmt.Sprintf("Dial(ctx, %q)", addr), c.Patience(), func() { cl, err = impl.Dial(ctx, addr) })
	if cl != nil {
		c.Cleanup(func() { closeClient(cl) })
	}
	return cl, err
}

// closeClient closes cl, giving up after StopBound and ignoring a panic: it
// runs as a clean-up, where nothing may fail.
func closeClient(cl Client) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = recover() }()
		cl.Close()
	}()
	select {
	case <-done:
	case <-time.After(StopBound):
	}
}

// pkgOf returns the import path of the package that defines v's type.
func pkgOf(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// result is what one Request returned.
type result struct {
	reply    []byte
	err      error
	took     time.Duration
	panicked string
}

// pending is a Request running on its own goroutine.
type pending struct {
	call  string
	done  chan result
	early atomic.Bool // a failure now ends the check: the harness is waiting for the request
}

// replying says that the harness is about to send the reply: from now on
// Request may return.
func (r *pending) replying() { r.early.Store(false) }

// start calls Request(msg, wait) on its own goroutine. If early is true,
// a Request that fails or panics before replying is called aborts the
// check, so that a peer waiting for the request stops waiting at once.
func (cl *client) start(msg []byte, wait time.Duration, early bool) *pending {
	r := &pending{call: fmt.Sprintf("Request(%s, %v)", harness.Quote(msg), wait), done: make(chan result, 1)}
	r.early.Store(early)
	cl.c.Step("harness calls %s", r.call)
	go func() {
		var res result
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				res.panicked = fmt.Sprint(v)
			}
			res.took = time.Since(start)
			r.done <- res
			if r.early.Load() {
				if res.panicked != "" {
					cl.c.Abort(fmt.Errorf("%s panicked: %s", r.call, res.panicked))
				} else if res.err != nil {
					cl.c.Abort(fmt.Errorf("%s returned error before the peer replied: %v", r.call, res.err))
				}
			}
		}()
		res.reply, res.err = cl.Request(msg, wait)
	}()
	return r
}

// await waits up to bound for r to return. If it does not, the check fails
// with advice.
func (cl *client) await(r *pending, bound time.Duration, advice string) result {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case res := <-r.done:
		if res.panicked != "" {
			cl.c.Fatalf("%s panicked: %s", r.call, res.panicked)
		}
		if res.err != nil {
			cl.c.Step("%s returned error %q", r.call, res.err)
		} else {
			cl.c.Step("%s returned %s", r.call, harness.Quote(res.reply))
		}
		return res
	case <-timer.C:
		if advice != "" {
			advice = ": " + advice
		}
		cl.c.Slow("%s did not return within %v%s", r.call, bound, advice)
		panic("unreachable")
	}
}

// endpoint is the other end of an exchange: a harness.Peer or a gate.
type endpoint interface {
	Send(to netip.AddrPort, data []byte)
	Expect(from netip.AddrPort, want []byte, what string) harness.Datagram
}

// exchange calls Request(msg), expects msg at the peer from the client's
// address, answers with reply and expects Request to return it.
func (cl *client) exchange(peer endpoint, msg, reply string) {
	r := cl.start([]byte(msg), cl.c.Patience(), true)
	peer.Expect(cl.addr, []byte(msg), "request")
	r.replying()
	peer.Send(cl.addr, []byte(reply))
	res := cl.await(r, cl.c.Patience(), "")
	if res.err != nil {
		cl.c.Fatalf("Request returned error: %v", res.err)
	}
	if !bytes.Equal(res.reply, []byte(reply)) {
		cl.c.Fatalf("Request returned %s, want %s%s", harness.Quote(res.reply), harness.Quote([]byte(reply)),
			harness.Difference(res.reply, []byte(reply)))
	}
}

// sender is a learner's SendEvery running on its own goroutine.
type sender struct {
	c        *harness.C
	cancel   context.CancelFunc
	done     chan error // SendEvery's return value
	returned bool       // the check has taken SendEvery's return value
}

// startSending runs SendEvery on its own goroutine and stops it when the
// check ends. If SendEvery returns while it should still be sending, the
// check is aborted with its error, so a stub fails at once.
func (cl *client) startSending(interval time.Duration, msg func() []byte, refused func(error)) *sender {
	c := cl.c
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{c: c, cancel: cancel, done: make(chan error, 1)}
	c.Step("harness calls SendEvery(ctx, %v, msg, refused); msg returns \"tick-1\", \"tick-2\", ...", interval)
	go func() {
		var err error
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("SendEvery panicked: %v", v)
				s.done <- err
				c.Abort(err)
				return
			}
			s.done <- err
			if ctx.Err() == nil {
				c.Abort(fmt.Errorf("SendEvery returned while it should still be sending: %v", err))
			}
		}()
		err = cl.SendEvery(ctx, interval, msg, refused)
	}()
	c.Cleanup(func() {
		cancel()
		if !s.returned {
			select {
			case <-s.done:
			case <-time.After(StopBound):
			}
		}
	})
	return s
}

// mustRun fails the check if SendEvery has returned.
func (s *sender) mustRun() {
	select {
	case err := <-s.done:
		s.returned = true
		s.c.Fatalf("SendEvery returned while it should still be sending: %v", err)
	default:
	}
}

// stop cancels SendEvery's context and expects it to return ctx.Err()
// within StopBound.
func (s *sender) stop() {
	s.mustRun()
	s.c.Step("harness cancels SendEvery's context")
	bound := s.c.Dur(StopBound)
	s.c.Timed(bound / 4)
	s.cancel()
	var err error
	select {
	case err = <-s.done:
	case <-time.After(bound):
		s.c.Slow("SendEvery did not return within %v after its context was cancelled", bound)
	}
	s.returned = true
	if !errors.Is(err, context.Canceled) {
		s.c.Fatalf("after its context was cancelled, SendEvery returned %v; want ctx.Err() (context.Canceled), "+
			"so the caller knows why it stopped", err)
	}
}
