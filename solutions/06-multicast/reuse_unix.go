//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package multicast

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort is a net.ListenConfig Control function: it runs on the new
// socket before bind, and lets other sockets bind the same port. Every
// socket on the port must set the options, the first one included.
func reusePort(network, address string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		// SO_REUSEADDR is enough on Linux; BSD and macOS also want
		// SO_REUSEPORT for two sockets on one multicast port.
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err == nil {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
