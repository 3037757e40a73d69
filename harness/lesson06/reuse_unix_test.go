//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lesson06_test

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reuse returns a Control function that lets the mutants' group sockets
// share a port, with SO_REUSEADDR, SO_REUSEPORT or both.
func reuse(addr, port bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			if addr {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			if err == nil && port {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return err
	}
}
