package lesson06_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"udpbook/harness"
	"udpbook/harness/lesson06"
	stub "udpbook/lessons/06-multicast"
	solution "udpbook/solutions/06-multicast"
)

var reference = lesson06.Impl{
	Listen:           lesson06.Adapt(solution.Listen),
	ErrAlreadyJoined: solution.ErrAlreadyJoined,
	ErrNotJoined:     solution.ErrNotJoined,
}

// promises is everything lesson 06 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "listen-shares", Source: "Listen", Checks: []string{"listen"},
		Text: "the group socket is bound to port on the wildcard address, shared with any other socket on that port that allows sharing (SO_REUSEADDR, SO_REUSEPORT)"},
	{ID: "port", Source: "Member.Port", Checks: []string{"listen"},
		Text: "a port of 0 lets the kernel choose one; Port returns the port of the member's group socket"},
	{ID: "own-addr", Source: "Member.Addr", Checks: []string{"listen"},
		Text: "the member's own socket is bound to the loopback address with a port of its own; Addr returns its address"},
	{ID: "send-conn", Source: "Member.SendConn", Checks: []string{"listen"},
		Text: "SendConn returns the member's own socket, bound to Addr, which it sends from"},
	{ID: "send-from-own", Source: "Member.Send", Checks: []string{"no-self-ack"},
		Text: "Send sends data from the member's own address, to a group or to one member"},
	{ID: "loopback-only", Source: "Listen", Checks: []string{"loopback-only"},
		Text: "everything the member sends goes out on the loopback interface with a TTL of at most 1, with multicast loopback on"},
	{ID: "join-hears", Source: "Member.JoinGroup", Checks: []string{"both-receive"},
		Text: "after JoinGroup, Serve hands over each datagram sent to the group at Port, once"},
	{ID: "join-twice", Source: "Member.JoinGroup", Checks: []string{"join-errors"},
		Text: "joining a group joined already returns an error wrapping ErrAlreadyJoined"},
	{ID: "join-not-multicast", Source: "Member.JoinGroup", Checks: []string{"join-errors", "ipv6"},
		Text: "JoinGroup returns an error for an address that is not a multicast address of the member's network (127.0.0.1, an IPv6 group on a udp4 member, an IPv4 group on a udp6 member), and the member is not a member of it"},
	{ID: "join-mapped", Source: "Member.JoinGroup", Checks: []string{"join-errors"},
		Text: "an IPv4-mapped group (::ffff:239.1.2.3) is the IPv4 group: joining it hands over the group's datagrams, sent to the IPv4 group"},
	{ID: "leave", Source: "Member.LeaveGroup", Checks: []string{"leave"},
		Text: "after LeaveGroup, Serve hands over nothing more sent to that group, the member's other groups and the other members are unaffected, and the kernel drops the membership"},
	{ID: "leave-not-joined", Source: "Member.LeaveGroup", Checks: []string{"join-errors"},
		Text: "leaving a group the member is not a member of returns an error wrapping ErrNotJoined"},
	{ID: "handover-exact", Source: "Member.Serve", Checks: []string{"both-receive"},
		Text: "handle gets the sender's address, the address the datagram was sent to, and its bytes exactly: an empty datagram, spaces and newlines are handed over as they came"},
	{ID: "own-groups-only", Source: "Member.Serve", Checks: []string{"two-groups"},
		Text: "Serve leaves out datagrams sent to groups the member has not joined (the Linux receive-all pitfall)"},
	{ID: "drop-own", Source: "Member.Serve", Checks: []string{"no-self-ack"},
		Text: "Serve leaves out the member's own datagrams, which loopback brings back, and does not answer its own Notify"},
	{ID: "acknowledge", Source: "Member.Serve", Checks: []string{"acknowledge", "ipv6"},
		Text: "a datagram that is exactly Notify, sent to a group, gets one Acknowledge, sent from the member's own address to the sender alone"},
	{ID: "nil-handle", Source: "Member.Serve", Checks: []string{"acknowledge"},
		Text: "a nil handle is allowed: Serve still runs and answers"},
	{ID: "one-at-a-time", Source: "Member.Serve", Checks: []string{"handler"},
		Text: "Serve calls handle for one datagram at a time"},
	{ID: "handle-before-return", Source: "Member.Serve", Checks: []string{"handler"},
		Text: "Serve returns only after the last call of handle has returned: handle never runs after Serve has returned"},
	{ID: "stop-on-ctx", Source: "Member.Serve", Checks: []string{"stop"},
		Text: "Serve returns ctx.Err() soon after ctx is done, however long its reads would block"},
	{ID: "return-read-error", Source: "Member.Serve", Checks: []string{"close"},
		Text: "Serve returns early only if reading fails for another reason, such as the member being closed, and returns that error"},
	{ID: "no-leaks", Source: "Member.Serve", Checks: []string{"stop", "close"},
		Text: "Serve leaves no goroutine running when it returns, however it returns"},
	{ID: "close-frees", Source: "Member.Close", Checks: []string{"close"},
		Text: "Close closes both sockets, which frees their ports and ends every membership, and makes a running Serve return"},
	{ID: "close-after", Source: "Member.Close", Checks: []string{"close"},
		Text: "after Close, a second Close and every other method return an error, at once"},
	{ID: "ipv6", Source: "Listen", Checks: []string{"ipv6"},
		Text: `Listen("udp6", port) makes a member on [::1] that does over IPv6 what a udp4 member does`},
	{ID: "bytes-with-bytes", Source: "chapter", Checks: []string{"acknowledge"},
		Text: "compare the bytes received, buf[:n], with Notify: the tutorial's bytes-with-str comparison, or the whole buffer, is never true"},
	{ID: "own-by-addr-and-port", Source: "chapter", Checks: []string{"no-self-ack"},
		Text: "a member's own datagram is one from its Addr(), address and port: the other members are on the loopback address too"},
	{ID: "one-packetconn", Source: "chapter", Checks: []string{"both-receive"},
		Text: "keep one ipv4.PacketConn for the group socket: a fresh one returns no control message, so every datagram looks like another group's"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"both-receive"},
		Text: "a panic in Serve is reported with where it happened"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it.
