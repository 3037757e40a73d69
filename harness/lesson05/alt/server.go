package chat

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"
)

// Serve runs a chat room on conn, following the protocol in the package
// documentation, until ctx is done; then it returns ctx.Err(). It returns
// early only if reading from conn fails for another reason, such as conn
// being closed. Serve does not close conn; the caller does.
//
// Zero fields of cfg mean their defaults (see Config). Serve reads every
// datagram whole, up to the largest UDP payload, so a message is never cut
// short; a message longer than cfg.MaxMessage is dropped, not truncated. A
// broadcast that cannot be sent to one member is dropped for that member
// only.
func Serve(ctx context.Context, conn net.PacketConn, cfg Config) error {
	cfg = cfg.withDefaults()
	r := &room{cfg: cfg, members: make(map[netip.AddrPort]*member)}

	// The sweeper forgets silent members even while nothing arrives. It is
	// stopped, and waited for, before Serve returns.
	stopSweeper := make(chan struct{})
	var sweeper sync.WaitGroup
	sweeper.Add(1)
	go func() {
		defer sweeper.Done()
		r.sweepEvery(sweepPeriod(cfg.Expiry), stopSweeper)
	}()
	defer func() {
		close(stopSweeper)
		sweeper.Wait()
	}()

	// Cancelling ctx wakes ReadFrom with a read deadline in the past. On
	// the way out, the deadline is cleared again once the wake-up has run,
	// so that the caller's conn is left as it was given.
	woken := make(chan struct{})
	stopWaking := context.AfterFunc(ctx, func() {
		defer close(woken)
		conn.SetReadDeadline(time.Unix(1, 0))
	})
	defer func() {
		if !stopWaking() {
			<-woken
			conn.SetReadDeadline(time.Time{})
		}
	}()

	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		r.handle(conn, buf[:n], from, time.Now())
	}
}

// sweepPeriod is how often the sweeper looks for expired members: twice
// per expiry period, so that a silent member is forgotten at most half an
// expiry late, but never more often than every millisecond.
func sweepPeriod(expiry time.Duration) time.Duration {
	return max(expiry/2, time.Millisecond)
}

// member is one entry of the member table.
type member struct {
	addr     net.Addr  // where to send, as ReadFrom gave it
	lastSeen time.Time // when the server last heard from it
}

// room is the member table, shared by Serve's read loop and the sweeper.
// Every field but cfg is guarded by mu; the methods whose names end in
// Locked must be called with mu held, and never take it themselves.
type room struct {
	cfg Config

	mu      sync.Mutex
	members map[netip.AddrPort]*member
	// targets is the read loop's scratch list of the addresses a broadcast
	// goes to, reused from one broadcast to the next. Only handle uses it.
	targets []net.Addr
}

// sweepEvery removes expired members every period until stop is closed.
func (r *room) sweepEvery(period time.Duration, stop <-chan struct{}) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			r.mu.Lock()
			r.sweepLocked(now)
			r.mu.Unlock()
		}
	}
}

// sweepLocked removes every member not heard from for longer than the
// expiry before now.
func (r *room) sweepLocked(now time.Time) {
	for who, m := range r.members {
		if silent := now.Sub(m.lastSeen); silent > r.cfg.Expiry {
			delete(r.members, who)
			r.cfg.logf("%v expired (silent for %v)", who, silent.Round(time.Millisecond))
		}
	}
}

// admitLocked registers who, or refreshes it if it is a member already, and
// reports whether it is a member now: a newcomer is refused while the room
// is full.
func (r *room) admitLocked(who netip.AddrPort, addr net.Addr, now time.Time) bool {
	if m, ok := r.members[who]; ok {
		m.lastSeen = now
		return true
	}
	if len(r.members) >= r.cfg.MaxMembers {
		r.cfg.logf("%v refused: the room is full", who)
		return false
	}
	r.members[who] = &member{addr: addr, lastSeen: now}
	r.cfg.logf("%v joined", who)
	return true
}

// handle applies one datagram, data from from, which arrived at now. It
// holds the lock only while it reads or changes the table; the datagrams it
// sends go out after it has let go.
func (r *room) handle(conn net.PacketConn, data []byte, from net.Addr, now time.Time) {
	if len(data) == 0 {
		return // an empty datagram is not "quit", nor anything else
	}
	who, ok := addrPortOf(from)
	if !ok {
		return
	}

	r.mu.Lock()
	// Sweep first, whatever the sweeper did last: an expired member must
	// not receive this datagram's broadcast, and its place is free.
	r.sweepLocked(now)
	switch string(data) {
	case Heartbeat:
		admitted := r.admitLocked(who, from, now)
		r.mu.Unlock()
		if admitted {
			conn.WriteTo([]byte(Heartbeat), from) // to the sender alone
		}
		return
	case Quit:
		if _, ok := r.members[who]; ok {
			delete(r.members, who)
			r.cfg.logf("%v left", who)
		}
		r.mu.Unlock()
		return
	}
	if len(data) > r.cfg.MaxMessage || !utf8.Valid(data) || !r.admitLocked(who, from, now) {
		r.mu.Unlock()
		return
	}
	targets := r.targets[:0]
	for _, m := range r.members {
		targets = append(targets, m.addr)
	}
	r.targets = targets
	r.mu.Unlock()

	// Only this goroutine uses r.targets, so the snapshot is safe to read
	// without the lock. A failed send concerns one member only.
	prefix := who.String()
	line := make([]byte, 0, len(prefix)+1+len(data))
	line = append(append(append(line, prefix...), ' '), data...)
	for _, to := range targets {
		conn.WriteTo(line, to)
	}
}

// addrPortOf returns the member key of a sender: its IP and port, with an
// IPv4-mapped IPv6 address (from a dual-stack socket) turned back into
// IPv4, so that its String is "127.0.0.1:50312" and not
// "[::ffff:127.0.0.1]:50312".
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	var ap netip.AddrPort
	if u, ok := a.(*net.UDPAddr); ok {
		ap = u.AddrPort()
	} else if a != nil {
		ap, _ = netip.ParseAddrPort(a.String())
	}
	if !ap.IsValid() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
