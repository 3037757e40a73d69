//go:build !unix

package lesson03

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
)

// canReconnect says whether reconnect works here.
const canReconnect = false

// reconnect is not supported on this system; the checks that need it skip.
func reconnect(conn *net.UDPConn, to netip.AddrPort) error {
	return fmt.Errorf("reconnecting a socket is not supported on %s", runtime.GOOS)
}
