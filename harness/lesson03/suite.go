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
	"sync"
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
	// is done, and how long Request may take to return once its client is
	// closed.
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
	// TooLong is the size of a message no IPv4 datagram can carry: one
	// byte more than the largest UDP payload over IPv4.
	TooLong = 65508
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
		Title: "Request writes the message as it is, with no address, from the client's socket, and returns the whole reply",
		Hint: "On a connected socket, send msg itself with Write (WriteTo fails: the socket already has its peer) and read " +
			"with Read into a 65,535-byte buffer; return buf[:n], untrimmed. Use the client's own socket, not a new one.",
		Run: checkRequest,
	},
	{
		ID: "timeout", Points: 2,
		Title: "with no reply, Request waits its whole wait (none at all for a wait of zero or less), then fails with os.ErrDeadlineExceeded; the client still works",
		Hint: "Call SetReadDeadline(time.Now().Add(wait)) before Read, whatever wait is: a deadline in the past ends the " +
			"read at once. Return Read's error wrapped with %w (never %v) so that errors.Is(err, os.ErrDeadlineExceeded) finds it.",
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
		ID: "close", Points: 2,
		Title: "Close frees the client's port and wakes a waiting Request; later calls, a second Close included, fail with net.ErrClosed",
		Hint: "Close the socket, and return its Close's error: a second Close then fails with net.ErrClosed by itself. " +
			"Do not set the field to nil, and close every socket the client opened.",
		Run: checkClose,
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
		Title: "SendEvery reports each refused send to refused (wrapping ECONNREFUSED), one call at a time on its own goroutine, and keeps sending; refused may be nil",
		Hint: "When Write fails and errors.Is(err, syscall.ECONNREFUSED), call refused(err) yourself, if it is not nil " +
			"(not with go, not through a channel), and go on to the next tick; return only for other errors or when ctx is done.",
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
		ID: "send-every-error", Points: 2,
		Title: "SendEvery returns an error: at once for an interval of zero or less, and the send's own error when a send fails for any reason but a refusal (a message too long, the client closed), with no goroutine left behind",
		Hint: "Check the interval before anything else (time.NewTicker panics on zero). When Write fails with anything " +
			"but ECONNREFUSED, return that error, wrapped with %w; do not pass it to refused or skip the message. " +
			"A goroutine you start must end however SendEvery returns, not only when ctx is done.",
		Run: checkSendEveryError,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "the same over IPv6 loopback [::1]: the exchange, strangers filtered out, refusals reported",
		Hint:  "Dial with the network \"udp\", not \"udp4\": the address says which IP version to use, and the socket is connected either way.",
		Run:   checkIPv6,
	},
}}

func checkDial(c *harness.C, impl Impl) {
	// First a port where nobody listens: Dial must still succeed.
	var nobody netip.AddrPort
	if canReconnect {
		nobody = closedPort(c, "udp4").Addr()
		c.Step("nothing listens on %v", nobody)
	} else {
		nobody = c.NewPeer("peer", "udp4").Addr() // quiet: it never answers
	}
	if _, err := callDial(c, impl, context.Background(), nobody.String()); err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			c.Fatalf("Dial(ctx, %q) returned error: %v\n(a UDP connect sends nothing and cannot know that nobody "+
				"listens; Dial must succeed all the same, and leave finding out to the first Request)", nobody.String(), err)
		}
		c.Fatalf("Dial(ctx, %q) returned error: %v", nobody.String(), err)
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
	// Messages and replies are bytes, kept as they are: spaces and
	// newlines included, long ones whole.
	cl.exchange(p, "  two words \n", " a reply\r\n")
	cl.exchange(p, "Michael", string(pattern(60000)))
	cl.exchange(p, string(pattern(3000)), "got it")
	cl.exchange(p, "", "")
}

