//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package lesson06_test

import (
	"fmt"
	"runtime"
	"syscall"
)

func reuse(network, address string, c syscall.RawConn) error {
	return fmt.Errorf("sharing a UDP port is not supported on %s", runtime.GOOS)
}
