package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// MaxDatagram is the largest UDP payload there is (65,535 bytes less the
// 8-byte UDP header); a buffer this size never truncates.
const MaxDatagram = 65535 - 8

// Datagram is one datagram a Peer received.
type Datagram struct {
	From netip.AddrPort
	Data []byte
}

// Peer is a UDP socket owned by the harness, bound to a loopback address
// with a kernel-chosen port. Everything it sends and receives is added to
// its check's trace, and every read has a deadline. It is closed when the
// check ends.
type Peer struct {
	c    *C
	conn *net.UDPConn
	addr netip.AddrPort
}

// Loopback returns the loopback address of network: 127.0.0.1 for "udp4",
// ::1 for "udp6".
func Loopback(network string) netip.Addr {
	if network == "udp6" {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// ListenLoopback binds a UDP socket to port 0 on the loopback address of
// network ("udp4" or "udp6"), so the kernel picks a free port.
func ListenLoopback(network string) (*net.UDPConn, error) {
	laddr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(Loopback(network), 0))
	// The error, a *net.OpError, already says "listen udp6 [::1]:0".
	return net.ListenUDP(network, laddr)
}

// Listen binds a socket as ListenLoopback does and closes it when the check
// ends. Where the system has no IPv6 loopback, a "udp6" Listen skips the
// check with that reason (see IPv6 and C.Require).
func (c *C) Listen(network string) *net.UDPConn {
	if network == "udp6" {
		c.Require(IPv6)
	}
	conn, err := ListenLoopback(network)
	if err != nil {
		c.Fatalf("harness could not bind a socket: %v", err)
	}
	c.Cleanup(func() { conn.Close() })
	return conn
}

// NewPeer binds a Peer called name (for the trace, e.g. "client A") on the
// loopback address of network, "udp4" or "udp6".
func (c *C) NewPeer(name, network string) *Peer {
	conn := c.Listen(network)
	p := &Peer{c: c, conn: conn, addr: AddrPort(conn.LocalAddr())}
	c.Name(p.addr, name)
	// Abort wakes a blocked read at once.
	stop := context.AfterFunc(c.ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	c.Cleanup(func() { stop() })
	return p
}

// Addr returns the peer's address.
func (p *Peer) Addr() netip.AddrPort { return p.addr }

// Conn returns the peer's socket, for what the Peer's methods do not cover.
func (p *Peer) Conn() *net.UDPConn { return p.conn }

// Send sends data to addr and adds it to the trace.
func (p *Peer) Send(to netip.AddrPort, data []byte) {
	p.c.Step("%s -> %s: %s", p.c.Who(p.addr), p.c.Who(to), Quote(data))
	if _, err := p.conn.WriteToUDPAddrPort(data, to); err != nil {
		p.c.Fatalf("harness could not send: %v", err)
	}
}

// SendAll sends each of msgs to addr, back to back, and adds one line for
// all of them to the trace.
func (p *Peer) SendAll(to netip.AddrPort, msgs [][]byte) {
	if len(msgs) == 0 {
		return
	}
	p.c.Step("%s -> %s: %d datagrams, %s ... %s", p.c.Who(p.addr), p.c.Who(to), len(msgs), Quote(msgs[0]), Quote(msgs[len(msgs)-1]))
	for _, m := range msgs {
		if _, err := p.conn.WriteToUDPAddrPort(m, to); err != nil {
			p.c.Fatalf("harness could not send: %v", err)
		}
	}
}

// Recv waits up to wait for the next datagram and adds it to the trace. It
// returns ok == false if none came in time. If the check was aborted, Recv
// fails the check with the reason.
func (p *Peer) Recv(wait time.Duration) (d Datagram, ok bool) {
	d, ok = p.read(wait)
	if ok {
		p.record(d)
	}
	return d, ok
}

func (p *Peer) record(d Datagram) {
	p.c.Step("%s -> %s: %s", p.c.Who(d.From), p.c.Who(p.addr), Quote(d.Data))
}

// read is Recv without the trace. A closed socket reads as nothing.
func (p *Peer) read(wait time.Duration) (d Datagram, ok bool) {
	buf := make([]byte, MaxDatagram+1)
	for {
		if err := p.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			p.c.Fatalf("harness could not set a deadline: %v", err)
		}
		// An abort sets a deadline in the past to wake the read; if it came
		// before the deadline above, that deadline replaced its own, so look.
		if cause := p.c.aborted(); cause != nil {
			p.c.Fatalf("%v", cause)
		}
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if cause := p.c.aborted(); cause != nil {
			p.c.Fatalf("%v", cause)
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
			return Datagram{}, false
		case errors.Is(err, syscall.ECONNREFUSED):
			continue // a late ICMP error from an earlier send: not a datagram
		case err != nil:
			p.c.Fatalf("harness could not read: %v", err)
		}
		return Datagram{From: Unmap(from), Data: buf[:n:n]}, true
	}
}

// RecvQuiet is Recv without adding the datagram to the trace, for checks
// that read many datagrams and trace only what decides the verdict.
func (p *Peer) RecvQuiet(wait time.Duration) (Datagram, bool) { return p.read(wait) }

// SendQuiet is Send without adding the datagram to the trace.
func (p *Peer) SendQuiet(to netip.AddrPort, data []byte) {
	if _, err := p.conn.WriteToUDPAddrPort(data, to); err != nil {
		p.c.Fatalf("harness could not send: %v", err)
	}
}

// Expect waits up to Patience for the next datagram and fails the check
// unless it is want, from from. what names the datagram for the message,
// such as "reply".
func (p *Peer) Expect(from netip.AddrPort, want []byte, what string) Datagram {
	d, ok := p.Recv(Patience)
	if !ok {
		p.c.Fatalf("expected %s %s from %s within %v; got nothing", what, Quote(want), p.c.Who(from), Patience)
	}
	if d.From != from {
		p.c.Fatalf("expected %s %s from %s; it came from %s instead", what, Quote(want), p.c.Who(from), p.c.Who(d.From))
	}
	if !bytes.Equal(d.Data, want) {
		p.c.Fatalf("got %s %s, want %s%s", what, Quote(d.Data), Quote(want), Difference(d.Data, want))
	}
	return d
}

// Drain returns the datagrams already waiting in the peer's socket and
// adds them to the trace. It sends a marker datagram to the peer from a
// socket of its own and reads up to the marker: on loopback a datagram is
// in the receiver's socket by the time the sender's write returns, so
// everything sent before Drain was called comes before the marker. No
// deadline decides when the socket is empty, so a stalled goroutine can
// neither cut the list short nor make Drain wait for nothing.
func (p *Peer) Drain() []Datagram { return p.drain(true) }

// DrainQuiet is Drain without adding the datagrams to the trace.
func (p *Peer) DrainQuiet() []Datagram { return p.drain(false) }

func (p *Peer) drain(trace bool) []Datagram {
	network := "udp4"
	if p.addr.Addr().Is6() {
		network = "udp6"
	}
	marker := p.c.Listen(network)
	from := AddrPort(marker.LocalAddr())
	token := []byte(fmt.Sprintf("udpbook drain marker %d", time.Now().UnixNano()))
	if _, err := marker.WriteToUDPAddrPort(token, p.addr); err != nil {
		p.c.Fatalf("harness could not send its drain marker: %v", err)
	}
	var ds []Datagram
	for {
		d, ok := p.read(Patience)
		if !ok {
			p.c.Fatalf("the harness's own marker datagram did not arrive within %v", Patience)
		}
		if d.From == from && bytes.Equal(d.Data, token) {
			return ds
		}
		if trace {
			p.record(d)
		}
		ds = append(ds, d)
	}
}

// AddrPort returns the address and port of a *net.UDPAddr (or of any
// net.Addr that parses), with an IPv4-mapped IPv6 address unmapped. It
// returns the zero AddrPort for anything else.
func AddrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return Unmap(a.AddrPort())
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return Unmap(ap)
}

