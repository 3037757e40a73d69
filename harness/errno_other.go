//go:build !windows

package harness

func isWSAAddrInUse(error) bool { return false }
