// Package lesson06 grades lesson 06, multicast. The lesson's test file and
// the reference solution's (the same file) call Run.
//
// Every multicast datagram of these checks stays on this host: the harness
// sends only from sockets bound to the loopback address, on the loopback
// interface (found by its flags), with a TTL of 1, to a group in 239.0.0.0/8
// (IPv4) or ff01::/16, ff02::/16 (IPv6) chosen at random for each check, on a
// port the kernel chose. Where the loopback interface cannot carry multicast,
// the checks that need it are skipped; they never fall back to another
// interface.
//
// Before a learner's Send may send to a group, the harness makes sure the
// datagram cannot leave the host (see safeToSend): the sending socket must be
// bound to a loopback address, with the loopback interface (or, on Linux for
// IPv4, where the kernel does not report it, no interface: Linux then sends a
// loopback-bound socket's multicast on the loopback interface, and refuses
// any other) and a TTL of at most 1; and a unicast datagram sent with Send
// must come from that socket.
package lesson06

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"udpbook/harness"
)

// Member is what the suite grades: the methods of the lesson's *Member.
type Member interface {
	Port() uint16
	Addr() netip.AddrPort
	SendConn() *net.UDPConn
	JoinGroup(group netip.Addr) error
	LeaveGroup(group netip.Addr) error
	Send(to netip.AddrPort, data []byte) error
	Serve(ctx context.Context, handle func(from, to netip.AddrPort, data []byte)) error
	Close() error
}

// Impl is the lesson's API: Listen, and the errors of JoinGroup and
// LeaveGroup.
type Impl struct {
	Listen           func(network string, port uint16) (Member, error)
	ErrAlreadyJoined error
	ErrNotJoined     error
}

// Adapt turns the lesson's Listen, which returns its own *Member, into the
// Listen of Impl. A nil *Member becomes a nil Member.
func Adapt[M Member](listen func(network string, port uint16) (M, error)) func(string, uint16) (Member, error) {
	return func(network string, port uint16) (Member, error) {
		m, err := listen(network, port)
		if v := reflect.ValueOf(m); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
			return nil, err
		}
		return m, err
	}
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// StopBound is how long Serve may take to return once its context is done.
const StopBound = time.Second

// HarnessTTL is the TTL (hop limit) of the harness's own multicast
// datagrams. The interface keeps them on this host; the TTL makes sure no
// router would forward one.
const HarnessTTL = 1

// Suite is lesson 06's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	{
		ID: "listen", Points: 2,
		Title: "Listen(\"udp4\", 0) gets a group port; a second Listen shares it; each member has its own address on 127.0.0.1",
		Hint: "Bind the group socket with a net.ListenConfig whose Control sets SO_REUSEADDR and SO_REUSEPORT " +
			"(golang.org/x/sys/unix), on the wildcard address. Bind a second socket to 127.0.0.1:0: " +
			"Addr and SendConn are that one.",
		Run: checkListen,
	},
	{
		ID: "both-receive", Points: 3,
		Title: "two members of one group on one port each hand over a datagram sent to the group, once",
		Hint: "Join the group on the loopback interface (ipv4.NewPacketConn(conn).JoinGroup(ifi, group)) " +
			"with the group socket bound to the wildcard address, not to 127.0.0.1. Hand each datagram over " +
			"once, with the sender's address and the group it was sent to.",
		Run: checkBothReceive,
	},
	{
		ID: "acknowledge", Points: 3,
		Title: "a Notify sent to the group gets one unicast \"Acknowledge\" from each member, from its own address",
		Hint: "Compare the whole datagram, buf[:n], with \"Notify\"; answer with WriteTo(\"Acknowledge\", from) " +
			"on the member's own socket, to the sender's address, never to the group.",
		Run: checkAcknowledge,
	},
	{
		ID: "no-self-ack", Points: 2,
		Title: "a member's own Notify reaches the others from its Addr(); it does not acknowledge or hand over its own datagrams",
		Hint: "Loopback brings a member's datagrams back to it. Drop a datagram whose source is the member's " +
			"own Addr() (address and port: the other members are on 127.0.0.1 too). Send from the member's own socket.",
		Run: checkNoSelfAck,
	},
	{
		ID: "leave", Points: 3,
		Title: "after LeaveGroup a member hands over nothing more from that group, while the others still do",
		Hint: "LeaveGroup must tell the kernel (LeaveGroup on the ipv4/ipv6 PacketConn, same interface as the join) " +
			"and forget the group, so that Serve drops what still arrives for it. Leave only that group.",
		Run: checkLeave,
	},
	{
		ID: "two-groups", Points: 3,
		Title: "on one port, a member hands over the datagrams of its own groups only",
		Hint: "On Linux a socket bound to the wildcard address receives every group joined on the host for its " +
			"port. Ask for each datagram's destination (SetControlMessage(ipv4.FlagDst, true)) and drop those " +
			"sent to a group the member has not joined.",
		Run: checkTwoGroups,
	},
	{
		ID: "join-errors", Points: 2,
		Title: "joining a group twice, or leaving one not joined, returns ErrAlreadyJoined or ErrNotJoined",
		Hint: "Keep the set of groups joined (a map guarded by a mutex). Check it before asking the kernel, and " +
			"wrap the sentinel with %w: fmt.Errorf(\"join %s: %w\", group, ErrAlreadyJoined).",
		Run: checkJoinErrors,
	},
	{
		ID: "loopback-only", Points: 3,
		Title: "the sending socket's multicast interface is loopback, its TTL at most 1, multicast loopback on; joins are on loopback only",
		Hint: "On the member's own socket: SetMulticastInterface(loopback), SetMulticastTTL(0 or 1), " +
			"SetMulticastLoopback(true). Find the loopback interface by net.FlagLoopback, and pass it to JoinGroup too.",
		Run: checkLoopbackOnly,
	},
	{
		ID: "stop", Points: 2,
		Title: "cancelling ctx makes Serve return ctx.Err() within 1s, with both reading goroutines gone",
		Hint: "context.AfterFunc(ctx, ...) must set a read deadline in the past on both sockets. When one reader " +
			"stops, wake the other and wait for it before returning ctx.Err().",
		Run: checkStop,
	},
	{
		ID: "close", Points: 2,
		Title: "Close, while Serve runs, makes Serve return the read's error, frees both ports and the group; later calls return errors",
		Hint: "Close closes both sockets and returns nil; a second Close returns their errors. A read that fails because " +
			"the member was closed is not a reason to go on reading or to return nil: return that error, wake the other " +
			"reader and wait for it. Do not start goroutines that only ctx ends: use context.AfterFunc.",
		Run: checkClose,
	},
	{
		ID: "handler", Points: 2,
		Title: "handle runs for one datagram at a time, and Serve returns only after handle has returned",
		Hint: "Both readers call handle through one mutex, on their own goroutine (not a new one per datagram). " +
			"When ctx is done, wake both readers and wait for both before returning: a reader may be inside handle.",
		Run: checkHandler,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "the same over IPv6: members on [::1], a group in ff01::/16 or ff02::/16 (skipped where loopback cannot do it)",
		Hint: "Use the ipv6 package for a \"udp6\" member: JoinGroup, SetMulticastInterface, SetMulticastHopLimit, " +
			"FlagDst. Bind the member's own socket to [::1]:0.",
		Run: checkIPv6,
	},
}}

