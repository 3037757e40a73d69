package lesson06_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
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

// broken lists deliberately wrong implementations, each with the check
// that must fail it. Every check has at least one (see
// TestEveryCheckCatchesSomething): a check that cannot fail is a defect.
//
// Safety: every mutant socket that could send to a group has the loopback
// interface as its multicast interface, so no mutant can put a datagram on
// a real network, whatever it gets wrong. (That is why there is no mutant
// that joins or sends with no interface: on this host it would use eth0.)
var broken = []struct {
	name  string // what is wrong with it
	msg   string // a piece of the failure message, proving it failed for that reason
	fails string // the check that must catch it
	impl  lesson06.Impl
	needs string // "linux": the check can catch it only where /proc/net/igmp exists
}{
	{"group socket without SO_REUSEADDR/SO_REUSEPORT", `address already in use`, "listen", mut(mutant{noReuse: true}), ""},
	{"one socket: Addr() is the group socket's address", `want 127.0.0.1 with a port`, "listen", mut(mutant{addrIsGroup: true}), ""},
	{"Port() returns the port asked for, 0", `Port() is 0`, "listen", mut(mutant{portAsked: true}), ""},
	{"group socket bound to 127.0.0.1 instead of the wildcard address", `did not hand over`, "both-receive", mut(mutant{groupOnLoopback: true}), ""},
	{"hands every datagram over twice", `a second time`, "both-receive", mut(mutant{handTwice: true}), ""},
	{"hands over the group as the sender", `want "hello, members" from harness`, "both-receive", mut(mutant{fromIsGroup: true}), ""},
	{"hands over the whole buffer, not buf[:n]", `want "hello, members"`, "both-receive", mut(mutant{wholeBuffer: true}), ""},
	{"compares the whole buffer with Notify: never acknowledges", `did not acknowledge`, "acknowledge", mut(mutant{compareWholeBuffer: true}), ""},
	{"acknowledges anything that starts with Notify", `sent 2 acknowledgements`, "acknowledge", mut(mutant{prefixNotify: true}), ""},
	{"acknowledges to the group", `not to the group`, "acknowledge", mut(mutant{ackToGroup: true}), ""},
	{"acknowledges from the group socket", `the group port`, "acknowledge", mut(mutant{ackFromGroupSocket: true}), ""},
	{"acknowledges twice", `sent 2 acknowledgements`, "acknowledge", mut(mutant{ackTwice: true}), ""},
	{"acknowledges its own Notify", `acknowledged its own`, "no-self-ack", mut(mutant{keepOwn: true, noHandOwn: true}), ""},
	{"hands over its own datagrams", `handed over its own datagram`, "no-self-ack", mut(mutant{keepOwn: true, noAckOwn: true}), ""},
	{"drops every datagram from its own IP address, whatever the port", `did not hand over "Notify" from member A`, "no-self-ack", mut(mutant{ownByIP: true}), ""},
	{"sends from the group socket", `Send must send from SendConn()`, "no-self-ack", mut(mutant{sendFromGroup: true}), ""},
	{"LeaveGroup does nothing", `after it left that group`, "leave", mut(mutant{leaveNoop: true}), ""},
	{"LeaveGroup tells the kernel but not the filter", `after it left that group`, "leave", mut(mutant{leaveKernelOnly: true}), ""},
	{"LeaveGroup forgets the group but does not tell the kernel", `the kernel still lists it`, "leave", mut(mutant{leaveFilterOnly: true}), "linux"},
	{"LeaveGroup leaves every group", `did not hand over "marker"`, "leave", mut(mutant{leaveAll: true}), ""},
	{"no destination filter: hears every group on the port", `for B`, "two-groups", mut(mutant{noDstFilter: true}), ""},
	{"filters by the first group joined only", `member AB`, "two-groups", mut(mutant{firstGroupOnly: true}), ""},
	{"joining twice returns the kernel's error", `does not wrap ErrAlreadyJoined`, "join-errors", mut(mutant{noJoinedCheck: true}), ""},
	{"joining twice returns nil", `returned nil; want an error wrapping ErrAlreadyJoined`, "join-errors", mut(mutant{joinTwiceNil: true}), ""},
	{"leaving a group not joined returns nil", `want an error wrapping ErrNotJoined`, "join-errors", mut(mutant{leaveNotJoinedNil: true}), ""},
	{"JoinGroup ignores the kernel's error", `is not a multicast address`, "join-errors", mut(mutant{ignoreJoinErr: true}), ""},
	{"TTL 2", `TTL of 2`, "loopback-only", mut(mutant{ttl: 2}), ""},
	{"TTL 32", `TTL of 32`, "loopback-only", mut(mutant{ttl: 32}), ""},
	{"multicast loopback off", `multicast loopback off`, "loopback-only", mut(mutant{loopOff: true}), ""},
	{"own socket bound to the wildcard address", `is bound to 0.0.0.0`, "loopback-only", mut(mutant{ownOnWildcard: true}), ""},
	{"ignores ctx", `did not return within `, "stop", mut(mutant{ignoreCtx: true}), ""},
	{"wakes only the group socket's reader", `did not return within `, "stop", mut(mutant{wakeGroupOnly: true}), ""},
	{"returns without waiting for the other reader", `left 1 goroutine(s) running`, "stop", mut(mutant{wakeGroupOnly: true, noWait: true}), ""},
	{"returns nil instead of ctx.Err()", `Serve returned <nil>`, "stop", mut(mutant{returnNil: true}), ""},
	{"always IPv4", `want [::1]`, "ipv6", mut(mutant{alwaysIPv4: true}), ""},
	{"Serve panics", `Serve panicked: boom`, "both-receive", mut(mutant{panics: true}), ""},
}

