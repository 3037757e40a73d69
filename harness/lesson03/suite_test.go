package lesson03_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"udpbook/harness"
	"udpbook/harness/lesson03"
	stub "udpbook/lessons/03-connected-udp"
	solution "udpbook/solutions/03-connected-udp"
)

var reference = lesson03.Impl{Dial: lesson03.DialFunc(solution.Dial)}

// broken lists deliberately wrong implementations, each with the check
// that must fail it. Every check has at least one (see
// TestEveryCheckCatchesSomething): a check that cannot fail is a defect.
var broken = []struct {
	name  string // what is wrong with it
	msg   string // a piece of the failure message, proving it failed for that reason
	fails string // the check that must catch it
	impl  lesson03.Impl
}{
	{"Dial returns nil, nil", `returned a nil client`, "dial", impl(mutant{dialNil: true})},
	{"Dial sends a hello to the peer", `Dial sent 1 datagram(s)`, "dial", impl(mutant{dialHello: true})},
	{"Dial probes the peer and fails when refused", `cannot know that nobody listens`, "dial", impl(mutant{dialProbe: true})},
	{"Dial only remembers the peer, on a socket bound to every interface", `want 127.0.0.1`, "dial", impl(mutant{emulate: true, wildcard: true})},
	{"Dial ignores ctx (net.Dial)", `want an error wrapping context.Canceled`, "dial", impl(mutant{ignoreCtx: true})},
	{"Dial panics", `panicked: boom`, "dial", impl(mutant{dialPanics: true})},
	{"Request sends with WriteTo", `use of WriteTo with pre-connected connection`, "request", impl(mutant{writeTo: true})},
	{"Request reads into 1024 bytes", `(1024 bytes, want 60000`, "request", impl(mutant{buf: 1024})},
	{"Request returns the whole buffer", `(65535 bytes, want 4`, "request", impl(mutant{wholeBuffer: true})},
	{"Request sends from a new socket", `it came from`, "request", impl(mutant{newSocket: true})},
	{"Request panics", `panicked: boom`, "request", impl(mutant{requestPanics: true})},
	{"Request reads without a deadline", `did not return within `, "timeout", impl(mutant{noDeadline: true})},
	{"Request waits 3s whatever wait says", `did not return within `, "timeout", impl(mutant{fixedWait: 3 * time.Second})},
	{"Request waits twice the wait", `it must give up within`, "timeout", impl(mutant{waitTimes: 2})},
	{"Request waits 1.6 times the wait", `it must give up within`, "timeout", impl(mutant{waitTimes: 1.6})},
	{"Request hardly waits", `gave up after`, "timeout", impl(mutant{fixedWait: time.Millisecond})},
	{"Request returns nil, nil on a timeout", `and no error, though no reply came`, "timeout", impl(mutant{nilOnTimeout: true})},
	{"Request wraps the timeout with %v", `does not wrap os.ErrDeadlineExceeded`, "timeout", impl(mutant{wrapV: true})},
	{"connect emulated: socket on 127.0.0.1, WriteTo the remembered peer", `a stranger's datagram reached your socket`, "filters-strangers", impl(mutant{emulate: true})},
	{"connect emulated, and datagrams from others dropped by hand", `did not return within `, "refused", impl(mutant{emulate: true, filter: true})},
	{"Request sends again after a refusal", `did not return within `, "refused", impl(mutant{retryRefused: true})},
	{"Request wraps the refusal with %v", `does not wrap syscall.ECONNREFUSED`, "refused", impl(mutant{wrapV: true})},
	{"Request closes the socket after a refusal", `use of closed network connection`, "refused-then-works", impl(mutant{closeOnRefused: true})},
	{"Request remembers a refusal and returns it ever after", `"ping again", 1s) returned error before the peer replied`, "refused-then-works", impl(mutant{rememberRefused: true})},
	{"SendEvery sends as fast as it can", `want at most`, "send-every", impl(mutant{flood: true})},
	{"SendEvery waits ten intervals", `want about 41, and at least 31`, "send-every", impl(mutant{slow: 10})},
	{"SendEvery waits two intervals", `want about 41, and at least 31`, "send-every", impl(mutant{slow: 2})},
	{"SendEvery calls msg once", `want "tick-2"`, "send-every", impl(mutant{msgOnce: true})},
	{"SendEvery sends from a goroutine and returns at once", `SendEvery returned while it should still be sending`, "send-every", impl(mutant{returnAtOnce: true})},
	{"SendEvery returns at the first refusal", `returned after 0 call(s) of refused, with error "send: write udp`, "send-every-refused", impl(mutant{returnOnRefused: true})},
	{"SendEvery ignores refusals", `refused was not called within`, "send-every-refused", impl(mutant{silentRefused: true})},
	{"SendEvery wraps the refusal with %v", `which does not wrap syscall.ECONNREFUSED`, "send-every-refused", impl(mutant{wrapV: true})},
	{"SendEvery stops sending after a refusal", `refused was called once, then not again`, "send-every-refused", impl(mutant{stopAfterRefused: true})},
	{"connect emulated: no refusal ever reported", `refused was not called within`, "send-every-refused", impl(mutant{emulate: true})},
	{"SendEvery waits with time.Sleep", `after its context was cancelled`, "send-every-stop", impl(mutant{sleep: true})},
	{"SendEvery waits an interval before the first message", `expected the first message`, "send-every-stop", impl(mutant{waitFirst: true})},
	{"SendEvery returns nil when stopped", `SendEvery returned <nil>`, "send-every-stop", impl(mutant{returnNil: true})},
	{"SendEvery leaves a goroutine running", `left 1 goroutine(s) running`, "send-every-stop", impl(mutant{leak: true})},
	{"Dial uses udp4", `no suitable address`, "ipv6", impl(mutant{udp4: true})},
}

