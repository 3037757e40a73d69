//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package lesson06_test

import (
	"fmt"
	"runtime"
	"syscall"
)

func reuse(addr, port bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		return fmt.Errorf("sharing a UDP port is not supported on %s", runtime.GOOS)
	}
}
