// Package multicast is lesson 06 of udpbook: members of a multicast group on
// the loopback interface. A member joins a group, sends "Notify" to it, and
// every other member answers with a unicast "Acknowledge" to the sender.
// Several members share the group's port, on one host.
//
// # Sharing a port
//
// Every member of a group listens on the group's port, so two programs on one
// host must bind the same port. A second bind fails with "address already in
// use" unless every socket on the port sets SO_REUSEADDR (and, on BSD and
// macOS, SO_REUSEPORT) before it binds: Listen sets both through
// net.ListenConfig's Control function.
//
// # Two sockets per member
//
// A member keeps two sockets. The group socket is bound to the wildcard
// address and the shared port; it receives what is sent to the groups. The
// member's own socket is bound to the loopback address with a port of its
// own; the member sends from it, and acknowledgements come back to it. One
// socket would not do: an acknowledgement sent to the shared port would be
// handed to whichever socket on that port the kernel picks, not necessarily
// the one that sent Notify.
//
// # Staying on this host
//
// A multicast datagram goes out on one interface, with a time-to-live that
// routers count down. A Member names the loopback interface (found by its
// flags, not its name) both when it joins a group and when it sends, sends
// from a socket bound to the loopback address, and sends with a TTL of 1, so
// nothing it sends can leave the host. Use groups in 239.0.0.0/8
// (administratively scoped) for IPv4, and ff01::/16 (interface-local) or
// ff02::/16 (link-local) for IPv6.
//
// # Hearing only your own groups
//
// On Linux, a socket bound to the wildcard address receives the datagrams of
// every group that any socket on the host has joined on that port. Serve asks
// for each datagram's destination address (a control message) and drops
// those sent to a group this member has not joined. It also drops its own
// datagrams, which the loopback interface brings back to it.
package multicast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The two messages of the protocol. A member answers a Notify sent to one of
// its groups with an Acknowledge sent to the Notify's sender alone.
const (
	Notify      = "Notify"
	Acknowledge = "Acknowledge"
)

// TTL is the time-to-live (IPv4) or hop limit (IPv6) of every datagram a
// Member sends to a group: 1, so that no router forwards it. It does not keep
// a datagram on this host; the interface does (Linux sends even a TTL of 0
// out on the interface it is given).
const TTL = 1

// Errors from JoinGroup and LeaveGroup.
var (
	ErrAlreadyJoined = errors.New("already a member of the group")
	ErrNotJoined     = errors.New("not a member of the group")
)

// Member is one member of multicast groups on the loopback interface, with
// its two sockets: the group socket on the shared port and its own socket,
// which it sends from. Create one with Listen, join groups with JoinGroup,
// run Serve to receive, and Close it when done. Its methods may be called
// from several goroutines at once.
type Member struct {
	ifi   *net.Interface // the loopback interface
	group *net.UDPConn   // wildcard address, shared port: receives group datagrams
	own   *net.UDPConn   // loopback address, own port: sends, receives acknowledgements
	port  uint16         // the group port
	addr  netip.AddrPort // own's address

	// One of these two is set, by the network.
	group4 *ipv4.PacketConn
	group6 *ipv6.PacketConn

	mu     sync.Mutex
	joined map[netip.Addr]bool
}

