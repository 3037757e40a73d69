package lesson04_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson04"
	stub "udpbook/lessons/04-adopted-socket"
	solution "udpbook/solutions/04-adopted-socket"
)

var reference = lesson04.Impl{
	Adopt:     solution.Adopt,
	Listeners: solution.Listeners,
	Listen: func(ctx context.Context, addr string, opts lesson04.Options) (net.PacketConn, error) {
		return solution.Listen(ctx, addr, solution.Options(opts))
	},
	ErrNotSocket: solution.ErrNotSocket,
	ErrNotUDP:    solution.ErrNotUDP,
	ErrNotBound:  solution.ErrNotBound,
}

// brokenImpl is one deliberately wrong implementation and the check that
// must fail it.
type brokenImpl struct {
	name  string // what is wrong with it
	msg   string // a piece of the failure message, proving it failed for that reason
	fails string // the check that must catch it
	impl  lesson04.Impl
}

// broken lists deliberately wrong implementations, each with the check
// that must fail it. Every check has at least one (see
// TestEveryCheckCatchesSomething): a check that cannot fail is a defect.
// The Listeners mutants run in the child processes of the
// socket-activation checks, which are this test binary started again.
// suite_unix_test.go adds the ones that need system calls.
var broken = []brokenImpl{
	{"Adopt returns nil, nil", `returned a nil connection and no error`, "adopt", withAdopt(func(*os.File) (net.PacketConn, error) { return nil, nil })},
	{"Adopt binds a new socket instead of adopting", `the adopted connection's LocalAddr is`, "adopt", withAdopt(func(*os.File) (net.PacketConn, error) {
		return net.ListenPacket("udp4", "127.0.0.1:0")
	})},
	{"Adopt panics", `Adopt(the raw socket) panicked: boom`, "adopt", withAdopt(func(*os.File) (net.PacketConn, error) { panic("boom") })},
	{"Adopt closes the caller's file", `the caller's f.Close() after Adopt returned`, "close-original", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		f.Close()
		return conn, err
	})},
	{"Adopt leaks a duplicate of the descriptor", `binding 127.0.0.1:`, "close-original", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if err == nil {
			net.FilePacketConn(f) // a second duplicate, never closed
		}
		return conn, err
	})},
	{"Adopt calls f.Fd() after making the connection", `the socket is in blocking mode`, "read-deadline", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		f.Fd()
		return conn, err
	})},
	{"Adopt trusts net.FilePacketConn alone", `which does not wrap ErrNotSocket`, "not-a-socket", withAdopt(net.FilePacketConn)},
	{"Adopt reports a closed file as ErrNotSocket", `wraps neither os.ErrClosed nor syscall.EBADF`, "not-a-socket", withAdopt(func(f *os.File) (net.PacketConn, error) {
		if _, err := f.Stat(); err != nil {
			return nil, fmt.Errorf("adopt: %w", solution.ErrNotSocket)
		}
		return solution.Adopt(f)
	})},
	{"Adopt's errors wrap every sentinel", `wraps ErrNotUDP as well as ErrNotSocket`, "not-a-socket", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if err != nil {
			return nil, errors.Join(err, solution.ErrNotSocket, solution.ErrNotUDP, solution.ErrNotBound)
		}
		return conn, nil
	})},
	{"Adopt trusts net.FilePacketConn alone", `which does not wrap ErrNotUDP`, "not-udp", withAdopt(net.FilePacketConn)},
	{"Adopt accepts a Unix datagram socket", `Adopt(a Unix datagram socket (one end of a socketpair)) returned a connection`, "not-udp", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if errors.Is(err, solution.ErrNotUDP) && strings.Contains(err.Error(), "Unix") {
			return net.FilePacketConn(f)
		}
		return conn, err
	})},
	{"Adopt reports a TCP socket as ErrNotSocket", `which does not wrap ErrNotUDP`, "not-udp", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if errors.Is(err, solution.ErrNotUDP) {
			return nil, fmt.Errorf("adopt: %w", solution.ErrNotSocket)
		}
		return conn, err
	})},
	{"Adopt trusts net.FilePacketConn alone", `returned a connection on 0.0.0.0:0`, "not-bound", withAdopt(net.FilePacketConn)},
	{"Adopt wraps its errors with %v", `which does not wrap ErrNotBound`, "not-bound", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if err != nil {
			return nil, fmt.Errorf("adopt: %v", err)
		}
		return conn, nil
	})},
	{"ErrNotBound is nil", `ErrNotBound is nil`, "not-bound", func() lesson04.Impl { i := reference; i.ErrNotBound = nil; return i }()},
	{"Adopt assumes IPv4", `Adopt(the raw IPv6 socket) returned error`, "ipv6", withAdopt(func(f *os.File) (net.PacketConn, error) {
		conn, err := solution.Adopt(f)
		if err == nil && conn.LocalAddr().(*net.UDPAddr).IP.To4() == nil {
			conn.Close()
			return nil, fmt.Errorf("adopt: %w: not IPv4", solution.ErrNotUDP)
		}
		return conn, err
	})},

	{"Listeners fails when LISTEN_PID is unset", `in a process that was not socket-activated`, "not-activated", withListeners(func() ([]net.PacketConn, error) {
		if os.Getenv("LISTEN_PID") == "" {
			return nil, errors.New("LISTEN_PID is not set")
		}
		return solution.Listeners()
	})},
	{"Listeners binds fresh sockets instead of adopting", `want one, on`, "activation", withListeners(func() ([]net.PacketConn, error) {
		conns, err := solution.Listeners()
		for i, c := range conns {
			c.Close()
			conns[i], _ = net.ListenPacket("udp4", "127.0.0.1:0")
		}
		return conns, err
	})},
	{"Listeners panics", `Listeners() panicked: boom`, "activation", withListeners(func() ([]net.PacketConn, error) { panic("boom") })},
	{"Listeners leaves the variables set", `LISTEN_PID=`, "activation-clears-env", withListeners(func() ([]net.PacketConn, error) {
		pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
		defer os.Setenv("LISTEN_PID", pid)
		defer os.Setenv("LISTEN_FDS", fds)
		return solution.Listeners()
	})},
	{"Listeners adopts only descriptor 3", `want [`, "activation-fds", withListeners(func() ([]net.PacketConn, error) {
		if os.Getenv("LISTEN_FDS") != "" {
			os.Setenv("LISTEN_FDS", "1")
		}
		return solution.Listeners()
	})},
	{"Listeners returns the sockets in reverse order", `want [`, "activation-fds", withListeners(func() ([]net.PacketConn, error) {
		conns, err := solution.Listeners()
		slices.Reverse(conns)
		return conns, err
	})},
	{"Listeners ignores LISTEN_PID", `although LISTEN_PID=`, "activation-other-pid", withListeners(func() ([]net.PacketConn, error) {
		if os.Getenv("LISTEN_PID") != "" {
			os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		}
		return solution.Listeners()
	})},
	{"Listeners closes the descriptors meant for another process", `descriptor 3 is not a socket`, "activation-other-pid", withListeners(func() ([]net.PacketConn, error) {
		if n, err := strconv.Atoi(os.Getenv("LISTEN_FDS")); err == nil {
			for fd := 3; fd < 3+n; fd++ {
				os.NewFile(uintptr(fd), "").Close()
			}
		}
		return solution.Listeners()
	})},

	{"Listen ignores ReusePort", `a second Listen(`, "reuse-port", withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
		o.ReusePort = false
		return solution.Listen(ctx, addr, o)
	})},
	{"Listen always sets SO_REUSEPORT", `also bound the shared port`, "reuse-port", withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
		o.ReusePort = true
		return solution.Listen(ctx, addr, o)
	})},
	{"Listen ignores ReadBuffer", `the receive buffer is`, "read-buffer", withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
		o.ReadBuffer = 0
		return solution.Listen(ctx, addr, o)
	})},
}

