package lesson02_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness"
	"udpbook/harness/lesson02"
	stub "udpbook/lessons/02-echo-client"
	solution "udpbook/solutions/02-echo-client"
)

func adapt(greet func(context.Context, string, []string, solution.Options) ([]string, error)) lesson02.Impl {
	return lesson02.Impl{Greet: func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error) {
		return greet(ctx, addr, names, solution.Options{Timeout: timeout, Attempts: attempts})
	}}
}

var reference = adapt(solution.Greet)

// broken lists deliberately wrong clients, each with the check that must
// fail it and a piece of the message that proves it failed for that
// reason. Every check has at least one.
var broken = []struct {
	name  string
	msg   string
	fails string
	impl  lesson02.Impl
}{
	{"a new socket for every name", "want every request from one socket", "three-names", mutant{socketPerName: true}.impl()},
	{"all names in one datagram", "returned the wrong replies", "three-names", mutant{oneDatagram: true}.impl()},
	{"zero Options not given their defaults", "with zero Options returned error", "three-names", mutant{noDefaults: true}.impl()},
	{"panics", "panicked: boom", "three-names", mutant{panics: true}.impl()},
	{"sends every attempt at once, then waits once", "it must wait at least ", "no-server", mutant{noWaitBetween: true}.impl()},
	{"waits twice the Timeout", "it must give up within ", "no-server", mutant{timeoutTimes: 2}.impl()},
	{"waits half the Timeout", "it must wait at least ", "no-server", mutant{timeoutTimes: 0.5}.impl()},
	{"error does not wrap os.ErrDeadlineExceeded", "does not wrap os.ErrDeadlineExceeded", "no-server", mutant{plainError: true}.impl()},
	{"goes on to the next name after giving up", `should get "Michael" 3 times, then nothing`, "no-server", mutant{skipToNext: true}.impl()},
	{"one attempt too many", `should get "Michael" 3 times, then nothing`, "no-server", mutant{extraAttempt: true}.impl()},
	{"never retransmits (lost request)", "after 1 attempts", "lost-request", mutant{noRetry: true}.impl()},
	{"never retransmits (lost reply)", "after 1 attempts", "lost-reply", mutant{noRetry: true}.impl()},
	{"does not check who sent the reply", "took the interloper's", "interloper", mutant{noSourceCheck: true}.impl()},
	{"takes any datagram from the server as the reply", "with the reply to Michael duplicated", "stale-reply", mutant{noContentCheck: true}.impl()},
	{"sets the read deadline before every read", "each datagram that was not the reply started its wait again", "deadline-per-attempt", mutant{perReadDeadline: true}.impl()},
	{"ignores ctx", "did not return within ", "cancel", mutant{ignoreCtx: true}.impl()},
	{"returns ctx.Err() unwrapped but replaced", "want an error wrapping context.Canceled", "cancel", mutant{loseCtxErr: true}.impl()},
	{"assumes IPv4", "returned error", "ipv6", mutant{ipv4Only: true}.impl()},
	{"never closes its socket", "Greet did not close its socket", "closes-socket", mutant{noClose: true}.impl()},
	{"closes its socket only on success", "did not close its socket on that path", "closes-socket", mutant{closeOnlyOnSuccess: true}.impl()},
}

// mutant is the reference client with one mistake switched on.
type mutant struct {
	socketPerName      bool
	oneDatagram        bool
	noDefaults         bool
	panics             bool
	noWaitBetween      bool
	plainError         bool
	skipToNext         bool
	extraAttempt       bool
	noRetry            bool
	noSourceCheck      bool
	noContentCheck     bool
	ignoreCtx          bool
	loseCtxErr         bool
	ipv4Only           bool
	noClose            bool
	perReadDeadline    bool
	closeOnlyOnSuccess bool
	timeoutTimes       float64 // the Timeout used, in Timeouts
}

func (m mutant) impl() lesson02.Impl {
	if m.loseCtxErr {
		return adapt(func(ctx context.Context, addr string, names []string, opts solution.Options) ([]string, error) {
			replies, err := m.Greet(ctx, addr, names, opts)
			if errors.Is(err, context.Canceled) {
				err = errors.New("stopped")
			}
			return replies, err
		})
	}
	return adapt(m.Greet)
}