// pattern returns n bytes of a-z, repeating, so that data cut short or
// shifted shows where.
func pattern(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	return data
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
	timedOut(c, res)
	if res.took < wait {
		c.Fatalf("Request gave up after %v; want it to wait the whole %v for the reply", res.took, wait)
	}
	if res.took > most {
		c.Slow("Request gave up after %v; with a wait of %v it must give up within %v: is the read deadline "+
			"time.Now().Add(wait), with the wait it was given?", res.took.Round(time.Millisecond), wait, most)
	}
	cl.exchange(p, "ping again", "pong")

	// A wait of zero or less gives up at once. (Whether the message went
	// out is not graded: nothing can answer it in time.)
	for _, w := range []time.Duration{0, -time.Second} {
		r := cl.start([]byte("no wait"), w, false)
		res := cl.await(r, wait/2, fmt.Sprintf("a wait of zero or less gives up at once: time.Now().Add(%v) is a deadline "+
			"that has passed already, so set it as for any other wait (a zero time.Time, by contrast, means no deadline at all)", w))
		timedOut(c, res)
	}
	p.Drain()
	cl.exchange(p, "ping at last", "pong")
}

// timedOut fails the check unless res is a Request's error wrapping
// os.ErrDeadlineExceeded.
func timedOut(c *harness.C, res result) {
	if res.err == nil {
		c.Fatalf("Request returned %s and no error, though no reply came; want an error wrapping os.ErrDeadlineExceeded",
			harness.Quote(res.reply))
	}
	if !errors.Is(res.err, os.ErrDeadlineExceeded) {
		c.Fatalf("Request returned error %q, which does not wrap os.ErrDeadlineExceeded "+
			"(errors.Is(err, os.ErrDeadlineExceeded) is false)", res.err)
	}
}

func checkStrangers(c *harness.C, impl Impl) {
	p := c.NewPeer("your peer", "udp4")
	s := c.NewPeer("a stranger", "udp4")
	cl := dial(c, impl, p.Addr().String())
	strangers(c, cl, p, s)
}

// strangers has s write to the client before and during a Request to p,
// and expects Request to return p's reply.
func strangers(c *harness.C, cl *client, p, s *harness.Peer) {
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
	g := closedPort(c, "udp4")
	cl := dial(c, impl, g.Addr().String())
	refusedRequest(c, cl, g)
}

// refusedRequest makes a Request to g, where nothing listens, and fails the
// check unless it is refused in time.
func refusedRequest(c *harness.C, cl *client, g *gate) {
	c.Step("nothing listens on %v", g.Addr())
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
	g := closedPort(c, "udp4")
	cl := dial(c, impl, g.Addr().String())
	refusedRequest(c, cl, g)
	g.open(cl.addr)
	cl.exchange(g, "ping again", "pong")
}

func checkClose(c *harness.C, impl Impl) {
	bound := c.Dur(StopBound)
	c.Timed(bound / 4)
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	cl.exchange(p, "ping", "pong")

	// A Request waiting for its reply returns as soon as Close is called.
	r := cl.start([]byte("waiting"), c.Dur(RefusedWait), true)
	p.Expect(cl.addr, []byte("waiting"), "request")
	r.replying() // from now on, the harness expects Request to return
	if err := cl.close(); err != nil {
		c.Fatalf("Close() returned error %q; want nil: the client was open", err)
	}
	res := cl.await(r, bound, "Close wakes a Read that is waiting on the socket, with an error wrapping net.ErrClosed: "+
		"return that error")
	closedErr(c, "Request", res.err, res.reply)

	// The port is free again: nothing of the client holds it.
	freed(c, cl.addr)

	// Later calls fail at once.
	res = cl.await(cl.start([]byte("after Close"), c.Patience(), false), bound, "a closed socket fails every Write and Read at once")
	closedErr(c, "Request", res.err, res.reply)
	err := cl.close()
	if err == nil {
		c.Fatalf("the second Close() returned nil; want an error wrapping net.ErrClosed, as net.Conn's Close does: " +
			"return the socket's Close error")
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("the second Close() returned %q, which does not wrap net.ErrClosed", err)
	}
}

// closedErr fails the check unless err, what call returned on a closed
// client, wraps net.ErrClosed.
func closedErr(c *harness.C, call string, err error, reply []byte) {
	if err == nil {
		c.Fatalf("%s returned %s and no error on a closed client; want an error wrapping net.ErrClosed", call, harness.Quote(reply))
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("%s on a closed client returned error %q, which does not wrap net.ErrClosed "+
			"(errors.Is(err, net.ErrClosed) is false)", call, err)
	}
}