// ---- the checks ----

func checkListen(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	port := a.Port()
	if port == 0 {
		c.Fatalf(`Listen("udp4", 0) gave a member whose Port() is 0; want the port the kernel chose`)
	}
	c.Step("member A's group port is %d", port)
	own := a.Addr()
	if own.Addr() != harness.Loopback("udp4") || own.Port() == 0 {
		c.Fatalf("member A's Addr() is %v; want 127.0.0.1 with a port the kernel chose for its own socket", own)
	}
	if own.Port() == port {
		c.Fatalf("member A's Addr() %v uses the group port %d: a member needs a socket with a port of its own, "+
			"or an acknowledgement sent to it goes to whichever member the kernel picks", own, port)
	}
	sc := a.SendConn()
	if sc == nil {
		c.Fatalf("member A's SendConn() is nil; want the socket bound to Addr()")
	}
	if got := harness.AddrPort(sc.LocalAddr()); got != own {
		c.Fatalf("member A's SendConn() is bound to %v, but its Addr() is %v; SendConn must be the socket Addr belongs to", got, own)
	}
	// The port must really be held: a socket that does not allow sharing
	// cannot bind it.
	if probe, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", port)); err == nil {
		probe.Close()
		c.Fatalf("the harness could bind UDP port %d without sharing it, so no group socket is bound there; "+
			"Port() must be the port of the member's group socket", port)
	}
	b := listen(c, impl, "udp4", port, "member B")
	if got := b.Port(); got != port {
		c.Fatalf("Listen(\"udp4\", %d) gave a member whose Port() is %d; want %d", port, got, port)
	}
	if b.Addr() == own {
		c.Fatalf("members A and B have the same Addr() %v; each needs its own socket", own)
	}
	// Other programs share the port too: one that sets only SO_REUSEADDR,
	// and one that sets only SO_REUSEPORT (as on BSD and macOS). Linux lets
	// a socket share a port with SO_REUSEPORT only with sockets of the same
	// user, so that one is tried only where the members' sockets are ours.
	for _, sp := range shareProbes {
		if sp.name == "SO_REUSEPORT" && !shareableByUs(port) {
			c.Step("(the members' sockets belong to another user: the harness cannot share the port with SO_REUSEPORT alone)")
			continue
		}
		conn, err := bindSharing("udp4", port, sp.opt)
		if err != nil {
			c.Fatalf("the harness could not bind a socket that sets only %s to the group port %d, which members A and B share: %v; "+
				"a group socket must set both SO_REUSEADDR and SO_REUSEPORT, so that any program that shares the port can bind it",
				sp.name, port, err)
		}
		conn.Close()
		c.Step("a harness socket that sets only %s bound the group port %d too", sp.name, port)
	}
}

func checkBothReceive(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	b := listen(c, impl, "udp4", a.Port(), "member B")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	join(c, b, "member B", g.Addr())
	wa, wb := serve(c, a, "member A"), serve(c, b, "member B")
	h := newSender(c, "udp4")

	h.Send(g, []byte("hello, members"))
	for _, w := range []*watched{wa, wb} {
		w.expect(h.Addr(), g, "hello, members")
	}
	// A marker sent after: nothing may come between (no second copy).
	for _, w := range []*watched{wa, wb} {
		h.Send(g, []byte("marker"))
		if extra := w.until("marker"); len(extra) > 0 {
			c.Fatalf("%s handed over %s a second time (or something else) before \"marker\"; want each datagram once",
				w.name, harness.Quote(extra[0].data))
		}
		// The other member gets the marker too: take it.
		for _, o := range []*watched{wa, wb} {
			if o != w {
				o.until("marker")
			}
		}
	}
	// Data is handed over as it came: an empty datagram is a datagram,
	// and spaces and newlines are part of it.
	for _, data := range []string{"", "  hello \n"} {
		h.Send(g, []byte(data))
		for _, w := range []*watched{wa, wb} {
			w.expect(h.Addr(), g, data)
		}
	}
}

func checkAcknowledge(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	b := listen(c, impl, "udp4", a.Port(), "member B")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	join(c, b, "member B", g.Addr())
	// Member C runs Serve with a nil handle: it still answers.
	quiet := listen(c, impl, "udp4", a.Port(), "member C (nil handle)")
	join(c, quiet, "member C (nil handle)", g.Addr())
	ws := []*watched{serve(c, a, "member A"), serve(c, b, "member B")}
	serveWith(c, quiet, "member C (nil handle)", serveOpts{nilHandle: true})
	h := newSender(c, "udp4")
	acknowledged(c, h, g, ws, []Member{a, b}, quiet)
}

