// Package lesson07 grades lesson 07, reliable delivery over UDP: a sender
// and a receiver that move a message exactly once and in order over a
// relay that loses, duplicates, delays and reorders datagrams. The lesson's
// test file and the reference solution's (the same file) call Run.
//
// The harness speaks the chapter's wire format, so it plays the other side
// of each of the learner's functions, and it puts the learner's two sides
// together through a ChaosRelay whose seed is in the trace.
package lesson07

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"udpbook/harness"
)

// Config is the grader's copy of the lesson's Config: the same fields in
// the same order, so that the lesson's test file converts one into the
// other with Config(cfg).
type Config struct {
	InitialRTO time.Duration
	MinRTO     time.Duration
	MaxRTO     time.Duration
	Window     int
	GiveUp     time.Duration
	Linger     time.Duration
}

// Impl is the lesson's API: the functions the suite grades, and the
// lesson's ErrGaveUp. The message goes in a file, both ways: when the
// grader runs the checks and the learner's code in two processes, a
// megabyte does not fit in one of the messages between them, and a file
// passes as a descriptor. The lesson's test file adapts the lesson's
// Send and Receive, which take and return a []byte.
type Impl struct {
	Send      func(ctx context.Context, conn net.PacketConn, peer string, data *os.File, cfg Config) error
	Receive   func(ctx context.Context, conn net.PacketConn, cfg Config, out *os.File) error
	ErrGaveUp error
}

// messageFile returns a file holding data, read from its start, removed
// when the check ends.
func messageFile(c *harness.C, data []byte) *os.File {
	f, err := os.CreateTemp("", "udpbook-07-*")
	if err != nil {
		c.Fatalf("harness could not make a file: %v", err)
	}
	c.Cleanup(func() {
		f.Close()
		os.Remove(f.Name())
	})
	if _, err := f.Write(data); err != nil {
		c.Fatalf("harness could not write a file: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		c.Fatalf("harness could not rewind a file: %v", err)
	}
	return f
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// StopBound is how long Send and Receive may take to return once their
// context is done.
const StopBound = time.Second

// Suite is lesson 07's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	{
		ID: "receive-in-order", Points: 2,
		Title: "Receive returns 0 B, 1 B, 1,200 B, 1,201 B and 100 kB exactly, acknowledging each segment as the chapter says",
		Hint: "Answer every DATA and FIN with a 9-byte ACK: type 3, then the first segment you still need (cumulative), " +
			"then the number of the segment you answer. Deliver segment cum, then cum+1, ...; the FIN ends the message.",
		Run: checkReceiveInOrder,
	},
	{
		ID: "send-in-order", Points: 2,
		Title: "Send delivers 0 B, 1 B, 1,200 B, 1,201 B and 100 kB to the harness's receiver, and returns nil once its FIN is acknowledged",
		Hint: "Segments are numbered from 0; each DATA carries 1 to 1,200 bytes; the FIN's number is the number of DATA " +
			"segments (0 for empty data). Return only when an ACK's cumulative number is past the FIN.",
		Run: checkSendInOrder,
	},
	{
		ID: "receive-lossy", Points: 3,
		Title: "Receive gets 256 kB exactly from the harness's sender through a relay with 10% and 30% loss, duplication, reordering and jitter",
		Hint: "Keep segments that arrive early (up to MaxWindow ahead), drop duplicates, and acknowledge every segment, " +
			"old ones too: the ACK of a duplicate may be the first one to get through.",
		Run: checkReceiveLossy,
	},
	{
		ID: "send-lossy", Points: 3,
		Title: "Send delivers 256 kB exactly to the harness's receiver through a relay with 10% and 30% loss, duplication, reordering and jitter",
		Hint: "Every segment not acknowledged within the RTO is sent again, as often as it takes (until GiveUp passes " +
			"without progress). Mark a segment done when an ACK names it or its cumulative number passes it.",
		Run: checkSendLossy,
	},
	{
		ID: "both-sides", Points: 3,
		Title: "your Send and your Receive move 1 MiB at 10% loss and 256 kB at 30% loss, with duplication, reordering and jitter",
		Hint:  "Each side passes against the harness but not against the other? Compare both with the chapter's wire format, byte by byte.",
		Run:   checkBothSides,
	},
	{
		ID: "rto-backoff", Points: 3,
		Title: "with no ACK at all, Send retransmits after InitialRTO, then after twice as long each time, up to MaxRTO",
		Hint: "Start the RTO at cfg.InitialRTO. After each timeout double it (RFC 6298, 5.5), and clamp it to " +
			"[MinRTO, MaxRTO]. One timeout doubles it once, however many segments it resends.",
		Run: checkBackoff,
	},
	{
		ID: "rto-no-early", Points: 2,
		Title: "with a round trip of 10 to 20 ms and no loss, Send never retransmits (its RTO stays above the round trip and MinRTO)",
		Hint: "RTO = SRTT + max(G, 4·RTTVAR), then at least MinRTO. A timeout equal to the round trip, or below the " +
			"floor, resends segments whose ACK is on its way.",
		Run: checkNoEarly,
	},
	{
		ID: "rto-adapts", Points: 2,
		Title: "when the round trip jumps from 10 ms to 100 ms, spurious retransmissions stop within a few round trips",
		Hint: "After timeouts, the backed-off RTO must stay doubled until a segment sent once is acknowledged; " +
			"that sample, and the ones after, raise SRTT and RTTVAR. An RTO reset to its old value after each ACK never catches up.",
		Run: checkAdapts,
	},
	{
		ID: "rto-karn", Points: 3,
		Title: "the RTO adapts to measured round trips, never below MinRTO, and a retransmitted segment gives no sample (Karn)",
		Hint: "Measure a round trip only on a segment sent once: an ACK for a resent segment may answer either copy. " +
			"The first sample R sets SRTT = R, RTTVAR = R/2; later ones use alpha = 1/8 and beta = 1/4.",
		Run: checkKarn,
	},
	{
		ID: "goodput", Points: 3,
		Title: "through a 2 MB/s link with a 20 ms round trip and 1% loss, your two sides move 256 kB at half the link's rate or better",
		Hint: "Keep cfg.Window segments in flight: send new ones as ACKs open the window, not one per round trip. " +
			"Stop-and-wait moves one segment per round trip: 1,200 bytes per 20 ms is 60 kB/s.",
		Run: checkGoodput,
	},
	{
		ID: "ending", Points: 2,
		Title: "Send retransmits its FIN until it is acknowledged; Receive answers a repeated FIN after it has everything",
		Hint: "Send is done only when the FIN is acknowledged, so treat the FIN like any segment. Receive must not " +
			"return at once: linger, answering repeated FINs, until the sender has been quiet for cfg.Linger.",
		Run: checkEnding,
	},
	{
		ID: "give-up", Points: 2,
		Title: "a Send whose receiver is silent, and a Receive whose sender vanishes, return an error wrapping ErrGaveUp after GiveUp",
		Hint: "Remember when the peer last made progress; when cfg.GiveUp has passed since, return " +
			"fmt.Errorf(\"...: %w\", ErrGaveUp). Not before: backoff alone is not a reason to stop.",
		Run: checkGiveUp,
	},
	{
		ID: "receive-hostile", Points: 2,
		Title: "Receive ignores truncated headers, unknown types, oversized and far-out segments, and strangers, and still returns the message exactly",
		Hint: "Check the length before reading a header; drop unknown types; lock onto the first sender and ignore the rest; " +
			"ignore segments MaxWindow or more ahead of cum (a far-out FIN must not end the message).",
		Run: checkReceiveHostile,
	},
	{
		ID: "send-hostile", Points: 2,
		Title: "Send ignores short or unknown datagrams, ACKs for segments never sent and ACKs from strangers",
		Hint: "Accept only 9-byte ACKs from the peer, with a cumulative number at most the next unsent segment and a " +
			"segment number below it. Anything else is noise: an ACK for data never sent must not end Send.",
		Run: checkSendHostile,
	},
	{
		ID: "stop", Points: 1,
		Title: "cancelling ctx makes Send and Receive return ctx.Err() within 1s, with no goroutine left behind and conn still open",
		Hint: "Use context.AfterFunc(ctx, ...) to set a read deadline in the past, and return ctx.Err() when a read " +
			"fails with ctx done. Stop anything you started (defer the AfterFunc's stop), and do not close conn: the caller owns it.",
		Run: checkStop,
	},
}}

