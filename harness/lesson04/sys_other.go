//go:build !unix

package lesson04

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"

	"udpbook/harness"
)

const unixSockets = false

var errUnsupported = errors.New("raw sockets are not supported on " + runtime.GOOS)

func newRawSocket(network string, bind bool) (*os.File, netip.AddrPort, error) {
	return nil, netip.AddrPort{}, errUnsupported
}

func unixgram(c *harness.C) *os.File {
	c.Skipf("%v", errUnsupported)
	return nil
}

func recvBuffer(conn net.PacketConn) (int, error) { return 0, errUnsupported }

func describeFD(fd int) string { return errUnsupported.Error() }

func boundUnixgram(c *harness.C) (*os.File, string) {
	c.Skipf("%v", errUnsupported)
	return nil, ""
}
