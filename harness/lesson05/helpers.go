package lesson05

// Helpers shared by the server, client and pair checks: what a peer or
// recv is expected to get, and the quiet reads, sends and drains that
// stay out of the trace.

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"udpbook/harness"
)

// describe writes cfg's non-zero fields for the trace.
func describe(cfg Config) string {
	var parts []string
	if cfg.Expiry > 0 {
		parts = append(parts, fmt.Sprintf("Expiry %v", cfg.Expiry))
	}
	if cfg.Interval > 0 {
		parts = append(parts, fmt.Sprintf("Interval %v", cfg.Interval))
	}
	if cfg.Timeout > 0 {
		parts = append(parts, fmt.Sprintf("Timeout %v", cfg.Timeout))
	}
	if cfg.MaxMembers > 0 {
		parts = append(parts, fmt.Sprintf("MaxMembers %d", cfg.MaxMembers))
	}
	if cfg.MaxMessage > 0 {
		parts = append(parts, fmt.Sprintf("MaxMessage %d", cfg.MaxMessage))
	}
	if len(parts) == 0 {
		return "Config{} (the defaults)"
	}
	return "Config{" + strings.Join(parts, ", ") + "}"
}

// expectNext waits up to Patience for p's next datagram and fails the
// check unless it is want, from from. rule says what the protocol
// requires, for the failure message.
func expectNext(c *harness.C, p *harness.Peer, from netip.AddrPort, want, rule string) {
	d, ok := p.Recv(c.Patience())
	check(c, p, d, ok, from, want, rule)
}

// expectSkipping is expectNext, skipping datagrams that are exactly
// "@im@" (answers to heartbeats) without adding them to the trace.
func expectSkipping(c *harness.C, p *harness.Peer, from netip.AddrPort, want, rule string) {
	skipped := 0
	for {
		d, ok := p.RecvQuiet(c.Patience())
		if ok && string(d.Data) == heartbeat && d.From == from {
			skipped++
			continue
		}
		if skipped > 0 {
			c.Step("%s -> %s: %d times %q (answers to heartbeats, skipped)", c.Who(from), c.Who(p.Addr()), skipped, heartbeat)
		}
		if ok {
			c.Step("%s -> %s: %s", c.Who(d.From), c.Who(p.Addr()), harness.Quote(d.Data))
		}
		check(c, p, d, ok, from, want, rule)
		return
	}
}

func check(c *harness.C, p *harness.Peer, d harness.Datagram, ok bool, from netip.AddrPort, want, rule string) {
	if !ok {
		c.Fatalf("expected %s to receive %s from %s within %v; got nothing.\n   The rule: %s",
			c.Who(p.Addr()), harness.Quote([]byte(want)), c.Who(from), c.Patience(), rule)
	}
	if d.From != from {
		c.Fatalf("expected %s to receive %s from %s; it came from %s instead: send everything from the socket you were given",
			c.Who(p.Addr()), harness.Quote([]byte(want)), c.Who(from), c.Who(d.From))
	}
	if string(d.Data) != want {
		c.Fatalf("%s received %s, want %s%s.\n   The rule: %s", c.Who(p.Addr()), harness.Quote(d.Data),
			harness.Quote([]byte(want)), harness.Difference(d.Data, []byte(want)), rule)
	}
}

// pattern returns n bytes of letters from first on, cycling.
func pattern(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i%5)
	}
	return b
}

// put hands msg to a learner's function (who) over ch.
func put(c *harness.C, ch chan<- string, msg, who string) {
	select {
	case ch <- msg:
		c.Step("harness puts %s on send", harness.Quote([]byte(msg)))
	case <-time.After(c.Patience()):
		c.Fatalf("%s did not take %s from send within %v: read send in the same loop that does everything else",
			who, harness.Quote([]byte(msg)), c.Patience())
	case <-c.Context().Done():
		c.FailIfAborted()
	}
}

// next waits up to Patience for what a learner's function (who) hands to
// recv.
func next(c *harness.C, recv <-chan string, who string) string {
	select {
	case msg, ok := <-recv:
		if !ok {
			c.Fatalf("%s closed recv while it should still be running", who)
		}
		c.Step("recv gives %s", harness.Quote([]byte(msg)))
		return msg
	case <-time.After(c.Patience()):
		c.Fatalf("expected something on recv within %v; got nothing", c.Patience())
	case <-c.Context().Done():
		c.FailIfAborted()
	}
	return ""
}

// recvClosed reports whether recv is closed, taking anything left in it.
func recvClosed(c *harness.C, recv <-chan string) bool {
	timeout := time.After(c.Patience())
	for {
		select {
		case _, ok := <-recv:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// drainFor takes from recv, on a goroutine of its own, until recv is closed
// or d has passed, so that a learner's function waiting to deliver does
// not hold up its own return.
func drainFor(recv <-chan string, d time.Duration) {
	go func() {
		timeout := time.After(d)
		for {
			select {
			case _, ok := <-recv:
				if !ok {
					return
				}
			case <-timeout:
				return
			}
		}
	}()
}

// drainWhile takes from recv, on a goroutine of its own, until recv is
// closed or the function it returns is called.
func drainWhile(recv <-chan string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case _, ok := <-recv:
				if !ok {
					return
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