//
// Safety: every mutant socket that could send to a group has the loopback
// interface as its multicast interface, so no mutant can put a datagram on
// a real network, whatever it gets wrong. (That is why there is no mutant
// that joins or sends with no interface: on this host it would use eth0.)
var broken = []harness.Broken[lesson06.Impl]{
	{Name: "group socket without SO_REUSEADDR/SO_REUSEPORT", Msg: `address already in use`, Fails: "listen", Promise: "listen-shares", Impl: mut(mutant{noReuse: true})},
	{Name: "group socket sets SO_REUSEPORT only, as in a TCP load-balancing recipe", Msg: `only SO_REUSEADDR to the group port`, Fails: "listen", Promise: "listen-shares", Impl: mut(mutant{reusePortOnly: true})},
	{Name: "group socket sets SO_REUSEADDR only, enough on Linux", Msg: `only SO_REUSEPORT to the group port`, Fails: "listen", Promise: "listen-shares", Impl: mut(mutant{reuseAddrOnly: true})},
	{Name: "one socket: Addr() is the group socket's address", Msg: `want 127.0.0.1 with a port`, Fails: "listen", Promise: "own-addr", Impl: mut(mutant{addrIsGroup: true})},
	{Name: "Port() returns the port asked for, 0", Msg: `Port() is 0`, Fails: "listen", Promise: "port", Impl: mut(mutant{portAsked: true})},
	{Name: "SendConn() returns the group socket", Msg: `SendConn must be the socket Addr belongs to`, Fails: "listen", Promise: "send-conn", Impl: mut(mutant{sendConnGroup: true})},
	{Name: "group socket bound to 127.0.0.1 instead of the wildcard address", Msg: `did not hand over`, Fails: "both-receive", Promise: "join-hears", Impl: mut(mutant{groupOnLoopback: true})},
	{Name: "hands every datagram over twice", Msg: `a second time`, Fails: "both-receive", Promise: "join-hears", Impl: mut(mutant{handTwice: true})},
	{Name: "hands over the group as the sender", Msg: `want "hello, members" from harness`, Fails: "both-receive", Promise: "handover-exact", Impl: mut(mutant{fromIsGroup: true})},
	{Name: "hands over the whole buffer, not buf[:n]", Msg: `want "hello, members"`, Fails: "both-receive", Promise: "handover-exact", Impl: mut(mutant{wholeBuffer: true})},
	{Name: "skips empty datagrams", Msg: `did not hand over "" from harness`, Fails: "both-receive", Promise: "handover-exact", Impl: mut(mutant{skipEmpty: true})},
	{Name: "trims spaces and newlines before handing over", Msg: `want "  hello \n" from harness`, Fails: "both-receive", Promise: "handover-exact", Impl: mut(mutant{trim: true})},
	{Name: "reads the group socket through a fresh ipv4.PacketConn", Msg: `did not hand over`, Fails: "both-receive", Promise: "one-packetconn", Impl: mut(mutant{freshPacketConn: true})},
	{Name: "compares the whole buffer with Notify: never acknowledges", Msg: `did not acknowledge`, Fails: "acknowledge", Promise: "bytes-with-bytes", Impl: mut(mutant{compareWholeBuffer: true})},
	{Name: "acknowledges anything that starts with Notify", Msg: `sent 3 acknowledgements`, Fails: "acknowledge", Promise: "acknowledge", Impl: mut(mutant{prefixNotify: true})},
	{Name: "trims the datagram before comparing it with Notify", Msg: `sent 2 acknowledgements`, Fails: "acknowledge", Promise: "acknowledge", Impl: mut(mutant{trimNotify: true})},
	{Name: "acknowledges to the group", Msg: `not to the group`, Fails: "acknowledge", Promise: "acknowledge", Impl: mut(mutant{ackToGroup: true})},
	{Name: "acknowledges from the group socket", Msg: `the group port`, Fails: "acknowledge", Promise: "acknowledge", Impl: mut(mutant{ackFromGroupSocket: true})},
	{Name: "acknowledges twice", Msg: `sent 2 acknowledgements`, Fails: "acknowledge", Promise: "acknowledge", Impl: mut(mutant{ackTwice: true})},
	{Name: "Serve refuses a nil handle", Msg: `Serve returned while it should still be running: handle is nil`, Fails: "acknowledge", Promise: "nil-handle", Impl: mut(mutant{nilHandleErr: true})},
	{Name: "acknowledges only when there is a handle", Msg: `member C (nil handle) did not acknowledge`, Fails: "acknowledge", Promise: "nil-handle", Impl: mut(mutant{ackInDeliver: true})},
	{Name: "acknowledges its own Notify", Msg: `acknowledged its own`, Fails: "no-self-ack", Promise: "drop-own", Impl: mut(mutant{keepOwn: true, noHandOwn: true})},
	{Name: "hands over its own datagrams", Msg: `handed over its own datagram`, Fails: "no-self-ack", Promise: "drop-own", Impl: mut(mutant{keepOwn: true, noAckOwn: true})},
	{Name: "drops every datagram from its own IP address, whatever the port", Msg: `did not hand over "Notify" from member A`, Fails: "no-self-ack", Promise: "own-by-addr-and-port", Impl: mut(mutant{ownByIP: true})},
	{Name: "sends from the group socket", Msg: `Send must send from SendConn()`, Fails: "no-self-ack", Promise: "send-from-own", Impl: mut(mutant{sendFromGroup: true})},
	{Name: "LeaveGroup does nothing", Msg: `after it left that group`, Fails: "leave", Promise: "leave", Impl: mut(mutant{leaveNoop: true})},
	{Name: "LeaveGroup tells the kernel but not the filter", Msg: `after it left that group`, Fails: "leave", Promise: "leave", Impl: mut(mutant{leaveKernelOnly: true})},
	{Name: "LeaveGroup forgets the group but does not tell the kernel", Msg: `the kernel still lists it`, Fails: "leave", Promise: "leave", Impl: mut(mutant{leaveFilterOnly: true}), Needs: lesson06.Memberships},
	{Name: "LeaveGroup leaves every group", Msg: `did not hand over "marker"`, Fails: "leave", Promise: "leave", Impl: mut(mutant{leaveAll: true})},
	{Name: "no destination filter: hears every group on the port", Msg: `for B`, Fails: "two-groups", Promise: "own-groups-only", Impl: mut(mutant{noDstFilter: true})},
	{Name: "filters by the first group joined only", Msg: `member AB`, Fails: "two-groups", Promise: "own-groups-only", Impl: mut(mutant{firstGroupOnly: true})},
	{Name: "joining twice returns the kernel's error", Msg: `does not wrap ErrAlreadyJoined`, Fails: "join-errors", Promise: "join-twice", Impl: mut(mutant{noJoinedCheck: true})},
	{Name: "joining twice returns nil", Msg: `returned nil; want an error wrapping ErrAlreadyJoined`, Fails: "join-errors", Promise: "join-twice", Impl: mut(mutant{joinTwiceNil: true})},
	{Name: "leaving a group not joined returns nil", Msg: `want an error wrapping ErrNotJoined`, Fails: "join-errors", Promise: "leave-not-joined", Impl: mut(mutant{leaveNotJoinedNil: true})},
	{Name: "JoinGroup ignores the kernel's error", Msg: `is not a multicast address`, Fails: "join-errors", Promise: "join-not-multicast", Impl: mut(mutant{ignoreJoinErr: true})},
	{Name: "JoinGroup records the group before the kernel refuses it", Msg: `after JoinGroup(127.0.0.1) failed`, Fails: "join-errors", Promise: "join-not-multicast", Impl: mut(mutant{recordFirst: true})},
	{Name: "a udp6 member's JoinGroup ignores the kernel's error", Msg: `is not a multicast address of a udp6 member's network`, Fails: "ipv6", Promise: "join-not-multicast", Impl: mut(mutant{ignoreJoinErr6: true}), Needs: harness.IPv6},
	{Name: "keeps the joined groups as given, without Unmap", Msg: `did not hand over "to the mapped group"`, Fails: "join-errors", Promise: "join-mapped", Impl: mut(mutant{noUnmapJoin: true})},
	{Name: "a udp4 member refuses a group that is not Is4(), mapped or not", Msg: `JoinGroup(::ffff:`, Fails: "join-errors", Promise: "join-mapped", Impl: mut(mutant{rejectMapped: true})},
	{Name: "TTL 2", Msg: `TTL of 2`, Fails: "loopback-only", Promise: "loopback-only", Impl: mut(mutant{ttl: 2})},
	{Name: "TTL 32", Msg: `TTL of 32`, Fails: "loopback-only", Promise: "loopback-only", Impl: mut(mutant{ttl: 32})},
	{Name: "multicast loopback off", Msg: `multicast loopback off`, Fails: "loopback-only", Promise: "loopback-only", Impl: mut(mutant{loopOff: true})},
	{Name: "own socket bound to the wildcard address", Msg: `is bound to 0.0.0.0`, Fails: "loopback-only", Promise: "loopback-only", Impl: mut(mutant{ownOnWildcard: true})},
	{Name: "ignores ctx", Msg: `did not return within `, Fails: "stop", Promise: "stop-on-ctx", Impl: mut(mutant{ignoreCtx: true})},
	{Name: "wakes only the group socket's reader", Msg: `did not return within `, Fails: "stop", Promise: "stop-on-ctx", Impl: mut(mutant{wakeGroupOnly: true})},
	{Name: "returns without waiting for the other reader", Msg: `left 1 goroutine(s) running`, Fails: "stop", Promise: "no-leaks", Impl: mut(mutant{wakeGroupOnly: true, noWait: true})},
	{Name: "returns nil instead of ctx.Err()", Msg: `Serve returned <nil>`, Fails: "stop", Promise: "stop-on-ctx", Impl: mut(mutant{returnNil: true})},
	{Name: "Close closes only the group socket", Msg: `could not bind member A's address`, Fails: "close", Promise: "close-frees", Impl: mut(mutant{closeGroupOnly: true})},
	{Name: "Close closes only the member's own socket", Msg: `could not bind member A's group port`, Fails: "close", Promise: "close-frees", Impl: mut(mutant{closeOwnOnly: true})},
	{Name: "Close closes a done channel: a second Close panics", Msg: `second Close() panicked`, Fails: "close", Promise: "close-after", Impl: mut(mutant{closeChan: true})},
	{Name: "Close runs once (sync.Once): a second Close returns nil", Msg: `second Close() returned nil`, Fails: "close", Promise: "close-after", Impl: mut(mutant{closeOnce: true})},
	{Name: "Serve returns nil when the member is closed", Msg: `want the read's error`, Fails: "close", Promise: "return-read-error", Impl: mut(mutant{nilOnClose: true})},
	{Name: "Serve's readers read again after any error until ctx is done", Msg: `did not return within `, Fails: "close", Promise: "return-read-error", Impl: mut(mutant{loopOnError: true})},
	{Name: "watches ctx with a goroutine that only ctx ends", Msg: `left 1 goroutine(s) running`, Fails: "close", Promise: "no-leaks", Impl: mut(mutant{ctxWatcher: true})},
	{Name: "calls handle without a mutex", Msg: `while handle was still running`, Fails: "handler", Promise: "one-at-a-time", Impl: mut(mutant{noLock: true})},
	{Name: "calls handle on a new goroutine for each datagram", Msg: `while handle was still running`, Fails: "handler", Promise: "one-at-a-time", Impl: mut(mutant{goPerDatagram: true})},
	{Name: "each reader has a mutex of its own", Msg: `while handle was still running`, Fails: "handler", Promise: "one-at-a-time", Impl: mut(mutant{lockPerReader: true})},
	{Name: "returns as soon as one reader has stopped", Msg: `returned (context canceled) while handle was still running for "block"`, Fails: "handler", Promise: "handle-before-return", Impl: mut(mutant{noWait: true})},
	{Name: "returns when ctx is done, without waiting for its readers", Msg: `returned (context canceled) while handle was still running for "block"`, Fails: "handler", Promise: "handle-before-return", Impl: mut(mutant{returnOnCtx: true})},
	{Name: "always IPv4", Msg: `want [::1]`, Fails: "ipv6", Promise: "ipv6", Impl: mut(mutant{alwaysIPv4: true}), Needs: harness.IPv6},
	{Name: "Serve panics", Msg: `Serve panicked: boom`, Fails: "both-receive", Promise: "no-panic", Impl: mut(mutant{panics: true})},
}

