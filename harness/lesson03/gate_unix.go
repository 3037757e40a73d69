//go:build unix

package lesson03

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// canReconnect says whether reconnect works here.
const canReconnect = true

// reconnect connects conn, a UDP socket on IPv4, to a new peer. The net
// package cannot connect a socket twice, but the system call can.
func reconnect(conn *net.UDPConn, to netip.AddrPort) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		cerr = syscall.Connect(int(fd), &syscall.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()})
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("connect to %v: %w", to, err)
	}
	return nil
}
