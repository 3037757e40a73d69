//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package multicast

import (
	"fmt"
	"runtime"
	"syscall"
)

// reusePort would let other sockets bind the same port; this lesson does not
// support sharing a port on this system.
func reusePort(network, address string, c syscall.RawConn) error {
	return fmt.Errorf("sharing a UDP port is not supported on %s", runtime.GOOS)
}
