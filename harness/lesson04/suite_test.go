package lesson04_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

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

// promises is everything lesson 04 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "adopt-same-socket", Source: "Adopt", Checks: []string{"adopt"},
		Text: "Adopt returns a net.PacketConn for the UDP socket f holds: its LocalAddr is the address the socket was bound to, and reading and writing work on it"},
	{ID: "adopt-ipv6", Source: "Adopt", Checks: []string{"ipv6"},
		Text: "a UDP socket bound to an IPv6 address is adopted as well as an IPv4 one"},
	{ID: "adopt-deadlines", Source: "Adopt", Checks: []string{"read-deadline"},
		Text: "deadlines work on the adopted connection as on a socket from net.ListenPacket"},
	{ID: "adopt-leaves-f-open", Source: "Adopt", Checks: []string{"adopt", "close-original", "not-a-socket", "not-udp", "not-bound"},
		Text: "Adopt leaves f open, whatever it returns, and closing the connection leaves f open: f stays the caller's"},
	{ID: "adopt-own-duplicate", Source: "Adopt", Checks: []string{"adopt", "close-original"},
		Text: "the connection uses its own duplicate: the caller may close f at once, and the port is free once both are closed, in either order"},
	{ID: "adopt-not-socket", Source: "Adopt", Checks: []string{"not-a-socket"},
		Text: "a regular file or a pipe gives an error wrapping ErrNotSocket, and no connection"},
	{ID: "adopt-closed", Source: "Adopt", Checks: []string{"not-a-socket"},
		Text: "a closed file gives an error wrapping os.ErrClosed, and no connection"},
	{ID: "adopt-nil", Source: "Adopt", Checks: []string{"not-a-socket"},
		Text: "a nil f gives an error wrapping os.ErrInvalid, and no connection"},
	{ID: "adopt-not-udp", Source: "Adopt", Checks: []string{"not-udp"},
		Text: "a TCP socket or a Unix domain socket, with or without an address, gives an error wrapping ErrNotUDP, and no connection"},
	{ID: "adopt-not-bound", Source: "Adopt", Checks: []string{"not-bound"},
		Text: "a UDP socket that was never bound gives an error wrapping ErrNotBound, and no connection"},
	{ID: "adopt-one-sentinel", Source: "Adopt", Checks: []string{"not-a-socket", "not-udp", "not-bound"},
		Text: "each refusal wraps the one sentinel that names its problem, so errors.Is tells them apart"},
	{ID: "adopt-refusal-keeps-nothing", Source: "Adopt", Checks: []string{"not-udp", "not-bound"},
		Text: "a refused file leaves nothing behind: no duplicate of its descriptor stays open"},
	{ID: "sentinels", Source: "ErrNotSocket, ErrNotUDP, ErrNotBound", Checks: []string{"not-a-socket", "not-udp", "not-bound"},
		Text: "ErrNotSocket, ErrNotUDP and ErrNotBound are three errors of their own"},
	{ID: "listeners-adopts", Source: "Listeners", Checks: []string{"activation", "activation-clears-env"},
		Text: "with LISTEN_PID its own pid and LISTEN_FDS=N, Listeners adopts descriptors 3 to 3+N-1; a datagram that arrived before the process started is answered"},
	{ID: "listeners-order", Source: "Listeners", Checks: []string{"activation-fds"},
		Text: "Listeners returns the sockets in the order they were passed, descriptor 3 first"},
	{ID: "listeners-not-activated", Source: "Listeners", Checks: []string{"not-activated"},
		Text: "if LISTEN_PID is not set, Listeners returns no connections and no error, and leaves the descriptors alone"},
	{ID: "listeners-other-pid", Source: "Listeners", Checks: []string{"activation-other-pid"},
		Text: "if LISTEN_PID names another process, Listeners returns no connections and no error, and leaves the descriptors alone"},
	{ID: "listeners-clears-env", Source: "Listeners", Checks: []string{"activation-clears-env", "not-activated", "activation-other-pid", "activation-bad-fd"},
		Text: "Listeners removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment in every case"},
	{ID: "listeners-closes-fds", Source: "Listeners", Checks: []string{"activation", "activation-fds", "activation-bad-fd"},
		Text: "Listeners closes the descriptors it adopts (the connections hold duplicates): once the connections are closed, the ports are free"},
	{ID: "listeners-bad-fd", Source: "Listeners", Checks: []string{"activation-bad-fd"},
		Text: "if one descriptor is not a bound UDP socket, Listeners closes what it adopted and returns no connections and an error naming the descriptor"},
	{ID: "listen-reuse-port", Source: "Listen", Checks: []string{"reuse-port"},
		Text: "with ReusePort, SO_REUSEPORT is set before bind: two sockets share a port, and both receive"},
	{ID: "listen-only-asked", Source: "Listen", Checks: []string{"reuse-port", "read-buffer"},
		Text: "the zero Options set nothing: no SO_REUSEPORT (a second bind fails with EADDRINUSE), the default receive buffer"},
	{ID: "listen-read-buffer", Source: "Listen", Checks: []string{"read-buffer"},
		Text: "with ReadBuffer above 0, SO_RCVBUF is set to it before bind"},
	{ID: "listen-negative-buffer", Source: "Listen", Checks: []string{"read-buffer"},
		Text: "a negative ReadBuffer makes Listen fail, with no connection and no socket left open"},
	{ID: "no-fd", Source: "chapter", Checks: []string{"read-deadline"},
		Text: "common mistake: calling f.Fd() after adopting puts the shared socket in blocking mode, and deadlines stop working"},
	{ID: "check-first", Source: "chapter", Checks: []string{"not-a-socket", "not-udp", "not-bound"},
		Text: "common mistake: trusting net.FilePacketConn, which wraps unbound UDP and Unix sockets; ask the kernel first"},
	{ID: "caller-file", Source: "chapter", Checks: []string{"close-original"},
		Text: "common mistake: closing the caller's file in Adopt"},
	{ID: "check-listen-pid", Source: "chapter", Checks: []string{"not-activated", "activation-other-pid"},
		Text: "common mistake: forgetting LISTEN_PID, and taking descriptor 3 in every process that inherits LISTEN_FDS"},
	{ID: "reuseaddr", Source: "chapter", Checks: []string{"reuse-port"},
		Text: "SO_REUSEADDR is not SO_REUSEPORT: Linux gives every datagram to one of the sockets"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"adopt", "activation"},
		Text: "a panic in Adopt or Listeners is reported with what was called"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it. The Listeners mutants run in the
