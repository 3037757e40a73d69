package lesson01_test

import (
	"bytes"
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

// promises is everything lesson 01 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "listen-binds", Source: "Listen", Checks: []string{"listen"},
		Text: "Listen binds a UDP socket to addr and returns it; port 0 gets a free port, read back from LocalAddr"},
	{ID: "listen-exact", Source: "Listen", Checks: []string{"listen", "port-in-use"},
		Text: "Listen binds exactly the address it is given: not every interface, not another port"},
	{ID: "listen-in-use", Source: "Listen", Checks: []string{"port-in-use"},
		Text: "a UDP address bound already makes Listen return an error wrapping syscall.EADDRINUSE, and a nil conn"},
	{ID: "listen-ipv6", Source: "Listen", Checks: []string{"ipv6"},
		Text: `Listen takes IPv6 addresses such as "[::1]:0"`},
	{ID: "reply", Source: "Serve", Checks: []string{"one-request", "empty-and-binary"},
		Text: `every datagram gets "Hello, <data>!", built from the datagram's bytes exactly`},
	{ID: "reply-from-conn", Source: "Serve", Checks: []string{"one-request"},
		Text: "the reply is sent from conn, the socket the datagram arrived on"},
	{ID: "reply-to-sender", Source: "Serve", Checks: []string{"two-clients", "ipv6"},
		Text: "the reply goes to the datagram's sender, whoever sent earlier, on IPv4 and IPv6"},
	{ID: "one-reply-each", Source: "Serve", Checks: []string{"back-to-back"},
		Text: "one read, one datagram, one reply: datagrams are never joined, and each gets exactly one reply"},
	{ID: "whole-datagram", Source: "Serve", Checks: []string{"big-datagram", "ipv6", "keeps-serving"},
		Text: "a datagram of any size, up to the largest UDP payload, is read whole"},
	{ID: "any-content", Source: "Serve", Checks: []string{"empty-and-binary"},
		Text: "empty datagrams get \"Hello, !\"; bytes that are not UTF-8, spaces and newlines come back unchanged"},
	{ID: "send-error-dropped", Source: "Serve", Checks: []string{"keeps-serving"},
		Text: "a reply that cannot be sent is dropped, and Serve goes on with the next datagram"},
	{ID: "stop-on-ctx", Source: "Serve", Checks: []string{"stop"},
		Text: "Serve returns ctx.Err() soon after ctx is done, even while blocked in a read"},
	{ID: "return-read-error", Source: "Serve", Checks: []string{"closed-socket"},
		Text: "Serve returns early only if reading fails for another reason, such as conn being closed, and returns that error"},
	{ID: "no-leaks", Source: "Serve", Checks: []string{"stop", "closed-socket"},
		Text: "Serve leaves no goroutine running when it returns, however it returns"},
	{ID: "caller-owns-conn", Source: "Serve", Checks: []string{"stop"},
		Text: "Serve does not close conn: the caller can clear the read deadline and use conn again"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"one-request"},
		Text: "a panic in Serve is reported with where it happened"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it.
