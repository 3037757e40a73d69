package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Chaos describes a bad network for a ChaosRelay: each datagram, in each
// direction, is lost, duplicated or reordered at random with the given
// probabilities, delayed by Delay plus up to Jitter, and paced through a
// bottleneck of Rate bytes a second. The random choices come from a
// generator seeded with Seed, one stream per direction, so a run can be
// replayed: the same seed makes the same choices for the n-th datagram in
// each direction.
type Chaos struct {
	Loss    float64       // probability that a datagram is dropped, 0 to 1
	Dup     float64       // probability that a datagram is delivered twice
	Reorder float64       // probability that a datagram is held back by ReorderBy, so later ones overtake it
	Delay   time.Duration // one-way delay added to every datagram
	Jitter  time.Duration // a random extra delay from 0 to Jitter
	// Rate, if positive, is the bottleneck's rate in bytes a second: a
	// token bucket of Burst bytes fills at Rate, and a datagram waits in a
	// queue until the bucket holds its size. A datagram that would wait
	// longer than QueueLimit is dropped, as a router's full queue drops.
	Rate       int
	Burst      int           // bytes; 0 means one largest datagram
	QueueLimit time.Duration // 0 means 200 ms
	ReorderBy  time.Duration // 0 means 5 ms
	Seed       uint64
}

// String describes the conditions, with the seed, for a trace.
func (ch Chaos) String() string {
	s := fmt.Sprintf("seed %d: loss %.0f%%, duplication %.0f%%, reordering %.0f%%, delay %v + jitter up to %v",
		ch.Seed, ch.Loss*100, ch.Dup*100, ch.Reorder*100, ch.Delay, ch.Jitter)
	if ch.Rate > 0 {
		s += fmt.Sprintf(", rate %d bytes/s", ch.Rate)
	}
	return s + ", each way"
}

// ChaosStats counts what a ChaosRelay did, in one direction.
type ChaosStats struct {
	Passed, Dropped, Duplicated, Reordered, QueueDrops, Bytes int
}

// ChaosRelay is a relay like Relay that applies Chaos to every datagram
// instead of rules to chosen ones. It does not add each datagram to a
// trace (a transfer has thousands): Stats and String summarize what it did.
// It works without a check too (see StartChaos), for the lessons' relay
// programs.
type ChaosRelay struct {
	front, back *net.UDPConn
	server      netip.AddrPort
	chaos       Chaos

	mu     sync.Mutex
	client netip.AddrPort
	rng    [2]*rand.Rand
	stats  [2]ChaosStats
	free   [2]time.Time // when the bottleneck is next free of queued bytes
	// tap, if set, sees every datagram as it arrives, before the chaos.
	tap    func(dir Direction, data []byte)
	closed bool
	wg     sync.WaitGroup
}

// StartChaos starts a chaos relay that receives on front (the address
// clients send to) and forwards to server from back. Close stops it.
func StartChaos(front, back *net.UDPConn, server netip.AddrPort, ch Chaos) *ChaosRelay {
	if ch.Burst <= 0 {
		ch.Burst = MaxDatagram
	}
	if ch.QueueLimit <= 0 {
		ch.QueueLimit = 200 * time.Millisecond
	}
	if ch.ReorderBy <= 0 {
		ch.ReorderBy = 5 * time.Millisecond
	}
	r := &ChaosRelay{front: front, back: back, server: server, chaos: ch}
	for d := range r.rng {
		r.rng[d] = rand.New(rand.NewPCG(ch.Seed, uint64(d)+1))
	}
	r.wg.Add(2)
	go r.pump(front, ToServer)
	go r.pump(back, ToClient)
	return r
}

// NewChaosRelay starts a chaos relay on loopback ports of network that
// forwards to server, names it in the trace, adds a step with the
// conditions and the seed, and stops it when the check ends.
func (c *C) NewChaosRelay(network string, server netip.AddrPort, ch Chaos) *ChaosRelay {
	r := StartChaos(c.Listen(network), c.Listen(network), server, ch)
	c.Name(r.Addr(), "relay")
	c.Name(AddrPort(r.back.LocalAddr()), "relay")
	c.Step("relay %v forwards to %s with %s", r.Addr(), c.Who(server), r.chaos)
	c.Cleanup(r.Close)
	return r
}

