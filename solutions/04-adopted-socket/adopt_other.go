//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package adopt

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

var errUnsupported = errors.New("adopting a socket descriptor is not supported on " + runtime.GOOS)

func checkSocket(f *os.File) error { return errUnsupported }

func (o Options) control(network, address string, c syscall.RawConn) error {
	if o != (Options{}) {
		return errors.New("socket options before bind are not supported on " + runtime.GOOS)
	}
	return nil
}
