//go:build unix

package lesson04

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"udpbook/harness"
)

// unixSockets says whether the harness can make sockets with raw system
// calls and pass descriptors to a child process.
const unixSockets = true

// newRawSocket makes a UDP socket with raw system calls, as the tutorial
// does: socket, non-blocking, and bind to the loopback address with port 0
// if bind is set.
func newRawSocket(network string, bind bool) (*os.File, netip.AddrPort, error) {
	domain := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if network == "udp6" {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
	}
	// Hold ForkLock so that no child process is started between socket and
	// CloseOnExec, and inherits the descriptor by accident.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, netip.AddrPort{}, fmt.Errorf("set non-blocking: %w", err)
	}
	var addr netip.AddrPort
	if bind {
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return nil, netip.AddrPort{}, fmt.Errorf("bind: %w", err)
		}
		got, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return nil, netip.AddrPort{}, fmt.Errorf("getsockname: %w", err)
		}
		addr = sockaddrPort(got)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("raw %s socket %d", network, fd)), addr, nil
}

func sockaddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// unixgram returns one end of a pair of connected Unix datagram sockets,
// and closes both when the check ends.
func unixgram(c *harness.C) *os.File {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		c.Fatalf("harness could not make a Unix socket pair: %v", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "unixgram socket"), os.NewFile(uintptr(fds[1]), "unixgram peer")
	c.Cleanup(func() { a.Close(); b.Close() })
	return a
}

// recvBuffer reads SO_RCVBUF of conn's socket.
func recvBuffer(conn net.PacketConn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errors.New("it gives no access to its socket (no SyscallConn method)")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return size, serr
}

// describeFD says what descriptor fd is: "UDP socket 127.0.0.1:1234", or
// why it is not one.
func describeFD(fd int) string {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Sprintf("not a socket (%v)", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Sprintf("a socket without an address (%v)", err)
	}
	if typ != unix.SOCK_DGRAM {
		return fmt.Sprintf("a socket of type %d on %v", typ, sockaddrPort(sa))
	}
	return "UDP socket " + sockaddrPort(sa).String()
}

// boundUnixgram returns a Unix datagram socket bound to a path in a new
// temporary folder, and its path; both go when the check ends.
func boundUnixgram(c *harness.C) (*os.File, string) {
	dir, err := os.MkdirTemp("", "l04")
	if err != nil {
		c.Fatalf("harness could not make a folder: %v", err)
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	path := dir + "/s"
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		c.Fatalf("harness could not make a Unix socket: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		c.Fatalf("harness could not bind a Unix socket to %s: %v", path, err)
	}
	f := os.NewFile(uintptr(fd), "unixgram socket "+path)
	c.Cleanup(func() { f.Close() })
	return f, path
}
