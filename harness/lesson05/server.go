package lesson05

// The checks of Serve (server-*), and how they run a learner's server.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"udpbook/harness"
)

func checkBroadcast(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4", Config{})
	a, b, cc := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4"), c.NewPeer("member C", "udp4")
	say(c, srv, a, "hello", "a message registers its sender, who receives it too", a)
	say(c, srv, b, "hi A", "every member receives every message, the sender included", a, b)
	say(c, srv, cc, "hey everyone", "every member receives every message, the sender included", a, b, cc)
	say(c, srv, a, "welcome, C", "every member receives every message, the sender included", a, b, cc)
	say(c, srv, b, "  spaces and a newline \n", "a message is broadcast as it is: spaces and newlines are part of it", a, b, cc)
}

func checkHeartbeat(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4", Config{})
	a, b, cc := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4"), c.NewPeer("member C", "udp4")
	const answer = "a heartbeat is answered with \"@im@\" to its sender, and never broadcast"
	a.Send(srv.addr, []byte(heartbeat))
	expectNext(c, a, srv.addr, heartbeat, answer)
	b.Send(srv.addr, []byte(heartbeat))
	expectNext(c, b, srv.addr, heartbeat, answer)
	// A and B are members by their heartbeats alone, and the first thing
	// either gets next is C's message: no one was sent the other's heartbeat.
	say(c, srv, cc, "is anyone here?", "a heartbeat registers its sender, and is never sent to anyone else", a, b, cc)
	a.Send(srv.addr, []byte(heartbeat))
	expectNext(c, a, srv.addr, heartbeat, answer)
	say(c, srv, cc, "still here?", "a heartbeat is never sent to anyone but its sender", b, cc, a)
	say(c, srv, b, heartbeat+"\n", "only \"@im@\" exactly is a heartbeat: \"@im@\\n\" is an ordinary message", b, cc, a)
}

func checkQuit(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4", Config{})
	a, b := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4")
	s := c.NewPeer("stranger", "udp4")
	say(c, srv, a, "hello", "a message registers its sender", a)
	say(c, srv, b, "hi", "every member receives every message", a, b)
	a.Send(srv.addr, []byte(quit))
	c.Step("(member A has left: it must receive nothing until it speaks again)")
	say(c, srv, b, "did A leave?", "\"quit\" is not broadcast", b)
	// If A had been sent B's message, it would come before A's own.
	say(c, srv, a, "back", "after \"quit\" a member receives nothing more", a, b)
	s.Send(srv.addr, []byte(quit))
	c.Step("(the stranger was never a member: its quit must change nothing)")
	a.Send(srv.addr, []byte(quit))
	a.Send(srv.addr, []byte(quit))
	c.Step("(member A quits twice: the second is from a stranger now)")
	say(c, srv, b, "QUIT", "only \"quit\" exactly leaves: \"QUIT\" is an ordinary message, and a quit from a stranger changes nothing", b)
	say(c, srv, a, "back again", "after \"quit\" a member receives nothing more", a, b)
	say(c, srv, a, "quit\n", "only \"quit\" exactly leaves: \"quit\\n\" is an ordinary message", a, b)
	say(c, srv, a, " quit", "only \"quit\" exactly leaves: \" quit\" is an ordinary message", a, b)
	say(c, srv, b, "still with us, A?", "\"quit\\n\" and \" quit\" are messages: A is still a member", a, b)
}

