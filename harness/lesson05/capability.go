package lesson05

import (
	"errors"

	"udpbook/harness"
)

// dualStack is an IPv6 UDP socket that takes IPv4 datagrams too, bound to
// ::ffff:127.0.0.1 (see listenDualStack). server-ipv6 and pair-receive try
// the learner's code on one where the host can make it; a host without
// IPv6 (or with it forced off, see harness.WithoutEnv) lacks it too.
var dualStack = harness.NewCapability("dualstack", "a dual-stack UDP socket on loopback", func() error {
	if why := harness.IPv6.Missing(); why != "" {
		return errors.New(why)
	}
	conn, err := listenDualStack()
	if err != nil {
		return err
	}
	return conn.Close()
})
