//go:build !unix

package remote

import (
	"errors"
	"os"
)

// Supported reports whether this system can pass descriptors between
// processes, which the judge and the driver need. Here it cannot: lessons
// are graded in one process.
const Supported = false

var errUnsupported = errors.New("passing descriptors between processes is not supported on this system")

type transport struct{}

// Pair returns the two ends of a new control socket; not supported here.
func Pair() (judge, driver *os.File, err error) { return nil, nil, errUnsupported }

func newTransport(f *os.File) (*transport, error)            { return nil, errUnsupported }
func (t *transport) send(m *message, files []*os.File) error { return errUnsupported }
func (t *transport) recv() (*message, fds, error)            { return nil, nil, errUnsupported }
func (t *transport) close() error                            { return nil }
func dupFD(v any) *os.File                                   { return nil }

type fds []int

func (f fds) file(i int, name string) *os.File { return nil }
func (f fds) close()                           {}

func closedFile(name string) *os.File { return nil }

// closeOnExec does nothing here: no driver runs on this system.
func closeOnExec(fd uintptr) {}
