//go:build unix

package remote

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
)

// Supported reports whether this system can pass descriptors between
// processes, which the judge and the driver need.
const Supported = true

// maxMessage bounds one message: a datagram of 65,535 bytes in base64 and
// then some.
const maxMessage = 1 << 20

// maxFDs bounds the descriptors one message carries.
const maxFDs = 8

// transport is one end of the control socket: a Unix socket of type
// SOCK_SEQPACKET, so that each message arrives whole, with its descriptors.
type transport struct {
	conn *net.UnixConn
	wmu  sync.Mutex
	buf  []byte
	oob  []byte
}

// Pair returns the two ends of a new control socket, as files to hand to
// the judge and the driver.
func Pair() (judge, driver *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
		// Large enough for the largest message in both directions.
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 2*maxMessage)
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2*maxMessage)
	}
	return os.NewFile(uintptr(fds[0]), "udpbook-judge"), os.NewFile(uintptr(fds[1]), "udpbook-driver"), nil
}

// newTransport makes a transport of f, one end of Pair, and closes f.
func newTransport(f *os.File) (*transport, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("control socket: descriptor is a %T, not a Unix socket", c)
	}
	return &transport{conn: uc, buf: make([]byte, maxMessage), oob: make([]byte, syscall.CmsgSpace(4*maxFDs))}, nil
}

// send sends m with files attached (the receiver gets copies).
func (t *transport) send(m *message, files []*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Op, err)
	}
	if len(b) > maxMessage {
		return fmt.Errorf("%s message of %d bytes is too large", m.Op, len(b))
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return withFDs(files, nil, func(fds []int) error {
		var oob []byte
		if len(fds) > 0 {
			oob = syscall.UnixRights(fds...)
		}
		_, _, err := t.conn.WriteMsgUnix(b, oob, nil)
		return err
	})
}

// withFDs calls f with the descriptors of files, held open meanwhile. It
// does not use Fd, which would put a non-blocking descriptor (and every
// copy of it, in this process or another) in blocking mode.
func withFDs(files []*os.File, fds []int, f func([]int) error) error {
	if len(files) == 0 {
		return f(fds)
	}
	rc, err := files[0].SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		ferr = withFDs(files[1:], append(fds, int(fd)), f)
	}); err != nil {
		return err
	}
	return ferr
}

// recv receives one message and the descriptors that came with it, which
// the caller owns (see fds). Only one goroutine calls it.
func (t *transport) recv() (*message, fds, error) {
	n, oobn, _, _, err := t.conn.ReadMsgUnix(t.buf, t.oob)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, net.ErrClosed // the other end closed its socket
	}
	var files fds
	if oobn > 0 {
		msgs, err := syscall.ParseSocketControlMessage(t.oob[:oobn])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: control message: %v", ErrGarbled, err)
		}
		for _, cm := range msgs {
			fds, err := syscall.ParseUnixRights(&cm)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				syscall.CloseOnExec(fd)
				files = append(files, fd)
			}
		}
	}
	m := new(message)
	if err := json.Unmarshal(t.buf[:n], m); err != nil {
		files.close()
		return nil, nil, fmt.Errorf("%w: %v", ErrGarbled, err)
	}
	return m, files, nil
}

func (t *transport) close() error { return t.conn.Close() }

// dupFD returns a copy of v's descriptor, for a value that has one
// (syscall.Conn), or nil.
func dupFD(v any) *os.File {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var f *os.File
	rc.Control(func(fd uintptr) {
		if nfd, err := syscall.Dup(int(fd)); err == nil {
			syscall.CloseOnExec(nfd)
			f = os.NewFile(uintptr(nfd), "udpbook-dup")
		}
	})
	return f
}

// fds are descriptors a message brought.
type fds []int

// file returns descriptor i as a file called name, which the caller then
// owns, or nil if there is no such descriptor.
func (f fds) file(i int, name string) *os.File {
	if i < 0 || i >= len(f) || f[i] < 0 {
		return nil
	}
	fd := f[i]
	f[i] = -1
	return os.NewFile(uintptr(fd), name)
}

// close closes the descriptors nobody took.
func (f fds) close() {
	for i, fd := range f {
		if fd >= 0 {
			syscall.Close(fd)
			f[i] = -1
		}
	}
}

// closedFile returns a closed file called name: what the judge passed when
// it had closed its file already.
func closedFile(name string) *os.File {
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), name)
	f.Close()
	return f
}

// closeOnExec keeps descriptor fd from the programs this process starts.
func closeOnExec(fd uintptr) { syscall.CloseOnExec(int(fd)) }