func checkExpiry(c *harness.C, impl Impl) {
	cfg := Config{Expiry: c.Dur(50 * time.Millisecond)}
	// Each verdict below holds while the harness keeps to its schedule
	// within a quarter of the expiry; the spans measure the silences as
	// your server sees them, from the harness's own sends and receipts.
	c.Timed(cfg.Expiry / 4)
	srv := startServer(c, impl, "udp4", cfg)
	a, b := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4")
	// Each span ends when B receives its own broadcast: your server has
	// handled B's message by then, and it has not handled A's before the
	// span's start. (B is a member all along: it spoke last.)
	spoke := time.Now() // A's only message: your server has heard from A since, at most
	quiet := c.Span("from A's message to B's broadcast", spoke, cfg.Expiry*3/4)
	say(c, srv, a, "hello", "a message registers its sender", a)
	heard := time.Now() // your server has heard from A by now, at least
	say(c, srv, b, "hi", "every member receives every message", b)
	quiet.End()
	expectNext(c, a, srv.addr, line(b.Addr(), "hi"), "every member receives every message, and A spoke less than the expiry before")

	// Not too soon: after half the expiry, A is still a member.
	c.Step("members A and B say nothing for half the expiry of %v", cfg.Expiry)
	c.PauseUntil(heard.Add(cfg.Expiry / 2))
	quiet = c.Span("A's silence before B's second broadcast", spoke, cfg.Expiry*7/8)
	say(c, srv, b, "still there?", "every member receives every message", b)
	quiet.End()
	expectNext(c, a, srv.addr, line(b.Addr(), "still there?"), fmt.Sprintf("member A spoke less than the expiry of %v before: "+
		"it is still a member (does your server expire members too soon, or use another expiry than Config's?)", cfg.Expiry))

	// Not too late: after one and a half times the expiry, A is gone.
	c.Step("member A says nothing for one and a half times the expiry of %v (measured by the harness)", cfg.Expiry)
	c.PauseUntil(heard.Add(cfg.Expiry * 3 / 2))
	silence := c.Span("A's silence before B's last message", spoke, cfg.Expiry*7/4)
	say(c, srv, b, "anyone?", "a member that speaks after it expired joins again, and receives its own message", b)
	// Your server has handled B's message by now: A's silence, as it saw
	// it, was less than this span (and more than one and a half times the
	// expiry). A's message below comes after B's broadcast would have.
	silence.End()
	say(c, srv, a, "back", fmt.Sprintf("member A had been silent for more than %v, one and a half times the expiry of %v: "+
		"it must receive nothing until it speaks again (your server still sent it B's message; does it use the Expiry "+
		"from Config, and check it before every broadcast?)", cfg.Expiry*3/2, cfg.Expiry), a, b)
}

func checkStaysLive(c *harness.C, impl Impl) {
	cfg := Config{Expiry: c.Dur(200 * time.Millisecond)}
	c.Timed(cfg.Expiry / 8)
	srv := startServer(c, impl, "udp4", cfg)
	b, cc := c.NewPeer("member B", "udp4"), c.NewPeer("member C", "udp4")
	sent := time.Now() // your server registers B after this
	b.Send(srv.addr, []byte(heartbeat))
	// B is a member by its heartbeat alone: it receives C's message. (An
	// answer to the heartbeat, if any, is skipped: server-heartbeat grades it.)
	cc.Send(srv.addr, []byte("welcome, B"))
	expectNext(c, cc, srv.addr, line(cc.Addr(), "welcome, B"), "a message registers its sender")
	expectSkipping(c, b, srv.addr, line(cc.Addr(), "welcome, B"), "a heartbeat registers its sender")
	registered := time.Now() // and before this
	c.Within("registering B", registered.Sub(sent), cfg.Expiry/8)
	// Each round, B sends heartbeats at 1/4, 2/4 (and in later rounds
	// 3/4) of the expiry, and C speaks at 11/10 of it. The verdict holds
	// only while B's last heartbeat and C's broadcast are less than the
	// expiry apart, as the harness measures them.
	//
	// The first round counts from B's registration, and C speaks more than
	// the expiry after it. B's last heartbeat in that round comes half an
	// expiry after it, so that a server that does not refresh members
	// cannot have dropped B and taken it back in by that heartbeat unless
	// it handled it more than a third of an expiry late.
	start := registered
	for round := 1; round <= 2; round, start = round+1, time.Now() {
		var last time.Time
		beats := 3
		if round == 1 {
			beats = 2
		}
		for k := 1; k <= beats; k++ {
			c.PauseUntil(start.Add(time.Duration(k) * cfg.Expiry / 4))
			last = time.Now()
			b.SendQuiet(srv.addr, []byte(heartbeat))
		}
		gap := c.Span("the time from B's last heartbeat to C's broadcast", last, cfg.Expiry*3/4)
		at := "1/4, 2/4 and 3/4"
		if beats == 2 {
			at = "1/4 and 2/4"
		}
		c.Step("member B sends heartbeats at %s of the expiry of %v, and nothing else", at, cfg.Expiry)
		c.PauseUntil(start.Add(cfg.Expiry * 11 / 10))
		msg := fmt.Sprintf("round %d: B, are you there?", round)
		cc.Send(srv.addr, []byte(msg))
		expectNext(c, cc, srv.addr, line(cc.Addr(), msg), "a member that speaks after it expired joins again")
		gap.End() // your server has handled C's message
		expectSkipping(c, b, srv.addr, line(cc.Addr(), msg), fmt.Sprintf(
			"member B sent nothing but heartbeats, the last %v before C's message, while the one that registered it came "+
				"more than the expiry of %v before: every heartbeat must refresh a member, not only register it the first time",
			time.Since(last).Round(time.Millisecond), cfg.Expiry))
	}
}

