package lesson03

import (
	"net/netip"

	"udpbook/harness"
)

// gate is a loopback port where nothing listens until the harness opens it.
//
// Closing a socket and binding its port again later would leave a moment in
// which another program could take the port. A gate keeps the port bound
// instead, by a harness.Peer whose socket is connected to a dummy address:
// the kernel gives a connected socket only its peer's datagrams, so a
// datagram from anyone else finds no socket and is answered with ICMP port
// unreachable, exactly as on a free port. Opening the gate connects the
// socket to the learner's client, whose datagrams then arrive; shutting it
// connects it to the dummy again. This is the very filtering lesson 03
// teaches.
//
// Reading (Recv, Expect) is the Peer's. Do not Drain a gate: the marker
// datagram comes from a third socket, which the gate refuses.
type gate struct {
	*harness.Peer
	c     *harness.C
	dummy netip.AddrPort
	peer  netip.AddrPort // the client it is open to
}

// closedPort returns a gate on the loopback address of network ("udp4" or
// "udp6"), closed, named "peer" in the trace. Call it only where
// canReconnect is true (see skipUnlessRefusals).
func closedPort(c *harness.C, network string) *gate {
	p := c.NewPeer("peer", network)
	g := &gate{Peer: p, c: c, dummy: harness.AddrPort(c.Listen(network).LocalAddr())}
	if err := reconnect(p.Conn(), g.dummy); err != nil {
		c.Fatalf("harness could not connect a socket: %v", err)
	}
	return g
}

// open lets datagrams from client through, as if a program had just bound
// the port.
func (g *gate) open(client netip.AddrPort) {
	if err := reconnect(g.Conn(), client); err != nil {
		g.c.Fatalf("harness could not open the peer's port: %v", err)
	}
	g.peer = client
	g.c.Step("a peer now listens on %v", g.Addr())
}

// shut refuses datagrams again, as if the program on the port had ended.
func (g *gate) shut() {
	if err := reconnect(g.Conn(), g.dummy); err != nil {
		g.c.Fatalf("harness could not close the peer's port: %v", err)
	}
	g.peer = netip.AddrPort{}
	g.c.Step("the peer on %v has gone: nothing listens there any more", g.Addr())
}

// Send sends data to the client the gate is open to, and adds it to the
// trace. It writes with Write, not the Peer's WriteTo: macOS refuses an
// address on a connected socket.
func (g *gate) Send(to netip.AddrPort, data []byte) {
	if to != g.peer {
		g.c.Fatalf("harness error: the gate is open to %v, not %v", g.peer, to)
	}
	g.c.Step("%s -> %s: %s", g.c.Who(g.Addr()), g.c.Who(to), harness.Quote(data))
	if _, err := g.Conn().Write(data); err != nil {
		g.c.Fatalf("harness could not send: %v", err)
	}
}
