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
	"net"
	"net/netip"
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
	// Add the fields you need: see docs/06-multicast.md, step 2.
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
	return nil, errors.New("Listen is not written yet: see docs/06-multicast.md, step 2")
}

// Port returns the group port: the port of the member's group socket, shared
// by every member.
func (m *Member) Port() uint16 {
	// Port is not written yet: see docs/06-multicast.md, step 2.
	return 0
}

// Addr returns the member's own address, on loopback, which it sends from.
// Other members send their acknowledgements there.
func (m *Member) Addr() netip.AddrPort {
	// Addr is not written yet: see docs/06-multicast.md, step 2.
	return netip.AddrPort{}
}

// SendConn returns the member's own socket, which it sends from, so that its
// multicast options can be read back. Do not close it; Close does.
func (m *Member) SendConn() *net.UDPConn {
	// SendConn is not written yet: see docs/06-multicast.md, step 2.
	return nil
}

// JoinGroup makes the member a member of group, on the loopback interface:
// from then on, Serve hands over the datagrams sent to group at Port. It
// returns an error wrapping ErrAlreadyJoined if the member has joined group
// already, and an error if group is not a multicast address of the member's
// network (an IPv6 group for a "udp4" member, say); then the member is not a
// member of group. An IPv4-mapped group (::ffff:239.1.2.3) is the IPv4 group.
func (m *Member) JoinGroup(group netip.Addr) error {
	return errors.New("JoinGroup is not written yet: see docs/06-multicast.md, step 3")
}

// LeaveGroup ends the member's membership of group: Serve hands over nothing
// more sent to it. It returns an error wrapping ErrNotJoined if the member is
// not a member of group.
func (m *Member) LeaveGroup(group netip.Addr) error {
	return errors.New("LeaveGroup is not written yet: see docs/06-multicast.md, step 3")
}

// Send sends data from the member's own address to to: a group and the group
// port (the member need not have joined the group), or one member's Addr. To
// ask the members of a group to answer, send Notify to the group.
func (m *Member) Send(to netip.AddrPort, data []byte) error {
	return errors.New("Send is not written yet: see docs/06-multicast.md, step 4")
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
	return errors.New("Serve is not written yet: see docs/06-multicast.md, step 5")
}

// Close closes both sockets, which frees their ports and ends every
// membership, and makes a running Serve return the read's error (it wraps
// net.ErrClosed). A second Close returns an error, and so do JoinGroup,
// LeaveGroup, Send and Serve called after Close.
func (m *Member) Close() error {
	return errors.New("Close is not written yet: see docs/06-multicast.md, step 2")
}
