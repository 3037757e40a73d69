package lesson01_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness"
	"udpbook/harness/lesson01"
	stub "udpbook/lessons/01-echo-server"
	solution "udpbook/solutions/01-echo-server"
)

var reference = lesson01.Impl{Listen: solution.Listen, Serve: solution.Serve}

// broken lists deliberately wrong implementations, each with the check
// that must fail it. Every check has at least one (see
// TestEveryCheckCatchesSomething): a check that cannot fail is a defect.
var broken = []struct {
	name  string // what is wrong with it
	msg   string // a piece of the failure message, proving it failed for that reason
	fails string // the check that must catch it
	impl  lesson01.Impl
}{
	{"Listen returns nil, nil", `returned a nil connection`, "listen", lesson01.Impl{Listen: func(string) (net.PacketConn, error) { return nil, nil }}},
	{"Listen binds every interface instead of the address given", `want 127.0.0.1`, "listen", lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return net.ListenPacket("udp", ":"+port)
	}}},
	{"Listen ignores the address and always takes port 0", `want exactly`, "port-in-use", lesson01.Impl{Listen: func(string) (net.PacketConn, error) {
		return net.ListenPacket("udp", "127.0.0.1:0")
	}}},
	{"Listen wraps its error with %v, losing EADDRINUSE", `does not wrap syscall.EADDRINUSE`, "port-in-use", lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen: %v", err)
		}
		return conn, nil
	}}},
	{"Listen falls back to a free port when the address is taken", `succeeded while another UDP socket was bound`, "port-in-use", lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return net.ListenPacket("udp", "127.0.0.1:0")
		}
		return conn, nil
	}}},
	{"reply without the exclamation mark", `got reply "Hello, Michael", want "Hello, Michael!"`, "one-request", serve(mutant{noBang: true})},
	{"reply built from the whole buffer, not buf[:n]", `(1032 bytes, want 15`, "one-request", serve(mutant{wholeBuffer: true, buf: 1024})},
	{"reply sent from a new socket", `it came from`, "one-request", serve(mutant{newSocket: true})},
	{"replies to the first client it ever heard", `got nothing`, "two-clients", serve(mutant{replyToFirst: true})},
	{"replies to every client it has heard", `got reply "Hello, Tracy!", want "Hello, Sarah!"`, "two-clients", serve(mutant{broadcast: true})},
	{"reads like a stream: joins datagrams that arrive together", `got 1 replies`, "back-to-back", serve(mutant{coalesce: true})},
	{"answers one datagram and returns", `Serve returned while it should still be serving`, "back-to-back", serve(mutant{once: true})},
	{"replies twice", `(-want +got)`, "back-to-back", serve(mutant{twice: true})},
	{"1024-byte buffer, as in the tutorial", `(1032 bytes, want 60008`, "big-datagram", serve(mutant{buf: 1024})},
	{"32 KiB buffer", `(32776 bytes, want 60008`, "big-datagram", serve(mutant{buf: 32 << 10})},
	{"skips empty datagrams", `expected reply "Hello, !"`, "empty-and-binary", serve(mutant{skipEmpty: true})},
	{"cleans up bytes that are not UTF-8", `got reply "Hello, ?`, "empty-and-binary", serve(mutant{toValidUTF8: true})},
	{"returns when a reply cannot be sent", `message too long`, "keeps-serving", serve(mutant{returnOnWriteErr: true})},
	{"ignores ctx", `did not return within `, "stop", serve(mutant{ignoreCtx: true})},
	{"looks at ctx only between datagrams", `did not return within `, "stop", serve(mutant{ctxBetweenReads: true})},
	{"returns nil instead of ctx.Err()", `Serve returned <nil>`, "stop", serve(mutant{returnNil: true})},
	{"leaves a goroutine running", `left 1 goroutine(s) running`, "stop", serve(mutant{leak: true})},
	{"assumes IPv4 addresses", `got nothing`, "ipv6", serve(mutant{ipv4Only: true})},
	{"65,507-byte buffer, IPv4's largest payload", "(65515 bytes, want 65527", "ipv6", serve(mutant{buf: 65507})},
	{"Listen binds IPv4 only", "no suitable address", "ipv6", lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		return net.ListenPacket("udp4", addr)
	}, Serve: solution.Serve}},
	{"keeps looping after a read error", "after its socket was closed: a read error", "closed-socket", serve(mutant{loopOnError: true})},
	{"returns nil when its socket is closed", "want the read's error", "closed-socket", serve(mutant{nilOnError: true})},
	{"61,440-byte buffer and returns on a failed send", "read the datagram cut short", "keeps-serving", serve(mutant{buf: 61440, returnOnWriteErr: true})},
	{"panics", `Serve panicked: boom`, "one-request", serve(mutant{panics: true})},
}

