//go:build !linux

package harness

// OpenSockets returns false: listing a process's sockets is written for
// Linux only. Checks that need it skip.
func OpenSockets() (map[string]bool, bool) { return nil, false }