func impl(m mutant) lesson03.Impl { return lesson03.Impl{Dial: lesson03.DialFunc(m.Dial)} }

// mutant is the reference client with one mistake switched on.
type mutant struct {
	// Dial
	dialNil, dialHello, dialProbe, ignoreCtx, dialPanics, udp4 bool
	emulate                                                    bool // an unconnected socket that remembers the peer's address
	wildcard                                                   bool // with emulate: bound to every interface, not 127.0.0.1
	filter                                                     bool // with emulate: drops datagrams from anyone but the peer
	// Request
	writeTo, wholeBuffer, newSocket, requestPanics, noDeadline, nilOnTimeout, wrapV bool
	buf                                                                             int
	fixedWait                                                                       time.Duration
	waitTimes                                                                       float64
	retryRefused, closeOnRefused, rememberRefused                                   bool
	// SendEvery
	flood, msgOnce, returnAtOnce, returnOnRefused, silentRefused, stopAfterRefused bool
	sleep, waitFirst, returnNil, leak                                              bool
	slow                                                                           time.Duration
}

type mclient struct {
	m       mutant
	conn    *net.UDPConn
	peer    *net.UDPAddr // for emulate
	refusal error        // for rememberRefused
}

func (m mutant) Dial(ctx context.Context, addr string) (*mclient, error) {
	if m.dialPanics {
		panic("boom")
	}
	if m.dialNil {
		return nil, nil
	}
	cl := &mclient{m: m}
	if m.emulate {
		peer, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, err
		}
		laddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		if m.wildcard {
			laddr = nil
		}
		conn, err := net.ListenUDP("udp", laddr)
		if err != nil {
			return nil, err
		}
		cl.conn, cl.peer = conn, peer
		return cl, nil
	}
	var conn net.Conn
	var err error
	switch {
	case m.ignoreCtx:
		conn, err = net.Dial("udp", addr)
	case m.udp4:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "udp4", addr)
	default:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "udp", addr)
	}
	if err != nil {
		return nil, err
	}
	cl.conn = conn.(*net.UDPConn)
	if m.dialHello {
		cl.conn.Write([]byte("hello"))
	}
	if m.dialProbe {
		cl.conn.Write([]byte("anybody there?"))
		cl.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := cl.conn.Read(make([]byte, 100))
		cl.conn.SetReadDeadline(time.Time{})
		if errors.Is(err, syscall.ECONNREFUSED) {
			cl.conn.Close()
			return nil, err
		}
	}
	return cl, nil
}