func serve(m mutant) lesson01.Impl {
	return lesson01.Impl{Listen: solution.Listen, Serve: m.Serve}
}

// mutant is the reference Serve with one mistake switched on.
type mutant struct {
	buf              int
	noBang           bool
	wholeBuffer      bool
	newSocket        bool
	replyToFirst     bool
	broadcast        bool
	coalesce         bool
	once             bool
	twice            bool
	skipEmpty        bool
	toValidUTF8      bool
	returnOnWriteErr bool
	ignoreCtx        bool
	ctxBetweenReads  bool
	returnNil        bool
	leak             bool
	ipv4Only         bool
	panics           bool
	loopOnError      bool
	nilOnError       bool
}

func (m mutant) Serve(ctx context.Context, conn net.PacketConn) error {
	if m.panics {
		panic("boom")
	}
	if m.leak {
		go func() { select {} }()
	}
	if !m.ignoreCtx && !m.ctxBetweenReads {
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		defer stop()
	}
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	var heard []net.Addr
	for {
		if m.ctxBetweenReads && ctx.Err() != nil {
			return ctx.Err()
		}
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if m.returnNil {
				return nil
			}
			if ctx.Err() == nil && m.loopOnError {
				time.Sleep(time.Millisecond)
				continue
			}
			if ctx.Err() == nil && m.nilOnError {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		data := append([]byte(nil), buf[:n]...)
		if m.coalesce {
			// Keep reading while more is waiting, as if UDP were a stream.
			for {
				conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				n, _, err := conn.ReadFrom(buf)
				if err != nil {
					break
				}
				data = append(data, buf[:n]...)
			}
			conn.SetReadDeadline(time.Time{})
		}
		if m.wholeBuffer {
			data = buf
		}
		if m.skipEmpty && n == 0 {
			continue
		}
		if m.toValidUTF8 {
			data = []byte(strings.ToValidUTF8(string(data), "?"))
		}
		reply := "Hello, " + string(data) + "!"
		if m.noBang {
			reply = reply[:len(reply)-1]
		}
		to := []net.Addr{from}
		if len(heard) == 0 || m.broadcast {
			heard = append(heard, from)
		}
		if m.replyToFirst {
			to = heard[:1]
		} else if m.broadcast {
			to = heard
		}
		if m.ipv4Only {
			a, err := net.ResolveUDPAddr("udp4", from.String())
			if err != nil {
				continue
			}
			to = []net.Addr{a}
		}
		for _, addr := range to {
			var err error
			if m.newSocket {
				var other net.PacketConn
				other, err = net.ListenPacket("udp", "127.0.0.1:0")
				if err == nil {
					_, err = other.WriteTo([]byte(reply), addr)
					other.Close()
				}
			} else {
				_, err = conn.WriteTo([]byte(reply), addr)
				if m.twice {
					conn.WriteTo([]byte(reply), addr)
				}
			}
			if err != nil && m.returnOnWriteErr {
				return err
			}
		}
		if m.once {
			return nil
		}
	}
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			res := lesson01.Suite.GradeOne(b.fails, b.impl)
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail", b.fails, res.Status, b.name)
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
	for _, ch := range lesson01.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson01.Suite.Grade(reference) {
		if res.Status != harness.Pass {
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson01.Impl{Listen: stub.Listen, Serve: stub.Serve}
	for _, res := range lesson01.Suite.Grade(impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
	}
}

// The tutorial's claim: "a UDP port can be bound only once". Make sure the
// harness's own sockets agree, or the port-in-use check means nothing.
func TestSecondUDPBindFails(t *testing.T) {
	a, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	_, err = net.ListenPacket("udp4", a.LocalAddr().String())
	require.ErrorIs(t, err, syscall.EADDRINUSE, "a second bind of one UDP address")
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "closed-socket", Stall: 600 * time.Millisecond},
	{ID: "stop", Stall: 600 * time.Millisecond},
}

func TestTimingChecksRetryWhenTheHarnessIsLate(t *testing.T) {
	harness.TestRetriesWhenLate(t, &lesson01.Suite, reference, timingChecks)
}

func TestBrokenTimingFailsAtEveryScale(t *testing.T) {
	// Checks that count the lesson's goroutines run alone, at 2× only.
	alone := map[string]bool{"stop": true}
	harness.TestFailsAtEveryScale(t, &lesson01.Suite, brokenKit(), timingChecks, []int{2, 4, 8}, alone)
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson01.Impl] {
	kit := make([]harness.Broken[lesson01.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson01.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
