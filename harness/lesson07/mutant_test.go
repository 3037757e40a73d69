package lesson07_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"udpbook/harness/lesson07"
)

// mutant is the reference solution with one mistake switched on. Its code
// follows solutions/07-reliable line for line where no flag is set.
type mutant struct {
	// Send
	bigSegments   bool // 1,400-byte payloads
	maxTries      int  // gives up on a segment after this many sends
	noBackoff     bool
	noCeiling     bool
	eagerRTO      bool // RTO = SRTT: no 4·RTTVAR, no floor
	noKarn        bool // samples resent segments from their first send
	noSamples     bool // the RTO never adapts
	noFloor       bool
	stopAndWait   bool // one segment in flight whatever the window
	finNoWait     bool // returns once the FIN is sent and the data acknowledged
	neverGiveUp   bool
	plainGiveUp   bool // gives up with an error that does not wrap ErrGaveUp
	anyAcker      bool // takes ACKs from anyone
	trustAcks     bool // takes ACKs for segments never sent
	panicShortAck bool
	sendNoCtx     bool
	sendLeaks     bool // leaves a goroutine running
	// Receive
	payloadFrom4 bool // reads the payload from byte 4, not 5
	arrivalOrder bool // delivers segments in the order they arrive
	noLinger     bool
	recvNever    bool // never gives up
	anySender    bool
	panicShort   bool
	noWindow     bool // keeps segments however far out
	recvNoCtx    bool
	recvCloses   bool // closes conn when it returns
}

var errGaveUp = errors.New("the peer stopped answering")

func (m mutant) impl() lesson07.Impl {
	return adapt(m.Send, m.Receive, errGaveUp)
}

func withDefaults(cfg lesson07.Config) lesson07.Config {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&cfg.InitialRTO, 200*time.Millisecond)
	set(&cfg.MinRTO, 10*time.Millisecond)
	set(&cfg.MaxRTO, time.Second)
	set(&cfg.GiveUp, 10*time.Second)
	set(&cfg.Linger, 3*time.Second)
	if cfg.Window <= 0 {
		cfg.Window = 64
	}
	cfg.Window = min(cfg.Window, lesson07.MaxWindow)
	return cfg
}

func seg(typ byte, seq uint32, payload []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], seq)
	return append(b, payload...)
}

func ack(cum, got uint32) []byte {
	b := make([]byte, 9)
	b[0] = 3
	binary.BigEndian.PutUint32(b[1:], cum)
	binary.BigEndian.PutUint32(b[5:], got)
	return b
}

