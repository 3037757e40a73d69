package lesson06

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"

	"udpbook/harness"
)

// What the checks need from the host, besides a loopback interface. A check
// calls C.Require before it needs one; where the host lacks it, the check is
// skipped with the reason, and never falls back to another interface.
var (
	// Multicast4 is IPv4 multicast on the loopback interface: a datagram
	// sent to a group joined there arrives.
	Multicast4 = harness.NewCapability("multicast4", "IPv4 multicast on the loopback interface",
		func() error { return probe("udp4").err })
	// Multicast6 is the same for IPv6. Linux cannot do it: it makes IPv6
	// routes through the loopback interface reject routes.
	Multicast6 = harness.NewCapability("multicast6", "IPv6 multicast on the loopback interface", func() error {
		if why := harness.IPv6.Missing(); why != "" {
			return errors.New(why)
		}
		err := probe("udp6").err
		if err != nil && runtime.GOOS == "linux" {
			err = fmt.Errorf("%w (Linux makes IPv6 routes through the loopback interface reject routes, "+
				"so it cannot send IPv6 multicast there)", err)
		}
		return err
	})
	// Memberships is the kernel's list of the groups joined on each
	// interface, /proc/net/igmp and /proc/net/igmp6: only Linux has it.
	Memberships = harness.NewCapability("igmp", "the kernel's list of multicast memberships (/proc/net/igmp)",
		membershipsReadable)
)

// multicast returns the capability of multicast for network on loopback.
func multicast(network string) *harness.Capability {
	if network == "udp6" {
		return Multicast6
	}
	return Multicast4
}

var (
	loopbackOnce sync.Once
	loopbackIfi  *net.Interface
	loopbackErr  error
)

// LoopbackInterface returns the loopback interface, found by its flags
// (loopback and up), not its name: it is "lo" on Linux, "lo0" on macOS. It
// never returns another interface. The suite and its self-tests use this
// one lookup.
func LoopbackInterface() (*net.Interface, error) {
	loopbackOnce.Do(func() {
		ifs, err := net.Interfaces()
		if err != nil {
			loopbackErr = fmt.Errorf("list interfaces: %w", err)
			return
		}
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
				loopbackIfi = &ifi
				return
			}
		}
		loopbackErr = errors.New("no loopback interface is up")
	})
	return loopbackIfi, loopbackErr
}

// loopback returns the loopback interface, or nil.
func loopback() *net.Interface {
	ifi, _ := LoopbackInterface()
	return ifi
}