// acknowledged sends "Notify please", "Notify\n" and "Notify" to group g
// from h and expects exactly one unicast Acknowledge from each member of ms
// (whose Serve hands over to ws) and from quiet, whose Serve has a nil
// handle (if not nil), and nothing sent to the group.
func acknowledged(c *harness.C, h *harness.Peer, g netip.AddrPort, ws []*watched, ms []Member, quiet Member) {
	h.Send(g, []byte("Notify please"))
	h.Send(g, []byte("Notify\n"))
	h.Send(g, []byte("Notify"))
	// Two rounds of markers: after the first, every member has dealt with
	// both datagrams; after the second, whatever they sent in answer to the
	// group is in every member's socket ahead of the marker.
	want := []string{
		describe(c, event{h.Addr(), g, []byte("Notify please")}),
		describe(c, event{h.Addr(), g, []byte("Notify\n")}),
		describe(c, event{h.Addr(), g, []byte("Notify")}),
	}
	for round, marker := range []string{"sync 1", "sync 2"} {
		h.Send(g, []byte(marker))
		for _, w := range ws {
			evs := w.until(marker)
			for _, ev := range evs {
				if string(ev.data) == "Acknowledge" {
					c.Fatalf("%s handed over %s from %s, sent to %s: an Acknowledge goes to the Notify's sender "+
						"alone, by unicast, not to the group", w.name, harness.Quote(ev.data), c.Who(ev.from), c.Who(ev.to))
				}
			}
			var got []string
			for _, ev := range evs {
				got = append(got, describe(c, ev))
			}
			exp := want
			if round == 1 {
				exp = nil
			}
			if diff := cmp.Diff(exp, got); diff != "" {
				c.Fatalf("what %s handed over before %q differs (-want +got):\n%s", w.name, marker, diff)
			}
		}
	}
	// Every member answered before reading "sync 1": the answers are in
	// the harness's socket now.
	acks := map[netip.AddrPort]int{}
	take := func(d harness.Datagram) {
		if string(d.Data) != "Acknowledge" {
			c.Fatalf("the harness got %s from %s; want only \"Acknowledge\"", harness.Quote(d.Data), c.Who(d.From))
		}
		if d.From.Port() == g.Port() {
			c.Fatalf("the Acknowledge came from %s, the group port: send it from the member's own socket, so that "+
				"it comes from the member's Addr()", c.Who(d.From))
		}
		acks[d.From]++
	}
	for _, d := range h.Drain() {
		take(d)
	}
	names := make([]string, len(ms))
	for i := range ms {
		names[i] = ws[i].name
	}
	if quiet != nil {
		// Nothing shows when a member with a nil handle has read the
		// datagrams: wait for its answer.
		const name = "member C (nil handle)"
		for acks[quiet.Addr()] == 0 {
			d, ok := h.Recv(harness.Patience)
			if !ok {
				c.Fatalf("%s did not acknowledge the harness's \"Notify\" within %v (nothing came from its Addr() %v): "+
					"a nil handle is allowed, and Serve still answers", name, harness.Patience, quiet.Addr())
			}
			take(d)
		}
		ms, names = append(ms, quiet), append(names, name)
	}
	for i, m := range ms {
		switch n := acks[m.Addr()]; n {
		case 0:
			c.Fatalf("%s did not acknowledge the harness's \"Notify\" (nothing came from its Addr() %v); "+
				"compare the whole datagram buf[:n] with \"Notify\", and answer to the sender's address", names[i], m.Addr())
		case 1:
		default:
			c.Fatalf("%s sent %d acknowledgements to \"Notify please\", \"Notify\\n\" and \"Notify\"; want 1: "+
				"compare the whole datagram with \"Notify\", not its beginning, and do not trim it", names[i], n)
		}
		delete(acks, m.Addr())
	}
	for from := range acks {
		c.Fatalf("the harness got \"Acknowledge\" from %s, which is no member's Addr()", c.Who(from))
	}
}

func checkNoSelfAck(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	b := listen(c, impl, "udp4", a.Port(), "member B")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	join(c, b, "member B", g.Addr())
	wa, wb := serve(c, a, "member A"), serve(c, b, "member B")
	h := newSender(c, "udp4")

	send(c, a, "member A", "udp4", g, "Notify")
	wb.expect(a.Addr(), g, "Notify")

	// Member A gets member B's answer; then a marker on the group shows
	// that A has dealt with its own Notify, and a unicast marker that
	// whatever A sent itself has been handed over.
	var evs []event
	for {
		ev, ok := wa.next(harness.Patience)
		if !ok {
			c.Fatalf("member A did not hand over member B's \"Acknowledge\" (from %v, sent to %v) within %v",
				b.Addr(), a.Addr(), harness.Patience)
		}
		evs = append(evs, ev)
		if ev.from == b.Addr() && string(ev.data) == "Acknowledge" {
			break
		}
	}
	h.Send(g, []byte("sync 1"))
	evs = append(evs, wa.until("sync 1")...)
	h.Send(a.Addr(), []byte("sync 2"))
	evs = append(evs, wa.until("sync 2")...)

	for _, ev := range evs {
		if ev.from != a.Addr() {
			continue
		}
		if string(ev.data) == "Acknowledge" {
			c.Fatalf("member A acknowledged its own \"Notify\": loopback brings a member's datagrams back to it; " +
				"drop those whose source is the member's own Addr()")
		}
		c.Fatalf("member A handed over its own datagram %s (from its own Addr() %v); drop a member's own datagrams",
			harness.Quote(ev.data), a.Addr())
	}
	want := []string{describe(c, event{b.Addr(), a.Addr(), []byte("Acknowledge")})}
	var got []string
	for _, ev := range evs {
		got = append(got, describe(c, ev))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.Fatalf("what member A handed over after its \"Notify\" (markers aside) differs (-want +got):\n%s", diff)
	}
}

func checkLeave(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	b := listen(c, impl, "udp4", a.Port(), "member B")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "group G")
	g2 := newGroup(c, "udp4", a.Port(), "group H")
	join(c, a, "member A", g.Addr())
	join(c, a, "member A", g2.Addr())
	join(c, b, "member B", g.Addr())
	wa, wb := serve(c, a, "member A"), serve(c, b, "member B")
	h := newSender(c, "udp4")

	h.Send(g, []byte("before"))
	wa.expect(h.Addr(), g, "before")
	wb.expect(h.Addr(), g, "before")

	leave(c, a, "member A", g.Addr())
	h.Send(g, []byte("after leaving"))
	wb.expect(h.Addr(), g, "after leaving")
	// A is still in group H: a marker there comes after anything A got.
	h.Send(g2, []byte("marker"))
	if evs := wa.until("marker"); len(evs) > 0 {
		c.Fatalf("member A handed over %s sent to %s after it left that group; want nothing from it",
			harness.Quote(evs[0].data), c.Who(evs[0].to))
	}

	leave(c, b, "member B", g.Addr())
	if devs, ok := memberships(g.Addr()); ok && len(devs) > 0 {
		c.Fatalf("both members left %v, but the kernel still lists it as joined on %v (in /proc/net/igmp): "+
			"LeaveGroup must leave on the socket, not only forget the group", g.Addr(), devs)
	}
}

