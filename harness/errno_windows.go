package harness

import (
	"errors"
	"syscall"
)

// wsaeaddrinuse is Windows' own code for "address already in use", which
// is not the same number as syscall.EADDRINUSE there.
const wsaeaddrinuse = syscall.Errno(10048)

func isWSAAddrInUse(err error) bool { return errors.Is(err, wsaeaddrinuse) }
