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

// Receive receives one message sent with Send over conn and returns it:
// every byte exactly once, in order. The first DATA or FIN segment that
// arrives chooses the sender; datagrams from anyone else, and datagrams
// that are not well-formed DATA or FIN segments, are ignored.
//
// Every segment gets an ACK. Segments that arrive early, up to MaxWindow
// ahead of the first missing one, are kept; later ones are dropped
// unanswered, so memory stays bounded whatever the sender sends.
//
// Once the FIN and everything before it have arrived, Receive lingers: it
// answers repeated FINs (their ACK was lost) until the sender has been
// silent for cfg.Linger, then returns. If the sender falls silent for
// cfg.GiveUp before the end, Receive returns an error wrapping ErrGaveUp;
// if ctx is done first, it returns ctx.Err(). It waits for the first
// segment for as long as ctx allows. Receive does not close conn, and
// leaves no goroutine running.
func Receive(ctx context.Context, conn net.PacketConn, cfg Config) ([]byte, error) {
	cfg = cfg.withDefaults()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	var (
		peer  net.Addr                // the sender, once heard
		cum   uint32                  // the first segment not yet delivered
		early = map[uint32][]byte{}   // segments that arrived before cum
		fin   = -1                    // the FIN's sequence number, once known
		out   = []byte{}              // delivered bytes
		done  bool                    // FIN and everything before it arrived
		heard = time.Now()            // when the sender was last heard
		buf   = make([]byte, 64*1024) // larger than any datagram
	)
	for {
		// Before the first segment, wait for as long as ctx allows (a
		// second at a time); after it, until the sender is too quiet.
		switch {
		case done:
			conn.SetReadDeadline(heard.Add(cfg.Linger))
		case peer != nil:
			conn.SetReadDeadline(heard.Add(cfg.GiveUp))
		default:
			conn.SetReadDeadline(time.Now().Add(time.Second))
		}
		k, from, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			switch {
			case done:
				return out, nil // lingered long enough: the sender has its ACK
			case peer != nil && time.Since(heard) >= cfg.GiveUp:
				return nil, fmt.Errorf("receive: %w: nothing for %v after %d bytes", ErrGaveUp, cfg.GiveUp, len(out))
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if k < HeaderLen || (buf[0] != TypeData && buf[0] != TypeFin) || (buf[0] == TypeFin && k != HeaderLen) {
			continue // not a segment
		}
		if peer == nil {
			peer = from
		} else if from.String() != peer.String() {
			continue // a stranger
		}
		if k-HeaderLen > MaxPayload {
			continue // larger than any sender may send
		}
		seq := binary.BigEndian.Uint32(buf[1:])
		if seq >= cum+MaxWindow {
			continue // far beyond the window: no room, no answer
		}
		heard = time.Now()
		if seq >= cum {
			switch {
			case buf[0] == TypeFin && fin < 0:
				fin = int(seq)
			case buf[0] == TypeFin && int(seq) != fin:
				continue // a second, different end: not a sender that follows the rules
			case buf[0] == TypeData && (fin < 0 || int(seq) < fin):
				if _, dup := early[seq]; !dup {
					early[seq] = append([]byte(nil), buf[HeaderLen:k]...)
				}
			default:
				continue // data after the end
			}
			// Deliver what is now in order.
			for {
				if p, ok := early[cum]; ok {
					out = append(out, p...)
					delete(early, cum)
					cum++
					continue
				}
				if int(cum) == fin {
					cum++ // the FIN itself
					done = true
				}
				break
			}
		}
		// Old or new, a segment gets an ACK: a duplicate's ACK may be the
		// one that reaches the sender.
		conn.WriteTo(ackSegment(cum, seq), peer)
	}
}
