// Package adopt is lesson 04 of udpbook: serving on a UDP socket that
// something else created and bound.
//
// # Adopting
//
// A socket is a kernel object; a program reaches it through a file
// descriptor. Another library, raw system calls, a parent process or a
// service manager can create and bind the socket, then hand the descriptor
// over as an *os.File. Adopt checks that the descriptor is a bound UDP
// socket and wraps it in a net.PacketConn. The connection works on its own
// duplicate of the descriptor, so the caller closes its file whenever it
// likes, even right away.
//
// # Socket activation
//
// A service manager such as systemd binds the sockets before it starts a
// service and passes them as descriptors 3, 4, and so on, with two
// environment variables: LISTEN_FDS says how many, LISTEN_PID says which
// process they are for. Listeners adopts them. A datagram that arrives
// before the service starts waits in the socket and is answered once it
// runs.
//
// # Options before bind
//
// Some socket options count only if they are set before bind: SO_REUSEPORT,
// which lets several sockets share one port, is the best known. Listen sets
// options through net.ListenConfig.Control, which runs between creating the
// socket and binding it.
package adopt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// The errors Adopt returns (wrapped, with the file's name) for a file that
// is not a bound UDP socket. Check for them with errors.Is.
var (
	// ErrNotSocket means the file is not a socket at all: a regular file, a
	// pipe, a terminal.
	ErrNotSocket = errors.New("not a socket")
	// ErrNotUDP means the file is a socket of another kind: a TCP socket, a
	// Unix domain socket.
	ErrNotUDP = errors.New("not a UDP socket")
	// ErrNotBound means the file is a UDP socket with no local address yet.
	// Nobody could send to it, and its first write would bind it to a port
	// the kernel picks.
	ErrNotBound = errors.New("UDP socket is not bound to an address")
)

// Adopt returns a net.PacketConn for the UDP socket f holds, bound by
// whoever created it. The connection's LocalAddr is the address the socket
// was bound to; reading and writing, deadlines and Close work as on a
// socket from net.ListenPacket.
//
// The connection uses its own duplicate of the descriptor: Adopt leaves f
// open, whatever it returns, and the caller may close f at once without
// harm to the connection; closing the connection leaves f open. The port is
// free again once both f and the connection are closed, in either order.
//
// Adopt refuses anything else with an error, and returns no connection and
// keeps no duplicate of the descriptor: the error wraps ErrNotSocket for a regular file or a pipe, ErrNotUDP for
// a TCP or Unix domain socket, ErrNotBound for a UDP socket that was never
// bound, and os.ErrClosed for a closed file. A nil f gives os.ErrInvalid.
// On systems without Unix descriptors Adopt always fails.
//
// Do not call f.Fd after Adopt: for a file that Go put in non-blocking
// mode, Fd switches the socket back to blocking mode, which the adopted
// connection shares, and its deadlines stop working.
func Adopt(f *os.File) (net.PacketConn, error) {
	if f == nil {
		return nil, fmt.Errorf("adopt: %w", os.ErrInvalid)
	}
	if err := checkSocket(f); err != nil {
		return nil, fmt.Errorf("adopt %s: %w", f.Name(), err)
	}
	// FilePacketConn duplicates the descriptor; the connection owns the
	// duplicate, and f stays the caller's.
	conn, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("adopt %s: %w", f.Name(), err)
	}
	return conn, nil
}

// listenFDsStart is the first descriptor a service manager passes: 0, 1
// and 2 are standard input, output and error.
const listenFDsStart = 3

// Listeners returns the UDP sockets a service manager passed to this
// process, in the order it passed them (descriptor 3 first), adopted with
// Adopt.
//
// The sockets are for this process if LISTEN_PID is its process ID; then
// LISTEN_FDS says how many there are. If LISTEN_PID is not set, or names
// another process, Listeners returns no connections and no error, and
// leaves the descriptors alone: the program was not socket-activated, and
// should bind its own socket (see Listen).
//
// Listeners removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the
// environment in every case, so that the programs this process starts do
// not take the sockets for theirs. It closes the descriptors it adopts (the
// connections hold duplicates), so the ports are free once the
// connections are closed. If one of them is not a bound UDP socket, it
// closes what it adopted and returns no connections and an error naming
// the descriptor.
func Listeners() ([]net.PacketConn, error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")

	// A child of a socket-activated program inherits its environment; the
	// pid tells it the sockets are not its own.
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("LISTEN_FDS=%q is not a number of descriptors", fds)
	}
	conns := make([]net.PacketConn, 0, n)
	for fd := listenFDsStart; fd < listenFDsStart+n; fd++ {
		f := os.NewFile(uintptr(fd), "descriptor "+strconv.Itoa(fd))
		conn, err := Adopt(f)
		f.Close()
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("LISTEN_FDS=%d: %w", n, err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// Options are socket options that Listen sets before it binds. The zero
// value sets none, and Listen then behaves like net.ListenPacket.
type Options struct {
	// ReusePort sets SO_REUSEPORT, so that several sockets can bind the
	// same address and port; every one of them must set it. On Linux the
	// kernel spreads incoming datagrams across them by sender address.
	// Not every system has SO_REUSEPORT; where it is missing, Listen fails.
	ReusePort bool

	// ReadBuffer asks for a receive buffer of this many bytes (SO_RCVBUF)
	// instead of the system's default; 0 keeps the default. The kernel may
	// give less: Linux caps it at net.core.rmem_max, and reports twice the
	// size it grants, counting its own bookkeeping. A negative ReadBuffer
	// makes Listen fail, with no socket bound.
	ReadBuffer int
}

// Listen binds a UDP socket to addr, such as "127.0.0.1:9999" or
// "[::1]:0", as net.ListenPacket("udp", addr) does, with the options in
// opts set on the socket before it is bound. A port of 0 lets the kernel
// choose a free port; read it back from the connection's LocalAddr. ctx
// bounds the resolving of a host name in addr; it does not affect the
// connection once Listen has returned.
//
// If another socket is bound to addr already, Listen fails with an error
// wrapping syscall.EADDRINUSE, unless both sockets set ReusePort.
func Listen(ctx context.Context, addr string, opts Options) (net.PacketConn, error) {
	if opts.ReadBuffer < 0 {
		return nil, fmt.Errorf("listen %s: negative read buffer size %d", addr, opts.ReadBuffer)
	}
	// Control runs after the socket is created and before it is bound.
	lc := net.ListenConfig{Control: opts.control}
	return lc.ListenPacket(ctx, "udp", addr)
}