func checkTwoGroups(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	b := listen(c, impl, "udp4", a.Port(), "member B")
	ab := listen(c, impl, "udp4", a.Port(), "member AB")
	needMulticast(c, "udp4")
	ga := newGroup(c, "udp4", a.Port(), "group A")
	gb := newGroup(c, "udp4", a.Port(), "group B")
	join(c, a, "member A", ga.Addr())
	join(c, b, "member B", gb.Addr())
	join(c, ab, "member AB", ga.Addr())
	join(c, ab, "member AB", gb.Addr())
	wa, wb, wab := serve(c, a, "member A"), serve(c, b, "member B"), serve(c, ab, "member AB")
	h := newSender(c, "udp4")

	h.Send(gb, []byte("for B"))
	h.Send(ga, []byte("for A"))
	h.Send(gb, []byte("for B again"))
	h.Send(ga, []byte("end A"))
	h.Send(gb, []byte("end B"))
	ev := func(to netip.AddrPort, data string) string { return describe(c, event{h.Addr(), to, []byte(data)}) }
	for _, x := range []struct {
		w      *watched
		marker string
		want   []string
	}{
		{wa, "end A", []string{ev(ga, "for A")}},
		{wb, "end B", []string{ev(gb, "for B"), ev(gb, "for B again")}},
		{wab, "end B", []string{ev(gb, "for B"), ev(ga, "for A"), ev(gb, "for B again"), ev(ga, "end A")}},
	} {
		var got []string
		for _, e := range x.w.until(x.marker) {
			got = append(got, describe(c, e))
		}
		if diff := cmp.Diff(x.want, got); diff != "" {
			c.Fatalf("what %s handed over before %q differs (-want +got):\n%s", x.w.name, x.marker, diff)
		}
	}
}

func checkJoinErrors(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "group G")
	other := newGroup(c, "udp4", a.Port(), "group H")
	join(c, a, "member A", g.Addr())

	wantErr := func(call string, err, sentinel error, name string) {
		if err == nil {
			c.Fatalf("%s returned nil; want an error wrapping %s", call, name)
		}
		if !errors.Is(err, sentinel) {
			c.Fatalf("%s returned %q, which does not wrap %s (errors.Is(err, %s) is false)", call, err, name, name)
		}
		c.Step("%s returned %q, as it should", call, err)
	}
	call := fmt.Sprintf("member A's JoinGroup(%v) a second time", g.Addr())
	wantErr(call, callErr(c, call, func() error { return a.JoinGroup(g.Addr()) }), impl.ErrAlreadyJoined, "ErrAlreadyJoined")
	call = fmt.Sprintf("member A's LeaveGroup(%v), a group it never joined", other.Addr())
	wantErr(call, callErr(c, call, func() error { return a.LeaveGroup(other.Addr()) }), impl.ErrNotJoined, "ErrNotJoined")
	leave(c, a, "member A", g.Addr())
	call = fmt.Sprintf("member A's LeaveGroup(%v) a second time", g.Addr())
	wantErr(call, callErr(c, call, func() error { return a.LeaveGroup(g.Addr()) }), impl.ErrNotJoined, "ErrNotJoined")

	// After leaving, the group can be joined again, and the member hears it.
	join(c, a, "member A", g.Addr())
	w := serve(c, a, "member A")
	h := newSender(c, "udp4")
	h.Send(g, []byte("hello again"))
	w.expect(h.Addr(), g, "hello again")

	// An IPv4-mapped group (::ffff:239.x.y.z) is the IPv4 group.
	mapped := netip.AddrFrom16(other.Addr().As16())
	join(c, a, "member A", mapped)
	h.Send(other, []byte("to the mapped group"))
	w.expect(h.Addr(), other, "to the mapped group")
	call = fmt.Sprintf("member A's JoinGroup(%v), the group it joined as %v", other.Addr(), mapped)
	wantErr(call, callErr(c, call, func() error { return a.JoinGroup(other.Addr()) }), impl.ErrAlreadyJoined, "ErrAlreadyJoined")

	// Addresses that are not multicast addresses of the member's network
	// are refused, and leave the member a member of nothing more.
	for _, bad := range []netip.Addr{harness.Loopback("udp4"), RandomGroup("udp6")} {
		call = fmt.Sprintf("member A's JoinGroup(%v)", bad)
		if err := callErr(c, call, func() error { return a.JoinGroup(bad) }); err == nil {
			c.Fatalf("%s returned nil; want an error: %v is not a multicast address of a udp4 member's network", call, bad)
		}
		call = fmt.Sprintf("member A's LeaveGroup(%v), after JoinGroup(%v) failed", bad, bad)
		wantErr(call, callErr(c, call, func() error { return a.LeaveGroup(bad) }), impl.ErrNotJoined, "ErrNotJoined")
	}
}

func checkLoopbackOnly(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	s := sendSettings(c, a, "member A", "udp4")
	if msg := s.unsafe("udp4"); msg != "" {
		c.Fatalf("member A's sending socket %s", msg)
	}
	if !s.loop {
		c.Fatalf("member A's sending socket has multicast loopback off: on systems that deliver loopback " +
			"multicast only as a local copy (macOS, BSD) no member on this host would hear it; turn it on")
	}
	ifi := "not reported by Linux for IPv4"
	if s.ifi != nil {
		ifi = s.ifi.Name
	}
	c.Step("member A's sending socket: bound to %v, multicast interface %s, TTL %d, multicast loopback on", s.local, ifi, s.ttl)
	join(c, a, "member A", g.Addr())
	lo := loopback()
	if devs, ok := memberships(g.Addr()); ok {
		if len(devs) != 1 || devs[0] != lo.Name {
			c.Fatalf("the kernel lists %v as joined on %v (in /proc/net/igmp); want the loopback interface %s only: "+
				"pass the loopback interface to JoinGroup, never nil", g.Addr(), devs, lo.Name)
		}
	}
	// A datagram from the sending socket reaches a group joined on the
	// loopback interface only if it goes out there. (Safe: the socket was
	// checked above.)
	if err := tryFrom(a.SendConn(), "udp4", RandomGroup("udp4")); err != nil {
		c.Fatalf("the harness sent from member A's SendConn() to a group joined on %s only, and: %v; "+
			"set the socket's multicast interface to the loopback interface", lo.Name, err)
	}
	c.Step("a datagram sent from member A's SendConn() to a group joined on %s arrived", lo.Name)
}