func checkLongMessage(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4", Config{})
	a, b := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4")
	say(c, srv, b, "hi", "a message registers its sender", b)
	long := string(pattern('a', 4096))
	say(c, srv, a, long, "a message of 4096 bytes (the default MaxMessage) is broadcast whole", a, b)
	a.Send(srv.addr, pattern('a', 4097))
	c.Step("(4097 bytes is one more than the default MaxMessage: the datagram must be dropped)")
	say(c, srv, b, "next", "with the defaults, a message longer than 4096 bytes is dropped", a, b)

	// A broadcast that cannot be sent is dropped, and Serve goes on: with
	// a MaxMessage of 65,507 bytes, the largest IPv4 payload, the longest
	// messages make broadcasts too long to send.
	srv = startServer(c, impl, "udp4", Config{MaxMessage: 65507})
	say(c, srv, a, "hello", "a message registers its sender", a)
	say(c, srv, b, "hi", "every member receives every message", a, b)
	a.Send(srv.addr, pattern('a', 65500))
	c.Step("(its broadcast would be %d bytes, more than a UDP datagram can carry: no member can be sent it)",
		len(line(a.Addr(), string(pattern('a', 65500)))))
	say(c, srv, b, "still there?", "a broadcast that cannot be sent is dropped, and Serve goes on with the next datagram", a, b)
}

func checkBadInput(c *harness.C, impl Impl) {
	cfg := Config{MaxMessage: 100}
	srv := startServer(c, impl, "udp4", cfg)
	a, b := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4")
	say(c, srv, a, "hello", "a message registers its sender", a)
	say(c, srv, b, "hi", "every member receives every message", a, b)
	c.Step("(MaxMessage is 100: the next datagrams from A must all be dropped, and A stays a member)")
	a.Send(srv.addr, nil)
	a.Send(srv.addr, pattern('x', 101))
	a.Send(srv.addr, pattern('z', 65507))
	a.Send(srv.addr, []byte("\xff\xfe not UTF-8"))
	a.Send(srv.addr, []byte("caf\xc3"))
	say(c, srv, b, "still there, A?", "empty, oversized and non-UTF-8 datagrams are dropped whole (not cut short, "+
		"not broadcast), and an empty datagram does not make its sender leave", b, a)
	say(c, srv, a, string(pattern('y', 100)), "a message of exactly MaxMessage (100) bytes is allowed", a, b)

	// A stranger's bad datagrams register nobody.
	s := c.NewPeer("stranger", "udp4")
	s.Send(srv.addr, nil)
	s.Send(srv.addr, pattern('x', 101))
	s.Send(srv.addr, []byte("caf\xc3"))
	c.Step("(the stranger sent only datagrams that are dropped: it must not become a member)")
	say(c, srv, b, "who is here?", "a dropped datagram registers nobody", b, a)
	if got := s.Drain(); len(got) > 0 {
		c.Fatalf("the stranger sent only an empty, an oversized and a non-UTF-8 datagram, and received %s from your "+
			"server: a datagram that is dropped must not register its sender (check it before you admit anyone)",
			harness.Quote(got[0].Data))
	}
}

func checkMemberCap(c *harness.C, impl Impl) {
	fillRoom(c, impl, Config{MaxMembers: 16}, 16, 200)
	c.Step("(now the same with Config{}: the default MaxMembers is %d)", 64)
	fillRoom(c, impl, Config{}, 64, 100)
}