// freed fails the check unless addr, the closed client's address, can be
// bound again: Close must have freed it.
func freed(c *harness.C, addr netip.AddrPort) {
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	c.Step("harness binds %v, the closed client's address", addr)
	var err error
	for deadline := time.Now().Add(c.Patience()); ; {
		var conn *net.UDPConn
		conn, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
		if err == nil {
			conn.Close()
			return
		}
		if !harness.IsAddrInUse(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // a Close on another goroutine may take a moment
	}
	c.Fatalf("binding %v after Close() returned failed: %v; want the port free: Close must close the client's socket "+
		"(and any other socket it opened)", addr, err)
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
	cl.startSending(interval, ticks(), func(error) {}, "", false)
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
	c.FailIfAborted()
}

// refusals is a refused callback for the checks. It records each call,
// notices a call that begins while another has not returned or after
// SendEvery has returned, and blocks while held.
type refusals struct {
	calls    chan error
	inFlight atomic.Int32
	overlap  atomic.Bool // a call began while another was running
	returned atomic.Bool // set by the check once SendEvery has returned
	late     atomic.Bool // a call began after that
	mu       sync.Mutex
	hold     chan struct{} // while not nil, calls block until it is closed
}

func newRefusals() *refusals { return &refusals{calls: make(chan error, 1000)} }

func (r *refusals) refused(err error) {
	if r.inFlight.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.inFlight.Add(-1)
	if r.returned.Load() {
		r.late.Store(true)
	}
	select {
	case r.calls <- err:
	default:
	}
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
}

// holdCalls makes the calls from now on block until release, or until the
// check ends: call it after starting SendEvery, so that the clean-up that
// lets them go runs before the one that waits for SendEvery.
func (r *refusals) holdCalls(c *harness.C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
	c.Cleanup(r.release)
}

// release lets held calls return, and later ones return at once.
func (r *refusals) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// next waits up to wait for the next call of refused. It fails the check
// if SendEvery returned instead, or calls overlapped.
func (r *refusals) next(c *harness.C, wait time.Duration, missing string) error {
	select {
	case err := <-r.calls:
		c.Step("harness's refused was called with %q", err)
		r.noOverlap(c)
		return err
	case <-c.Context().Done():
		c.FailIfAborted()
	case <-time.After(wait):
	}
	c.Fatalf("%s", missing)
	panic("unreachable")
}

func (r *refusals) noOverlap(c *harness.C) {
	if r.overlap.Load() {
		c.Fatalf("refused was called while its previous call had not returned: SendEvery must call refused itself, " +
			"on its own goroutine, one call at a time")
	}
}

func checkSendEveryRefused(c *harness.C, impl Impl) {
	skipUnlessRefusals(c)

	// refused may be nil: with nobody listening, SendEvery goes on sending.
	g0 := closedPort(c, "udp4")
	cl0 := dial(c, impl, g0.Addr().String())
	c.Step("nothing listens on %v", g0.Addr())
	var made atomic.Int64
	tick := ticks()
	s0 := cl0.startSending(RefusedInterval, func() []byte { made.Add(1); return tick() }, nil, "; refused is nil", false)
	for deadline := time.Now().Add(c.Patience()); made.Load() < 5; {
		if time.Now().After(deadline) {
			c.Fatalf("msg was called %d time(s) within %v of calling SendEvery with an interval of %v; want a message "+
				"every interval, refused or not", made.Load(), c.Patience(), RefusedInterval)
		}
		c.Pause(RefusedInterval)
	}
	c.Step("(msg has been called %d times: some of those sends were refused)", made.Load())
	s0.stop()

	g := closedPort(c, "udp4")
	cl := dial(c, impl, g.Addr().String())
	c.Step("nothing listens on %v", g.Addr())
	rf := newRefusals()
	s := cl.startSending(RefusedInterval, ticks(), rf.refused, "", false)
	for i := range 2 {
		missing := fmt.Sprintf("refused was not called within %v, though nothing listens on the peer's port: "+
			"with nobody there, every other send fails with ECONNREFUSED", c.Patience())
		if i > 0 {
			missing = fmt.Sprintf("refused was called once, then not again within %v: after a refused send, "+
				"SendEvery must go on sending (and so be refused again)", c.Patience())
		}
		if err := rf.next(c, c.Patience(), missing); !errors.Is(err, syscall.ECONNREFUSED) {
			c.Fatalf("refused was called with %q, which does not wrap syscall.ECONNREFUSED", err)
		}
	}
	g.open(cl.addr)
	for {
		d, ok := g.Recv(c.Patience())
		if !ok {
			c.Fatalf("no message arrived within %v after a peer appeared: SendEvery must keep sending after refusals",
				c.Patience())
		}
		if d.From != cl.addr || !strings.HasPrefix(string(d.Data), "tick-") {
			c.Fatalf("got %s from %s, want a message from msg (\"tick-...\") from your client", harness.Quote(d.Data), c.Who(d.From))
		}
		break
	}

	// A refused that takes its time: nothing else is called meanwhile, and
	// SendEvery does not return before it has. (Calls are held before the
	// peer goes, so that every call after it is held; a refusal reported
	// before the message that got through is in rf.calls already.)
	rf.holdCalls(c)
	for len(rf.calls) > 0 {
		<-rf.calls
	}
	c.Step("harness's refused blocks from now on, until the harness lets it go")
	g.shut()
	rf.next(c, c.Patience(), fmt.Sprintf("refused was not called within %v after the peer went away: "+
		"with nobody there, every other send fails with ECONNREFUSED", c.Patience()))
	c.Pause(5 * RefusedInterval)
	rf.noOverlap(c)
	c.Step("(%v later, refused has not been called again)", 5*RefusedInterval)
	s.run.Expect()
	c.Step("harness cancels SendEvery's context while refused is still running")
	s.cancel()
	if err, ok := s.run.Wait(5 * RefusedInterval); ok {
		c.FailIfAborted()
		c.Fatalf("SendEvery returned %v while its call of refused had not returned: call refused on SendEvery's own "+
			"goroutine and wait for it, so that refused is never running once SendEvery has returned", err)
	}
	c.Step("harness's refused returns")
	rf.release()
	s.awaitStop()
	rf.returned.Store(true)
	c.Pause(5 * RefusedInterval)
	if rf.late.Load() {
		c.Fatalf("refused was called after SendEvery had returned: every call must come from SendEvery itself, before it returns")
	}
}

func checkSendEveryStop(c *harness.C, impl Impl) {
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	before := harness.Goroutines(cl.pkg)
	s := cl.startSending(time.Hour, ticks(), func(error) {}, "", false)
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
	leftBehind(c, cl.pkg, before, "")
}

// leftBehind fails the check if goroutines of the learner's package pkg
// that were not in before are still running after StopBound.
func leftBehind(c *harness.C, pkg string, before map[int]string, advice string) {
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("SendEvery returned but left %d goroutine(s) running, the first:\n%s%s",
			len(left), harness.FirstLines(left[0], 8), advice)
	}
}

