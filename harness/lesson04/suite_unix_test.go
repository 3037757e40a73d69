//go:build unix

package lesson04_test

import (
	"context"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"udpbook/harness"
	"udpbook/harness/lesson04"
	solution "udpbook/solutions/04-adopted-socket"
)

// unixBroken are the broken implementations that set socket options with
// system calls.
var unixBroken = []harness.Broken[lesson04.Impl]{
	{Name: "Adopt makes the socket blocking, as the tutorial's comment says", Msg: `the socket is in blocking mode`, Fails: "read-deadline", Promise: "adopt-deadlines",
		Impl: withAdopt(func(f *os.File) (net.PacketConn, error) {
			conn, err := solution.Adopt(f)
			if err != nil {
				return nil, err
			}
			if rc, err := conn.(syscall.Conn).SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) })
			}
			return conn, nil
		})},
	{Name: "Listen sets SO_REUSEADDR instead of SO_REUSEPORT", Msg: `one socket received all 32 datagrams`, Fails: "reuse-port", Promise: "reuseaddr",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			return listenWith(ctx, addr, o.ReusePort, unix.SO_REUSEADDR, 1)
		})},
	{Name: "Listen sets SO_SNDBUF instead of SO_RCVBUF", Msg: `the receive buffer is`, Fails: "read-buffer", Promise: "listen-read-buffer",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			if o.ReadBuffer < 0 {
				return solution.Listen(ctx, addr, o)
			}
			return listenWith(ctx, addr, o.ReadBuffer > 0, unix.SO_SNDBUF, o.ReadBuffer)
		})},
	{Name: "Listen always sets SO_RCVBUF, even to 0", Msg: `with ReadBuffer 0 the receive buffer is`, Fails: "read-buffer", Promise: "listen-only-asked",
		Impl: withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
			if o.ReadBuffer < 0 {
				return solution.Listen(ctx, addr, o)
			}
			return listenWith(ctx, addr, true, unix.SO_RCVBUF, o.ReadBuffer)
		})},
}

// listenWith binds addr after setting the socket option opt to value, if
// set is true.
func listenWith(ctx context.Context, addr string, set bool, opt, value int) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if set {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, value)
			}
		})
		return err
	}}
	return lc.ListenPacket(ctx, "udp", addr)
}
