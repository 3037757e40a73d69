package lesson07

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"udpbook/harness"
)

// The wire format of docs/07-reliable.md, which the harness speaks so that
// it can play either side.
const (
	typeData byte = 1
	typeFin  byte = 2
	typeAck  byte = 3

	headerLen = 5
	ackLen    = 9
	// MaxPayload is the largest payload of one DATA segment.
	MaxPayload = 1200
	// MaxWindow is the most segments a sender may have in flight, and how
	// far ahead a receiver keeps segments.
	MaxWindow = 256
)

func dataSeg(seq uint32, payload []byte) []byte {
	b := make([]byte, headerLen, headerLen+len(payload))
	b[0] = typeData
	binary.BigEndian.PutUint32(b[1:], seq)
	return append(b, payload...)
}

func finSeg(n uint32) []byte {
	b := make([]byte, headerLen)
	b[0] = typeFin
	binary.BigEndian.PutUint32(b[1:], n)
	return b
}

func ackSeg(cum, got uint32) []byte {
	b := make([]byte, ackLen)
	b[0] = typeAck
	binary.BigEndian.PutUint32(b[1:], cum)
	binary.BigEndian.PutUint32(b[5:], got)
	return b
}

// segments cuts data into DATA segments of MaxPayload bytes and a FIN.
func segments(data []byte) [][]byte {
	var segs [][]byte
	for off := 0; off < len(data); off += MaxPayload {
		segs = append(segs, dataSeg(uint32(len(segs)), data[off:min(off+MaxPayload, len(data))]))
	}
	return append(segs, finSeg(uint32(len(segs))))
}

// describe names a datagram of the protocol for a message.
func describe(b []byte) string {
	switch {
	case len(b) >= headerLen && b[0] == typeData:
		return fmt.Sprintf("DATA %d (%d bytes of payload)", binary.BigEndian.Uint32(b[1:]), len(b)-headerLen)
	case len(b) == headerLen && b[0] == typeFin:
		return fmt.Sprintf("FIN %d", binary.BigEndian.Uint32(b[1:]))
	case len(b) == ackLen && b[0] == typeAck:
		return fmt.Sprintf("ACK cum=%d got=%d", binary.BigEndian.Uint32(b[1:]), binary.BigEndian.Uint32(b[5:]))
	}
	return harness.Quote(b)
}

// arrival is one segment the harness's receiver got.
type arrival struct {
	at   time.Time
	typ  byte
	seq  uint32
	nth  int // how many times this segment has arrived, this one included
	size int
}

// policy says what the harness's receiver does with a segment: take it
// and answer it (after delay), or treat it as lost on the way (it is only
// logged).
type policy func(a arrival) (answer bool, delay time.Duration)

func answerAll(arrival) (bool, time.Duration) { return true, 0 }

// receiver is the harness playing the receiving side, on a goroutine of
// its own: it acknowledges segments as the chapter says (cumulative number
// and the number answered), keeps what arrives, and notes every breach of
// the wire format.
type receiver struct {
	c      *harness.C
	conn   *net.UDPConn
	sender netip.AddrPort // only this address is answered; zero: the first heard
	policy policy

	mu        sync.Mutex
	early     map[uint32][]byte
	out       []byte
	cum       uint32
	fin       int
	complete  bool
	times     map[uint32]int
	arrivals  []arrival
	violation string
	wg        sync.WaitGroup
	stop      chan struct{}
}

// startReceiver starts the harness's receiver on a new socket; it stops
// when the check ends.
func startReceiver(c *harness.C, pol policy) *receiver {
	r := &receiver{c: c, conn: c.Listen("udp4"), policy: pol, early: map[uint32][]byte{}, fin: -1,
		times: map[uint32]int{}, stop: make(chan struct{}), out: []byte{}}
	c.Name(r.addr(), "harness receiver")
	r.wg.Add(1)
	go r.run()
	c.Cleanup(func() {
		close(r.stop)
		r.conn.SetReadDeadline(time.Unix(1, 0))
		r.wg.Wait()
	})
	return r
}