func withAdopt(f func(*os.File) (net.PacketConn, error)) lesson04.Impl {
	i := reference
	i.Adopt = f
	return i
}

func withListeners(f func() ([]net.PacketConn, error)) lesson04.Impl {
	i := reference
	i.Listeners = f
	return i
}

func withListen(f func(context.Context, string, solution.Options) (net.PacketConn, error)) lesson04.Impl {
	i := reference
	i.Listen = func(ctx context.Context, addr string, opts lesson04.Options) (net.PacketConn, error) {
		return f(ctx, addr, solution.Options(opts))
	}
	return i
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name+" ("+b.fails+")", func(t *testing.T) {
			res := lesson04.GradeOne(t, b.fails, b.impl)
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
	for _, ch := range lesson04.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson04.Grade(t, reference) {
		if res.Status != harness.Pass {
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson04.Impl{
		Adopt:     stub.Adopt,
		Listeners: stub.Listeners,
		Listen: func(ctx context.Context, addr string, opts lesson04.Options) (net.PacketConn, error) {
			return stub.Listen(ctx, addr, stub.Options(opts))
		},
		ErrNotSocket: stub.ErrNotSocket,
		ErrNotUDP:    stub.ErrNotUDP,
		ErrNotBound:  stub.ErrNotBound,
	}
	for _, res := range lesson04.Grade(t, impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
	}
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson04.Impl] {
	kit := make([]harness.Broken[lesson04.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson04.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
