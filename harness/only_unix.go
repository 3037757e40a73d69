//go:build unix

package harness

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// onlyFrom connects conn's socket to peer, so that the kernel drops every
// datagram from anyone else.
func onlyFrom(conn net.PacketConn, peer netip.AddrPort) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("a %T has no socket to connect", conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		// The socket's own family decides the address's form: an IPv6
		// socket takes an IPv4 peer as ::ffff:a.b.c.d.
		own, err := syscall.Getsockname(int(fd))
		if err != nil {
			cerr = err
			return
		}
		var sa syscall.Sockaddr
		switch _, six := own.(*syscall.SockaddrInet6); {
		case six:
			sa = &syscall.SockaddrInet6{Port: int(peer.Port()), Addr: peer.Addr().As16()}
		case peer.Addr().Unmap().Is4():
			sa = &syscall.SockaddrInet4{Port: int(peer.Port()), Addr: peer.Addr().Unmap().As4()}
		default:
			cerr = fmt.Errorf("an IPv4 socket cannot be connected to %v", peer)
			return
		}
		cerr = syscall.Connect(int(fd), sa)
	})
	if err != nil {
		return err
	}
	return cerr
}