func mut(m mutant) lesson06.Impl {
	return lesson06.Impl{
		Listen:           lesson06.Adapt(m.Listen),
		ErrAlreadyJoined: solution.ErrAlreadyJoined,
		ErrNotJoined:     solution.ErrNotJoined,
	}
}

// TestSelf is the self-test of lesson 06's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson06.Impl]{
	Suite:     &lesson06.Suite,
	Reference: reference,
	Stub:      lesson06.Impl{Listen: lesson06.Adapt(stub.Listen), ErrAlreadyJoined: stub.ErrAlreadyJoined, ErrNotJoined: stub.ErrNotJoined},
	Lesson:    "../../lessons/06-multicast",
	Promises:  promises,
	Broken:    broken,
	Timing:    timingChecks,
	// Checks that count the lesson's goroutines run alone, at 2× only.
	Alone: map[string]bool{"stop": true, "close": true, "handler": true},
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "stop", Stall: 600 * time.Millisecond},
	{ID: "close", Stall: 600 * time.Millisecond},
	{ID: "handler", Stall: 600 * time.Millisecond},
}

// ---- the mutant ----

// mutant is a Member implementation with one mistake switched on. It is
// the reference design written again, plainly, so that each switch is a
// line or two.
type mutant struct {
	noReuse, reusePortOnly, reuseAddrOnly, addrIsGroup, portAsked    bool // listen
	sendConnGroup                                                    bool
	groupOnLoopback, handTwice, fromIsGroup, wholeBuffer, panics     bool // both-receive
	skipEmpty, trim, freshPacketConn                                 bool
	compareWholeBuffer, prefixNotify, ackToGroup, ackFromGroupSocket bool // acknowledge
	ackTwice, trimNotify, nilHandleErr, ackInDeliver                 bool
	keepOwn, noHandOwn, noAckOwn, ownByIP, sendFromGroup             bool // no-self-ack
	leaveNoop, leaveKernelOnly, leaveFilterOnly, leaveAll            bool // leave
	noDstFilter, firstGroupOnly                                      bool // two-groups
	noJoinedCheck, joinTwiceNil, leaveNotJoinedNil, ignoreJoinErr    bool // join-errors
	recordFirst, noUnmapJoin, rejectMapped                           bool
	ttl                                                              int // loopback-only; 0 means 1
	loopOff, ownOnWildcard                                           bool
	ignoreCtx, wakeGroupOnly, noWait, returnNil                      bool // stop
	closeGroupOnly, closeOwnOnly, closeChan, closeOnce               bool // close
	nilOnClose, loopOnError, ctxWatcher                              bool
	noLock, goPerDatagram, lockPerReader, returnOnCtx                bool // handler
	alwaysIPv4, ignoreJoinErr6                                       bool // ipv6
}

