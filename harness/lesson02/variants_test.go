package lesson02_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"udpbook/harness"
	"udpbook/harness/lesson02"
	solution "udpbook/solutions/02-echo-client"
)

// Correct clients that are not the reference pass every check: a check
// must grade what the doc comment promises, not how the reference keeps
// the promise.
func TestCorrectVariantsPass(t *testing.T) {
	variants := []struct {
		name string
		impl lesson02.Impl
	}{
		// The chapter's "Going further": every name at once.
		{"sends all names at once and matches the replies as they arrive", adapt(greetAllAtOnce)},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			for _, res := range lesson02.Suite.Grade(v.impl) {
				switch {
				case res.Status == harness.Skip && res.Missing != "":
					t.Logf("check %q skipped: %s", res.ID, res.Message)
				case res.Status != harness.Pass:
					t.Errorf("a correct client that %s: check %q gave %s:\n%s", v.name, res.ID, res.Status, res.Message)
				}
			}
		})
	}
}

// greetAllAtOnce is the chapter's "Going further" client: in each attempt
// it sends every name that has no reply yet, back to back, then takes
// replies as they arrive, in any order, until each name has its reply or
// the attempt's deadline passes. Three names then cost one round trip.
func greetAllAtOnce(ctx context.Context, addr string, names []string, opts solution.Options) ([]string, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = solution.DefaultTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = solution.DefaultAttempts
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", addr, err)
	}
	server := harness.Unmap(raddr.AddrPort())
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("open socket: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	replies := make([]string, len(names))
	answered := make([]bool, len(names))
	left := len(names)
	// soFar is the replies of the names before the first unanswered one.
	soFar := func() []string {
		n := 0
		for n < len(names) && answered[n] {
			n++
		}
		return replies[:n]
	}
	buf := make([]byte, 65535)
	for attempt := 1; attempt <= opts.Attempts && left > 0; attempt++ {
		for i, name := range names {
			if answered[i] {
				continue
			}
			if _, err := conn.WriteToUDPAddrPort([]byte(name), server); err != nil {
				return soFar(), fmt.Errorf("send %q to %s: %w", name, server, err)
			}
		}
		conn.SetReadDeadline(time.Now().Add(opts.Timeout))
		if ctx.Err() != nil {
			return soFar(), fmt.Errorf("greet: %w", ctx.Err())
		}
		for left > 0 {
			var n int
			var from netip.AddrPort
			n, from, err = conn.ReadFromUDPAddrPort(buf)
			if ctx.Err() != nil {
				return soFar(), fmt.Errorf("greet: %w", ctx.Err())
			}
			if err != nil {
				break
			}
			if harness.Unmap(from) != server {
				continue
			}
			// The first name still waiting for exactly this greeting.
			for i, name := range names {
				if !answered[i] && string(buf[:n]) == "Hello, "+name+"!" {
					replies[i], answered[i] = string(buf[:n]), true
					left--
					break
				}
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return soFar(), fmt.Errorf("read replies: %w", err)
		}
	}
	if left > 0 {
		return soFar(), fmt.Errorf("no reply to %q from %s after %d attempts: %w",
			names[len(soFar())], server, opts.Attempts, err)
	}
	return replies, nil
}
