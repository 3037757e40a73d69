package harness

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Direction is the way a datagram crosses a Relay.
type Direction int

// The two directions through a Relay.
const (
	ToServer Direction = iota // from the client to the server
	ToClient                  // from the server back to the client
)

func (d Direction) String() string {
	if d == ToServer {
		return "to the server"
	}
	return "to the client"
}

// Action is what a Relay does to a chosen datagram.
type Action int

// The things a Relay can do to a datagram.
const (
	Drop      Action = iota + 1 // never deliver it
	Duplicate                   // deliver it twice
	Delay                       // deliver it after Rule.Delay
	Hold                        // deliver it right after the next datagram in the same direction (reordering the two)
)

// Rule chooses one datagram by its direction and its number in that
// direction (the first is 1) and says what to do with it. Rules are
// deterministic: the same rules do the same thing on every run.
type Rule struct {
	Dir    Direction
	Nth    int
	Action Action
	Delay  time.Duration // for Delay
}

// Relay stands between a client and a server on loopback. The client sends
// to the relay's address as if it were the server; the relay forwards to the
// server from a socket of its own and sends the server's replies back to the
// client (the last address it heard a client from). Every datagram and
// everything done to one is added to the trace.
type Relay struct {
	c      *C
	front  *net.UDPConn // faces the client
	back   *net.UDPConn // faces the server
	server netip.AddrPort
	rules  []Rule

	mu     sync.Mutex
	client netip.AddrPort
	count  [2]int
	held   [2][]byte
	wg     sync.WaitGroup
}

// NewRelay starts a relay on a loopback port of network that forwards to
// server, applying rules. It stops when the check ends.
func (c *C) NewRelay(network string, server netip.AddrPort, rules ...Rule) *Relay {
	r := &Relay{c: c, front: c.Listen(network), back: c.Listen(network), server: server, rules: rules}
	c.Name(AddrPort(r.front.LocalAddr()), "relay")
	c.Name(AddrPort(r.back.LocalAddr()), "relay")
	r.wg.Add(2)
	go r.pump(r.front, ToServer)
	go r.pump(r.back, ToClient)
	// Closing both sockets ends both pumps; Listen's own clean-ups close
	// them too, but the relay must be done before the check's result is
	// read, so it closes them and waits here.
	c.Cleanup(func() {
		r.front.Close()
		r.back.Close()
		r.wg.Wait()
	})
	return r
}

// Addr returns the address clients send to.
func (r *Relay) Addr() netip.AddrPort { return AddrPort(r.front.LocalAddr()) }

func (r *Relay) pump(in *net.UDPConn, dir Direction) {
	defer r.wg.Done()
	buf := make([]byte, MaxDatagram+1)
	for {
		n, from, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed at the end of the check
		}
		data := append([]byte(nil), buf[:n]...)
		from = Unmap(from)
		r.mu.Lock()
		if dir == ToServer {
			r.client = from
		} else if from != r.server {
			r.mu.Unlock()
			continue // not from the server: not ours to relay
		}
		r.count[dir]++
		nth := r.count[dir]
		r.mu.Unlock()
		r.apply(dir, nth, data)
	}
}

func (r *Relay) apply(dir Direction, nth int, data []byte) {
	desc := fmt.Sprintf("datagram %d %s %s", nth, dir, Quote(data))
	for _, rule := range r.rules {
		if rule.Dir != dir || rule.Nth != nth {
			continue
		}
		switch rule.Action {
		case Drop:
			r.c.Step("relay dropped %s", desc)
			return
		case Duplicate:
			r.c.Step("relay duplicated %s", desc)
			r.forward(dir, data)
			r.forward(dir, data)
			return
		case Delay:
			r.c.Step("relay delays %s by %v", desc, rule.Delay)
			r.wg.Add(1)
			time.AfterFunc(rule.Delay, func() {
				defer r.wg.Done()
				r.forward(dir, data)
			})
			return
		case Hold:
			r.c.Step("relay holds %s until the next one has passed", desc)
			r.mu.Lock()
			r.held[dir] = data
			r.mu.Unlock()
			return
		}
	}
	r.c.Step("relay passed %s", desc)
	r.forward(dir, data)
	r.mu.Lock()
	held := r.held[dir]
	r.held[dir] = nil
	r.mu.Unlock()
	if held != nil {
		r.c.Step("relay releases the held datagram %s", Quote(held))
		r.forward(dir, held)
	}
}

func (r *Relay) forward(dir Direction, data []byte) {
	if dir == ToServer {
		r.back.WriteToUDPAddrPort(data, r.server)
		return
	}
	r.mu.Lock()
	client := r.client
	r.mu.Unlock()
	r.front.WriteToUDPAddrPort(data, client)
}