func checkStop(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	pkg := memberPkg(a)
	before := harness.Goroutines(pkg)
	w := serve(c, a, "member A")
	h := newSender(c, "udp4")
	// Both readers are running: one datagram through each socket.
	h.Send(g, []byte("to the group"))
	w.expect(h.Addr(), g, "to the group")
	h.Send(a.Addr(), []byte("to member A"))
	w.expect(h.Addr(), a.Addr(), "to member A")

	c.Step("harness cancels Serve's context")
	c.Timed(c.Dur(StopBound) / 4)
	w.run.Expect()
	w.cancel()
	err, ok := w.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Serve did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, Serve returned %v; want ctx.Err() (context.Canceled)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
	if err := callErr(c, "member A's Close()", a.Close); err != nil {
		c.Fatalf("member A's Close() returned %v; want nil", err)
	}
}

// memberPkg returns the package whose goroutines are m's.
func memberPkg(m Member) string {
	t := reflect.TypeOf(m)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

func checkClose(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	pkg := memberPkg(a)
	before := harness.Goroutines(pkg)
	w := serve(c, a, "member A")
	h := newSender(c, "udp4")
	h.Send(g, []byte("to the group"))
	w.expect(h.Addr(), g, "to the group")
	h.Send(a.Addr(), []byte("to member A"))
	w.expect(h.Addr(), a.Addr(), "to member A")
	port, own := a.Port(), a.Addr()

	c.Step("harness calls member A's Close() while its Serve runs (its context is still live)")
	c.Timed(c.Dur(StopBound) / 4)
	w.run.Expect()
	if err := callErr(c, "member A's Close()", a.Close); err != nil {
		c.Fatalf("member A's Close() returned %v; want nil", err)
	}
	err, ok := w.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("member A's Serve did not return within %v after member A was closed: a read error that is not a "+
			"timeout from ctx will not go away, so Serve must return it, not read again", c.Dur(StopBound))
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("after member A was closed, its Serve returned %v; want the read's error (it wraps net.ErrClosed)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("member A's Serve returned when member A was closed, but left %d goroutine(s) running, the first:\n%s\n"+
			"(a goroutine that waits for ctx to be done never ends if Serve returns for another reason: "+
			"use context.AfterFunc and call its stop function when Serve returns)",
			len(left), harness.FirstLines(left[0], 8))
	}

	// Both sockets are closed: their ports are free again, and the kernel
	// has dropped the membership.
	for _, x := range []struct{ what, addr string }{
		{fmt.Sprintf("member A's group port %d", port), fmt.Sprintf(":%d", port)},
		{fmt.Sprintf("member A's address %v", own), own.String()},
	} {
		conn, err := net.ListenPacket("udp4", x.addr)
		if err != nil {
			c.Fatalf("after member A's Close() returned, the harness could not bind %s without sharing it: %v; "+
				"Close must close both of the member's sockets", x.what, err)
		}
		conn.Close()
		c.Step("after Close, the harness could bind %s", x.what)
	}
	if devs, ok := memberships(g.Addr()); ok && len(devs) > 0 {
		c.Fatalf("after member A's Close() returned, the kernel still lists %v as joined on %v (in /proc/net/igmp)", g.Addr(), devs)
	}

	// Every later call returns an error, at once.
	if err := callErr(c, "member A's second Close()", a.Close); err == nil {
		c.Fatalf("member A's second Close() returned nil; want an error (its sockets are closed already: net.ErrClosed)")
	}
	later := []struct {
		call string
		f    func() error
	}{
		{fmt.Sprintf("member A's JoinGroup(%v) after Close", RandomGroup("udp4")), func() error { return a.JoinGroup(RandomGroup("udp4")) }},
		{fmt.Sprintf("member A's LeaveGroup(%v) after Close", g.Addr()), func() error { return a.LeaveGroup(g.Addr()) }},
		{fmt.Sprintf("member A's Send(%v, %q) after Close", h.Addr(), "after close"), func() error { return a.Send(h.Addr(), []byte("after close")) }},
		{"member A's Serve after Close", func() error {
			return a.Serve(context.Background(), func(from, to netip.AddrPort, data []byte) {})
		}},
	}
	for _, l := range later {
		if err := callErr(c, l.call, l.f); err == nil {
			c.Fatalf("%s returned nil; want an error: the member is closed", l.call)
		}
		c.Step("%s returned an error, as it should", l.call)
	}
}

// slowHandle is how long the harness's handle takes for a datagram that
// starts with "slow", so that two calls at once would overlap.
const slowHandle = 10 * time.Millisecond