// child processes of the socket-activation checks, which are this test
// binary started again in the subtest that grades them (see inTests).
// suite_unix_test.go adds the ones that need system calls.
var broken = append([]harness.Broken[lesson04.Impl]{
	{Name: "Adopt returns nil, nil", Msg: `returned a nil connection and no error`, Fails: "adopt", Promise: "adopt-same-socket",
		Impl: withAdopt(func(*os.File) (net.PacketConn, error) { return nil, nil })},
	{Name: "Adopt binds a new socket instead of adopting", Msg: `the adopted connection's LocalAddr is`, Fails: "adopt", Promise: "adopt-same-socket",
		Impl: withAdopt(func(*os.File) (net.PacketConn, error) { return net.ListenPacket("udp4", "127.0.0.1:0") })},
	{Name: "Adopt panics", Msg: `Adopt(the raw socket) panicked: boom`, Fails: "adopt", Promise: "no-panic",
		Impl: withAdopt(func(*os.File) (net.PacketConn, error) { panic("boom") })},
	{Name: "Adopt's connection takes f along: its Close closes the caller's file", Msg: `closing the adopted connection closed the caller's file too`, Fails: "adopt", Promise: "adopt-leaves-f-open",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err != nil {
				return nil, err
			}
			return closesFile{conn, f}, nil
		})},
	{Name: "Adopt closes the caller's file", Msg: `the caller's f.Close() after Adopt returned`, Fails: "close-original", Promise: "caller-file",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			f.Close()
			return conn, err
		})},
	{Name: "Adopt leaks a duplicate of the descriptor", Msg: `binding 127.0.0.1:`, Fails: "close-original", Promise: "adopt-own-duplicate",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err == nil {
				// A second duplicate, never closed, kept where the garbage
				// collector cannot close it by chance.
				extra, _ := net.FilePacketConn(f)
				leaked = append(leaked, extra)
			}
			return conn, err
		})},
	{Name: "Adopt keeps a duplicate for later and never closes it", Msg: `some duplicate of the descriptor is still open`, Fails: "adopt", Promise: "adopt-own-duplicate",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err == nil {
				kept = append(kept, conn) // "in case the caller needs it again"
				return net.FilePacketConn(f)
			}
			return conn, err
		})},
	{Name: "Adopt calls f.Fd() after making the connection", Msg: `the socket is in blocking mode`, Fails: "read-deadline", Promise: "no-fd",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			f.Fd()
			return conn, err
		})},
	{Name: "Adopt trusts net.FilePacketConn alone, given a pipe", Msg: `which does not wrap ErrNotSocket`, Fails: "not-a-socket", Promise: "check-first",
		Impl: withAdopt(net.FilePacketConn)},
	{Name: "Adopt reports a pipe as not a UDP socket", Msg: `Adopt(the read end of a pipe) returned "adopt |0: not a UDP socket`, Fails: "not-a-socket", Promise: "adopt-not-socket",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if errors.Is(err, solution.ErrNotSocket) {
				return nil, fmt.Errorf("adopt %s: %w", f.Name(), solution.ErrNotUDP)
			}
			return conn, err
		})},
	{Name: "Adopt reports a closed file as ErrNotSocket", Msg: `wraps neither os.ErrClosed nor syscall.EBADF`, Fails: "not-a-socket", Promise: "adopt-closed",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			if f != nil {
				if _, err := f.Stat(); err != nil {
					return nil, fmt.Errorf("adopt: %w", solution.ErrNotSocket)
				}
			}
			return solution.Adopt(f)
		})},
	{Name: "Adopt's errors wrap every sentinel", Msg: `wraps ErrNotUDP as well as ErrNotSocket`, Fails: "not-a-socket", Promise: "adopt-one-sentinel",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err != nil {
				return nil, errors.Join(err, solution.ErrNotSocket, solution.ErrNotUDP, solution.ErrNotBound)
			}
			return conn, nil
		})},
	{Name: "Adopt without a nil check", Msg: `Adopt(nil) panicked`, Fails: "not-a-socket", Promise: "adopt-nil",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			if _, err := f.Stat(); err != nil {
				return nil, fmt.Errorf("adopt %s: %w", f.Name(), err)
			}
			return solution.Adopt(f)
		})},
	{Name: "Adopt reports a nil file as not a socket", Msg: `which does not wrap os.ErrInvalid`, Fails: "not-a-socket", Promise: "adopt-nil",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			if f == nil {
				return nil, fmt.Errorf("adopt: %w", solution.ErrNotSocket)
			}
			return solution.Adopt(f)
		})},
	{Name: "Adopt closes a file it refuses", Msg: `the caller's file is closed`, Fails: "not-a-socket", Promise: "adopt-leaves-f-open",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err != nil && f != nil {
				f.Close() // "clean up what we cannot use"
			}
			return conn, err
		})},
	{Name: "Adopt trusts net.FilePacketConn alone, given a TCP socket", Msg: `which does not wrap ErrNotUDP`, Fails: "not-udp", Promise: "check-first",
		Impl: withAdopt(net.FilePacketConn)},
	{Name: "Adopt accepts a Unix datagram socket", Msg: `Adopt(a Unix datagram socket (one end of a socketpair)) returned a connection`, Fails: "not-udp", Promise: "adopt-not-udp",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if errors.Is(err, solution.ErrNotUDP) && strings.Contains(err.Error(), "Unix") {
				return net.FilePacketConn(f)
			}
			return conn, err
		})},
	{Name: "Adopt accepts any datagram socket bound to an address, a path too", Msg: `Adopt(a Unix datagram socket bound to`, Fails: "not-udp", Promise: "adopt-not-udp",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if errors.Is(err, solution.ErrNotUDP) {
				if pc, perr := net.FilePacketConn(f); perr == nil {
					if a, ok := pc.LocalAddr().(*net.UnixAddr); ok && strings.HasPrefix(a.Name, "/") {
						return pc, nil // "bound by whoever created it"
					}
					pc.Close()
				}
			}
			return conn, err
		})},
	{Name: "Adopt reports a TCP socket as ErrNotSocket", Msg: `which does not wrap ErrNotUDP`, Fails: "not-udp", Promise: "adopt-one-sentinel",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if errors.Is(err, solution.ErrNotUDP) {
				return nil, fmt.Errorf("adopt: %w", solution.ErrNotSocket)
			}
			return conn, err
		})},
	{Name: "Adopt refuses a Unix socket after wrapping it, and keeps the wrapper", Msg: `a descriptor of that socket was still open`, Fails: "not-udp", Promise: "adopt-refusal-keeps-nothing",
		Impl: withAdopt(wrapThenCheck(true, false))},
	{Name: "Adopt trusts net.FilePacketConn alone, given an unbound socket", Msg: `returned a connection on 0.0.0.0:0`, Fails: "not-bound", Promise: "check-first",
		Impl: withAdopt(net.FilePacketConn)},
	{Name: "Adopt wraps its errors with %v", Msg: `which does not wrap ErrNotBound`, Fails: "not-bound", Promise: "adopt-not-bound",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err != nil {
				return nil, fmt.Errorf("adopt: %v", err)
			}
			return conn, nil
		})},
	{Name: "ErrNotBound is nil", Msg: `ErrNotBound is nil`, Fails: "not-bound", Promise: "sentinels",
		Impl: func() lesson04.Impl { i := reference; i.ErrNotBound = nil; return i }()},
	{Name: "Adopt refuses an unbound socket after wrapping it, and keeps the wrapper", Msg: `a descriptor of that socket was still open`, Fails: "not-bound", Promise: "adopt-refusal-keeps-nothing",
		Impl: withAdopt(wrapThenCheck(false, true))},
	{Name: "Adopt assumes IPv4", Msg: `Adopt(the raw IPv6 socket) returned error`, Fails: "ipv6", Promise: "adopt-ipv6", Needs: harness.IPv6,
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err == nil && conn.LocalAddr().(*net.UDPAddr).IP.To4() == nil {
				conn.Close()
				return nil, fmt.Errorf("adopt: %w: not IPv4", solution.ErrNotUDP)
			}
			return conn, err
		})},

	{Name: "Listeners fails when LISTEN_PID is unset", Msg: `in a process that was not socket-activated`, Fails: "not-activated", Promise: "listeners-not-activated",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_PID") == "" {
				return nil, errors.New("LISTEN_PID is not set")
			}
			return solution.Listeners()
		})},
	{Name: "Listeners trusts LISTEN_FDS when LISTEN_PID is unset", Msg: `in a process that was not socket-activated (no LISTEN_PID); want none`, Fails: "not-activated", Promise: "check-listen-pid",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_PID") == "" && os.Getenv("LISTEN_FDS") != "" {
				os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid())) // "no pid given: they must be ours"
			}
			return solution.Listeners()
		})},
	{Name: "Listeners returns at once when LISTEN_PID is unset, leaving the variables", Msg: `LISTEN_FDS=1 is still in the environment`, Fails: "not-activated", Promise: "listeners-clears-env",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_PID") == "" {
				return nil, nil
			}
			return solution.Listeners()
		})},
	{Name: "Listeners binds fresh sockets instead of adopting", Msg: `want one, on`, Fails: "activation", Promise: "listeners-adopts",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			conns, err := solution.Listeners()
			for i, c := range conns {
				c.Close()
				conns[i], _ = net.ListenPacket("udp4", "127.0.0.1:0")
			}
			return conns, err
		})},
	{Name: "Listeners panics", Msg: `Listeners() panicked: boom`, Fails: "activation", Promise: "no-panic",
		Impl: withListeners(func() ([]net.PacketConn, error) { panic("boom") })},
	{Name: "Listeners keeps the descriptors it adopts open", Msg: `and the child's connection closed, binding`, Fails: "activation", Promise: "listeners-closes-fds",
		Impl: withListeners(listenersKeepingFiles)},
	{Name: "Listeners closes only the first descriptor it adopts", Msg: `and the child's connection closed, binding 127.0.0.1:`, Fails: "activation-fds", Promise: "listeners-closes-fds",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			conns, err := listenersKeepingFiles()
			if len(conns) > 0 {
				os.NewFile(3, "descriptor 3").Close()
			}
			return conns, err
		})},
	{Name: "Listeners leaves the variables set", Msg: `LISTEN_PID=`, Fails: "activation-clears-env", Promise: "listeners-clears-env",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
			defer os.Setenv("LISTEN_PID", pid)
			defer os.Setenv("LISTEN_FDS", fds)
			return solution.Listeners()
		})},
	{Name: "Listeners leaves LISTEN_FDNAMES set", Msg: `LISTEN_FDNAMES=udpbook is still in the environment`, Fails: "activation-clears-env", Promise: "listeners-clears-env",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			names, ok := os.LookupEnv("LISTEN_FDNAMES")
			conns, err := solution.Listeners()
			if ok {
				os.Setenv("LISTEN_FDNAMES", names)
			}
			return conns, err
		})},
	{Name: "Listeners adopts only descriptor 3", Msg: `want [`, Fails: "activation-fds", Promise: "listeners-order",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_FDS") != "" {
				os.Setenv("LISTEN_FDS", "1")
			}
			return solution.Listeners()
		})},
	{Name: "Listeners returns the sockets in reverse order", Msg: `want [`, Fails: "activation-fds", Promise: "listeners-order",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			conns, err := solution.Listeners()
			slices.Reverse(conns)
			return conns, err
		})},
	{Name: "Listeners ignores LISTEN_PID", Msg: `although LISTEN_PID=`, Fails: "activation-other-pid", Promise: "check-listen-pid",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_PID") != "" {
				os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
			}
			return solution.Listeners()
		})},
	{Name: "Listeners closes the descriptors meant for another process", Msg: `descriptor 3 is not a socket`, Fails: "activation-other-pid", Promise: "listeners-other-pid",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if n, err := strconv.Atoi(os.Getenv("LISTEN_FDS")); err == nil {
				for fd := 3; fd < 3+n; fd++ {
					os.NewFile(uintptr(fd), "").Close()
				}
			}
			return solution.Listeners()
		})},
	{Name: "Listeners clears the variables only when they are for this process", Msg: `is still in the environment (the child was started with LISTEN_PID=`, Fails: "activation-other-pid", Promise: "listeners-clears-env",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
				return nil, nil
			}
			return solution.Listeners()
		})},
	{Name: "Listeners returns at a bad descriptor without closing the connections it made", Msg: `and Listeners() failed, binding`, Fails: "activation-bad-fd", Promise: "listeners-bad-fd",
		Impl: withListeners(listenersBadFD(false, true))},
	{Name: "Listeners returns the connections made so far with the error", Msg: `want no connections`, Fails: "activation-bad-fd", Promise: "listeners-bad-fd",
		Impl: withListeners(listenersBadFD(true, true))},
	{Name: "Listeners closes the descriptor files only once every one is adopted", Msg: `and Listeners() failed, binding`, Fails: "activation-bad-fd", Promise: "listeners-closes-fds",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			conns, err := listenersKeepingFiles()
			if err == nil {
				for fd := 3; fd < 3+len(conns); fd++ {
					os.NewFile(uintptr(fd), "").Close()
				}
			}
			return conns, err
		})},
	{Name: "Listeners names the problem but not the descriptor", Msg: `which does not name descriptor 4`, Fails: "activation-bad-fd", Promise: "listeners-bad-fd",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			conns, err := solution.Listeners()
			if err != nil {
				return nil, fmt.Errorf("socket activation: a passed descriptor is not a bound UDP socket: %w", solution.ErrNotUDP)
			}
			return conns, nil
		})},
	{Name: "Listeners removes the variables only when it succeeds", Msg: `is still in the environment`, Fails: "activation-bad-fd", Promise: "listeners-clears-env",
		Impl: withListeners(func() ([]net.PacketConn, error) {
			pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
			conns, err := solution.Listeners()
			if err != nil {
				os.Setenv("LISTEN_PID", pid)
				os.Setenv("LISTEN_FDS", fds)
				os.Setenv("LISTEN_FDNAMES", names)
			}
			return conns, err
		})},

	{Name: "Listen ignores ReusePort", Msg: `a second Listen(`, Fails: "reuse-port", Promise: "listen-reuse-port",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			o.ReusePort = false
			return solution.Listen(ctx, addr, o)
		})},
	{Name: "Listen always sets SO_REUSEPORT", Msg: `also bound the shared port`, Fails: "reuse-port", Promise: "listen-only-asked",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			o.ReusePort = true
			return solution.Listen(ctx, addr, o)
		})},
	{Name: "Listen ignores ReadBuffer", Msg: `the receive buffer is`, Fails: "read-buffer", Promise: "listen-read-buffer",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			if o.ReadBuffer > 0 {
				o.ReadBuffer = 0
			}
			return solution.Listen(ctx, addr, o)
		})},
	{Name: "Listen treats a negative ReadBuffer as 0", Msg: `returned a connection on`, Fails: "read-buffer", Promise: "listen-negative-buffer",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			o.ReadBuffer = max(o.ReadBuffer, 0)
			return solution.Listen(ctx, addr, o)
		})},
	{Name: "Listen binds before it checks ReadBuffer, and keeps the socket", Msg: `left 1 socket(s) open`, Fails: "read-buffer", Promise: "listen-negative-buffer",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			conn, err := solution.Listen(ctx, addr, solution.Options{ReusePort: o.ReusePort, ReadBuffer: max(o.ReadBuffer, 0)})
			if err != nil {
				return nil, err
			}
			if o.ReadBuffer < 0 {
				kept = append(kept, conn)
				return nil, fmt.Errorf("listen %s: negative read buffer size %d", addr, o.ReadBuffer)
			}
			return conn, nil
		})},
}, unixBroken...)