// Listen creates a member for network "udp4" or "udp6" whose group socket is
// bound to port on the wildcard address, shared with any other socket on that
// port that allows sharing. A port of 0 lets the kernel choose one; read it
// back with Port and give it to the other members. The member's own socket is
// bound to the loopback address (127.0.0.1 or ::1) with a port the kernel
// chooses; see Addr.
//
// Everything the member sends goes out on the loopback interface with a TTL
// of TTL, and multicast loopback on, so that members on this host hear each
// other.
func Listen(network string, port uint16) (*Member, error) {
	var wildcard, loopback netip.Addr
	switch network {
	case "udp4":
		wildcard, loopback = netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case "udp6":
		wildcard, loopback = netip.IPv6Unspecified(), netip.IPv6Loopback()
	default:
		return nil, fmt.Errorf("listen: network %q is not udp4 or udp6", network)
	}
	ifi, err := loopbackInterface()
	if err != nil {
		return nil, err
	}

	// The group socket shares its port: see reuse_unix.go.
	lc := net.ListenConfig{Control: reusePort}
	at := netip.AddrPortFrom(wildcard, port).String()
	pc, err := lc.ListenPacket(context.Background(), network, at)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, at, err)
	}
	group := pc.(*net.UDPConn)
	// The member's own socket is bound to the loopback address: Linux never
	// sends a datagram with a loopback source on another interface, a second
	// fence after the multicast interface set in setup4.
	own, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		group.Close()
		return nil, fmt.Errorf("listen %s %s: %w", network, loopback, err)
	}
	m := &Member{
		ifi:    ifi,
		group:  group,
		own:    own,
		port:   group.LocalAddr().(*net.UDPAddr).AddrPort().Port(),
		addr:   own.LocalAddr().(*net.UDPAddr).AddrPort(),
		joined: map[netip.Addr]bool{},
	}
	if network == "udp4" {
		err = m.setup4()
	} else {
		err = m.setup6()
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// setup4 sets the sending options of the member's own socket and asks the
// group socket to report each datagram's destination address.
func (m *Member) setup4() error {
	m.group4 = ipv4.NewPacketConn(m.group)
	if err := m.group4.SetControlMessage(ipv4.FlagDst, true); err != nil {
		return fmt.Errorf("ask for destination addresses: %w", err)
	}
	p := ipv4.NewPacketConn(m.own)
	if err := p.SetMulticastInterface(m.ifi); err != nil {
		return fmt.Errorf("set multicast interface %s: %w", m.ifi.Name, err)
	}
	if err := p.SetMulticastTTL(TTL); err != nil {
		return fmt.Errorf("set multicast TTL: %w", err)
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		return fmt.Errorf("set multicast loopback: %w", err)
	}
	return nil
}

// setup6 is setup4 for IPv6.
func (m *Member) setup6() error {
	m.group6 = ipv6.NewPacketConn(m.group)
	if err := m.group6.SetControlMessage(ipv6.FlagDst, true); err != nil {
		return fmt.Errorf("ask for destination addresses: %w", err)
	}
	p := ipv6.NewPacketConn(m.own)
	if err := p.SetMulticastInterface(m.ifi); err != nil {
		return fmt.Errorf("set multicast interface %s: %w", m.ifi.Name, err)
	}
	if err := p.SetMulticastHopLimit(TTL); err != nil {
		return fmt.Errorf("set multicast hop limit: %w", err)
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		return fmt.Errorf("set multicast loopback: %w", err)
	}
	return nil
}

// loopbackInterface returns the loopback interface. It looks for the
// loopback flag, not a name: the interface is "lo" on Linux, "lo0" on macOS.
func loopbackInterface() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
			return &ifi, nil
		}
	}
	return nil, errors.New("no loopback interface is up")
}

// Port returns the group port: the port of the member's group socket, shared
// by every member.
func (m *Member) Port() uint16 { return m.port }

// Addr returns the member's own address, on loopback, which it sends from.
// Other members send their acknowledgements there.
func (m *Member) Addr() netip.AddrPort { return m.addr }

// SendConn returns the member's own socket, which it sends from, so that its
// multicast options can be read back. Do not close it; Close does.
func (m *Member) SendConn() *net.UDPConn { return m.own }

// JoinGroup makes the member a member of group, on the loopback interface:
// from then on, Serve hands over the datagrams sent to group at Port. It
// returns an error wrapping ErrAlreadyJoined if the member has joined group
// already, and an error if group is not a multicast address of the member's
// network (an IPv6 group for a "udp4" member, say); then the member is not a
// member of group. An IPv4-mapped group (::ffff:239.1.2.3) is the IPv4 group.
func (m *Member) JoinGroup(group netip.Addr) error {
	group = group.Unmap()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.joined[group] {
		return fmt.Errorf("join %s: %w", group, ErrAlreadyJoined)
	}
	// The kernel joins on the interface named; without one it would pick the
	// interface of the route to group, a real network here.
	if err := m.groupConn().JoinGroup(m.ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		return fmt.Errorf("join %s on %s: %w", group, m.ifi.Name, err)
	}
	m.joined[group] = true
	return nil
}

// LeaveGroup ends the member's membership of group: Serve hands over nothing
// more sent to it. It returns an error wrapping ErrNotJoined if the member is
// not a member of group.
func (m *Member) LeaveGroup(group netip.Addr) error {
	group = group.Unmap()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.joined[group] {
		return fmt.Errorf("leave %s: %w", group, ErrNotJoined)
	}
	if err := m.groupConn().LeaveGroup(m.ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		return fmt.Errorf("leave %s on %s: %w", group, m.ifi.Name, err)
	}
	delete(m.joined, group)
	return nil
}

// groupConn returns the group socket as the ipv4 or ipv6 package sees it.
func (m *Member) groupConn() interface {
	JoinGroup(ifi *net.Interface, group net.Addr) error
	LeaveGroup(ifi *net.Interface, group net.Addr) error
} {
	if m.group4 != nil {
		return m.group4
	}
	return m.group6
}