// Unmap turns ::ffff:127.0.0.1 into 127.0.0.1 and keeps other addresses.
func Unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Quote formats a payload for a message: quoted with Go's escapes, and cut
// to its first bytes with its length when it is long.
func Quote(b []byte) string {
	const show = 40
	if len(b) <= show+8 {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(string(b[:show])), len(b))
}

// Difference says where got and want part, for payloads too long to read
// whole in a message. It returns "" for short payloads.
func Difference(got, want []byte) string {
	if len(got) <= 48 && len(want) <= 48 {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf(" (%d bytes, want %d; they differ from byte %d on)", len(got), len(want), i)
}

// OnlyFrom makes conn, a socket of the harness's that the learner's code
// reads from, take datagrams from peer alone: the kernel drops the rest.
// A check that waits for the learner's code to notice something other
// than a datagram (a cancelled context, say) calls it first, so that a
// stray datagram from another program on the host cannot wake a blocked
// read and let a wrong implementation through. The learner's replies are
// not affected. Where the system cannot do this, OnlyFrom does nothing.
func (c *C) OnlyFrom(conn net.PacketConn, peer netip.AddrPort) {
	if err := onlyFrom(conn, peer); err != nil {
		c.Step("(the harness could not shut its socket to strangers: %v)", err)
	}
}
