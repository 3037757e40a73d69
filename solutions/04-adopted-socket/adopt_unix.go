//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd

package adopt

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkSocket returns nil if f is a bound UDP socket, and otherwise an
// error saying what f is instead.
func checkSocket(f *os.File) error {
	// Stat fails on a closed file with an error wrapping os.ErrClosed, and
	// tells a socket from a file or a pipe.
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if t := fi.Mode().Type(); t != fs.ModeSocket {
		return fmt.Errorf("%w: it is a %s", ErrNotSocket, fileKind(t))
	}
	// Control lends us the descriptor without changing it. (f.Fd would put
	// it in blocking mode, and the adopted connection would share that.)
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var sockErr error
	if err := rc.Control(func(fd uintptr) { sockErr = checkUDP(int(fd)) }); err != nil {
		return err
	}
	return sockErr
}

// checkUDP asks the kernel about the socket fd: its type (SO_TYPE) must be
// datagram, its address family (from getsockname) IPv4 or IPv6, and its
// port not 0.
func checkUDP(fd int) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("getsockopt SO_TYPE: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	var port int
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		port = sa.Port
	case *unix.SockaddrInet6:
		port = sa.Port
	case *unix.SockaddrUnix:
		return fmt.Errorf("%w: it is a Unix domain socket", ErrNotUDP)
	default:
		return fmt.Errorf("%w: its address is a %T", ErrNotUDP, sa)
	}
	switch typ {
	case unix.SOCK_DGRAM:
	case unix.SOCK_STREAM:
		return fmt.Errorf("%w: it is a TCP socket (SOCK_STREAM)", ErrNotUDP)
	default:
		return fmt.Errorf("%w: its type is %d, not SOCK_DGRAM", ErrNotUDP, typ)
	}
	// An unbound socket reports the wildcard address with port 0.
	if port == 0 {
		return ErrNotBound
	}
	return nil
}

// fileKind names a file type for an error message.
func fileKind(t fs.FileMode) string {
	switch t {
	case 0:
		return "regular file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeNamedPipe:
		return "pipe"
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		return "device"
	}
	return "file of type " + t.String()
}

// control sets o's options on a socket that is not bound yet. It is a
// net.ListenConfig.Control function.
func (o Options) control(network, address string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		if o.ReusePort {
			if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				err = fmt.Errorf("setsockopt SO_REUSEPORT: %w", err)
				return
			}
		}
		if o.ReadBuffer > 0 {
			if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.ReadBuffer); err != nil {
				err = fmt.Errorf("setsockopt SO_RCVBUF %d: %w", o.ReadBuffer, err)
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
