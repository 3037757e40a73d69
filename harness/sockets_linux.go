package harness

import (
	"os"
	"strings"
)

// openSockets returns the sockets this process has open, as the kernel
// names them ("socket:[12345]"), and true; it reads /proc/self/fd.
func openSockets() (map[string]bool, bool) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, false
	}
	open := map[string]bool{}
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			open[target] = true
		}
	}
	return open, true
}