var broken = []harness.Broken[lesson01.Impl]{
	{Name: "Listen returns nil, nil", Msg: `returned a nil connection`, Fails: "listen", Promise: "listen-binds", Impl: lesson01.Impl{Listen: func(string) (net.PacketConn, error) { return nil, nil }}},
	{Name: "Listen binds every interface instead of the address given", Msg: `want 127.0.0.1`, Fails: "listen", Promise: "listen-exact", Impl: lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return net.ListenPacket("udp", ":"+port)
	}}},
	{Name: "Listen ignores the address and always takes port 0", Msg: `want exactly`, Fails: "port-in-use", Promise: "listen-exact", Impl: lesson01.Impl{Listen: func(string) (net.PacketConn, error) {
		return net.ListenPacket("udp", "127.0.0.1:0")
	}}},
	{Name: "Listen wraps its error with %v, losing EADDRINUSE", Msg: `does not wrap syscall.EADDRINUSE`, Fails: "port-in-use", Promise: "listen-in-use", Impl: lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen: %v", err)
		}
		return conn, nil
	}}},
	{Name: "Listen returns a typed nil: c, err := net.ListenUDP(...); return c, err", Msg: "a nil *net.UDPConn inside a non-nil net.PacketConn", Fails: "port-in-use", Promise: "listen-in-use", Impl: lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		a, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, err
		}
		c, err := net.ListenUDP("udp", a)
		return c, err
	}}},
	{Name: "Listen falls back to a free port when the address is taken", Msg: `succeeded while another UDP socket was bound`, Fails: "port-in-use", Promise: "listen-in-use", Impl: lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return net.ListenPacket("udp", "127.0.0.1:0")
		}
		return conn, nil
	}}},
	{Name: "reply without the exclamation mark", Msg: `got reply "Hello, Michael", want "Hello, Michael!"`, Fails: "one-request", Promise: "reply", Impl: serve(mutant{noBang: true})},
	{Name: "reply built from the whole buffer, not buf[:n]", Msg: `(1032 bytes, want 15`, Fails: "one-request", Promise: "reply", Impl: serve(mutant{wholeBuffer: true, buf: 1024})},
	{Name: "reply sent from a new socket", Msg: `it came from`, Fails: "one-request", Promise: "reply-from-conn", Impl: serve(mutant{newSocket: true})},
	{Name: "replies to the first client it ever heard", Msg: `got nothing`, Fails: "two-clients", Promise: "reply-to-sender", Impl: serve(mutant{replyToFirst: true})},
	{Name: "replies to every client it has heard", Msg: `got reply "Hello, Tracy!", want "Hello, Sarah!"`, Fails: "two-clients", Promise: "reply-to-sender", Impl: serve(mutant{broadcast: true})},
	{Name: "reads like a stream: joins datagrams that arrive together", Msg: `got 1 replies`, Fails: "back-to-back", Promise: "one-reply-each", Impl: serve(mutant{coalesce: true})},
	{Name: "answers one datagram and returns", Msg: `Serve returned while it should still be running`, Fails: "back-to-back", Promise: "one-reply-each", Impl: serve(mutant{once: true})},
	{Name: "replies twice", Msg: `(-want +got)`, Fails: "back-to-back", Promise: "one-reply-each", Impl: serve(mutant{twice: true})},
	{Name: "1024-byte buffer, as in the tutorial", Msg: `(1032 bytes, want 60008`, Fails: "big-datagram", Promise: "whole-datagram", Impl: serve(mutant{buf: 1024})},
	{Name: "32 KiB buffer", Msg: `(32776 bytes, want 60008`, Fails: "big-datagram", Promise: "whole-datagram", Impl: serve(mutant{buf: 32 << 10})},
	{Name: "skips empty datagrams", Msg: `expected reply "Hello, !"`, Fails: "empty-and-binary", Promise: "any-content", Impl: serve(mutant{skipEmpty: true})},
	{Name: "cleans up bytes that are not UTF-8", Msg: `got reply "Hello, ?`, Fails: "empty-and-binary", Promise: "any-content", Impl: serve(mutant{toValidUTF8: true})},
	{Name: "returns when a reply cannot be sent", Msg: `message too long`, Fails: "keeps-serving", Promise: "send-error-dropped", Impl: serve(mutant{returnOnWriteErr: true})},
	{Name: "ignores ctx", Msg: `did not return within `, Fails: "stop", Promise: "stop-on-ctx", Impl: serve(mutant{ignoreCtx: true})},
	{Name: "looks at ctx only between datagrams", Msg: `did not return within `, Fails: "stop", Promise: "stop-on-ctx", Impl: serve(mutant{ctxBetweenReads: true})},
	{Name: "returns nil instead of ctx.Err()", Msg: `Serve returned <nil>`, Fails: "stop", Promise: "stop-on-ctx", Impl: serve(mutant{returnNil: true})},
	{Name: "leaves a goroutine running", Msg: `left 1 goroutine(s) running`, Fails: "stop", Promise: "no-leaks", Impl: serve(mutant{leak: true})},
	{Name: "assumes IPv4 addresses", Msg: `got nothing`, Fails: "ipv6", Promise: "reply-to-sender", Impl: serve(mutant{ipv4Only: true})},
	{Name: "65,507-byte buffer, IPv4's largest payload", Msg: "(65515 bytes, want 65527", Fails: "ipv6", Promise: "whole-datagram", Impl: serve(mutant{buf: 65507})},
	{Name: "Listen binds IPv4 only", Msg: "no suitable address", Fails: "ipv6", Promise: "listen-ipv6", Impl: lesson01.Impl{Listen: func(addr string) (net.PacketConn, error) {
		return net.ListenPacket("udp4", addr)
	}, Serve: solution.Serve}},
	{Name: "keeps looping after a read error", Msg: "after its socket was closed: a read error", Fails: "closed-socket", Promise: "return-read-error", Impl: serve(mutant{loopOnError: true})},
	{Name: "returns nil when its socket is closed", Msg: "want the read's error", Fails: "closed-socket", Promise: "return-read-error", Impl: serve(mutant{nilOnError: true})},
	{Name: "61,440-byte buffer and returns on a failed send", Msg: "read the datagram cut short", Fails: "keeps-serving", Promise: "whole-datagram", Impl: serve(mutant{buf: 61440, returnOnWriteErr: true})},
	{Name: "closes conn when it returns", Msg: "Serve must not close conn", Fails: "stop", Promise: "caller-owns-conn", Impl: serve(mutant{closeConn: true})},
	{Name: "closes conn when ctx is done, to wake the read", Msg: "Serve must not close conn", Fails: "stop", Promise: "caller-owns-conn", Impl: serve(mutant{closeToStop: true})},
	{Name: "trims spaces and newlines, like Python's strip()", Msg: `got reply "Hello, Tracy!", want "Hello,   Tracy \n!"`, Fails: "empty-and-binary", Promise: "any-content", Impl: serve(mutant{trim: true})},
	{Name: "cuts a trailing newline, like a line-based reader", Msg: `got reply "Hello,   Tracy !"`, Fails: "empty-and-binary", Promise: "any-content", Impl: serve(mutant{chomp: true})},
	{Name: "watches ctx with a goroutine that only ctx ends", Msg: "left 1 goroutine(s) running", Fails: "closed-socket", Promise: "no-leaks", Impl: serve(mutant{watcher: true})},
	{Name: "starts a goroutine that waits for ctx, for logging", Msg: "left 1 goroutine(s) running", Fails: "closed-socket", Promise: "no-leaks", Impl: serve(mutant{logOnCtx: true})},
	{Name: "panics", Msg: `Serve panicked: boom`, Fails: "one-request", Promise: "no-panic", Impl: serve(mutant{panics: true})},
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
	closeConn        bool
	closeToStop      bool
	trim             bool
	chomp            bool
	watcher          bool
	logOnCtx         bool
}

func (m mutant) Serve(ctx context.Context, conn net.PacketConn) error {
	if m.panics {
		panic("boom")
	}
	if m.leak {
		go func() { select {} }()
	}
	if m.closeConn {
		defer conn.Close()
	}
	if m.logOnCtx {
		go func() { <-ctx.Done() }()
	}
	switch {
	case m.closeToStop:
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
	case m.watcher:
		go func() {
			<-ctx.Done()
			conn.SetReadDeadline(time.Now())
		}()
	case !m.ignoreCtx && !m.ctxBetweenReads:
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
		if m.trim {
			data = bytes.TrimSpace(data)
		}
		if m.chomp {
			data = bytes.TrimRight(data, "\r\n")
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

// TestSelf is the self-test of lesson 01's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson01.Impl]{
	Suite:     &lesson01.Suite,
	Reference: reference,
	Stub:      lesson01.Impl{Listen: stub.Listen, Serve: stub.Serve},
	Lesson:    "../../lessons/01-echo-server",
	Promises:  promises,
	Broken:    broken,
	Timing:    timingChecks,
	// Checks that count the lesson's goroutines run alone, at 2× only.
	Alone: map[string]bool{"stop": true, "closed-socket": true},
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
