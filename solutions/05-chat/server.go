package chat

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unicode/utf8"
)

// Serve runs a chat room on conn, following the protocol in the package
// documentation, until ctx is done; then it returns ctx.Err(). It returns
// early only if reading from conn fails for another reason, such as conn
// being closed. Serve does not close conn; the caller does. When ctx ends,
// Serve leaves a read deadline in the past on conn; clear it with
// conn.SetReadDeadline(time.Time{}) before using conn again.
//
// Zero fields of cfg mean their defaults (see Config). Serve reads every
// datagram whole, up to the largest UDP payload, so a message is never cut
// short; a message longer than cfg.MaxMessage is dropped, not truncated. A
// broadcast that cannot be sent to one member is dropped for that member
// only.
func Serve(ctx context.Context, conn net.PacketConn, cfg Config) error {
	cfg = cfg.withDefaults()
	// A blocked ReadFrom does not watch ctx: a deadline in the past wakes
	// it when ctx is done.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	r := &room{conn: conn, cfg: cfg, members: map[netip.AddrPort]*member{}}
	// 65,535 bytes holds any UDP payload. A smaller buffer, such as the
	// tutorial's 1024 bytes, silently cuts longer datagrams short.
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read: %w", err)
		}
		r.handle(time.Now(), buf[:n], from)
	}
}

// member is what the room knows of one member.
type member struct {
	addr     net.Addr  // where to send broadcasts
	lastSeen time.Time // when the room last heard from it
}

// room is the member table. Only Serve's goroutine touches it, so it needs
// no lock.
type room struct {
	conn    net.PacketConn
	cfg     Config
	members map[netip.AddrPort]*member
}

// handle acts on one datagram, data, that arrived from from at now.
func (r *room) handle(now time.Time, data []byte, from net.Addr) {
	// Sweep first: an expired member must neither receive this datagram's
	// broadcast nor keep a place that a newcomer could take.
	for who, m := range r.members {
		if now.Sub(m.lastSeen) > r.cfg.Expiry {
			delete(r.members, who)
			r.cfg.logf("%v expired (silent for %v)", who, now.Sub(m.lastSeen).Round(time.Millisecond))
		}
	}

	udp, ok := from.(*net.UDPAddr)
	if !ok || len(data) == 0 {
		return
	}
	// On a dual-stack socket an IPv4 sender shows up as ::ffff:127.0.0.1;
	// unmap gives it back its IPv4 form for the table and for broadcasts.
	who := unmap(udp.AddrPort())

	switch {
	case string(data) == Quit:
		// Deleting a key that is not there does nothing, so quit from a
		// stranger, or a second quit, is harmless.
		if _, ok := r.members[who]; ok {
			delete(r.members, who)
			r.cfg.logf("%v left", who)
		}
	case string(data) == Heartbeat:
		if r.admit(who, from, now) {
			// The answer tells the client the server is alive.
			_, _ = r.conn.WriteTo([]byte(Heartbeat), from)
		}
	case len(data) > r.cfg.MaxMessage, !utf8.Valid(data):
		// Dropped whole: cutting a message short or passing on bytes that
		// are not text would both hand members something nobody sent.
	default:
		if r.admit(who, from, now) {
			r.broadcast(who.String() + " " + string(data))
		}
	}
}

// admit registers who or refreshes it, and reports whether who is a member
// now. A newcomer is refused while the room is full.
func (r *room) admit(who netip.AddrPort, addr net.Addr, now time.Time) bool {
	if m, ok := r.members[who]; ok {
		m.lastSeen = now
		return true
	}
	if len(r.members) >= r.cfg.MaxMembers {
		r.cfg.logf("%v refused: the room is full (%d members)", who, len(r.members))
		return false
	}
	r.members[who] = &member{addr: addr, lastSeen: now}
	r.cfg.logf("%v joined", who)
	return true
}

// broadcast sends line to every member.
func (r *room) broadcast(line string) {
	msg := []byte(line)
	for _, m := range r.members {
		// A send that fails concerns that member only; UDP drops
		// datagrams anyway, and the others must still get theirs.
		_, _ = r.conn.WriteTo(msg, m.addr)
	}
}
