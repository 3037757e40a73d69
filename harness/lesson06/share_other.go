//go:build !linux

package lesson06

import (
	"errors"
	"net"
)

// shareProbes is empty: BSD and macOS need SO_REUSEPORT on every socket to
// share a multicast port, so member B's Listen tries it already.
var shareProbes []struct {
	name string
	opt  int
}

func bindSharing(network string, port uint16, opt int) (net.PacketConn, error) {
	return nil, errors.New("not used")
}

func shareableByUs(port uint16) bool { return false }
