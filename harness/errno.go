package harness

import (
	"errors"
	"syscall"
)

// IsAddrInUse reports whether err says that an address is bound already:
// syscall.EADDRINUSE, or WSAEADDRINUSE where Windows reports that instead.
func IsAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || isWSAAddrInUse(err)
}
