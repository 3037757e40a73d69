//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package adopt

// On the other systems, the same functions as in adopt_unix.go return an
// error saying that adopting sockets is not supported on runtime.GOOS: see
// docs/04-adopted-socket.md, step 2.