type mMember struct {
	mu      mutant
	network string
	ifi     *net.Interface
	group   *net.UDPConn
	own     *net.UDPConn
	port    uint16
	asked   uint16
	addr    netip.AddrPort
	lock    sync.Mutex
	joined  map[netip.Addr]bool
	p4      *ipv4.PacketConn // the group socket, keeping its control-message flags
	p6      *ipv6.PacketConn
	first   netip.Addr
	done    chan struct{} // closeChan: closed by Close
	once    sync.Once     // closeOnce
}

// setSend gives conn the loopback interface, a TTL and multicast loopback.
func setSend(conn *net.UDPConn, network string, ifi *net.Interface, ttl int, loop bool) error {
	if network == "udp6" {
		p := ipv6.NewPacketConn(conn)
		return errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastHopLimit(ttl), p.SetMulticastLoopback(loop))
	}
	p := ipv4.NewPacketConn(conn)
	return errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastTTL(ttl), p.SetMulticastLoopback(loop))
}

func (mu mutant) Listen(network string, port uint16) (*mMember, error) {
	if mu.alwaysIPv4 {
		network = "udp4"
	}
	wildcard, loopback := "0.0.0.0", "127.0.0.1"
	if network == "udp6" {
		wildcard, loopback = "::", "::1"
	}
	ifi, err := lesson06.LoopbackInterface()
	if err != nil {
		return nil, err
	}
	gaddr := wildcard
	if mu.groupOnLoopback {
		gaddr = loopback
	}
	lc := net.ListenConfig{Control: reuse(!mu.reusePortOnly, !mu.reuseAddrOnly)}
	if mu.noReuse {
		lc.Control = nil
	}
	pc, err := lc.ListenPacket(context.Background(), network, net.JoinHostPort(gaddr, fmt.Sprint(port)))
	if err != nil {
		return nil, err
	}
	oaddr := loopback
	if mu.ownOnWildcard {
		oaddr = wildcard
	}
	own, err := net.ListenPacket(network, net.JoinHostPort(oaddr, "0"))
	if err != nil {
		pc.Close()
		return nil, err
	}
	m := &mMember{mu: mu, network: network, ifi: ifi, group: pc.(*net.UDPConn), own: own.(*net.UDPConn),
		asked: port, joined: map[netip.Addr]bool{}, done: make(chan struct{})}
	m.port = harness.AddrPort(m.group.LocalAddr()).Port()
	m.addr = harness.AddrPort(m.own.LocalAddr())
	ttl := 1
	if mu.ttl != 0 {
		ttl = mu.ttl
	}
	// Both sockets send on the loopback interface, so that no mutant can
	// send anywhere else.
	err = errors.Join(
		setSend(m.own, network, ifi, ttl, !mu.loopOff),
		setSend(m.group, network, ifi, 1, true))
	if network == "udp6" {
		m.p6 = ipv6.NewPacketConn(m.group)
		err = errors.Join(err, m.p6.SetControlMessage(ipv6.FlagDst, true))
	} else {
		m.p4 = ipv4.NewPacketConn(m.group)
		err = errors.Join(err, m.p4.SetControlMessage(ipv4.FlagDst, true))
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *mMember) Port() uint16 {
	if m.mu.portAsked {
		return m.asked
	}
	return m.port
}

func (m *mMember) Addr() netip.AddrPort {
	if m.mu.addrIsGroup {
		return harness.AddrPort(m.group.LocalAddr())
	}
	return m.addr
}

func (m *mMember) SendConn() *net.UDPConn {
	if m.mu.sendConnGroup {
		return m.group
	}
	return m.own
}

func (m *mMember) kernel(join bool, group netip.Addr) error {
	ga := &net.UDPAddr{IP: group.AsSlice()}
	if m.network == "udp6" {
		p := ipv6.NewPacketConn(m.group)
		if join {
			return p.JoinGroup(m.ifi, ga)
		}
		return p.LeaveGroup(m.ifi, ga)
	}
	p := ipv4.NewPacketConn(m.group)
	if join {
		return p.JoinGroup(m.ifi, ga)
	}
	return p.LeaveGroup(m.ifi, ga)
}

func (m *mMember) JoinGroup(group netip.Addr) error {
	if m.mu.rejectMapped && m.network == "udp4" && !group.Is4() {
		return fmt.Errorf("join %s: not an IPv4 group", group)
	}
	if !m.mu.noUnmapJoin {
		group = group.Unmap()
	}
	m.lock.Lock()
	defer m.lock.Unlock()
	if m.joined[group] && !m.mu.noJoinedCheck {
		if m.mu.joinTwiceNil {
			return nil
		}
		return fmt.Errorf("join %s: %w", group, solution.ErrAlreadyJoined)
	}
	if m.mu.recordFirst {
		m.joined[group] = true
	}
	ignore := m.mu.ignoreJoinErr || m.mu.ignoreJoinErr6 && m.network == "udp6"
	if err := m.kernel(true, group); err != nil && !ignore {
		return fmt.Errorf("join %s: %w", group, err)
	}
	if !m.first.IsValid() {
		m.first = group
	}
	m.joined[group] = true
	return nil
}

func (m *mMember) LeaveGroup(group netip.Addr) error {
	if !m.mu.noUnmapJoin {
		group = group.Unmap()
	}
	m.lock.Lock()
	defer m.lock.Unlock()
	if !m.joined[group] {
		if m.mu.leaveNotJoinedNil {
			return nil
		}
		return fmt.Errorf("leave %s: %w", group, solution.ErrNotJoined)
	}
	switch {
	case m.mu.leaveNoop:
		return nil
	case m.mu.leaveKernelOnly:
		return m.kernel(false, group)
	case m.mu.leaveFilterOnly:
	case m.mu.leaveAll:
		for g := range m.joined {
			m.kernel(false, g)
			delete(m.joined, g)
		}
		return nil
	default:
		if err := m.kernel(false, group); err != nil {
			return err
		}
	}
	delete(m.joined, group)
	return nil
}

func (m *mMember) isJoined(dst netip.Addr) bool {
	m.lock.Lock()
	defer m.lock.Unlock()
	if m.mu.noDstFilter {
		return true
	}
	if m.mu.firstGroupOnly {
		return dst == m.first && m.joined[dst]
	}
	return m.joined[dst]
}

func (m *mMember) Send(to netip.AddrPort, data []byte) error {
	conn := m.own
	if m.mu.sendFromGroup {
		conn = m.group
	}
	_, err := conn.WriteToUDPAddrPort(data, to)
	return err
}

func (m *mMember) Serve(ctx context.Context, handle func(from, to netip.AddrPort, data []byte)) error {
	if m.mu.panics {
		panic("boom")
	}
	if handle == nil && m.mu.nilHandleErr {
		return errors.New("handle is nil")
	}
	m.group.SetReadDeadline(time.Time{})
	m.own.SetReadDeadline(time.Time{})
	wake := func() {
		m.group.SetReadDeadline(time.Now())
		if !m.mu.wakeGroupOnly {
			m.own.SetReadDeadline(time.Now())
		}
	}
	switch {
	case m.mu.ignoreCtx:
	case m.mu.ctxWatcher:
		go func() {
			<-ctx.Done()
			wake()
		}()
	default:
		stop := context.AfterFunc(ctx, wake)
		defer stop()
	}
	var lock sync.Mutex
	newDeliver := func() func(from, to netip.AddrPort, data []byte, notify func()) {
		l := &lock
		if m.mu.lockPerReader {
			l = new(sync.Mutex)
		}
		return func(from, to netip.AddrPort, data []byte, notify func()) {
			if handle == nil {
				if !m.mu.ackInDeliver {
					notify()
				}
				return
			}
			if m.mu.ackInDeliver {
				notify()
			}
			if m.mu.goPerDatagram {
				go handle(from, to, bytes.Clone(data))
				return
			}
			if !m.mu.noLock {
				l.Lock()
				defer l.Unlock()
			}
			handle(from, to, data)
			if m.mu.handTwice {
				handle(from, to, data)
			}
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- m.readGroup(ctx, newDeliver()) }()
	go func() { errc <- m.readOwn(ctx, newDeliver()) }()
	if m.mu.returnOnCtx {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			wake()
			<-errc
			return err
		}
	}
	err := <-errc
	if !m.mu.noWait {
		wake()
		<-errc
	}
	if m.mu.returnNil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if m.mu.nilOnClose && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// readErr says whether a reader stops on err: a mutant with loopOnError
// reads again until ctx is done.
func (m *mMember) readErr(ctx context.Context, err error) bool {
	if m.mu.loopOnError && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
		return false
	}
	return true
}

func (m *mMember) readGroup(ctx context.Context, deliver func(from, to netip.AddrPort, data []byte, notify func())) error {
	buf := make([]byte, 65535)
	for {
		var n int
		var dst netip.Addr
		var src net.Addr
		var err error
		if m.network == "udp6" {
			var cm *ipv6.ControlMessage
			n, cm, src, err = m.p6.ReadFrom(buf)
			if cm != nil {
				dst, _ = netip.AddrFromSlice(cm.Dst)
			}
		} else {
			p := m.p4
			if m.mu.freshPacketConn {
				p = ipv4.NewPacketConn(m.group)
			}
			var cm *ipv4.ControlMessage
			n, cm, src, err = p.ReadFrom(buf)
			if cm != nil {
				dst, _ = netip.AddrFromSlice(cm.Dst)
			}
		}
		if err != nil {
			if m.readErr(ctx, err) {
				return err
			}
			continue
		}
		dst = dst.Unmap()
		from := harness.AddrPort(src)
		own := from == m.addr
		if m.mu.ownByIP {
			own = from.Addr() == m.addr.Addr()
		}
		if own && !m.mu.keepOwn {
			continue
		}
		if !m.isJoined(dst) {
			continue
		}
		if m.mu.skipEmpty && n == 0 {
			continue
		}
		data := buf[:n]
		to := netip.AddrPortFrom(dst, m.port)
		isNotify := string(data) == "Notify"
		switch {
		case m.mu.compareWholeBuffer:
			isNotify = string(buf) == "Notify"
		case m.mu.prefixNotify:
			isNotify = strings.HasPrefix(string(data), "Notify")
		case m.mu.trimNotify:
			isNotify = string(bytes.TrimSpace(data)) == "Notify"
		}
		if own && m.mu.noAckOwn {
			isNotify = false
		}
		notify := func() {
			if !isNotify {
				return
			}
			ackTo, conn := from, m.own
			if m.mu.ackToGroup {
				ackTo = to
			}
			if m.mu.ackFromGroupSocket {
				conn = m.group
			}
			conn.WriteToUDPAddrPort([]byte("Acknowledge"), ackTo)
			if m.mu.ackTwice {
				conn.WriteToUDPAddrPort([]byte("Acknowledge"), ackTo)
			}
		}
		if !m.mu.ackInDeliver {
			notify()
			notify = func() {}
		}
		if own && m.mu.noHandOwn {
			continue
		}
		if m.mu.fromIsGroup {
			from = to
		}
		if m.mu.wholeBuffer {
			data = buf[:n+16]
		}
		if m.mu.trim {
			data = bytes.TrimSpace(data)
		}
		deliver(from, to, data, notify)
	}
}

func (m *mMember) readOwn(ctx context.Context, deliver func(from, to netip.AddrPort, data []byte, notify func())) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := m.own.ReadFromUDPAddrPort(buf)
		if err != nil {
			if m.readErr(ctx, err) {
				return err
			}
			continue
		}
		deliver(harness.Unmap(from), m.addr, buf[:n], func() {})
	}
}

func (m *mMember) Close() error {
	switch {
	case m.mu.closeGroupOnly:
		return m.group.Close()
	case m.mu.closeOwnOnly:
		return m.own.Close()
	case m.mu.closeChan:
		close(m.done)
	case m.mu.closeOnce:
		var err error
		m.once.Do(func() { err = errors.Join(m.group.Close(), m.own.Close()) })
		return err
	}
	return errors.Join(m.group.Close(), m.own.Close())
}