func checkHandler(c *harness.C, impl Impl) {
	a := listen(c, impl, "udp4", 0, "member A")
	needMulticast(c, "udp4")
	g := newGroup(c, "udp4", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	pkg := memberPkg(a)
	before := harness.Goroutines(pkg)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	w := serveWith(c, a, "member A", serveOpts{during: func(ev event) {
		switch {
		case bytes.HasPrefix(ev.data, []byte("slow")):
			time.Sleep(slowHandle)
		case string(ev.data) == "block":
			entered <- struct{}{}
			select {
			case <-release:
			case <-c.Context().Done():
			}
		}
	}})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	c.Cleanup(unblock) // after Serve's clean-up: runs before it
	h := newSender(c, "udp4")

	// Datagrams to the group and to the member's own address at once: each
	// of its sockets has one waiting while handle runs.
	c.Step("(the harness's handle takes %v for each datagram that starts with \"slow\")", slowHandle)
	const n = 4
	for i := range n {
		h.Send(g, []byte(fmt.Sprintf("slow %d to the group", i)))
		h.Send(a.Addr(), []byte(fmt.Sprintf("slow %d to member A", i)))
	}
	for range 2 * n {
		if _, ok := w.next(harness.Patience); !ok {
			break
		}
	}
	if _, overlap, _ := w.state(); overlap != "" {
		c.Fatalf("%s: handle must run for one datagram at a time (one mutex for both readers, no goroutine per datagram)", overlap)
	}

	// A handle that blocks across the cancel: Serve must wait for it.
	h.Send(a.Addr(), []byte("block"))
	select {
	case <-entered:
	case <-time.After(harness.Patience):
		c.Fatalf("member A did not hand over %q within %v", "block", harness.Patience)
	case <-c.Context().Done():
		c.Fatalf("%v", context.Cause(c.Context()))
	}
	c.Step("harness cancels member A's Serve's context while handle is still running for %q", "block")
	c.Timed(c.Dur(StopBound) / 4)
	w.run.Expect()
	w.cancel()
	if err, ok := w.run.Wait(c.Dur(StopBound) / 4); ok {
		c.Fatalf("member A's Serve returned (%v) while handle was still running for %q: Serve must wait for its readers, "+
			"and a reader inside handle ends only when handle returns", err, "block")
	}
	c.Step("harness lets handle return")
	unblock()
	err, ok := w.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("member A's Serve did not return within %v after its context was cancelled and handle returned", c.Dur(StopBound))
	}
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, member A's Serve returned %v; want ctx.Err() (context.Canceled)", err)
	}
	if _, _, late := w.state(); late != "" {
		c.Fatalf("member A's Serve returned while handle was still running for %s: Serve must wait for both readers", late)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("member A's Serve returned but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
}

func checkIPv6(c *harness.C, impl Impl) {
	c.Require(harness.IPv6)
	a := listen(c, impl, "udp6", 0, "member A")
	if own := a.Addr(); own.Addr() != harness.Loopback("udp6") || own.Port() == 0 {
		c.Fatalf(`Listen("udp6", 0) gave a member whose Addr() is %v; want [::1] with a port of its own`, own)
	}
	// An IPv4 group is not a group of a udp6 member's network.
	v4 := RandomGroup("udp4")
	call := fmt.Sprintf("member A's JoinGroup(%v)", v4)
	if err := callErr(c, call, func() error { return a.JoinGroup(v4) }); err == nil {
		c.Fatalf("%s returned nil; want an error: %v is not a multicast address of a udp6 member's network", call, v4)
	}
	call = fmt.Sprintf("member A's LeaveGroup(%v), after JoinGroup(%v) failed", v4, v4)
	if err := callErr(c, call, func() error { return a.LeaveGroup(v4) }); !errors.Is(err, impl.ErrNotJoined) {
		c.Fatalf("%s returned %v; want an error wrapping ErrNotJoined", call, err)
	}
	needMulticast(c, "udp6")
	b := listen(c, impl, "udp6", a.Port(), "member B")
	g := newGroup(c, "udp6", a.Port(), "the group")
	join(c, a, "member A", g.Addr())
	join(c, b, "member B", g.Addr())
	ws := []*watched{serve(c, a, "member A"), serve(c, b, "member B")}
	h := newSender(c, "udp6")
	acknowledged(c, h, g, ws, []Member{a, b}, nil)
}

// ---- helpers ----

// listen calls impl.Listen and fails the check on an error. The member is
// closed when the check ends.
func listen(c *harness.C, impl Impl, network string, port uint16, name string) Member {
	var m Member
	var err error
	call := fmt.Sprintf("Listen(%q, %d)", network, port)
	c.Call(call, harness.Patience, func() { m, err = impl.Listen(network, port) })
	if m != nil {
		c.Cleanup(func() { closeBounded(m) })
	}
	if err != nil {
		if port != 0 {
			c.Fatalf("%s for %s returned error: %v\n(another member holds that port: every socket on it must "+
				"set SO_REUSEADDR and SO_REUSEPORT before binding)", call, name, err)
		}
		c.Fatalf("%s returned error: %v", call, err)
	}
	if m == nil {
		c.Fatalf("%s returned a nil member and no error", call)
	}
	c.Name(m.Addr(), name)
	return m
}

// closeBounded closes m, waiting at most StopBound.
func closeBounded(m Member) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { recover() }()
		m.Close()
	}()
	select {
	case <-done:
	case <-time.After(StopBound):
	}
}

// callErr runs f, a call into learner code, within Patience.
func callErr(c *harness.C, call string, f func() error) error {
	var err error
	c.Call(call, harness.Patience, func() { err = f() })
	return err
}

func join(c *harness.C, m Member, name string, group netip.Addr) {
	call := fmt.Sprintf("%s's JoinGroup(%v)", name, group)
	if err := callErr(c, call, func() error { return m.JoinGroup(group) }); err != nil {
		c.Fatalf("%s returned error: %v", call, err)
	}
	c.Step("%s joined %v", name, group)
}

func leave(c *harness.C, m Member, name string, group netip.Addr) {
	call := fmt.Sprintf("%s's LeaveGroup(%v)", name, group)
	if err := callErr(c, call, func() error { return m.LeaveGroup(group) }); err != nil {
		c.Fatalf("%s returned error: %v", call, err)
	}
	c.Step("%s left %v", name, group)
}

// send calls m.Send(group, data) once safeToSend has passed.
func send(c *harness.C, m Member, name, network string, group netip.AddrPort, data string) {
	safeToSend(c, m, name, network)
	call := fmt.Sprintf("%s's Send(%v, %q)", name, group, data)
	c.Step("%s", call)
	if err := callErr(c, call, func() error { return m.Send(group, []byte(data)) }); err != nil {
		c.Fatalf("%s returned error: %v", call, err)
	}
}

// safeToSend fails the check unless a datagram that m sends to a group
// cannot leave this host: see the package comment.
func safeToSend(c *harness.C, m Member, name, network string) {
	s := sendSettings(c, m, name, network)
	if msg := s.unsafe(network); msg != "" {
		c.Fatalf("the harness does not let %s send to a group: its sending socket %s", name, msg)
	}
	// Send must use that socket: a unicast datagram shows where it comes from.
	c.Step("the harness checks that %s's Send sends from SendConn() %v, with a unicast datagram", name, s.local)
	p := c.NewPeer("harness (unicast)", network)
	call := fmt.Sprintf("%s's Send(%v, %q)", name, p.Addr(), "where from?")
	if err := callErr(c, call, func() error { return m.Send(p.Addr(), []byte("where from?")) }); err != nil {
		c.Fatalf("%s returned error: %v", call, err)
	}
	d, ok := p.Recv(harness.Patience)
	if !ok {
		c.Fatalf("%s sent nothing to the harness within %v", call, harness.Patience)
	}
	if d.From != s.local || string(d.Data) != "where from?" {
		c.Fatalf("%s: the harness got %s from %s; want %q from SendConn()'s address %v, "+
			"so Send must send from SendConn()", call, harness.Quote(d.Data), c.Who(d.From), "where from?", s.local)
	}
}