func (cl *mclient) LocalAddr() net.Addr { return cl.conn.LocalAddr() }

func (cl *mclient) RemoteAddr() net.Addr {
	if cl.m.emulate {
		return cl.peer
	}
	return cl.conn.RemoteAddr()
}

func (cl *mclient) Close() error { return cl.conn.Close() }

func (cl *mclient) write(conn *net.UDPConn, msg []byte) error {
	var err error
	switch {
	case cl.m.emulate:
		_, err = conn.WriteToUDP(msg, cl.peer)
	case cl.m.writeTo:
		_, err = conn.WriteTo(msg, conn.RemoteAddr())
	default:
		_, err = conn.Write(msg)
	}
	return err
}

func (cl *mclient) read(conn *net.UDPConn, buf []byte) (int, error) {
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err == nil && cl.m.filter && harness.Unmap(from) != harness.Unmap(cl.peer.AddrPort()) {
			continue
		}
		return n, err
	}
}

func (cl *mclient) Request(msg []byte, wait time.Duration) ([]byte, error) {
	m := cl.m
	if m.requestPanics {
		panic("boom")
	}
	if m.rememberRefused && cl.refusal != nil {
		return nil, cl.refusal
	}
	conn := cl.conn
	if m.newSocket {
		other, err := net.DialUDP("udp", nil, conn.RemoteAddr().(*net.UDPAddr))
		if err != nil {
			return nil, err
		}
		defer other.Close()
		conn = other
	}
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	for {
		if err := cl.write(conn, msg); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		switch {
		case m.noDeadline:
			conn.SetReadDeadline(time.Time{})
		case m.fixedWait > 0:
			conn.SetReadDeadline(time.Now().Add(m.fixedWait))
		case m.waitTimes > 0:
			conn.SetReadDeadline(time.Now().Add(time.Duration(m.waitTimes * float64(wait))))
		default:
			conn.SetReadDeadline(time.Now().Add(wait))
		}
		n, err := cl.read(conn, buf)
		if err != nil {
			refused := errors.Is(err, syscall.ECONNREFUSED)
			switch {
			case refused && m.retryRefused:
				time.Sleep(50 * time.Millisecond) // not a flood of ICMP
				continue
			case refused && m.closeOnRefused:
				conn.Close()
			case refused && m.rememberRefused:
				cl.refusal = err
			case errors.Is(err, os.ErrDeadlineExceeded) && m.nilOnTimeout:
				return nil, nil
			}
			if m.wrapV {
				return nil, fmt.Errorf("request: %v", err)
			}
			return nil, fmt.Errorf("request: %w", err)
		}
		if m.wholeBuffer {
			return buf, nil
		}
		return buf[:n], nil
	}
}

func (cl *mclient) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	if cl.m.leak {
		go time.Sleep(time.Minute) // longer than any time scale's StopBound
	}
	if cl.m.returnAtOnce {
		go cl.send(ctx, interval, msg, refused)
		return nil
	}
	return cl.send(ctx, interval, msg, refused)
}