// fillRoom starts a server with cfg, whose member cap is maxMembers, makes
// member A join, and then joiners more from source ports of their own, in
// batches. The first to arrive must fill the room, and nobody else must get
// anything.
func fillRoom(c *harness.C, impl Impl, cfg Config, maxMembers, joiners int) {
	const batch = 25
	srv := startServer(c, impl, "udp4", cfg)
	a := c.NewPeer("member A", "udp4")
	say(c, srv, a, "hello", "a message registers its sender", a)
	socks := make([]*harness.Peer, joiners)
	for i := range socks {
		socks[i] = c.NewPeer(fmt.Sprintf("joiner %d", i+1), "udp4")
	}
	c.Step("(MaxMembers is %d, and A is a member: the room has %d places left)", maxMembers, maxMembers-1)
	// The first maxMembers-1 sockets fill the room; after each batch, A's
	// broadcast is a barrier: the server has handled the batch when A has
	// it back.
	for i, round := 0, 1; i < joiners; round++ {
		n := batch
		if i == 0 {
			n = maxMembers - 1
		}
		n = min(n, joiners-i)
		for _, s := range socks[i : i+n] {
			s.SendQuiet(srv.addr, []byte(heartbeat))
		}
		c.Step("joiners %d to %d (each its own source port) send %q to your server", i+1, i+n, heartbeat)
		i += n
		msg := fmt.Sprintf("barrier %d", round)
		a.Send(srv.addr, []byte(msg))
		expectSkipping(c, a, srv.addr, line(a.Addr(), msg), "members are never pushed out: A joined first and must stay")
	}
	a.Send(srv.addr, []byte("count"))
	expectSkipping(c, a, srv.addr, line(a.Addr(), "count"), "members are never pushed out: A joined first and must stay")
	a.Send(srv.addr, []byte("count again"))
	expectSkipping(c, a, srv.addr, line(a.Addr(), "count again"), "members are never pushed out")

	// Every joiner's socket now holds whatever your server sent it.
	want := line(a.Addr(), "count")
	var got, heard []int
	for i, s := range socks {
		// Only what came from your server counts: a port the kernel hands
		// out again may still get a stray datagram meant for its last owner.
		fromServer := false
		for _, d := range s.DrainQuiet() {
			if d.From != srv.addr {
				continue
			}
			fromServer = true
			if string(d.Data) == want {
				got = append(got, i+1)
			}
		}
		if fromServer {
			heard = append(heard, i+1)
		}
	}
	c.Step("%d joiners received A's %q: numbers %s; %d received anything at all", len(got), "count", numbers(got), len(heard))
	var first []int
	for i := 1; i < maxMembers; i++ {
		first = append(first, i)
	}
	if len(got) > maxMembers-1 {
		c.Fatalf("your server let %d of the %d joiners in besides A; with MaxMembers %d, want the first %d and no more",
			len(got), joiners, maxMembers, maxMembers-1)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		c.Fatalf("the joiners that received A's broadcast differ (-want +got):\n%s\nthe first %d to arrive fill the room; "+
			"later ones are refused, and nobody is pushed out", diff, maxMembers-1)
	}
	if len(heard) > maxMembers-1 {
		c.Fatalf("%d joiners received something from your server, but only %d were let in: a refused newcomer gets "+
			"nothing, not even an answer to its heartbeat", len(heard), maxMembers-1)
	}

	// A refused newcomer's message is not broadcast either.
	socks[joiners-1].SendQuiet(srv.addr, []byte("let me in"))
	c.Step("joiner %d, refused, sends %q to your server", joiners, "let me in")
	a.Send(srv.addr, []byte("still full?"))
	expectSkipping(c, a, srv.addr, line(a.Addr(), "still full?"), "while the room is full a newcomer's message is "+
		"refused like its heartbeat: not broadcast, and no entry")
}

