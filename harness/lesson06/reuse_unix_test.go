//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package lesson06_test

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reuse lets the mutants' group sockets share a port.
func reuse(network, address string, c syscall.RawConn) error {
	var err error
	c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err == nil {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	return err
}