// kept holds what some broken implementations leave open, so that the
// garbage collector does not close it for them.
var kept []net.PacketConn

// closesFile is a connection whose Close closes the caller's file too.
type closesFile struct {
	net.PacketConn
	f *os.File
}

func (c closesFile) Close() error {
	c.f.Close()
	return c.PacketConn.Close()
}

// wrapThenCheck is an Adopt that wraps f with net.FilePacketConn first and
// then looks at the connection, leaking it when it refuses a Unix socket
// (unix) or an unbound one (unbound).
func wrapThenCheck(unix, unbound bool) func(*os.File) (net.PacketConn, error) {
	return func(f *os.File) (net.PacketConn, error) {
		if f == nil {
			return nil, fmt.Errorf("adopt: %w", os.ErrInvalid)
		}
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("adopt %s: %w", f.Name(), err)
		}
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("adopt %s: %w", f.Name(), solution.ErrNotSocket)
		}
		conn, err := net.FilePacketConn(f)
		if err != nil {
			return nil, fmt.Errorf("adopt %s: %w: %v", f.Name(), solution.ErrNotUDP, err)
		}
		u, ok := conn.(*net.UDPConn)
		if !ok {
			if unix {
				kept = append(kept, conn)
			} else {
				conn.Close()
			}
			return nil, fmt.Errorf("adopt %s: %w: it is a %T", f.Name(), solution.ErrNotUDP, conn)
		}
		if u.LocalAddr().(*net.UDPAddr).Port == 0 {
			if unbound {
				kept = append(kept, conn)
			} else {
				conn.Close()
			}
			return nil, fmt.Errorf("adopt %s: %w", f.Name(), solution.ErrNotBound)
		}
		return conn, nil
	}
}