// isJoined reports whether the member is a member of group.
func (m *Member) isJoined(group netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.joined[group]
}

// Send sends data from the member's own address to to: a group and the group
// port (the member need not have joined the group), or one member's Addr. To
// ask the members of a group to answer, send Notify to the group.
func (m *Member) Send(to netip.AddrPort, data []byte) error {
	if _, err := m.own.WriteToUDPAddrPort(data, to); err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	return nil
}

// Serve receives on both of the member's sockets until ctx is done, then
// returns ctx.Err(). It returns early only if reading fails for another
// reason, such as the member being closed, and then returns that error.
//
// Serve calls handle for each datagram it receives, one at a time, with the
// sender's address, the address it was sent to (a group and the group port,
// or the member's own address) and its bytes, which handle must not keep. It
// leaves out the member's own datagrams, which loopback brings back, and
// datagrams sent to groups the member has not joined. It answers a Notify
// sent to a group with an Acknowledge sent from the member's own address to
// the sender's. A nil handle is allowed: Serve still answers. Serve returns
// only after the last call of handle has returned, so handle never runs after
// Serve has returned.
func (m *Member) Serve(ctx context.Context, handle func(from, to netip.AddrPort, data []byte)) error {
	// A blocked read does not watch ctx; a deadline in the past wakes it.
	m.group.SetReadDeadline(time.Time{})
	m.own.SetReadDeadline(time.Time{})
	wake := func() {
		m.group.SetReadDeadline(time.Now())
		m.own.SetReadDeadline(time.Now())
	}
	stop := context.AfterFunc(ctx, wake)
	defer stop()

	// Two goroutines read, one per socket; the mutex lets handle run for
	// one datagram at a time.
	var mu sync.Mutex
	deliver := func(from, to netip.AddrPort, data []byte) {
		if handle == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		handle(from, to, data)
	}
	errc := make(chan error, 2)
	go func() { errc <- m.readGroup(deliver) }()
	go func() { errc <- m.readOwn(deliver) }()

	// When one reader stops, stop the other and wait for it, so that no
	// goroutine outlives Serve.
	err := <-errc
	wake()
	<-errc
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readGroup reads the group socket until reading fails.
func (m *Member) readGroup(deliver func(from, to netip.AddrPort, data []byte)) error {
	buf := make([]byte, 65535) // larger than any UDP payload: nothing is cut short
	for {
		n, dst, from, err := m.readFromGroup(buf)
		if err != nil {
			return err
		}
		if from == m.addr {
			continue // our own datagram, brought back by loopback
		}
		if !m.isJoined(dst) {
			continue // a group another socket on this host joined
		}
		data := buf[:n]
		// Compare bytes with bytes: string(data) == Notify does, and the
		// conversion does not even allocate.
		if string(data) == Notify {
			// A failed answer concerns this one Notify only.
			_, _ = m.own.WriteToUDPAddrPort([]byte(Acknowledge), from)
		}
		deliver(from, netip.AddrPortFrom(dst, m.port), data)
	}
}

// readFromGroup reads one datagram from the group socket with its
// destination address.
func (m *Member) readFromGroup(buf []byte) (n int, dst netip.Addr, from netip.AddrPort, err error) {
	var src net.Addr
	if m.group4 != nil {
		var cm *ipv4.ControlMessage
		n, cm, src, err = m.group4.ReadFrom(buf)
		if cm != nil {
			dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	} else {
		var cm *ipv6.ControlMessage
		n, cm, src, err = m.group6.ReadFrom(buf)
		if cm != nil {
			dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	}
	if err != nil {
		return 0, netip.Addr{}, netip.AddrPort{}, err
	}
	if ua, ok := src.(*net.UDPAddr); ok {
		// A 16-byte IPv4 address would otherwise read as ::ffff:127.0.0.1
		// and never equal 127.0.0.1.
		from = netip.AddrPortFrom(ua.AddrPort().Addr().Unmap(), ua.AddrPort().Port())
	}
	return n, dst.Unmap(), from, nil
}

// readOwn reads the member's own socket until reading fails.
func (m *Member) readOwn(deliver func(from, to netip.AddrPort, data []byte)) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := m.own.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		deliver(from, m.addr, buf[:n])
	}
}

// Close closes both sockets, which frees their ports and ends every
// membership, and makes a running Serve return the read's error (it wraps
// net.ErrClosed). A second Close returns an error, and so do JoinGroup,
// LeaveGroup, Send and Serve called after Close.
func (m *Member) Close() error {
	return errors.Join(m.group.Close(), m.own.Close())
}
