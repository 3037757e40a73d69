package lesson03

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"udpbook/harness"
)

// gate is a loopback port where nothing listens until the harness opens it.
//
// Closing a socket and binding its port again later would leave a moment in
// which another program could take the port. A gate keeps the port bound
// instead, with a socket connected to a dummy address: the kernel gives a
// connected socket only its peer's datagrams, so a datagram from anyone
// else finds no socket and is answered with ICMP port unreachable, exactly
// as on a free port. Opening the gate connects the socket to the learner's
// client, whose datagrams then arrive. This is the very filtering lesson 03
// teaches.
type gate struct {
	c    *harness.C
	conn *net.UDPConn
	addr netip.AddrPort
	peer netip.AddrPort // the client it is open to
}

// closedPort returns a gate on 127.0.0.1, closed, named "peer" in the trace.
func closedPort(c *harness.C) *gate {
	dummy := c.Listen("udp4")
	conn, err := net.DialUDP("udp4", nil, dummy.LocalAddr().(*net.UDPAddr))
	if err != nil {
		c.Fatalf("harness could not connect a socket: %v", err)
	}
	c.Cleanup(func() { conn.Close() })
	g := &gate{c: c, conn: conn, addr: harness.AddrPort(conn.LocalAddr())}
	c.Name(g.addr, "peer")
	// Abort wakes a blocked read at once.
	stop := context.AfterFunc(c.Context(), func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	c.Cleanup(func() { stop() })
	return g
}

// open lets datagrams from client through, as if a program had just bound
// the port.
func (g *gate) open(client netip.AddrPort) {
	if err := reconnect(g.conn, client); err != nil {
		g.c.Fatalf("harness could not open the peer's port: %v", err)
	}
	g.peer = client
	g.c.Step("a peer now listens on %v", g.addr)
}

// Send sends data to addr, the client the gate is open to, and adds it to
// the trace.
func (g *gate) Send(to netip.AddrPort, data []byte) {
	if to != g.peer {
		g.c.Fatalf("harness error: the gate is open to %v, not %v", g.peer, to)
	}
	g.c.Step("%s -> %s: %s", g.c.Who(g.addr), g.c.Who(to), harness.Quote(data))
	// Write, not WriteTo: the gate's socket is connected.
	if _, err := g.conn.Write(data); err != nil {
		g.c.Fatalf("harness could not send: %v", err)
	}
}

// recv waits up to wait for the next datagram, as harness.Peer's Recv.
func (g *gate) recv(wait time.Duration) (harness.Datagram, bool) {
	buf := make([]byte, harness.MaxDatagram+1)
	if err := g.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		g.c.Fatalf("harness could not set a deadline: %v", err)
	}
	// An abort before the line above had its deadline replaced; look.
	g.failIfAborted()
	n, from, err := g.conn.ReadFromUDPAddrPort(buf)
	g.failIfAborted()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return harness.Datagram{}, false
	}
	if err != nil {
		g.c.Fatalf("harness could not read: %v", err)
	}
	d := harness.Datagram{From: harness.Unmap(from), Data: buf[:n:n]}
	g.c.Step("%s -> %s: %s", g.c.Who(d.From), g.c.Who(g.addr), harness.Quote(d.Data))
	return d, true
}

// failIfAborted ends the check with the reason given to Abort, if any.
func (g *gate) failIfAborted() {
	if ctx := g.c.Context(); ctx.Err() != nil {
		g.c.Fatalf("%v", context.Cause(ctx))
	}
}

// Expect waits up to harness.Patience for the next datagram and fails the
// check unless it is want, from from.
func (g *gate) Expect(from netip.AddrPort, want []byte, what string) harness.Datagram {
	d, ok := g.recv(harness.Patience)
	if !ok {
		g.c.Fatalf("expected %s %s from %s within %v; got nothing", what, harness.Quote(want), g.c.Who(from), harness.Patience)
	}
	if d.From != from {
		g.c.Fatalf("expected %s %s from %s; it came from %s instead", what, harness.Quote(want), g.c.Who(from), g.c.Who(d.From))
	}
	if !bytes.Equal(d.Data, want) {
		g.c.Fatalf("got %s %s, want %s%s", what, harness.Quote(d.Data), harness.Quote(want), harness.Difference(d.Data, want))
	}
	return d
}
