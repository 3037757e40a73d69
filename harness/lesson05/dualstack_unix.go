//go:build unix

package lesson05

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// listenDualStack binds an IPv6 UDP socket with IPV6_V6ONLY off to
// ::ffff:127.0.0.1, port 0: a dual-stack socket that takes IPv4 datagrams
// on loopback only, and reports their senders as IPv4-mapped IPv6
// addresses (::ffff:127.0.0.1). Go's own Listen cannot make one: it binds
// an IPv4 socket for an IPv4-mapped address.
func listenDualStack() (*net.UDPConn, error) {
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_DGRAM, syscall.IPPROTO_UDP)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
	}
	sa := &syscall.SockaddrInet6{Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind [::ffff:127.0.0.1]:0: %w", err)
	}
	f := os.NewFile(uintptr(fd), "dual-stack udp")
	defer f.Close() // FilePacketConn works on a copy of the descriptor
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