func mut(m mutant) lesson06.Impl {
	return lesson06.Impl{
		Listen:           lesson06.Adapt(m.Listen),
		ErrAlreadyJoined: solution.ErrAlreadyJoined,
		ErrNotJoined:     solution.ErrNotJoined,
	}
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			if b.needs == "linux" {
				if _, err := os.Stat("/proc/net/igmp"); err != nil {
					t.Skip("this check catches it only where /proc/net/igmp exists")
				}
			}
			network := "udp4"
			if b.fails == "ipv6" {
				network = "udp6"
			}
			res := lesson06.Suite.GradeOne(b.fails, b.impl)
			if res.Status == harness.Skip {
				if ok, reason := lesson06.Supported(network); !ok {
					t.Skip(reason)
				}
			}
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail\n%s", b.fails, res.Status, b.name, res.Message)
			}
			if !strings.Contains(res.Message, b.msg) {
				t.Fatalf("check %q failed, but not for the reason expected: the message lacks %q:\n%s", b.fails, b.msg, res.Message)
			}
			t.Logf("check %q failed it, as it should:\n%s", b.fails, res.Message)
		})
	}
}

func TestEveryCheckCatchesSomething(t *testing.T) {
	caught := map[string]bool{}
	for _, b := range broken {
		caught[b.fails] = true
	}
	for _, ch := range lesson06.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson06.Suite.Grade(reference) {
		switch {
		case res.Status == harness.Skip && res.ID == "ipv6":
			if ok, _ := lesson06.Supported("udp6"); ok {
				t.Errorf("reference solution: check %q skipped although IPv6 multicast works on loopback here:\n%s", res.ID, res.Message)
			}
			t.Logf("check %q skipped: %s", res.ID, res.Message)
		case res.Status != harness.Pass:
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson06.Impl{Listen: lesson06.Adapt(stub.Listen), ErrAlreadyJoined: stub.ErrAlreadyJoined, ErrNotJoined: stub.ErrNotJoined}
	for _, res := range lesson06.Suite.Grade(impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
		if res.Duration > harness.Patience/2 { // a check that waited for a datagram would take Patience
			t.Errorf("stub: check %q took %v; want it to fail at once", res.ID, res.Duration)
		}
	}
}

// ---- the mutant ----

// mutant is a Member implementation with one mistake switched on. It is
// the reference design written again, plainly, so that each switch is a
// line or two.
type mutant struct {
	noReuse, addrIsGroup, portAsked                                  bool // listen
	groupOnLoopback, handTwice, fromIsGroup, wholeBuffer, panics     bool // both-receive
	compareWholeBuffer, prefixNotify, ackToGroup, ackFromGroupSocket bool // acknowledge
	ackTwice                                                         bool
	keepOwn, noHandOwn, noAckOwn, ownByIP, sendFromGroup             bool // no-self-ack
	leaveNoop, leaveKernelOnly, leaveFilterOnly, leaveAll            bool // leave
	noDstFilter, firstGroupOnly                                      bool // two-groups
	noJoinedCheck, joinTwiceNil, leaveNotJoinedNil, ignoreJoinErr    bool // join-errors
	ttl                                                              int  // loopback-only; 0 means 1
	loopOff, ownOnWildcard                                           bool
	ignoreCtx, wakeGroupOnly, noWait, returnNil                      bool // stop
	alwaysIPv4                                                       bool // ipv6
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
}

func loopbackIfi() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
			return &ifi, nil
		}
	}
	return nil, errors.New("no loopback interface")
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
	ifi, err := loopbackIfi()
	if err != nil {
		return nil, err
	}
	gaddr := wildcard
	if mu.groupOnLoopback {
		gaddr = loopback
	}
	lc := net.ListenConfig{Control: reuse}
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
		asked: port, joined: map[netip.Addr]bool{}}
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

