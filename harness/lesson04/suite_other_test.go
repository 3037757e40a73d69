//go:build !unix

package lesson04_test

import (
	"udpbook/harness"
	"udpbook/harness/lesson04"
)

// unixBroken: the broken implementations that need system calls are built
// on Unix only.
var unixBroken []harness.Broken[lesson04.Impl]