func (m mutant) Greet(ctx context.Context, addr string, names []string, opts solution.Options) ([]string, error) {
	if m.panics {
		panic("boom")
	}
	if !m.noDefaults {
		if opts.Timeout <= 0 {
			opts.Timeout = solution.DefaultTimeout
		}
		if opts.Attempts <= 0 {
			opts.Attempts = solution.DefaultAttempts
		}
	}
	if m.noRetry {
		opts.Attempts = 1
	}
	if m.extraAttempt {
		opts.Attempts++
	}
	if m.timeoutTimes > 0 {
		opts.Timeout = time.Duration(float64(opts.Timeout) * m.timeoutTimes)
	}
	network := "udp"
	if m.ipv4Only {
		network = "udp4"
	}
	raddr, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return nil, err
	}
	server := harness.Unmap(raddr.AddrPort())
	open := func() (*net.UDPConn, func(), error) {
		conn, err := net.ListenUDP(network, nil)
		if err != nil {
			return nil, nil, err
		}
		stop := func() bool { return true }
		if !m.ignoreCtx {
			stop = context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		}
		return conn, func() { stop(); conn.Close() }, nil
	}
	conn, closeConn, err := open()
	if err != nil {
		return nil, err
	}
	if !m.noClose && !m.closeOnlyOnSuccess {
		defer func() { closeConn() }()
	}
	if m.oneDatagram {
		names = []string{strings.Join(names, "\n")}
	}
	var replies []string
	var failure error
	for _, name := range names {
		if m.socketPerName {
			closeConn()
			if conn, closeConn, err = open(); err != nil {
				return nil, err
			}
		}
		reply, err := m.request(ctx, conn, server, name, opts)
		if err != nil {
			if m.skipToNext {
				failure = err
				continue
			}
			return replies, err
		}
		replies = append(replies, reply)
	}
	if m.oneDatagram {
		return strings.Split(replies[0], "\n"), nil
	}
	if m.closeOnlyOnSuccess && failure == nil {
		closeConn()
	}
	return replies, failure
}

func (m mutant) request(ctx context.Context, conn *net.UDPConn, server netip.AddrPort, name string, opts solution.Options) (string, error) {
	want := "Hello, " + name + "!"
	buf := make([]byte, 65535)
	var err error
	sends := 1
	if m.noWaitBetween {
		sends, opts.Attempts = opts.Attempts, 1
	}
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		for range sends {
			conn.WriteToUDPAddrPort([]byte(name), server)
		}
		conn.SetReadDeadline(time.Now().Add(opts.Timeout))
		if !m.ignoreCtx && ctx.Err() != nil {
			return "", ctx.Err()
		}
		for {
			var n int
			var from netip.AddrPort
			if m.perReadDeadline {
				conn.SetReadDeadline(time.Now().Add(opts.Timeout))
			}
			n, from, err = conn.ReadFromUDPAddrPort(buf)
			if !m.ignoreCtx && ctx.Err() != nil {
				return "", ctx.Err()
			}
			if err != nil {
				break
			}
			if !m.noSourceCheck && harness.Unmap(from) != server {
				continue
			}
			if !m.noContentCheck && string(buf[:n]) != want {
				continue
			}
			return string(buf[:n]), nil
		}
	}
	if m.plainError {
		return "", fmt.Errorf("no reply to %q", name)
	}
	return "", fmt.Errorf("no reply to %q after %d attempts: %w", name, opts.Attempts, err)
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			res := lesson02.Suite.GradeOne(b.fails, b.impl)
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail", b.fails, res.Status, b.name)
			}
			if !strings.Contains(res.Message, b.msg) {
				t.Fatalf("check %q failed, but not for the reason expected: the message lacks %q:\n%s", b.fails, b.msg, res.Message)
			}
		})
	}
}

func TestEveryCheckCatchesSomething(t *testing.T) {
	caught := map[string]bool{}
	for _, b := range broken {
		caught[b.fails] = true
	}
	for _, ch := range lesson02.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson02.Suite.Grade(reference) {
		if res.Status != harness.Pass {
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson02.Impl{Greet: func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error) {
		return stub.Greet(ctx, addr, names, stub.Options{Timeout: timeout, Attempts: attempts})
	}}
	for _, res := range lesson02.Suite.Grade(impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
	}
}

// The no-server check leans on this: after a sender's write returns on
// loopback, the datagram is already in the receiver's socket.
func TestLoopbackDeliveryIsSynchronous(t *testing.T) {
	a, err := harness.ListenLoopback("udp4")
	require.NoError(t, err)
	defer a.Close()
	b, err := harness.ListenLoopback("udp4")
	require.NoError(t, err)
	defer b.Close()
	for i := range 100 {
		_, err := a.WriteTo([]byte{byte(i)}, b.LocalAddr())
		require.NoError(t, err)
	}
	b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	buf := make([]byte, 8)
	for i := range 100 {
		n, _, err := b.ReadFrom(buf)
		require.NoError(t, err, "datagram %d", i)
		require.Equal(t, []byte{byte(i)}, buf[:n], "datagram %d", i)
	}
	_, _, err = b.ReadFrom(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing more should be waiting")
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "no-server", Stall: 100 * time.Millisecond},
	{ID: "deadline-per-attempt", Stall: 300 * time.Millisecond},
	{ID: "cancel", Stall: 600 * time.Millisecond},
}

func TestTimingChecksRetryWhenTheHarnessIsLate(t *testing.T) {
	harness.TestRetriesWhenLate(t, &lesson02.Suite, reference, timingChecks)
}

func TestBrokenTimingFailsAtEveryScale(t *testing.T) {
	// Checks that count the lesson's goroutines run alone, at 2× only.
	alone := map[string]bool{}
	harness.TestFailsAtEveryScale(t, &lesson02.Suite, brokenKit(), timingChecks, []int{2, 4, 8}, alone)
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson02.Impl] {
	kit := make([]harness.Broken[lesson02.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson02.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