// settings are the multicast options of a learner's sending socket.
type settings struct {
	local netip.AddrPort // the address it is bound to
	ifi   *net.Interface // nil if none is set, or the system does not say
	ttl   int
	loop  bool
}

// unsafe says what would let a datagram sent to a group with s leave this
// host, or "".
func (s settings) unsafe(network string) string {
	lo := loopback()
	switch {
	case !s.local.Addr().IsLoopback():
		return fmt.Sprintf("is bound to %v; bind it to %v, so that the kernel sends from it on the loopback "+
			"interface only", s.local, harness.Loopback(network))
	case s.ifi == nil && (runtime.GOOS != "linux" || network != "udp4"):
		return "has no multicast interface set, so the kernel picks one from the routing table (the default " +
			"route: a real network); set it to the loopback interface"
	case s.ifi != nil && (lo == nil || s.ifi.Index != lo.Index):
		return fmt.Sprintf("sends multicast on interface %s; want the loopback interface", s.ifi.Name)
	case s.ttl > 1 || s.ttl < 0:
		return fmt.Sprintf("has a multicast TTL of %d; want 1 (or 0)", s.ttl)
	}
	return ""
}

// sendSettings reads the multicast options back from m's sending socket.
// Linux does not report an IPv4 multicast interface set by index (it
// answers IP_MULTICAST_IF with an address, 0.0.0.0), so there ifi is nil.
func sendSettings(c *harness.C, m Member, name, network string) settings {
	var conn *net.UDPConn
	c.Call(name+"'s SendConn()", harness.Patience, func() { conn = m.SendConn() })
	if conn == nil {
		c.Fatalf("%s's SendConn() is nil; want the socket it sends from", name)
	}
	s := settings{local: harness.AddrPort(conn.LocalAddr())}
	var err1, err2, err3 error
	if network == "udp6" {
		p := ipv6.NewPacketConn(conn)
		s.ifi, err1 = p.MulticastInterface()
		s.ttl, err2 = p.MulticastHopLimit()
		s.loop, err3 = p.MulticastLoopback()
	} else {
		p := ipv4.NewPacketConn(conn)
		s.ifi, err1 = p.MulticastInterface()
		s.ttl, err2 = p.MulticastTTL()
		s.loop, err3 = p.MulticastLoopback()
	}
	if err := errors.Join(err1, err2, err3); err != nil {
		c.Fatalf("the harness could not read the multicast options of %s's SendConn(): %v", name, err)
	}
	return s
}

// event is one datagram a member's Serve handed over.
type event struct {
	from, to netip.AddrPort
	data     []byte
}

func describe(c *harness.C, ev event) string {
	return fmt.Sprintf("%s from %s to %s", harness.Quote(ev.data), c.Who(ev.from), c.Who(ev.to))
}

// watched is a member whose Serve is running, with what it handed over.
type watched struct {
	c      *harness.C
	name   string
	events chan event
	cancel context.CancelFunc
	run    *harness.Running

	// What the harness's handle saw: how many calls were running at once,
	// and whether one ran after Serve had returned.
	mu       sync.Mutex
	inside   []string // the datagrams handle is running for now
	overlap  string   // the first overlap seen, for the message
	returned bool     // Serve has returned
	late     string   // a datagram handle ran for after Serve returned
}

// serveOpts change what the harness's handle does.
type serveOpts struct {
	nilHandle bool        // pass a nil handle
	during    func(event) // run inside handle, after the event is recorded
}

// serve runs m.Serve until the check ends. If Serve returns while the check
// still expects it to run, the check is aborted with Serve's error.
func serve(c *harness.C, m Member, name string) *watched {
	return serveWith(c, m, name, serveOpts{})
}

func serveWith(c *harness.C, m Member, name string, opts serveOpts) *watched {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watched{c: c, name: name, events: make(chan event, 256), cancel: cancel}
	handle := func(from, to netip.AddrPort, data []byte) {
		ev := event{from, to, bytes.Clone(data)}
		what := describe(c, ev)
		w.mu.Lock()
		if w.returned && w.late == "" {
			w.late = what
		}
		if len(w.inside) > 0 && w.overlap == "" {
			w.overlap = fmt.Sprintf("%s called handle with %s while handle was still running for %s", name, what, w.inside[0])
		}
		w.inside = append(w.inside, what)
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			if i := slices.Index(w.inside, what); i >= 0 {
				w.inside = slices.Delete(w.inside, i, i+1)
			}
			w.mu.Unlock()
		}()
		c.Step("%s hands over %s", name, what)
		select {
		case w.events <- ev:
		case <-ctx.Done():
		}
		if opts.during != nil {
			opts.during(ev)
		}
	}
	if opts.nilHandle {
		handle = nil
	}
	w.run = c.Go(name+"'s Serve", func() error {
		err := m.Serve(ctx, handle)
		w.mu.Lock()
		w.returned = true
		if len(w.inside) > 0 && w.late == "" {
			w.late = w.inside[0]
		}
		w.mu.Unlock()
		return err
	})
	c.Cleanup(func() {
		w.run.Expect()
		cancel()
	})
	return w
}

// state returns what handle is running for, and what it ran for after
// Serve returned (or "").
func (w *watched) state() (inside []string, overlap, late string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.inside), w.overlap, w.late
}

// next waits up to wait for the next datagram the member hands over.
func (w *watched) next(wait time.Duration) (event, bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case ev := <-w.events:
		return ev, true
	case <-t.C:
		return event{}, false
	case <-w.c.Context().Done():
		w.c.Fatalf("%v", context.Cause(w.c.Context()))
	}
	return event{}, false
}

// expect fails the check unless the next datagram handed over is data, from
// from, sent to to.
func (w *watched) expect(from, to netip.AddrPort, data string) {
	want := event{from, to, []byte(data)}
	ev, ok := w.next(harness.Patience)
	if !ok {
		w.c.Fatalf("%s did not hand over %s within %v", w.name, describe(w.c, want), harness.Patience)
	}
	if ev.from != from || ev.to != to || !bytes.Equal(ev.data, want.data) {
		w.c.Fatalf("%s handed over %s; want %s", w.name, describe(w.c, ev), describe(w.c, want))
	}
}

// until returns what the member hands over before the marker, a datagram
// with that content.
func (w *watched) until(marker string) []event {
	var evs []event
	for {
		ev, ok := w.next(harness.Patience)
		if !ok {
			w.c.Fatalf("%s did not hand over %q within %v", w.name, marker, harness.Patience)
		}
		if string(ev.data) == marker {
			return evs
		}
		evs = append(evs, ev)
	}
}