// listenersKeepingFiles is the reference Listeners without closing the
// files of the descriptors it adopts.
func listenersKeepingFiles() ([]net.PacketConn, error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	n, _ := strconv.Atoi(fds)
	var conns []net.PacketConn
	for fd := 3; fd < 3+n; fd++ {
		f := os.NewFile(uintptr(fd), "descriptor "+strconv.Itoa(fd))
		files = append(files, f) // kept from the garbage collector's finalizer
		conn, err := solution.Adopt(f)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// files holds the files listenersKeepingFiles leaves open.
var files []*os.File

// listenersBadFD is the reference Listeners with a mistake when a
// descriptor fails: it returns what it made so far (partial), or it does
// not close it (leak).
func listenersBadFD(partial, leak bool) func() ([]net.PacketConn, error) {
	return func() ([]net.PacketConn, error) {
		pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
		if pid != strconv.Itoa(os.Getpid()) {
			return nil, nil
		}
		n, _ := strconv.Atoi(fds)
		var conns []net.PacketConn
		for fd := 3; fd < 3+n; fd++ {
			f := os.NewFile(uintptr(fd), "descriptor "+strconv.Itoa(fd))
			conn, err := solution.Adopt(f)
			f.Close()
			if err != nil {
				if partial {
					return conns, err
				}
				if leak {
					kept = append(kept, conns...)
				}
				return nil, err
			}
			conns = append(conns, conn)
		}
		return conns, nil
	}
}

// leaked keeps what broken implementations leak on purpose out of the
// garbage collector's reach: a finalizer would close it at random.
var leaked []net.PacketConn

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

// TestSelf is the self-test of lesson 04's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson04.Impl]{
	Suite:     &lesson04.Suite,
	Reference: reference.InTest("TestSelf/reference"),
	Stub: lesson04.Impl{
		Adopt:     stub.Adopt,
		Listeners: stub.Listeners,
		Listen: func(ctx context.Context, addr string, opts lesson04.Options) (net.PacketConn, error) {
			return stub.Listen(ctx, addr, stub.Options(opts))
		},
		ErrNotSocket: stub.ErrNotSocket,
		ErrNotUDP:    stub.ErrNotUDP,
		ErrNotBound:  stub.ErrNotBound,
	}.InTest("TestSelf/stub"),
	Lesson:   "../../lessons/04-adopted-socket",
	Promises: promises,
	Broken:   inTests("TestSelf/broken", broken),
}

// inTests names, in each broken implementation, the subtest that the kit
// grades it in (parent/name, as the testing package writes the name), so
// that the socket-activation checks run that subtest again in their child.
// The names must be unique, and free of slashes and unprintable characters,
// for the child to find its way back.
func inTests(parent string, list []harness.Broken[lesson04.Impl]) []harness.Broken[lesson04.Impl] {
	out := make([]harness.Broken[lesson04.Impl], len(list))
	seen := map[string]bool{}
	for i, b := range list {
		for _, r := range b.Name {
			if r == '/' || r > unicode.MaxASCII || !unicode.IsPrint(r) {
				panic(fmt.Sprintf("broken implementation %q: use printable ASCII and no slash in its name", b.Name))
			}
		}
		name := strings.ReplaceAll(b.Name, " ", "_")
		if seen[name] {
			panic(fmt.Sprintf("broken implementation %q is listed twice", b.Name))
		}
		seen[name] = true
		b.Impl = b.Impl.InTest(parent + "/" + name)
		out[i] = b
	}
	return out
}