// Addr returns the address clients send to.
func (r *ChaosRelay) Addr() netip.AddrPort { return AddrPort(r.front.LocalAddr()) }

// Tap makes f see every datagram as it reaches the relay, before any
// chaos is applied. Set it before traffic starts.
func (r *ChaosRelay) Tap(f func(dir Direction, data []byte)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tap = f
}

// Close stops the relay, closes its sockets and waits for datagrams still
// on their way to be dropped.
func (r *ChaosRelay) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.front.Close()
	r.back.Close()
	r.wg.Wait()
}

// Stats returns what the relay did so far in direction dir.
func (r *ChaosRelay) Stats(dir Direction) ChaosStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats[dir]
}

// String summarizes what the relay did, in both directions, with the seed.
func (r *ChaosRelay) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s string
	for _, dir := range []Direction{ToServer, ToClient} {
		st := r.stats[dir]
		s += fmt.Sprintf("%s: %d passed, %d lost, %d duplicated, %d reordered, %d dropped by the full queue; ",
			dir, st.Passed, st.Dropped, st.Duplicated, st.Reordered, st.QueueDrops)
	}
	return fmt.Sprintf("relay (seed %d) %s", r.chaos.Seed, s[:len(s)-2])
}

func (r *ChaosRelay) pump(in *net.UDPConn, dir Direction) {
	defer r.wg.Done()
	buf := make([]byte, MaxDatagram+1)
	for {
		n, from, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
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
		tap := r.tap
		r.mu.Unlock()
		if tap != nil {
			tap(dir, data)
		}
		r.apply(dir, data)
	}
}

// apply decides the fate of one datagram and schedules its delivery.
func (r *ChaosRelay) apply(dir Direction, data []byte) {
	ch := r.chaos
	r.mu.Lock()
	defer r.mu.Unlock()
	rng, st := r.rng[dir], &r.stats[dir]
	// Draw every number for every datagram, so that the n-th datagram's
	// fate depends on the seed and n only.
	lose, dup, reorder := rng.Float64() < ch.Loss, rng.Float64() < ch.Dup, rng.Float64() < ch.Reorder
	jitter := [2]time.Duration{}
	for i := range jitter {
		if ch.Jitter > 0 {
			jitter[i] = time.Duration(rng.Int64N(int64(ch.Jitter) + 1))
		}
	}
	if lose {
		st.Dropped++
		return
	}
	copies := 1
	if dup {
		copies = 2
		st.Duplicated++
	}
	now := time.Now()
	for i := range copies {
		at := now
		if ch.Rate > 0 {
			// A token bucket: free is when the bucket will have been
			// refilled to hold this datagram's predecessors. A full
			// bucket (Burst bytes) lets datagrams through at once; an
			// empty one makes them wait, in a queue, for tokens that come
			// at Rate bytes a second.
			start := r.free[dir]
			if full := now.Add(-time.Duration(ch.Burst) * time.Second / time.Duration(ch.Rate)); start.Before(full) {
				start = full
			}
			next := start.Add(time.Duration(len(data)) * time.Second / time.Duration(ch.Rate))
			if next.Sub(now) > ch.QueueLimit {
				st.QueueDrops++
				continue
			}
			r.free[dir] = next
			if next.After(now) {
				at = next
			}
		}
		at = at.Add(ch.Delay + jitter[i])
		if reorder && i == 0 {
			at = at.Add(ch.ReorderBy)
			st.Reordered++
		}
		st.Passed++
		st.Bytes += len(data)
		r.deliver(dir, data, at)
	}
}

// deliver sends data on at time at; r.mu is held.
func (r *ChaosRelay) deliver(dir Direction, data []byte, at time.Time) {
	if r.closed {
		return
	}
	if d := time.Until(at); d > 0 {
		r.wg.Add(1)
		time.AfterFunc(d, func() {
			defer r.wg.Done()
			r.mu.Lock()
			defer r.mu.Unlock()
			r.send(dir, data)
		})
		return
	}
	// No delay: send now, in order, from the pump's goroutine.
	r.send(dir, data)
}

// send writes data on its way; r.mu is held.
func (r *ChaosRelay) send(dir Direction, data []byte) {
	if dir == ToServer {
		r.back.WriteToUDPAddrPort(data, r.server)
		return
	}
	r.front.WriteToUDPAddrPort(data, r.client)
}
