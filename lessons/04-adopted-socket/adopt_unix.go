//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd

package adopt

// The code that asks the kernel about a socket goes here, in a file built
// only on systems with Unix descriptors: see docs/04-adopted-socket.md,
// steps 2 and 4.