func checkSendEveryError(c *harness.C, impl Impl) {
	bound := c.Dur(StopBound)
	c.Timed(bound / 4)
	p := c.NewPeer("harness peer", "udp4")
	cl := dial(c, impl, p.Addr().String())
	before := harness.Goroutines(cl.pkg)
	rf := newRefusals()

	// An interval of zero or less is an error, returned at once.
	for _, iv := range []time.Duration{0, -time.Second} {
		s := cl.startSending(iv, ticks(), rf.refused, "", true)
		err, ok := s.run.Wait(c.Patience())
		c.FailIfAborted()
		if !ok {
			c.Fatalf("SendEvery(ctx, %v, msg, refused) did not return within %v; want an error at once: "+
				"an interval of zero or less is an error", iv, c.Patience())
		}
		c.Step("SendEvery returned %v", err)
		if err == nil {
			c.Fatalf("SendEvery(ctx, %v, msg, refused) returned nil; want an error: an interval of zero or less is an error", iv)
		}
		if ds := p.Drain(); len(ds) > 0 {
			c.Fatalf("SendEvery(ctx, %v, msg, refused) sent %d message(s) before returning its error; want none: "+
				"check the interval before sending", iv, len(ds))
		}
	}

	// A send that fails for another reason than a refusal ends SendEvery
	// with its error.
	var n atomic.Int64
	tooLong := func() []byte {
		if n.Add(1) == 3 {
			return bytes.Repeat([]byte("x"), TooLong)
		}
		return fmt.Appendf(nil, "tick-%d", n.Load())
	}
	s := cl.startSending(c.Dur(Interval), tooLong, rf.refused, fmt.Sprintf("; msg returns \"tick-1\", \"tick-2\", "+
		"then %d bytes, more than an IPv4 datagram can carry", TooLong), true)
	p.Expect(cl.addr, []byte("tick-1"), "message")
	p.Expect(cl.addr, []byte("tick-2"), "message")
	err, ok := s.run.Wait(c.Patience())
	c.FailIfAborted()
	if len(rf.calls) > 0 {
		c.Fatalf("refused was called with %q; want SendEvery to return that error: refused is for refusals "+
			"(ECONNREFUSED) only", <-rf.calls)
	}
	if !ok {
		c.Fatalf("SendEvery did not return within %v after msg returned %d bytes, which no IPv4 datagram can carry; "+
			"want it to return the send's error (message too long)", c.Patience(), TooLong)
	}
	c.Step("SendEvery returned %v", err)
	if !errors.Is(err, syscall.EMSGSIZE) {
		c.Fatalf("SendEvery returned %v; want the send's error, wrapping syscall.EMSGSIZE (message too long)", err)
	}
	leftBehind(c, cl.pkg, before, "\n(a goroutine that waits for ctx to be done never ends when SendEvery returns for "+
		"another reason: do without it, or end it when SendEvery returns)")

	// The client closed under SendEvery, while ctx is live: the next send
	// fails, and SendEvery returns that error.
	cl2 := dial(c, impl, p.Addr().String())
	s = cl2.startSending(c.Dur(Interval), ticks(), rf.refused, "", false)
	p.Expect(cl2.addr, []byte("tick-1"), "message")
	s.run.Expect()
	if err := cl2.close(); err != nil {
		c.Fatalf("Close() returned error %q; want nil: the client was open", err)
	}
	most := c.Dur(Interval) + bound
	err, ok = s.run.Wait(most)
	c.FailIfAborted()
	if len(rf.calls) > 0 {
		c.Fatalf("refused was called with %q; want SendEvery to return that error: refused is for refusals "+
			"(ECONNREFUSED) only", <-rf.calls)
	}
	if !ok {
		c.Slow("SendEvery did not return within %v after its client was closed (its interval is %v): its next send "+
			"fails, and SendEvery must return that error", most, c.Dur(Interval))
	}
	c.Step("SendEvery returned %v", err)
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("after its client was closed, SendEvery returned %v; want the send's error, wrapping net.ErrClosed", err)
	}
	leftBehind(c, cl.pkg, before, "\n(a goroutine that waits for ctx to be done never ends when SendEvery returns for "+
		"another reason: do without it, or end it when SendEvery returns)")
}