func (r *receiver) addr() netip.AddrPort { return harness.AddrPort(r.conn.LocalAddr()) }

func (r *receiver) run() {
	defer r.wg.Done()
	buf := make([]byte, harness.MaxDatagram+1)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		r.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		now := time.Now()
		from = harness.Unmap(from)
		b := buf[:n]
		r.mu.Lock()
		if r.sender.IsValid() && from != r.sender {
			r.mu.Unlock()
			continue
		}
		r.sender = from
		if why := r.breach(b); why != "" {
			if r.violation == "" {
				r.violation = why
				// A breach of the format ends the check at once, whatever
				// the sender does next.
				r.c.Abort(errors.New(why))
			}
			r.mu.Unlock()
			continue
		}
		seq := binary.BigEndian.Uint32(b[1:])
		r.times[seq]++
		a := arrival{at: now, typ: b[0], seq: seq, nth: r.times[seq], size: n - headerLen}
		r.arrivals = append(r.arrivals, a)
		answer, delay := r.policy(a)
		if !answer {
			r.mu.Unlock()
			continue // as if it had been lost on the way
		}
		if seq >= r.cum && seq < r.cum+MaxWindow {
			if b[0] == typeFin {
				r.fin = int(seq)
			} else if _, ok := r.early[seq]; !ok {
				r.early[seq] = append([]byte(nil), b[headerLen:]...)
			}
			for {
				if p, ok := r.early[r.cum]; ok {
					r.out = append(r.out, p...)
					delete(r.early, r.cum)
					r.cum++
					continue
				}
				if int(r.cum) == r.fin {
					r.cum++
					r.complete = true
				}
				break
			}
		}
		reply := ackSeg(r.cum, seq)
		r.mu.Unlock()
		if delay > 0 {
			time.AfterFunc(delay, func() { r.conn.WriteToUDPAddrPort(reply, from) })
		} else {
			r.conn.WriteToUDPAddrPort(reply, from)
		}
	}
}

// breach says how b breaks the wire format, or "".
func (r *receiver) breach(b []byte) string {
	switch {
	case len(b) < headerLen:
		return fmt.Sprintf("your Send sent %s, shorter than the 5-byte header", harness.Quote(b))
	case b[0] != typeData && b[0] != typeFin:
		return fmt.Sprintf("your Send sent a datagram of type %d, %s; a sender sends DATA (1) and FIN (2) only", b[0], harness.Quote(b))
	case b[0] == typeFin && len(b) != headerLen:
		return fmt.Sprintf("your Send sent a FIN of %d bytes; a FIN is the 5-byte header alone", len(b))
	case b[0] == typeData && len(b)-headerLen > MaxPayload:
		return fmt.Sprintf("your Send sent DATA %d with %d bytes of payload, more than MaxPayload (%d)",
			binary.BigEndian.Uint32(b[1:]), len(b)-headerLen, MaxPayload)
	case b[0] == typeData && len(b) == headerLen:
		return fmt.Sprintf("your Send sent DATA %d with no payload; every DATA segment carries at least one byte",
			binary.BigEndian.Uint32(b[1:]))
	}
	seq := binary.BigEndian.Uint32(b[1:])
	if b[0] == typeData && r.fin >= 0 && int(seq) >= r.fin {
		return fmt.Sprintf("your Send sent DATA %d after FIN %d", seq, r.fin)
	}
	if b[0] == typeFin && r.fin >= 0 && int(seq) != r.fin {
		return fmt.Sprintf("your Send sent FIN %d after FIN %d", seq, r.fin)
	}
	if p, ok := r.early[seq]; ok && b[0] == typeData && string(p) != string(b[headerLen:]) {
		return fmt.Sprintf("your Send sent DATA %d twice with different payloads", seq)
	}
	return ""
}

// state returns what the receiver has: the bytes in order, whether the FIN
// and everything before it arrived, and the first breach of the format.
func (r *receiver) state() (out []byte, complete bool, violation string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte{}, r.out...), r.complete, r.violation
}

// log returns the segments that arrived, in order.
func (r *receiver) log() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.arrivals...)
}