// newSender returns the harness's own sending socket on the loopback address
// of network: multicast goes out on the loopback interface, with a TTL of 1.
func newSender(c *harness.C, network string) *harness.Peer {
	p := c.NewPeer("harness", network)
	if err := configureSender(p.Conn(), network, loopback()); err != nil {
		c.Fatalf("harness could not set up its sending socket: %v", err)
	}
	return p
}

func configureSender(conn *net.UDPConn, network string, lo *net.Interface) error {
	if lo == nil {
		return errors.New("no loopback interface")
	}
	if network == "udp6" {
		p := ipv6.NewPacketConn(conn)
		return errors.Join(p.SetMulticastInterface(lo), p.SetMulticastHopLimit(HarnessTTL), p.SetMulticastLoopback(true))
	}
	p := ipv4.NewPacketConn(conn)
	return errors.Join(p.SetMulticastInterface(lo), p.SetMulticastTTL(HarnessTTL), p.SetMulticastLoopback(true))
}

// newGroup picks a random group of network, so that checks running at the
// same time on one host never hear each other, and names it for the trace.
func newGroup(c *harness.C, network string, port uint16, name string) netip.AddrPort {
	g := netip.AddrPortFrom(RandomGroup(network), port)
	c.Name(g, name)
	c.Step("%s is %v", name, g)
	return g
}

// RandomGroup returns a random group address: in 239.0.0.0/8
// (administratively scoped) for "udp4", and for "udp6" in the scope that the
// loopback interface supports here, ff01::/16 (interface-local) or
// ff02::/16 (link-local).
func RandomGroup(network string) netip.Addr {
	r := rand.Uint32()
	if network != "udp6" {
		return netip.AddrFrom4([4]byte{239, 1 + byte(r%254), byte(r >> 8), 1 + byte((r>>16)%254)})
	}
	scope := probe("udp6").scope
	if scope == 0 {
		scope = 1
	}
	// ff0s::7564:xxxx:xxxx: "ud" and 32 random bits, clear of the
	// well-known groups.
	var b [16]byte
	b[0], b[1], b[10], b[11] = 0xff, scope, 0x75, 0x64
	binary.BigEndian.PutUint32(b[12:], r|1)
	return netip.AddrFrom16(b)
}

// memberships returns the interfaces on which the kernel lists group as
// joined; ok is false where it does not list them (see Memberships).
func memberships(group netip.Addr) (devices []string, ok bool) {
	if Memberships.Missing() != "" {
		return nil, false
	}
	return kernelMemberships(group)
}

// needMulticast skips the check where the loopback interface cannot carry
// multicast for network.
func needMulticast(c *harness.C, network string) { c.Require(multicast(network)) }

type probeResult struct {
	err   error
	scope byte // for udp6: the scope that worked, 1 or 2
}

var (
	probeMu   sync.Mutex
	probeDone = map[string]*probeResult{}
)

func probe(network string) *probeResult {
	probeMu.Lock()
	defer probeMu.Unlock()
	if p, ok := probeDone[network]; ok {
		return p
	}
	p := &probeResult{}
	if network == "udp6" {
		// Interface-local scope is the narrowest; try link-local after.
		for _, scope := range []byte{1, 2} {
			var b [16]byte
			b[0], b[1], b[10], b[11] = 0xff, scope, 0x75, 0x64
			binary.BigEndian.PutUint32(b[12:], rand.Uint32()|1)
			p.err = tryMulticast(network, netip.AddrFrom16(b))
			if p.err == nil {
				p.scope = scope
				break
			}
		}
	} else {
		p.err = tryMulticast(network, RandomGroup(network))
	}
	probeDone[network] = p
	return p
}

// tryMulticast joins group on the loopback interface with a socket on a
// port the kernel chooses, sends a datagram there from a second socket that
// sends on the loopback interface, and waits for it.
func tryMulticast(network string, group netip.Addr) error {
	lo := loopback()
	if lo == nil {
		return errors.New("no loopback interface is up")
	}
	recv, err := joinedSocket(network, group, lo)
	if err != nil {
		return err
	}
	defer recv.Close()
	sender, err := harness.ListenLoopback(network)
	if err != nil {
		return err
	}
	defer sender.Close()
	if err := configureSender(sender, network, lo); err != nil {
		return err
	}
	return sendAndWait(sender, recv, group)
}

// tryFrom joins group on the loopback interface with a socket of the
// harness, sends a datagram there from conn, and waits for it. conn must
// have passed safeToSend's checks.
func tryFrom(conn *net.UDPConn, network string, group netip.Addr) error {
	lo := loopback()
	recv, err := joinedSocket(network, group, lo)
	if err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	defer recv.Close()
	return sendAndWait(conn, recv, group)
}

// joinedSocket binds a socket to the wildcard address and a port the kernel
// chooses, and joins group on ifi.
func joinedSocket(network string, group netip.Addr, ifi *net.Interface) (*net.UDPConn, error) {
	wildcard := netip.IPv4Unspecified()
	if network == "udp6" {
		wildcard = netip.IPv6Unspecified()
	}
	recv, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(wildcard, 0)))
	if err != nil {
		return nil, err
	}
	if network == "udp6" {
		err = ipv6.NewPacketConn(recv).JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()})
	} else {
		err = ipv4.NewPacketConn(recv).JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()})
	}
	if err != nil {
		recv.Close()
		return nil, fmt.Errorf("join %v on %s: %w", group, ifi.Name, err)
	}
	return recv, nil
}

// sendAndWait sends a datagram from sender to group at recv's port and waits
// up to Patience for recv to get it.
func sendAndWait(sender, recv *net.UDPConn, group netip.Addr) error {
	to := netip.AddrPortFrom(group, harness.AddrPort(recv.LocalAddr()).Port())
	if _, err := sender.WriteToUDPAddrPort([]byte("probe"), to); err != nil {
		return fmt.Errorf("sending to %v: %w", to, err)
	}
	recv.SetReadDeadline(time.Now().Add(harness.Patience))
	buf := make([]byte, 16)
	for {
		n, _, err := recv.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("a datagram sent to %v did not arrive: %w", to, err)
		}
		if string(buf[:n]) == "probe" {
			return nil
		}
	}
}
