package reliable

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Send sends data to the receiver at peer ("127.0.0.1:9000") over conn and
// returns nil once the receiver has acknowledged all of it and the FIN
// that ends it. Empty data is sent as a FIN alone.
//
// Segments not acknowledged within the retransmission timeout are sent
// again, and up to cfg.Window segments are in flight at once. The timeout
// adapts to the round-trip times Send measures, as RFC 6298 says: it
// starts at cfg.InitialRTO, stays between cfg.MinRTO and cfg.MaxRTO,
// doubles after every timeout, and is never measured on a segment that was
// sent more than once.
//
// Datagrams that are not ACKs from peer, and ACKs for segments never sent,
// are ignored. If nothing new is acknowledged for cfg.GiveUp, Send returns
// an error wrapping ErrGaveUp; if ctx is done first, it returns ctx.Err().
// Send does not close conn, and leaves no goroutine running.
func Send(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg Config) error {
	cfg = cfg.withDefaults()
	to, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	// A blocked read does not watch ctx: wake it with a deadline in the past.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	// The segments: DATA 0 to n-1, then FIN n.
	var segs [][]byte
	for off := 0; off < len(data); off += MaxPayload {
		end := min(off+MaxPayload, len(data))
		segs = append(segs, dataSegment(uint32(len(segs)), data[off:end]))
	}
	n := uint32(len(segs))
	segs = append(segs, finSegment(n))

	type flight struct {
		sent  time.Time // when it was last sent
		times int       // how often it was sent
		acked bool
	}
	fl := make([]flight, len(segs))
	rto := newEstimator(cfg)
	base, next := uint32(0), uint32(0) // first unacknowledged, first never sent
	progress := time.Now()             // when something was last acknowledged
	buf := make([]byte, 64)

	for base <= n {
		now := time.Now()
		// Fill the window with new segments.
		for next <= n && next < base+uint32(cfg.Window) {
			if _, err := conn.WriteTo(segs[next], to); err != nil {
				return fmt.Errorf("send segment %d: %w", next, err)
			}
			fl[next] = flight{sent: now, times: 1}
			next++
		}
		// Send again what has waited longer than the RTO. One timeout,
		// however many segments it covers, doubles the RTO once.
		timedOut := false
		wake := progress.Add(cfg.GiveUp)
		for s := base; s < next; s++ {
			f := &fl[s]
			if f.acked {
				continue
			}
			if due := f.sent.Add(rto.rto); !now.Before(due) {
				if _, err := conn.WriteTo(segs[s], to); err != nil {
					return fmt.Errorf("send segment %d again: %w", s, err)
				}
				f.sent, f.times = now, f.times+1
				timedOut = true
			}
		}
		if timedOut {
			rto.backoff()
		}
		for s := base; s < next; s++ {
			if !fl[s].acked {
				wake = earliest(wake, fl[s].sent.Add(rto.rto))
			}
		}
		if now.Sub(progress) >= cfg.GiveUp {
			return fmt.Errorf("send: %w: nothing acknowledged for %v (%d of %d segments were)",
				ErrGaveUp, cfg.GiveUp, base, n+1)
		}

		conn.SetReadDeadline(wake)
		k, from, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // a timer is due: the top of the loop sees to it
		}
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		if !sameAddr(from, to) || k != AckLen || buf[0] != TypeAck {
			continue // not an ACK from our receiver
		}
		cum, got := binary.BigEndian.Uint32(buf[1:]), binary.BigEndian.Uint32(buf[5:])
		if cum > next || got >= next {
			continue // acknowledges what was never sent
		}
		now = time.Now()
		if got >= base && !fl[got].acked {
			// Karn's rule: only a segment sent once gives an honest
			// round-trip time; an ACK for one sent twice may answer either.
			if fl[got].times == 1 {
				rto.sample(now.Sub(fl[got].sent))
			}
			fl[got].acked = true
			progress = now
		}
		for base < cum {
			fl[base].acked = true
			base++
			progress = now
		}
		for base <= n && fl[base].acked {
			base++ // acknowledged selectively before
		}
	}
	return nil
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sameAddr reports whether a is the UDP address b.
func sameAddr(a net.Addr, b *net.UDPAddr) bool {
	u, ok := a.(*net.UDPAddr)
	return ok && u.Port == b.Port && u.IP.Equal(b.IP)
}

// estimator computes the retransmission timeout of RFC 6298.
type estimator struct {
	cfg          Config
	srtt, rttvar time.Duration
	measured     bool
	rto          time.Duration
}

func newEstimator(cfg Config) *estimator {
	return &estimator{cfg: cfg, rto: clamp(cfg.InitialRTO, cfg)}
}

// sample takes one round-trip time r into account (RFC 6298, 2.2 and 2.3).
func (e *estimator) sample(r time.Duration) {
	if !e.measured {
		e.srtt, e.rttvar, e.measured = r, r/2, true
	} else {
		diff := e.srtt - r
		if diff < 0 {
			diff = -diff
		}
		e.rttvar = e.rttvar*3/4 + diff/4 // beta = 1/4
		e.srtt = e.srtt*7/8 + r/8        // alpha = 1/8
	}
	// G, the clock's granularity, is 1 ms here.
	e.rto = clamp(e.srtt+max(time.Millisecond, 4*e.rttvar), e.cfg)
}

// backoff doubles the RTO after a timeout (RFC 6298, 5.5).
func (e *estimator) backoff() { e.rto = clamp(2*e.rto, e.cfg) }

func clamp(d time.Duration, cfg Config) time.Duration {
	return min(max(d, cfg.MinRTO), cfg.MaxRTO)
}
