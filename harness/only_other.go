//go:build !unix

package harness

import (
	"errors"
	"net"
	"net/netip"
)

// onlyFrom is not written for this system.
func onlyFrom(conn net.PacketConn, peer netip.AddrPort) error {
	return errors.New("connecting a socket is written for Unix only")
}