func checkConcurrent(c *harness.C, impl Impl) {
	const members = 4
	cfg := Config{Expiry: c.Dur(250 * time.Millisecond)}
	run := c.Dur(300 * time.Millisecond)
	// The members must never be silent for the expiry, or your server
	// would rightly drop them: the verdicts hold while the harness keeps
	// each member's silences under three quarters of it.
	c.Timed(cfg.Expiry / 4)
	srv := startServer(c, impl, "udp4", cfg)
	socks := make([]*harness.Peer, members)
	names := make([]netip.AddrPort, members)
	for i := range socks {
		// A peer's reads wake at once when the check is aborted.
		socks[i] = c.NewPeer(fmt.Sprintf("member %c", 'A'+i), "udp4")
		names[i] = socks[i].Addr()
	}

	// Everyone joins first, one after the other, so that each member is in
	// the room before anyone's first message.
	joinStart := time.Now()
	for i, s := range socks {
		s.SendQuiet(srv.addr, []byte("join"))
		for {
			d, ok := s.RecvQuiet(c.Patience())
			if !ok {
				c.Fatalf("member %c waited for the broadcast of its message %q for %v; got nothing", 'A'+i, "join", c.Patience())
			}
			if string(d.Data) == line(names[i], "join") {
				break
			}
		}
	}
	c.Step("members A to %c each send %q, one after the other, and receive its broadcast", 'A'+members-1, "join")

	// Each member sends a message, waits for its own broadcast (collecting
	// everything else that arrives), and goes on for the whole run.
	type result struct {
		sent     []string
		got      []string
		err      error
		lastSend time.Time
		maxGap   time.Duration // the member's longest silence towards the server
	}
	results := make([]result, members)
	var wg sync.WaitGroup
	start := time.Now()
	c.Step("members A to %c each send messages to your server for %v, all at the same time, each waiting for its "+
		"own broadcast before sending the next; the expiry is %v", 'A'+members-1, run, cfg.Expiry)
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.lastSend = joinStart // no later than the member's "join"
			buf := make([]byte, 2048)
			for k := 0; time.Since(start) < run || k < 10; k++ {
				msg := fmt.Sprintf("m%d-%03d", i, k)
				now := time.Now()
				r.maxGap, r.lastSend = max(r.maxGap, now.Sub(r.lastSend)), now
				// Another goroutine than the check's: the peer's socket
				// itself, and errors come back in the result.
				conn := socks[i].Conn()
				if _, err := conn.WriteToUDPAddrPort([]byte(msg), srv.addr); err != nil {
					r.err = err
					return
				}
				r.sent = append(r.sent, msg)
				own := line(names[i], msg)
				for {
					if err := conn.SetReadDeadline(time.Now().Add(c.Patience())); err != nil {
						r.err = err
						return
					}
					if c.Context().Err() != nil {
						return // aborted: the check reports why
					}
					n, _, err := conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						r.err = fmt.Errorf("waited for the broadcast of its message %q: %w", msg, err)
						return
					}
					r.got = append(r.got, string(buf[:n]))
					if string(buf[:n]) == own {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	c.FailIfAborted()
	for i, r := range results {
		if r.err != nil {
			c.Fatalf("member %c: %v", 'A'+i, r.err)
		}
		c.Within(fmt.Sprintf("member %c's longest silence", 'A'+i), r.maxGap, cfg.Expiry*3/4)
	}
	oldest := time.Now()
	for _, r := range results {
		if r.lastSend.Before(oldest) {
			oldest = r.lastSend
		}
	}
	barrier := c.Span("the longest silence of a member before A's last broadcast", oldest, cfg.Expiry*3/4)
	total := 0
	for _, r := range results {
		total += len(r.sent)
	}
	c.Step("the members sent %d messages in all, in %v", total, time.Since(start).Round(time.Millisecond))
	// A last message from A is the barrier: what each member has before it
	// is everything it was sent.
	end := line(names[0], "end")
	socks[0].SendQuiet(srv.addr, []byte("end"))
	for i, s := range socks {
		for {
			d, ok := s.RecvQuiet(c.Patience())
			if !ok {
				c.Fatalf("member %c: expected A's broadcast %q within %v; got nothing", 'A'+i, end, c.Patience())
			}
			if string(d.Data) == end {
				break
			}
			results[i].got = append(results[i].got, string(d.Data))
		}
	}
	barrier.End()
	for i, r := range results {
		for j, sender := range results {
			prefix := names[j].String() + " "
			var from []string
			for _, l := range r.got {
				if m, ok := strings.CutPrefix(l, prefix); ok && m != "join" {
					from = append(from, m)
				}
			}
			if diff := cmp.Diff(sender.sent, from); diff != "" {
				c.Fatalf("member %c did not receive member %c's %d messages exactly once each and in order (-want +got):\n%s",
					'A'+i, 'A'+j, len(sender.sent), diff)
			}
		}
	}
}

func checkServerStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Serve)
	before := harness.Goroutines(pkg)
	srv := startServer(c, impl, "udp4", Config{Expiry: 50 * time.Millisecond})
	a := c.NewPeer("member A", "udp4")
	say(c, srv, a, "hello", "a message registers its sender", a)

	c.Step("harness cancels Serve's context")
	c.Timed(c.Dur(StopBound) / 4)
	srv.run.Expect()
	srv.cancel()
	err, ok := srv.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Serve did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, Serve returned %v; want ctx.Err() (context.Canceled)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}
	// The caller owns conn: Serve must leave it open.
	if held, known := harness.LearnerHolds(srv.conn); known && !held {
		c.Fatalf("after Serve returned, its socket was closed: Serve must not close conn, the caller owns it " +
			"and may serve it again (remove the conn.Close from Serve)")
	}

	// The other way out: the socket closed under Serve while ctx is live.
	srv = startServer(c, impl, "udp4", Config{Expiry: 50 * time.Millisecond})
	say(c, srv, a, "hello again", "a message registers its sender", a)
	c.Step("harness closes the socket Serve reads from (its context is still live)")
	srv.run.Expect()
	srv.conn.Close()
	err, ok = srv.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Serve did not return within %v after its socket was closed: a read error that is not a "+
			"timeout from ctx will not go away, so Serve must return it, not loop", c.Dur(StopBound))
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("after its socket was closed, its context still live, Serve returned %v; want the read's error "+
			"(it wraps net.ErrClosed)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned when its socket was closed, but left %d goroutine(s) running, the first:\n%s\n"+
			"(a goroutine that only ctx ends never ends if Serve returns for another reason: stop it, and wait for "+
			"it, before returning)", len(left), harness.FirstLines(left[0], 8))
	}
}