// payload returns n pseudo-random bytes: a shifted or repeated segment
// shows up as a difference.
func payload(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// fast is the configuration of checks that do not judge time.
//
// Linger is ten times MaxRTO: a receiver returns while its sender still
// waits for the last ACK only if ten resent FINs in a row are lost (at 30%
// loss, six times in a million).
func fast(c *harness.C) Config {
	return Config{InitialRTO: c.Dur(50 * time.Millisecond), MinRTO: c.Dur(10 * time.Millisecond),
		MaxRTO: c.Dur(60 * time.Millisecond), Window: 32, GiveUp: c.Dur(2 * time.Second), Linger: c.Dur(600 * time.Millisecond)}
}

// sizes are the messages of the in-order checks.
var sizes = []int{0, 1, MaxPayload, MaxPayload + 1, 100_000}

// sending is a call of the learner's Send.
type sending struct {
	c     *harness.C
	r     *harness.Running
	addr  netip.AddrPort // the socket Send was given
	start time.Time
	took  *time.Duration // set by Send's goroutine before it returns
}

// startSend calls the learner's Send on a new socket of the harness's, to
// peer, on a goroutine of its own.
//
// Send returns by itself, so the check is aborted only if it returns an
// error the check does not expect (errOK false): then every wait of the
// check ends at once.
func startSend(c *harness.C, impl Impl, peer netip.AddrPort, data []byte, cfg Config, errOK bool) *sending {
	conn := c.Listen("udp4")
	c.Name(harness.AddrPort(conn.LocalAddr()), "your Send")
	c.Step("your Send sends %d bytes to %s with %+v", len(data), c.Who(peer), cfg)
	ctx, cancel := context.WithCancel(c.Context())
	c.Cleanup(cancel)
	file := messageFile(c, data)
	s := &sending{c: c, addr: harness.AddrPort(conn.LocalAddr()), start: time.Now(), took: new(time.Duration)}
	// Send returns by itself: Expect before it can.
	gate := make(chan struct{})
	s.r = c.Go("Send", func() error {
		<-gate
		err := impl.Send(ctx, conn, peer.String(), file, cfg)
		*s.took = time.Since(s.start)
		if err != nil && !errOK && ctx.Err() == nil {
			c.Abort(fmt.Errorf("Send returned error %v", err))
		}
		return err
	})
	s.r.Expect()
	close(gate)
	return s
}

// wait waits up to bound for Send to return and returns its error and how
// long it took; a Send still running then fails the check (as slow).
func (s *sending) wait(bound time.Duration, why string) (error, time.Duration) {
	err, ok := s.r.Wait(bound)
	if !ok {
		s.c.Slow("your Send did not return within %v: %s", bound.Round(time.Millisecond), why)
	}
	s.c.FailIfAborted()
	return err, *s.took
}

// receiving is a call of the learner's Receive.
type receiving struct {
	c      *harness.C
	r      *harness.Running
	conn   *net.UDPConn
	addr   netip.AddrPort
	got    *[]byte
	cancel context.CancelFunc
	// busy is set while the harness's sender is still sending to it: a
	// Receive that returns then has returned too early.
	busy atomic.Bool
	// errOK says that the check expects Receive to return an error.
	errOK bool
}

// startReceive calls the learner's Receive on a new socket of the
// harness's, on a goroutine of its own. Receive returns by itself, so the
// check is aborted only if it returns an error the check does not expect,
// or returns while the harness's sender is still at work.
func startReceive(c *harness.C, impl Impl, cfg Config, errOK bool) *receiving {
	conn := c.Listen("udp4")
	rc := &receiving{c: c, conn: conn, addr: harness.AddrPort(conn.LocalAddr()), got: new([]byte), errOK: errOK}
	c.Name(rc.addr, "your Receive")
	c.Step("your Receive listens on %v with %+v", rc.addr, cfg)
	ctx, cancel := context.WithCancel(c.Context())
	c.Cleanup(cancel)
	rc.cancel = cancel
	out := messageFile(c, nil)
	gate := make(chan struct{})
	rc.r = c.Go("Receive", func() error {
		<-gate
		err := impl.Receive(ctx, conn, cfg, out)
		if err == nil {
			b, rerr := os.ReadFile(out.Name())
			if rerr != nil {
				c.Abort(fmt.Errorf("harness could not read the message file: %v", rerr))
			}
			*rc.got = b
		}
		switch {
		case err != nil && !rc.errOK && ctx.Err() == nil:
			c.Abort(fmt.Errorf("Receive returned error %v", err))
		case rc.busy.Load():
			c.Abort(fmt.Errorf("Receive returned (error %v) while the harness's sender was still waiting for ACKs: "+
				"return only after the sender has been quiet for cfg.Linger", err))
		}
		return err
	})
	rc.r.Expect()
	close(gate)
	return rc
}

// wait waits up to bound for Receive to return, and returns what it did.
func (rc *receiving) wait(bound time.Duration, why string) ([]byte, error) {
	err, ok := rc.r.Wait(bound)
	if !ok {
		rc.c.Slow("your Receive did not return within %v: %s", bound.Round(time.Millisecond), why)
	}
	rc.c.FailIfAborted()
	return *rc.got, err
}

// sendTo runs the harness's sender to the learner's Receive, through to
// (the Receive's address or a relay's).
func (rc *receiving) sendTo(p *harness.Peer, to netip.AddrPort, data []byte, o sendOpts) {
	rc.busy.Store(true)
	harnessSend(rc.c, p, to, data, o)
	rc.busy.Store(false)
}

// same fails the check unless got is want.
func same(c *harness.C, who string, got, want []byte) {
	if !bytes.Equal(got, want) {
		c.Fatalf("%s returned %s, want the %d bytes sent %s%s", who, harness.Quote(got), len(want), harness.Quote(want),
			harness.Difference(got, want))
	}
}

// sendOpts tunes the harness's sender.
type sendOpts struct {
	window int
	rto    time.Duration
	// ignoreFinAcks ACKs of the FIN are treated as lost.
	ignoreFinAcks int
	// between, if set, runs after each segment is first sent.
	between func(seq uint32)
}

// harnessSend is the harness playing the sending side, on the check's
// goroutine: selective repeat with a fixed RTO. It fails the check if the
// learner's receiver answers with anything but the chapter's ACKs, or
// stops making progress. It returns when the FIN is acknowledged.
func harnessSend(c *harness.C, p *harness.Peer, to netip.AddrPort, data []byte, o sendOpts) {
	segs := segments(data)
	n := uint32(len(segs) - 1)
	segs0 := fmt.Sprintf("DATA 0..%d and FIN %d", int(n)-1, n)
	if n == 0 {
		segs0 = "a FIN 0 alone"
	}
	c.Step("harness sends %d bytes to %s as %s, %d in flight, resending after %v",
		len(data), c.Who(to), segs0, o.window, o.rto)
	sent := make([]time.Time, len(segs))
	acked := make([]bool, len(segs))
	base, next := uint32(0), uint32(0)
	progress := time.Now()
	finAcks := 0
	lastAck := "none"
	conn := p.Conn()
	buf := make([]byte, harness.MaxDatagram+1)
	for base <= n {
		now := time.Now()
		for next <= n && next < base+uint32(o.window) {
			conn.WriteToUDPAddrPort(segs[next], to)
			sent[next] = now
			next++
			if o.between != nil {
				o.between(next - 1)
			}
		}
		for s := base; s < next; s++ {
			if !acked[s] && now.Sub(sent[s]) >= o.rto {
				conn.WriteToUDPAddrPort(segs[s], to)
				sent[s] = now
			}
		}
		if stuck := now.Sub(progress); stuck > 2*c.Patience() {
			c.Fatalf("your Receive acknowledged nothing new for %v while the harness kept resending "+
				"(DATA/FIN %d to %d in flight; the last ACK: %s)", stuck.Round(time.Millisecond), base, next-1, lastAck)
		}
		c.FailIfAborted()
		conn.SetReadDeadline(now.Add(o.rto / 2))
		k, from, err := conn.ReadFromUDPAddrPort(buf)
		c.FailIfAborted()
		if err != nil {
			continue
		}
		if harness.Unmap(from) != to {
			continue
		}
		b := buf[:k]
		if k != ackLen || b[0] != typeAck {
			c.Fatalf("your Receive sent %s; every answer must be a 9-byte ACK: type 3, the cumulative number "+
				"and the number of the segment answered, big-endian", describe(b))
		}
		cum, got := binary.BigEndian.Uint32(b[1:]), binary.BigEndian.Uint32(b[5:])
		lastAck = describe(b)
		if cum > next || got >= next {
			c.Fatalf("your Receive sent %s, but the harness has sent only segments 0 to %d", lastAck, next-1)
		}
		if got == n && cum == n+1 && finAcks < o.ignoreFinAcks {
			finAcks++
			c.Step("harness treats your Receive's %s as lost (%d of %d), and will send FIN %d again", lastAck,
				finAcks, o.ignoreFinAcks, n)
			continue
		}
		if !acked[got] {
			acked[got] = true
			progress = time.Now()
		}
		for base < cum {
			acked[base] = true
			base++
			progress = time.Now()
		}
		for base <= n && acked[base] {
			base++
		}
	}
	c.Step("harness's sender: every segment and the FIN acknowledged")
}

func checkReceiveInOrder(c *harness.C, impl Impl) {
	cfg := fast(c)
	for i, size := range sizes {
		data := payload(size, uint64(i))
		rc := startReceive(c, impl, cfg, false)
		p := c.NewPeer(fmt.Sprintf("harness sender %d", i+1), "udp4")
		rc.sendTo(p, rc.addr, data, sendOpts{window: 8, rto: c.Dur(100 * time.Millisecond)})
		got, err := rc.wait(cfg.Linger+c.Patience(), "once the sender is quiet for Linger, Receive must return")
		if err != nil {
			c.Fatalf("your Receive returned error %v, want the %d bytes sent", err, size)
		}
		same(c, "your Receive", got, data)
	}
}

func checkSendInOrder(c *harness.C, impl Impl) {
	cfg := fast(c)
	for i, size := range sizes {
		data := payload(size, uint64(i))
		rv := startReceiver(c, answerAll)
		s := startSend(c, impl, rv.addr(), data, cfg, false)
		err, _ := s.wait(cfg.GiveUp+c.Patience(), "a receiver answered every segment at once")
		got, complete, violation := rv.state()
		if violation != "" {
			c.Fatalf("%s", violation)
		}
		if err != nil {
			c.Fatalf("your Send returned error %v; the harness's receiver got %d of %d bytes, complete: %v", err, len(got), size, complete)
		}
		if !complete {
			c.Fatalf("your Send returned nil before the harness's receiver had the FIN and every segment (it has %d of %d bytes): "+
				"return only once an ACK's cumulative number is past the FIN", len(got), size)
		}
		same(c, "the harness's receiver", got, data)
	}
}

// lossy are the conditions of the lossy checks.
func lossy(c *harness.C, loss float64, seed uint64) harness.Chaos {
	return harness.Chaos{Loss: loss, Dup: 0.05, Reorder: 0.05, Delay: c.Dur(time.Millisecond),
		Jitter: c.Dur(2 * time.Millisecond), ReorderBy: c.Dur(4 * time.Millisecond), Seed: seed}
}

// transferBound is how long a transfer of the lossy checks may take.
func transferBound(c *harness.C) time.Duration { return c.Dur(6 * time.Second) }

func checkReceiveLossy(c *harness.C, impl Impl) {
	for i, loss := range []float64{0.10, 0.30} {
		cfg := fast(c)
		data := payload(256_000, uint64(10+i))
		rc := startReceive(c, impl, cfg, false)
		relay := c.NewChaosRelay("udp4", rc.addr, lossy(c, loss, uint64(100+i)))
		p := c.NewPeer(fmt.Sprintf("harness sender %d", i+1), "udp4")
		rc.sendTo(p, relay.Addr(), data, sendOpts{window: 32, rto: c.Dur(30 * time.Millisecond)})
		got, err := rc.wait(cfg.Linger+c.Patience(), "once the sender is quiet for Linger, Receive must return")
		c.Step("%v", relay)
		if err != nil {
			c.Fatalf("your Receive returned error %v, want the %d bytes sent", err, len(data))
		}
		same(c, "your Receive", got, data)
	}
}

func checkSendLossy(c *harness.C, impl Impl) {
	for i, loss := range []float64{0.10, 0.30} {
		cfg := fast(c)
		data := payload(256_000, uint64(20+i))
		rv := startReceiver(c, answerAll)
		relay := c.NewChaosRelay("udp4", rv.addr(), lossy(c, loss, uint64(200+i)))
		s := startSend(c, impl, relay.Addr(), data, cfg, false)
		err, took := s.wait(transferBound(c), "a transfer this size takes well under a second on loopback")
		c.Step("%v", relay)
		got, complete, violation := rv.state()
		if violation != "" {
			c.Fatalf("%s", violation)
		}
		if err != nil {
			log := append(rv.log(), arrival{at: s.start})
			c.Fatalf("your Send returned error %v after %v; the harness's receiver has %d of %d bytes "+
				"(complete: %v; %d segments arrived, the last %v before Send returned)",
				err, took.Round(time.Millisecond), len(got), len(data), complete, len(log)-1,
				s.start.Add(took).Sub(log[len(log)-1].at).Round(time.Millisecond))
		}
		if !complete {
			c.Fatalf("your Send returned nil before the harness's receiver had everything (%d of %d bytes)", len(got), len(data))
		}
		same(c, "the harness's receiver", got, data)
	}
}

// pair moves data from the learner's Send to the learner's Receive
// through a chaos relay, and returns how long Send took.
func pair(c *harness.C, impl Impl, data []byte, cfg Config, ch harness.Chaos, bound time.Duration, why string) time.Duration {
	rc := startReceive(c, impl, cfg, false)
	relay := c.NewChaosRelay("udp4", rc.addr, ch)
	s := startSend(c, impl, relay.Addr(), data, cfg, false)
	err, took := s.wait(bound, why)
	if err != nil {
		c.Step("%v", relay)
		c.Fatalf("your Send returned error %v after %v", err, took.Round(time.Millisecond))
	}
	got, rerr := rc.wait(cfg.Linger+c.Patience(), "once the sender is quiet for Linger, Receive must return")
	c.Step("%v", relay)
	if rerr != nil {
		c.Fatalf("your Receive returned error %v, want the %d bytes sent", rerr, len(data))
	}
	same(c, "your Receive", got, data)
	return took
}

func checkBothSides(c *harness.C, impl Impl) {
	cfg := fast(c)
	cfg.Window = 64
	why := "the transfer should have ended long before"
	pair(c, impl, payload(1<<20, 30), cfg, lossy(c, 0.10, 300), transferBound(c), why)
	pair(c, impl, payload(256_000, 31), cfg, lossy(c, 0.30, 301), transferBound(c), why)
}

// transmissions returns when segment seq of type typ arrived, each time.
func transmissions(log []arrival, typ byte, seq uint32) []time.Time {
	var ts []time.Time
	for _, a := range log {
		if a.typ == typ && a.seq == seq {
			ts = append(ts, a.at)
		}
	}
	return ts
}

func gaps(ts []time.Time) []time.Duration {
	var gs []time.Duration
	for i := 1; i < len(ts); i++ {
		gs = append(gs, ts[i].Sub(ts[i-1]).Round(100*time.Microsecond))
	}
	return gs
}

func checkBackoff(c *harness.C, impl Impl) {
	initial, ceiling := c.Dur(40*time.Millisecond), c.Dur(160*time.Millisecond)
	// Every verdict is on a gap between two arrivals at the harness's
	// receiver; the harness late by at most slack moves a gap by that much.
	slack := c.Dur(8 * time.Millisecond)
	c.Timed(slack)
	cfg := Config{InitialRTO: initial, MinRTO: c.Dur(10 * time.Millisecond), MaxRTO: ceiling, Window: 4,
		GiveUp: c.Dur(5 * time.Second), Linger: c.Dur(100 * time.Millisecond)}
	rv := startReceiver(c, func(arrival) (bool, time.Duration) { return false, 0 })
	c.Step("the harness's receiver answers nothing")
	s := startSend(c, impl, rv.addr(), []byte("are you there?"), cfg, false)
	// 40, 80, 160, 160, 160: six transmissions within 0.6 s.
	want := initial + 2*initial + 3*ceiling
	c.PauseUntil(s.start.Add(want + ceiling/2))
	ts := transmissions(rv.log(), typeData, 0)
	g := gaps(ts)
	c.Step("DATA 0 arrived %d times in %v, the gaps between: %v", len(ts), (want + ceiling/2).Round(time.Millisecond), g)
	if _, violation, _ := stateViolation(rv); violation != "" {
		c.Fatalf("%s", violation)
	}
	if len(ts) == 0 {
		c.Fatalf("DATA 0 never arrived")
	}
	for i, gap := range g {
		least := initial
		if i >= 1 {
			least = min(2*g[i-1], ceiling) * 3 / 4
		}
		// Gaps are measured from the harness's receipts: one receipt the
		// harness took late shortens the next gap, so "too early" is
		// confirmed at the next time scale before it counts, as "too late" is.
		if gap < least-slack {
			c.Slow("resend %d of DATA 0 came %v after the one before; want at least %v: the RTO starts at InitialRTO %v; "+
				"double the RTO after each timeout, up to MaxRTO %v", i+1, gap, least-slack, initial, ceiling)
		}
		if gap > ceiling*3/2+slack {
			c.Slow("resend %d of DATA 0 came %v after the one before; want at most about MaxRTO (%v): "+
				"clamp the RTO to MaxRTO after doubling it", i+1, gap, ceiling)
		}
	}
	if len(ts) < 5 {
		c.Slow("DATA 0 arrived only %d times in %v; with an RTO of %v doubling up to %v, want at least 5",
			len(ts), (want + ceiling/2).Round(time.Millisecond), initial, ceiling)
	}
	if g[1] < g[0]*3/2-slack {
		c.Slow("the gaps between resends of DATA 0 were %v: the second is not about twice the first; "+
			"double the RTO after each timeout", g)
	}
}

// stateViolation returns the receiver's breach of the format.
func stateViolation(rv *receiver) ([]byte, string, bool) {
	out, complete, violation := rv.state()
	return out, violation, complete
}

func checkNoEarly(c *harness.C, impl Impl) {
	delay := c.Dur(10 * time.Millisecond)
	slack := c.Dur(15 * time.Millisecond)
	c.Timed(slack)
	cfg := Config{InitialRTO: c.Dur(200 * time.Millisecond), MinRTO: c.Dur(60 * time.Millisecond),
		MaxRTO: c.Dur(2 * time.Second), Window: 4, GiveUp: c.Dur(5 * time.Second), Linger: c.Dur(100 * time.Millisecond)}
	// Every other answer takes twice as long: an RTO of the smoothed round
	// trip alone, with no room for its variation, fires before those.
	rv := startReceiver(c, func(a arrival) (bool, time.Duration) {
		if a.seq%2 == 1 {
			return true, 2 * delay
		}
		return true, delay
	})
	c.Step("the harness's receiver answers each even segment %v after it arrives, each odd one %v after", delay, 2*delay)
	data := payload(40*MaxPayload, 40)
	s := startSend(c, impl, rv.addr(), data, cfg, false)
	err, took := s.wait(c.Dur(5*time.Second), "41 segments with a 10 ms round trip take about half a second")
	out, violation, complete := stateViolation(rv)
	if violation != "" {
		c.Fatalf("%s", violation)
	}
	if err != nil || !complete {
		c.Fatalf("your Send returned %v after %v with the harness's receiver complete: %v", err, took.Round(time.Millisecond), complete)
	}
	same(c, "the harness's receiver", out, data)
	for _, a := range rv.log() {
		if a.nth > 1 {
			first := transmissions(rv.log(), a.typ, a.seq)[0]
			c.Slow("segment %d arrived again %v after it first did, though its ACK was sent at most %v after that: "+
				"nothing was lost, so the RTO (at least MinRTO, %v) was too short", a.seq,
				a.at.Sub(first).Round(time.Millisecond), 2*delay, cfg.MinRTO)
		}
	}
	c.Step("no segment arrived twice")
}

func checkAdapts(c *harness.C, impl Impl) {
	before, after := c.Dur(10*time.Millisecond), c.Dur(100*time.Millisecond)
	slack := c.Dur(20 * time.Millisecond)
	c.Timed(slack)
	// Five round trips of 4 segments after the jump, the RTO must have
	// caught up.
	const jump, judged, total = 12, 32, 44
	cfg := Config{InitialRTO: c.Dur(100 * time.Millisecond), MinRTO: c.Dur(10 * time.Millisecond),
		MaxRTO: c.Dur(2 * time.Second), Window: 4, GiveUp: c.Dur(5 * time.Second), Linger: c.Dur(100 * time.Millisecond)}
	rv := startReceiver(c, func(a arrival) (bool, time.Duration) {
		if a.seq < jump {
			return true, before
		}
		return true, after
	})
	c.Step("the harness's receiver answers DATA 0 to %d %v after they arrive, and every later segment %v after",
		jump-1, before, after)
	data := payload(total*MaxPayload, 45)
	s := startSend(c, impl, rv.addr(), data, cfg, false)
	err, took := s.wait(c.Dur(8*time.Second), "45 segments, 4 per round trip of at most 100 ms, take about 1.2 s")
	out, violation, complete := stateViolation(rv)
	if violation != "" {
		c.Fatalf("%s", violation)
	}
	if err != nil || !complete {
		c.Fatalf("your Send returned %v after %v with the harness's receiver complete: %v", err, took.Round(time.Millisecond), complete)
	}
	same(c, "the harness's receiver", out, data)
	spurious := map[uint32]bool{}
	for _, a := range rv.log() {
		if a.nth > 1 {
			spurious[a.seq] = true
		}
	}
	var late []uint32
	for seq := range spurious {
		if seq >= judged {
			late = append(late, seq)
		}
	}
	c.Step("%d segments arrived more than once (nothing was lost): %d of them from DATA %d on", len(spurious), len(late), judged)
	if len(late) > 0 {
		c.Slow("DATA %d (and %d more from DATA %d on) arrived twice, five round trips or more after the round trip grew to %v; "+
			"want no spurious retransmission by then: the RTO must back off, then follow the new samples", late[0],
			len(late)-1, judged, after)
	}
}

func checkKarn(c *harness.C, impl Impl) {
	initial, floor := c.Dur(100*time.Millisecond), c.Dur(20*time.Millisecond)
	slack := c.Dur(5 * time.Millisecond)
	c.Timed(slack)
	cfg := Config{InitialRTO: initial, MinRTO: floor, MaxRTO: c.Dur(2 * time.Second), Window: 1,
		GiveUp: c.Dur(5 * time.Second), Linger: c.Dur(100 * time.Millisecond)}
	rv := startReceiver(c, func(a arrival) (bool, time.Duration) {
		// The first copy of DATA 0 and of DATA 2 is "lost".
		return !(a.typ == typeData && (a.seq == 0 || a.seq == 2) && a.nth == 1), 0
	})
	c.Step("the harness's receiver ignores the first copy of DATA 0 and of DATA 2, and answers everything else at once")
	data := payload(3*MaxPayload, 50)
	s := startSend(c, impl, rv.addr(), data, cfg, false)
	err, took := s.wait(c.Dur(5*time.Second), "the transfer takes well under a second")
	out, violation, complete := stateViolation(rv)
	if violation != "" {
		c.Fatalf("%s", violation)
	}
	if err != nil || !complete {
		c.Fatalf("your Send returned %v after %v with the harness's receiver complete: %v", err, took.Round(time.Millisecond), complete)
	}
	same(c, "the harness's receiver", out, data)
	log := rv.log()
	t0, t2 := transmissions(log, typeData, 0), transmissions(log, typeData, 2)
	if len(t0) < 2 || len(t2) < 2 {
		c.Fatalf("DATA 0 arrived %d times and DATA 2 %d times; want each at least twice", len(t0), len(t2))
	}
	g0, g2 := t0[1].Sub(t0[0]).Round(100*time.Microsecond), t2[1].Sub(t2[0]).Round(100*time.Microsecond)
	c.Step("DATA 0 was resent after %v (InitialRTO %v); DATA 2 after %v", g0, initial, g2)
	if g2 < floor-slack {
		c.Slow("DATA 2 was resent %v after it was first sent, less than MinRTO (%v): clamp the RTO to MinRTO", g2, floor)
	}
	// The only honest sample is DATA 1's, answered at once: RTO = MinRTO.
	// Measured from DATA 0's first copy, the sample would be InitialRTO,
	// and the RTO three times that; without any sample it stays doubled.
	if most := initial / 2; g2 > most+slack {
		c.Slow("DATA 2 was resent %v after it was first sent; want about MinRTO (%v), at most %v. DATA 1, "+
			"sent once and answered at once, is the only round trip to measure: an RTT sample from DATA 0, "+
			"which was sent twice, breaks Karn's rule, and an RTO that ignores samples stays at its doubled %v",
			g2, floor, most, 2*initial)
	}
}

func checkGoodput(c *harness.C, impl Impl) {
	const rate = 2_000_000
	slack := c.Dur(10 * time.Millisecond)
	c.Timed(slack)
	scaledRate := rate / c.Scale()
	ch := harness.Chaos{Loss: 0.01, Delay: c.Dur(10 * time.Millisecond), Rate: scaledRate, Seed: 400}
	cfg := fast(c)
	cfg.Window = 64
	cfg.MinRTO = c.Dur(30 * time.Millisecond)
	cfg.InitialRTO = c.Dur(100 * time.Millisecond)
	// Stop-and-wait first, to show the difference.
	sw := cfg
	sw.Window = 1
	small := payload(24*MaxPayload, 60)
	took := pair(c, impl, small, sw, ch, c.Dur(4*time.Second), "24 segments, one per 20 ms round trip, take about half a second")
	swRate := float64(len(small)) / took.Seconds()
	c.Step("stop-and-wait (Window 1): %d bytes in %v, %.0f kB/s, %.0f%% of the link's %d kB/s", len(small),
		took.Round(time.Millisecond), swRate/1000, 100*swRate/float64(scaledRate), scaledRate/1000)
	data := payload(256_000, 61)
	ch.Seed = 401
	// At half the link's rate, the transfer takes 0.26 s; a second is
	// far more than a window ever needs.
	took = pair(c, impl, data, cfg, ch, c.Dur(time.Second), fmt.Sprintf(
		"at half the link's rate it takes %v; want at least 50%% of the rate: keep a window of segments in flight",
		c.Dur(256*time.Millisecond)))
	got := float64(len(data)) / took.Seconds()
	c.Step("window of %d: %d bytes in %v, %.0f kB/s, %.0f%% of the link's %d kB/s", cfg.Window, len(data),
		took.Round(time.Millisecond), got/1000, 100*got/float64(scaledRate), scaledRate/1000)
	if got < float64(scaledRate)/2 {
		c.Slow("with a window of %d your transfer reached %.0f kB/s, %.0f%% of the link's %d kB/s; want at least 50%%",
			cfg.Window, got/1000, 100*got/float64(scaledRate), scaledRate/1000)
	}
}

func checkEnding(c *harness.C, impl Impl) {
	cfg := fast(c)
	// Send: the first two ACKs of its FIN are lost.
	lost := 0
	rv := startReceiver(c, func(a arrival) (bool, time.Duration) {
		if a.typ == typeFin && lost < 2 {
			lost++
			return false, 0
		}
		return true, 0
	})
	c.Step("the harness's receiver ignores the first two copies of the FIN")
	data := payload(5000, 70)
	s := startSend(c, impl, rv.addr(), data, cfg, false)
	err, _ := s.wait(cfg.GiveUp+c.Patience(), "it should resend its FIN after an RTO")
	out, violation, complete := stateViolation(rv)
	if violation != "" {
		c.Fatalf("%s", violation)
	}
	if err != nil {
		c.Fatalf("your Send returned error %v; want nil once the third copy of its FIN was acknowledged", err)
	}
	if !complete || len(transmissions(rv.log(), typeFin, 5)) < 3 {
		c.Fatalf("your Send returned nil though its FIN arrived %d times and was never acknowledged: "+
			"Send is done only when the FIN is acknowledged; resend it like any segment", len(transmissions(rv.log(), typeFin, 5)))
	}
	same(c, "the harness's receiver", out, data)

	// Receive: its first two ACKs of the FIN are lost on the way back.
	rc := startReceive(c, impl, cfg, false)
	p := c.NewPeer("harness sender", "udp4")
	rc.sendTo(p, rc.addr, data, sendOpts{window: 8, rto: cfg.Linger / 4, ignoreFinAcks: 2})
	got, rerr := rc.wait(cfg.Linger+c.Patience(), "once the sender is quiet for Linger, Receive must return")
	if rerr != nil {
		c.Fatalf("your Receive returned error %v, want the %d bytes sent", rerr, len(data))
	}
	same(c, "your Receive", got, data)
}

func checkGiveUp(c *harness.C, impl Impl) {
	giveUp := c.Dur(400 * time.Millisecond)
	slack := c.Dur(40 * time.Millisecond)
	c.Timed(slack)
	cfg := fast(c)
	cfg.GiveUp = giveUp
	cfg.MaxRTO = c.Dur(100 * time.Millisecond)
	judge := func(who string, err error, took time.Duration) {
		switch {
		case err == nil:
			c.Fatalf("your %s returned nil, want an error wrapping ErrGaveUp", who)
		case !errors.Is(err, impl.ErrGaveUp):
			c.Fatalf("your %s returned error %q, which does not wrap ErrGaveUp: use fmt.Errorf(\"...: %%w\", ErrGaveUp)", who, err)
		case took < giveUp-slack:
			c.Fatalf("your %s gave up after %v, before GiveUp (%v) had passed", who, took.Round(time.Millisecond), giveUp)
		}
		c.Step("your %s gave up after %v: %v", who, took.Round(time.Millisecond), err)
	}
	rv := startReceiver(c, func(arrival) (bool, time.Duration) { return false, 0 })
	c.Step("the harness's receiver answers nothing")
	s := startSend(c, impl, rv.addr(), []byte("hello?"), cfg, true)
	err, took := s.wait(giveUp*2+c.Dur(200*time.Millisecond), fmt.Sprintf("with GiveUp %v it must give up about then", giveUp))
	judge("Send", err, took)

	rc := startReceive(c, impl, cfg, true)
	p := c.NewPeer("harness sender", "udp4")
	p.Send(rc.addr, dataSeg(0, []byte("the first of three segments")))
	p.Expect(rc.addr, ackSeg(1, 0), "ACK")
	start := time.Now()
	c.Step("the harness's sender vanishes")
	_, rerr := rc.wait(giveUp*2+c.Dur(200*time.Millisecond), fmt.Sprintf("with GiveUp %v it must give up about then", giveUp))
	judge("Receive", rerr, time.Since(start))
}

func checkReceiveHostile(c *harness.C, impl Impl) {
	cfg := fast(c)
	rc := startReceive(c, impl, cfg, false)
	p := c.NewPeer("harness sender", "udp4")
	stranger := c.NewPeer("a stranger", "udp4")
	// Garbage before the first segment must not choose the sender.
	p.Send(rc.addr, []byte{typeData, 0, 0})
	p.Send(rc.addr, []byte{9, 0, 0, 0, 0, 'x'})
	p.Send(rc.addr, nil)
	data := payload(20*MaxPayload, 80)
	rc.sendTo(p, rc.addr, data, sendOpts{window: 4, rto: c.Dur(50 * time.Millisecond), between: func(seq uint32) {
		if seq != 3 {
			return
		}
		c.Step("(between the harness's segments: truncated headers, unknown types, a payload over MaxPayload, " +
			"far-out DATA and FIN, and a stranger's DATA and FIN)")
		conn := p.Conn()
		for _, b := range [][]byte{
			{typeData}, {typeFin, 0, 0}, {typeAck, 0, 0, 0, 9, 0, 0, 0, 9}, {7, 0, 0, 0, 5, 'h', 'i'},
			dataSeg(10, make([]byte, MaxPayload+1)),
			dataSeg(1<<31, []byte("far out")), finSeg(1 << 20), dataSeg(MaxWindow+100, []byte("beyond the window")),
			append(finSeg(20), 'x'),
		} {
			conn.WriteToUDPAddrPort(b, rc.addr)
		}
		for _, b := range [][]byte{dataSeg(4, []byte("EVIL")), finSeg(5), dataSeg(0, []byte("EVIL"))} {
			stranger.Conn().WriteToUDPAddrPort(b, rc.addr)
		}
	}})
	got, err := rc.wait(cfg.Linger+c.Patience(), "once the sender is quiet for Linger, Receive must return")
	if err != nil {
		c.Fatalf("your Receive returned error %v, want the %d bytes sent", err, len(data))
	}
	same(c, "your Receive", got, data)
	if ds := stranger.Drain(); len(ds) > 0 {
		c.Fatalf("your Receive answered the stranger with %s; segments from anyone but the sender are ignored", describe(ds[0].Data))
	}
}

func checkSendHostile(c *harness.C, impl Impl) {
	cfg := fast(c)
	// A receiver that answers only after the noise has had its chance.
	rv := startReceiver(c, func(a arrival) (bool, time.Duration) { return a.nth > 1 || a.seq < 2, 0 })
	c.Step("the harness's receiver loses the first copy of every segment from DATA 2 on")
	stranger := c.NewPeer("a stranger", "udp4")
	noise := rv.conn
	data := payload(30*MaxPayload, 90)
	s := startSend(c, impl, rv.addr(), data, cfg, false)
	// Wait for the first segment, then answer it with noise.
	deadline := time.Now().Add(c.Patience())
	for len(rv.log()) == 0 && time.Now().Before(deadline) {
		c.Pause(time.Millisecond)
	}
	if len(rv.log()) == 0 {
		c.Fatalf("no segment from your Send arrived within %v", c.Patience())
	}
	c.Step("the harness's receiver sends short and unknown datagrams, ACKs for segments never sent; a stranger ACKs everything")
	to := s.addr
	for _, b := range [][]byte{
		{typeAck}, {typeAck, 0, 0, 0, 1}, {5, 0, 0, 0, 31, 0, 0, 0, 30}, append(ackSeg(31, 30), 0),
		ackSeg(1<<30, 0), ackSeg(31, 1<<30),
	} {
		noise.WriteToUDPAddrPort(b, to)
	}
	stranger.Conn().WriteToUDPAddrPort(ackSeg(31, 30), to)
	err, _ := s.wait(cfg.GiveUp+c.Patience(), "the receiver answered every segment")
	out, violation, complete := stateViolation(rv)
	if violation != "" {
		c.Fatalf("%s", violation)
	}
	if err != nil {
		c.Fatalf("your Send returned error %v", err)
	}
	if !complete {
		c.Fatalf("your Send returned nil before the harness's receiver had everything (%d of %d bytes): it believed "+
			"an ACK for segments it never sent, or one from a stranger", len(out), len(data))
	}
	same(c, "the harness's receiver", out, data)
}

func checkStop(c *harness.C, impl Impl) {
	bound := c.Dur(StopBound)
	c.Timed(bound / 4)
	pkg := harness.PackageOf(impl.Send)
	before := harness.Goroutines(pkg)
	rc := startReceive(c, impl, fast(c), true)
	rv := startReceiver(c, func(arrival) (bool, time.Duration) { return false, 0 })
	cfg := fast(c)
	cfg.GiveUp = c.Dur(30 * time.Second)
	conn := c.Listen("udp4")
	ctx, cancel := context.WithCancel(c.Context())
	defer cancel()
	c.Name(harness.AddrPort(conn.LocalAddr()), "your Send")
	file := messageFile(c, []byte("hello?"))
	r := c.Go("Send", func() error {
		return impl.Send(ctx, conn, rv.addr().String(), file, cfg)
	})
	c.Pause(c.Dur(100 * time.Millisecond))
	c.Step("the harness cancels the contexts of your Receive (waiting for a first segment) and your Send (whose receiver is silent)")
	r.Expect()
	rc.r.Expect()
	cancel()
	rc.cancel()
	for _, x := range []struct {
		who string
		r   *harness.Running
	}{{"Send", r}, {"Receive", rc.r}} {
		err, ok := x.r.Wait(bound)
		if !ok {
			c.Slow("your %s did not return within %v of its context being cancelled", x.who, bound)
		}
		if !errors.Is(err, context.Canceled) {
			c.Fatalf("your %s returned %v, want ctx.Err() (context.Canceled)", x.who, err)
		}
	}
	if left := harness.LeftBehind(pkg, before, bound); len(left) > 0 {
		c.Fatalf("your Send and Receive returned but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
	for _, x := range []struct {
		who  string
		conn *net.UDPConn
	}{{"Send", conn}, {"Receive", rc.conn}} {
		if held, known := harness.LearnerHolds(x.conn); known && !held {
			c.Fatalf("after %s returned, its socket was closed: %s must not close conn, the caller owns it", x.who, x.who)
		}
	}
}
