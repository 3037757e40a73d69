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

// reconnect connects conn, a UDP socket, to a new peer of the same IP
// version. The net package cannot connect a socket twice, but the system
// call can.
func reconnect(conn *net.UDPConn, to netip.AddrPort) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sa syscall.Sockaddr
	if to.Addr().Is4() {
		sa = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(to.Port()), Addr: to.Addr().As16()}
	}
	var cerr error
	err = rc.Control(func(fd uintptr) { cerr = syscall.Connect(int(fd), sa) })
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("connect to %v: %w", to, err)
	}
	return nil
}