func checkServerIPv6(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp6", Config{})
	a, b := c.NewPeer("member A", "udp6"), c.NewPeer("member B", "udp6")
	say(c, srv, a, "hello", "an IPv6 sender is written [addr]:port", a)
	say(c, srv, b, "hi", "an IPv6 sender is written [addr]:port", a, b)

	// A dual-stack socket sees IPv4 senders as ::ffff:127.0.0.1.
	if why := dualStack.Missing(); why != "" {
		c.Step("(the dual-stack part is skipped: %s)", why)
		return
	}
	conn, err := listenDualStack()
	if err != nil {
		c.Fatalf("harness could not bind a dual-stack socket: %v", err)
	}
	c.Cleanup(func() { conn.Close() })
	c.Step("harness binds an IPv6 socket that takes IPv4 too (IPV6_V6ONLY off): your server sees each IPv4 " +
		"member as ::ffff:127.0.0.1")
	srv = serveOn(c, impl, conn, Config{})
	a, b = c.NewPeer("member A4", "udp4"), c.NewPeer("member B4", "udp4")
	const rule = "on a dual-stack socket an IPv4 member is still written 127.0.0.1:port, and is the same member " +
		"whatever it sends (unmap the address: netip.Addr.Unmap)"
	say(c, srv, a, "hello", rule, a)
	a.Send(srv.addr, []byte(heartbeat))
	expectNext(c, a, srv.addr, heartbeat, rule)
	say(c, srv, b, "hi", rule, a, b)
	a.Send(srv.addr, []byte(quit))
	c.Step("(member A4 has left: it must receive nothing until it speaks again)")
	say(c, srv, b, "did A4 leave?", rule, b)
	say(c, srv, a, "back", rule, a, b)
}

// server is a learner's Serve running on a socket the harness bound.
type server struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	cancel context.CancelFunc
	run    *harness.Running
}

// startServer binds a loopback socket, runs impl.Serve on it with cfg and
// stops it when the check ends. If Serve returns while the check still
// expects it to serve, the check is aborted with Serve's error, so a stub
// fails at once.
func startServer(c *harness.C, impl Impl, network string, cfg Config) *server {
	return serveOn(c, impl, c.Listen(network), cfg)
}

// serveOn runs impl.Serve on conn as startServer does.
func serveOn(c *harness.C, impl Impl, conn *net.UDPConn, cfg Config) *server {
	// Waits for the learner's code to return are timing verdicts too.
	c.Timed(c.Dur(StopBound) / 4)
	s := &server{conn: conn, addr: harness.AddrPort(conn.LocalAddr())}
	c.Name(s.addr, "your server")
	c.Step("harness starts Serve on %s with %s", s.addr, describe(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.run = c.Go("Serve", func() error { return impl.Serve(ctx, conn, cfg) })
	c.Cleanup(func() {
		s.run.Expect()
		cancel()
		conn.Close() // wakes a Serve that ignores ctx, so the next check starts clean
	})
	return s
}

// line is the broadcast of msg from sender.
func line(sender netip.AddrPort, msg string) string { return sender.String() + " " + msg }

// say sends msg from one peer to the server, and expects its broadcast to
// be the next datagram each of to receives. rule says what the protocol
// requires, for the failure message.
func say(c *harness.C, srv *server, from *harness.Peer, msg, rule string, to ...*harness.Peer) {
	from.Send(srv.addr, []byte(msg))
	for _, p := range to {
		expectNext(c, p, srv.addr, line(from.Addr(), msg), rule)
	}
}

// numbers lists ns, shortened when long.
func numbers(ns []int) string {
	if len(ns) <= 20 {
		return fmt.Sprint(ns)
	}
	return strings.TrimSuffix(fmt.Sprint(ns[:20]), "]") + fmt.Sprintf(" ...] (%d in all)", len(ns))
}