func (cl *mclient) send(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	m := cl.m
	if m.slow > 0 {
		interval *= m.slow
	}
	if m.waitFirst {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var first []byte
	stopped := false
	for {
		if !stopped {
			data := msg
			if m.msgOnce {
				data = func() []byte {
					if first == nil {
						first = msg()
					}
					return first
				}
			}
			if err := cl.write(cl.conn, data()); err != nil {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					return err
				}
				switch {
				case m.returnOnRefused:
					return fmt.Errorf("send: %w", err)
				case m.silentRefused:
				case m.wrapV:
					refused(fmt.Errorf("send: %v", err))
				default:
					refused(err)
				}
				stopped = m.stopAfterRefused
			}
		}
		switch {
		case m.flood:
			if ctx.Err() != nil {
				return ctx.Err()
			}
		case m.sleep:
			time.Sleep(min(interval, time.Minute)) // longer than any scale's StopBound, and ends
			if ctx.Err() != nil {
				return ctx.Err()
			}
		default:
			select {
			case <-ctx.Done():
				if m.returnNil {
					return nil
				}
				return ctx.Err()
			case <-ticker.C:
			}
		}
	}
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			res := lesson03.Suite.GradeOne(b.fails, b.impl)
			if res.Status == harness.Skip {
				t.Skipf("check %q cannot run here: %s", b.fails, res.Message)
			}
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail\n%s", b.fails, res.Status, b.name, res.Message)
			}
			if !strings.Contains(res.Message, b.msg) {
				t.Fatalf("check %q failed, but not for the reason expected: the message lacks %q:\n%s", b.fails, b.msg, res.Message)
			}
			t.Logf("check %q failed it, as it should:\n%s", b.fails, res.Message)
		})
	}
}

func TestEveryCheckCatchesSomething(t *testing.T) {
	caught := map[string]bool{}
	for _, b := range broken {
		caught[b.fails] = true
	}
	for _, ch := range lesson03.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson03.Suite.Grade(reference) {
		if res.Status == harness.Skip {
			t.Logf("reference solution: check %q skipped: %s", res.ID, res.Message)
			continue
		}
		if res.Status != harness.Pass {
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson03.Impl{Dial: lesson03.DialFunc(stub.Dial)}
	for _, res := range lesson03.Suite.Grade(impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
		if res.Duration > harness.Patience/2 { // a check that waited for a datagram would take Patience
			t.Errorf("stub: check %q took %v to fail, want it at once", res.ID, res.Duration)
		}
	}
}

// The lesson's claims about the kernel, checked on the harness's own
// sockets, so that the checks built on them mean something.
func TestKernelFacts(t *testing.T) {
	peer, err := harness.ListenLoopback("udp4")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := net.DialUDP("udp4", nil, peer.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// WriteTo on a connected socket fails, in Go, before any system call.
	if _, err := conn.WriteTo([]byte("x"), peer.LocalAddr()); err == nil || !strings.Contains(err.Error(), "pre-connected") {
		t.Errorf("WriteTo on a connected socket: %v, want the pre-connected error", err)
	}
	// Write on an unconnected socket has no address to go to.
	if _, err := peer.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "destination address required") {
		t.Errorf("Write on an unconnected socket: %v, want \"destination address required\"", err)
	}
	// A socket connected to someone else does not take conn's datagrams
	// (the harness's closed ports rely on it): the datagram after the
	// refused one fails.
	other, err := net.DialUDP("udp4", nil, peer.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	toOther, err := net.DialUDP("udp4", nil, other.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer toOther.Close()
	if _, err := toOther.Write([]byte("1")); err != nil {
		t.Fatalf("first write to a closed port: %v, want it to succeed", err)
	}
	if _, err := toOther.Write([]byte("2")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("second write to a port where a socket connected elsewhere sits: %v, want ECONNREFUSED", err)
	}
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "timeout", Stall: 100 * time.Millisecond},
	{ID: "refused", Stall: 600 * time.Millisecond},
	{ID: "send-every", Stall: 100 * time.Millisecond},
	{ID: "send-every-stop", Stall: 600 * time.Millisecond},
}

func TestTimingChecksRetryWhenTheHarnessIsLate(t *testing.T) {
	harness.TestRetriesWhenLate(t, &lesson03.Suite, reference, timingChecks)
}

func TestBrokenTimingFailsAtEveryScale(t *testing.T) {
	// Checks that count the lesson's goroutines run alone, at 2× only.
	alone := map[string]bool{"send-every-stop": true}
	harness.TestFailsAtEveryScale(t, &lesson03.Suite, brokenKit(), timingChecks, []int{2, 4, 8}, alone)
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson03.Impl] {
	kit := make([]harness.Broken[lesson03.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson03.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