func (m mutant) Send(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg lesson07.Config) error {
	cfg = withDefaults(cfg)
	if m.sendLeaks {
		go func() { time.Sleep(time.Minute) }()
	}
	to, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return err
	}
	if !m.sendNoCtx {
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	size := lesson07.MaxPayload
	if m.bigSegments {
		size = 1400
	}
	var segs [][]byte
	for off := 0; off < len(data); off += size {
		segs = append(segs, seg(1, uint32(len(segs)), data[off:min(off+size, len(data))]))
	}
	n := uint32(len(segs))
	segs = append(segs, seg(2, n, nil))
	type flight struct {
		first, sent time.Time
		times       int
		acked       bool
	}
	fl := make([]flight, len(segs))
	var srtt, rttvar time.Duration
	measured := false
	clamp := func(d time.Duration) time.Duration {
		lo := cfg.MinRTO
		if m.noFloor || m.eagerRTO {
			lo = 0
		}
		if m.noCeiling {
			return max(d, lo)
		}
		return min(max(d, lo), cfg.MaxRTO)
	}
	rto := clamp(cfg.InitialRTO)
	window := uint32(cfg.Window)
	if m.stopAndWait {
		window = 1
	}
	base, next := uint32(0), uint32(0)
	progress := time.Now()
	buf := make([]byte, 64)
	for base <= n {
		if m.finNoWait && base == n && next > n {
			return nil
		}
		now := time.Now()
		for next <= n && next < base+window {
			conn.WriteTo(segs[next], to)
			fl[next] = flight{first: now, sent: now, times: 1}
			next++
		}
		timedOut := false
		wake := progress.Add(cfg.GiveUp)
		if m.neverGiveUp {
			wake = now.Add(time.Hour)
		}
		for s := base; s < next; s++ {
			f := &fl[s]
			if f.acked {
				continue
			}
			if !now.Before(f.sent.Add(rto)) {
				if m.maxTries > 0 && f.times >= m.maxTries {
					return fmt.Errorf("send: segment %d sent %d times: %w", s, f.times, errGaveUp)
				}
				conn.WriteTo(segs[s], to)
				f.sent, f.times = now, f.times+1
				timedOut = true
			}
		}
		if timedOut && !m.noBackoff {
			rto = clamp(2 * rto)
		}
		for s := base; s < next; s++ {
			if !fl[s].acked && fl[s].sent.Add(rto).Before(wake) {
				wake = fl[s].sent.Add(rto)
			}
		}
		if !m.neverGiveUp && now.Sub(progress) >= cfg.GiveUp {
			if m.plainGiveUp {
				return errors.New("send: timed out")
			}
			return fmt.Errorf("send: %w", errGaveUp)
		}
		conn.SetReadDeadline(wake)
		k, from, err := conn.ReadFrom(buf)
		if ctx.Err() != nil && !m.sendNoCtx {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return err
		}
		u, _ := from.(*net.UDPAddr)
		if !m.anyAcker && (u == nil || u.Port != to.Port || !u.IP.Equal(to.IP)) {
			continue
		}
		b := buf[:k]
		if m.panicShortAck {
			if b[0] != 3 {
				continue
			}
			_ = binary.BigEndian.Uint32(b[5:])
		}
		if k != 9 || b[0] != 3 {
			continue
		}
		cum, got := binary.BigEndian.Uint32(b[1:]), binary.BigEndian.Uint32(b[5:])
		if m.trustAcks {
			cum = min(cum, n+1)
			if got >= next {
				got = base
			}
		} else if cum > next || got >= next {
			continue
		}
		now = time.Now()
		if got >= base && !fl[got].acked {
			var r time.Duration
			sample := fl[got].times == 1
			if m.noKarn {
				r, sample = now.Sub(fl[got].first), true
			} else {
				r = now.Sub(fl[got].sent)
			}
			if sample && !m.noSamples {
				if !measured {
					srtt, rttvar, measured = r, r/2, true
				} else {
					diff := max(srtt-r, r-srtt)
					rttvar = rttvar*3/4 + diff/4
					srtt = srtt*7/8 + r/8
				}
				if m.eagerRTO {
					rto = clamp(srtt)
				} else {
					rto = clamp(srtt + max(time.Millisecond, 4*rttvar))
				}
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
			base++
		}
	}
	return nil
}

func (m mutant) Receive(ctx context.Context, conn net.PacketConn, cfg lesson07.Config) ([]byte, error) {
	cfg = withDefaults(cfg)
	if m.recvCloses {
		defer conn.Close()
	}
	if !m.recvNoCtx {
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	var (
		peer  net.Addr
		cum   uint32
		early = map[uint32][]byte{}
		fin   = -1
		out   = []byte{}
		done  bool
		heard = time.Now()
		buf   = make([]byte, 64*1024)
	)
	for {
		switch {
		case done:
			conn.SetReadDeadline(heard.Add(cfg.Linger))
		case peer != nil && !m.recvNever:
			conn.SetReadDeadline(heard.Add(cfg.GiveUp))
		default:
			conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		}
		k, from, err := conn.ReadFrom(buf)
		if ctx.Err() != nil && !m.recvNoCtx {
			return nil, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			switch {
			case done:
				return out, nil
			case peer != nil && !m.recvNever && time.Since(heard) >= cfg.GiveUp:
				return nil, fmt.Errorf("receive: %w", errGaveUp)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.panicShort {
			_ = binary.BigEndian.Uint32(buf[1:k])
		}
		if k < 5 || (buf[0] != 1 && buf[0] != 2) || (buf[0] == 2 && k != 5) {
			continue
		}
		if peer == nil {
			peer = from
		} else if from.String() != peer.String() && !m.anySender {
			continue
		}
		if k-5 > lesson07.MaxPayload {
			continue
		}
		seq := binary.BigEndian.Uint32(buf[1:])
		if seq >= cum+lesson07.MaxWindow && !m.noWindow {
			continue
		}
		heard = time.Now()
		from5 := 5
		if m.payloadFrom4 {
			from5 = 4
		}
		if seq >= cum {
			switch {
			case m.arrivalOrder && buf[0] == 1 && (fin < 0 || int(seq) < fin):
				out = append(out, buf[from5:k]...)
				cum = seq + 1
			case buf[0] == 2 && fin < 0:
				fin = int(seq)
			case buf[0] == 2 && int(seq) != fin:
				continue
			case buf[0] == 1 && (fin < 0 || int(seq) < fin):
				if _, dup := early[seq]; !dup {
					early[seq] = append([]byte(nil), buf[from5:k]...)
				}
			default:
				continue
			}
			for {
				if p, ok := early[cum]; ok {
					out = append(out, p...)
					delete(early, cum)
					cum++
					continue
				}
				if int(cum) == fin {
					cum++
					done = true
				}
				break
			}
		}
		conn.WriteTo(ack(cum, seq), from)
		if done && m.noLinger {
			return out, nil
		}
	}
}