func checkIPv6(c *harness.C, impl Impl) {
	p := c.NewPeer("harness peer", "udp6") // skips the check where there is no IPv6 loopback
	s := c.NewPeer("a stranger", "udp6")
	cl := dial(c, impl, p.Addr().String())
	if got := harness.AddrPort(cl.RemoteAddr()); got != p.Addr() {
		c.Fatalf("RemoteAddr() is %v, want %v, the address given to Dial", cl.RemoteAddr(), p.Addr())
	}
	cl.exchange(p, "ping", "pong")
	strangers(c, cl, p, s)
	if refusalsMissing() != "" {
		return
	}
	g := closedPort(c, "udp6")
	refusedRequest(c, dial(c, impl, g.Addr().String()), g)
}

// ticks returns a msg function for SendEvery that returns "tick-1",
// "tick-2", ... on successive calls.
func ticks() func() []byte {
	var n atomic.Int64
	return func() []byte { return fmt.Appendf(nil, "tick-%d", n.Add(1)) }
}

// refusalsMissing says why this system cannot check refusals, or "".
func refusalsMissing() string {
	if runtime.GOOS == "windows" {
		return "Windows reports a refused datagram as WSAECONNRESET, not ECONNREFUSED; this check runs on Linux and macOS"
	}
	if !canReconnect {
		return fmt.Sprintf("the harness cannot reconnect a socket on %s", runtime.GOOS)
	}
	return ""
}

