//go:build !unix

// Command launcher plays a service manager for one UDP socket; see
// main.go. Passing a socket as descriptor 3 is a Unix convention.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "launcher: socket activation is not supported on %s\n", runtime.GOOS)
	os.Exit(1)
}
