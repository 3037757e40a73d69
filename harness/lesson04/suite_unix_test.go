//go:build unix

package lesson04_test

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	solution "udpbook/solutions/04-adopted-socket"
)

// Mutants that set socket options with system calls.
func init() {
	broken = append(broken,
		brokenImpl{"Listen sets SO_REUSEADDR instead of SO_REUSEPORT", `one socket received all 32 datagrams`, "reuse-port",
			withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
				return listenWith(ctx, addr, o.ReusePort, unix.SO_REUSEADDR, 1)
			})},
		brokenImpl{"Listen sets SO_SNDBUF instead of SO_RCVBUF", `the receive buffer is`, "read-buffer",
			withListen(func(ctx context.Context, addr string, o solution.Options) (net.PacketConn, error) {
				return listenWith(ctx, addr, o.ReadBuffer > 0, unix.SO_SNDBUF, o.ReadBuffer)
			})},
	)
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