// skipUnlessRefusals skips a check on systems that do not report ICMP port
// unreachable as ECONNREFUSED on a connected socket, or where the harness
// cannot make a port refuse and then accept.
func skipUnlessRefusals(c *harness.C) {
	if why := refusalsMissing(); why != "" {
		c.Skipf("%s", why)
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

// close calls Close with a time bound, and returns its error.
func (cl *client) close() (err error) {
	cl.c.Step("harness calls Close()")
	cl.c.Call("Close()", cl.c.Patience(), func() { err = cl.Close() })
	if err != nil {
		cl.c.Step("Close() returned error %q", err)
	}
	return err
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
	reply []byte
	err   error
	took  time.Duration
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

// start calls Request(msg, wait) on its own goroutine (see C.Go). If early
// is true, a Request that fails before replying is called aborts the
// check, so that a peer waiting for the request stops waiting at once.
func (cl *client) start(msg []byte, wait time.Duration, early bool) *pending {
	c := cl.c
	r := &pending{call: fmt.Sprintf("Request(%s, %v)", harness.Quote(msg), wait), done: make(chan result, 1)}
	r.early.Store(early)
	c.Step("harness calls %s", r.call)
	// Request returns by itself; await judges when.
	goReturning(c, r.call, func() error {
		start := time.Now()
		reply, err := cl.Request(msg, wait)
		r.done <- result{reply: reply, err: err, took: time.Since(start)}
		if err != nil && r.early.Load() {
			c.Abort(fmt.Errorf("%s returned error before the peer replied: %v", r.call, err))
		}
		return nil
	})
	// A Request still waiting when the check ends is woken by closing its
	// client, before C.Go's clean-up waits for it.
	c.Cleanup(func() { closeClient(cl.Client) })
	return r
}

// await waits up to bound for r to return. If it does not, the check fails
// with advice.
func (cl *client) await(r *pending, bound time.Duration, advice string) result {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case res := <-r.done:
		if res.err != nil {
			cl.c.Step("%s returned error %q", r.call, res.err)
		} else {
			cl.c.Step("%s returned %s", r.call, harness.Quote(res.reply))
		}
		return res
	case <-cl.c.Context().Done():
		cl.c.FailIfAborted() // a panic
	case <-timer.C:
	}
	if advice != "" {
		advice = ": " + advice
	}
	cl.c.Slow("%s did not return within %v%s", r.call, bound, advice)
	panic("unreachable")
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
	c      *harness.C
	cancel context.CancelFunc
	run    *harness.Running
}

// goReturning runs f, a call into learner code that may return by itself,
// with C.Go: a panic fails the check with its location, and a return does
// not abort it.
func goReturning(c *harness.C, call string, f func() error) *harness.Running {
	ready := make(chan struct{})
	run := c.Go(call, func() error { <-ready; return f() })
	run.Expect()
	close(ready)
	return run
}

// startSending runs SendEvery on its own goroutine (see C.Go) and stops it
// when the check ends. Unless returns is true, a SendEvery that returns
// while it should still be sending aborts the check with its error, so a
// stub fails at once. what is added to the trace.
func (cl *client) startSending(interval time.Duration, msg func() []byte, refused func(error), what string, returns bool) *sender {
	c := cl.c
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{c: c, cancel: cancel}
	if what == "" {
		what = "; msg returns \"tick-1\", \"tick-2\", ..."
	}
	c.Step("harness calls SendEvery(ctx, %v, msg, refused)%s", interval, what)
	send := func() error { return cl.SendEvery(ctx, interval, msg, refused) }
	if returns {
		s.run = goReturning(c, "SendEvery", send)
	} else {
		s.run = c.Go("SendEvery", send)
	}
	c.Cleanup(func() {
		s.run.Expect()
		cancel()
	})
	return s
}

// stop cancels SendEvery's context and expects it to return ctx.Err()
// within StopBound.
func (s *sender) stop() {
	s.c.FailIfAborted()
	s.c.Step("harness cancels SendEvery's context")
	s.c.Timed(s.c.Dur(StopBound) / 4)
	s.run.Expect()
	s.cancel()
	s.awaitStop()
}

// awaitStop expects SendEvery, whose context is cancelled, to return
// ctx.Err() within StopBound.
func (s *sender) awaitStop() {
	bound := s.c.Dur(StopBound)
	s.c.Timed(bound / 4)
	err, ok := s.run.Wait(bound)
	s.c.FailIfAborted()
	if !ok {
		s.c.Slow("SendEvery did not return within %v after its context was cancelled", bound)
	}
	if !errors.Is(err, context.Canceled) {
		s.c.Fatalf("after its context was cancelled, SendEvery returned %v; want ctx.Err() (context.Canceled), "+
			"so the caller knows why it stopped", err)
	}
}