func (m *mMember) SendConn() *net.UDPConn { return m.own }

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
	m.lock.Lock()
	defer m.lock.Unlock()
	if m.joined[group] && !m.mu.noJoinedCheck {
		if m.mu.joinTwiceNil {
			return nil
		}
		return fmt.Errorf("join %s: %w", group, solution.ErrAlreadyJoined)
	}
	if err := m.kernel(true, group); err != nil && !m.mu.ignoreJoinErr {
		return fmt.Errorf("join %s: %w", group, err)
	}
	if !m.first.IsValid() {
		m.first = group
	}
	m.joined[group] = true
	return nil
}

func (m *mMember) LeaveGroup(group netip.Addr) error {
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
	if !m.mu.ignoreCtx {
		stop := context.AfterFunc(ctx, func() {
			m.group.SetReadDeadline(time.Now())
			if !m.mu.wakeGroupOnly {
				m.own.SetReadDeadline(time.Now())
			}
		})
		defer stop()
	}
	var lock sync.Mutex
	deliver := func(from, to netip.AddrPort, data []byte) {
		lock.Lock()
		defer lock.Unlock()
		handle(from, to, data)
		if m.mu.handTwice {
			handle(from, to, data)
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- m.readGroup(deliver) }()
	go func() { errc <- m.readOwn(deliver) }()
	err := <-errc
	if !m.mu.noWait {
		<-errc
	}
	if m.mu.returnNil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (m *mMember) readGroup(deliver func(from, to netip.AddrPort, data []byte)) error {
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
			var cm *ipv4.ControlMessage
			n, cm, src, err = m.p4.ReadFrom(buf)
			if cm != nil {
				dst, _ = netip.AddrFromSlice(cm.Dst)
			}
		}
		if err != nil {
			return err
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
		data := buf[:n]
		to := netip.AddrPortFrom(dst, m.port)
		isNotify := string(data) == "Notify"
		if m.mu.compareWholeBuffer {
			isNotify = string(buf) == "Notify"
		}
		if m.mu.prefixNotify {
			isNotify = strings.HasPrefix(string(data), "Notify")
		}
		if own && m.mu.noAckOwn {
			isNotify = false
		}
		if isNotify {
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
		if own && m.mu.noHandOwn {
			continue
		}
		if m.mu.fromIsGroup {
			from = to
		}
		if m.mu.wholeBuffer {
			data = buf[:n+16]
		}
		deliver(from, to, data)
	}
}

func (m *mMember) readOwn(deliver func(from, to netip.AddrPort, data []byte)) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := m.own.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		deliver(harness.Unmap(from), m.addr, buf[:n])
	}
}

func (m *mMember) Close() error {
	return errors.Join(m.group.Close(), m.own.Close())
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "stop", Stall: 600 * time.Millisecond},
}

func TestTimingChecksRetryWhenTheHarnessIsLate(t *testing.T) {
	harness.TestRetriesWhenLate(t, &lesson06.Suite, reference, timingChecks)
}

func TestBrokenTimingFailsAtEveryScale(t *testing.T) {
	// Checks that count the lesson's goroutines run alone, at 2× only.
	alone := map[string]bool{"stop": true}
	harness.TestFailsAtEveryScale(t, &lesson06.Suite, brokenKit(), timingChecks, []int{2, 4, 8}, alone)
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson06.Impl] {
	kit := make([]harness.Broken[lesson06.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson06.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
