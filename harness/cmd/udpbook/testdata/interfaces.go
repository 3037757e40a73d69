package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
)

// A learner's code that says what it sees: the network interfaces, the
// interfaces /sys shows, the processes /proc shows, and what is in /run.
func Listen(addr string) (net.PacketConn, error) {
	var seen []string
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, i := range ifs {
		seen = append(seen, i.Name)
	}
	var sys []string
	entries, _ := os.ReadDir("/sys/class/net")
	for _, e := range entries {
		sys = append(sys, e.Name())
	}
	var pids []string
	entries, _ = os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			pids = append(pids, e.Name())
		}
	}
	var run []string
	entries, _ = os.ReadDir("/run")
	for _, e := range entries {
		run = append(run, e.Name())
	}
	return nil, fmt.Errorf("interfaces [%s] sys [%s] pids [%s] run [%s]",
		strings.Join(seen, " "), strings.Join(sys, " "), strings.Join(pids, " "), strings.Join(run, " "))
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
