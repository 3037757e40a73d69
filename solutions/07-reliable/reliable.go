// Package reliable is lesson 07 of udpbook: reliable delivery over UDP,
// with sequence numbers, acknowledgements, an adaptive retransmission
// timeout and a sliding window. It moves one message, of any size, from a
// sender to a receiver, exactly once and in order, over a network that
// loses, duplicates, delays and reorders datagrams.
//
// # Segments and acknowledgements
//
// Send cuts the data into numbered segments of at most MaxPayload bytes
// and ends with a FIN segment; Receive answers every segment with an ACK
// that says how much it has (the next segment it needs) and which segment
// it answers. The wire format is fixed, so that either side can talk to
// any other implementation (the grader's among them); the chapter draws it.
//
// # Retransmission
//
// A segment that is not acknowledged within the retransmission timeout
// (RTO) is sent again. Send measures the round-trip time of segments that
// were sent once only (Karn's rule) and computes the RTO as RFC 6298 does;
// every timeout doubles it (backoff) until the next measurement.
//
// # The window
//
// Send keeps up to Config.Window segments in flight at once, and Receive
// keeps segments that arrive early (up to MaxWindow ahead): selective
// repeat. A window of 1 is stop-and-wait.
//
// # Ending
//
// Send returns once the FIN is acknowledged. Receive returns the data after
// lingering a while, answering a repeated FIN whose ACK was lost. A side
// whose peer falls silent for Config.GiveUp returns an error wrapping
// ErrGaveUp.
package reliable

import (
	"encoding/binary"
	"errors"
	"time"
)

// The segment types: the first byte of every datagram.
const (
	TypeData byte = 1 // DATA: type, sequence number (4 bytes, big-endian), payload
	TypeFin  byte = 2 // FIN: type, sequence number (the number of DATA segments); no payload
	TypeAck  byte = 3 // ACK: type, cumulative number (4 bytes), the number it answers (4 bytes)
)

// Sizes of the wire format.
const (
	HeaderLen  = 5    // type and sequence number of DATA and FIN
	AckLen     = 9    // the whole of an ACK
	MaxPayload = 1200 // the largest payload of one DATA segment
	// MaxWindow is the most segments in flight: Send never has more
	// unacknowledged, and Receive ignores segments MaxWindow or more
	// beyond the first one it still needs, so its memory stays bounded.
	MaxWindow = 256
)

// ErrGaveUp is wrapped by the error Send and Receive return when the peer
// has been silent for Config.GiveUp.
var ErrGaveUp = errors.New("the peer stopped answering")

// Config tunes Send and Receive. A zero field takes its default.
type Config struct {
	InitialRTO time.Duration // the RTO before the first measurement; default 200 ms
	MinRTO     time.Duration // the RTO's floor; default 10 ms
	MaxRTO     time.Duration // the RTO's ceiling, backoff included; default 1 s
	Window     int           // segments Send keeps in flight, 1 to MaxWindow; default 64
	GiveUp     time.Duration // how long a silent peer is waited for; default 10 s
	// Linger is how long Receive answers repeated FINs before it returns;
	// default 3 s. Make it several times the sender's MaxRTO: a receiver
	// that leaves while the sender still resends its FIN leaves the
	// sender to give up on a message that arrived.
	Linger time.Duration
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
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
	cfg.Window = min(cfg.Window, MaxWindow)
	return cfg
}

// dataSegment returns the DATA segment with sequence number seq.
func dataSegment(seq uint32, payload []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(payload))
	b[0] = TypeData
	binary.BigEndian.PutUint32(b[1:], seq)
	return append(b, payload...)
}

// finSegment returns the FIN segment that follows n DATA segments.
func finSegment(n uint32) []byte {
	b := make([]byte, HeaderLen)
	b[0] = TypeFin
	binary.BigEndian.PutUint32(b[1:], n)
	return b
}

// ackSegment returns an ACK saying that every segment below cum has
// arrived, in answer to segment got.
func ackSegment(cum, got uint32) []byte {
	b := make([]byte, AckLen)
	b[0] = TypeAck
	binary.BigEndian.PutUint32(b[1:], cum)
	binary.BigEndian.PutUint32(b[5:], got)
	return b
}
