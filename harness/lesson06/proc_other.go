//go:build !linux

package lesson06

import (
	"fmt"
	"net/netip"
	"runtime"
)

// kernelMemberships would list the interfaces on which group is joined; only
// Linux shows them (in /proc/net/igmp), so ok is false here.
func kernelMemberships(group netip.Addr) (devices []string, ok bool) { return nil, false }

// membershipsReadable says that only Linux lists the memberships.
func membershipsReadable() error {
	return fmt.Errorf("%s does not list them in /proc/net/igmp", runtime.GOOS)
}
