package harness

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
)

// WithoutEnv names the environment variable that makes the harness act as
// if this host lacked some capabilities: a comma-separated list of their
// keys ("ipv6,multicast6"). The workbook's own tests use it to prove that
// every check skips cleanly, and every self-test still passes, on a host
// without IPv6. A capability forced off skips the checks that need it, so
// a grade taken with it set is a grade with fewer checks.
const WithoutEnv = "UDPBOOK_WITHOUT"

// A Capability is something a check needs from the host that some hosts do
// not have: IPv6 on the loopback interface, multicast on loopback. A check
// calls C.Require before it needs one; where the host lacks it, the check
// is skipped with the reason, and a skip is never a learner's fault.
//
// The probe runs once per process.
type Capability struct {
	Key  string // short name, for WithoutEnv
	Name string // what the host must have, for messages

	probe   func() error
	once    sync.Once
	missing string
}

// NewCapability returns a capability that the host has when probe returns
// nil.
func NewCapability(key, name string, probe func() error) *Capability {
	return &Capability{Key: key, Name: name, probe: probe}
}

// IPv6 is a UDP socket bound to ::1.
var IPv6 = NewCapability("ipv6", "IPv6 on the loopback interface", func() error {
	conn, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return err
	}
	return conn.Close()
})

// Missing returns why this host lacks the capability, or "" when it has it.
func (cp *Capability) Missing() string {
	cp.once.Do(func() {
		if slices.Contains(strings.Split(os.Getenv(WithoutEnv), ","), cp.Key) {
			cp.missing = fmt.Sprintf("%s is not available on this system (%s=%s)", cp.Name, WithoutEnv, os.Getenv(WithoutEnv))
			return
		}
		if err := cp.probe(); err != nil {
			cp.missing = fmt.Sprintf("%s is not available on this system: %v", cp.Name, err)
		}
	})
	return cp.missing
}

// Require skips the check, with the reason, when this host lacks cp.
func (c *C) Require(cp *Capability) {
	why := cp.Missing()
	if why == "" {
		return
	}
	c.mu.Lock()
	c.missing = cp.Name
	c.mu.Unlock()
	c.Skipf("%s", why)
}
