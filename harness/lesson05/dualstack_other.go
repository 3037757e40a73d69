//go:build !unix

package lesson05

import (
	"fmt"
	"net"
	"runtime"
)

// listenDualStack is not written for this system.
func listenDualStack() (*net.UDPConn, error) {
	return nil, fmt.Errorf("a dual-stack socket on loopback is not supported by the harness on %s", runtime.GOOS)
}
