// Package lesson05 grades lesson 05, chat with heartbeats, in three parts:
// the chat server (checks server-*), its client (client-*) and the chat of
// two people without a server (pair-*). The lesson's test file and the
// reference solution's (the same file) call Run.
//
// Time-based behaviour runs on durations of tens or hundreds of
// milliseconds, taken from Config, and every timing assertion leans the
// safe way: a member is called expired only after the harness's own clock
// has seen several expiry periods pass, a heartbeat count is checked
// against a generous range, and a wait for something that should arrive
// ends as soon as it does.
package lesson05

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"udpbook/harness"
)

// Config is the grader's copy of the lesson's Config: the same fields in
// the same order, so that the lesson's test file converts one into the
// other with Config(cfg). Zero fields mean the lesson's defaults.
type Config struct {
	Expiry     time.Duration
	Interval   time.Duration
	Timeout    time.Duration
	MaxMembers int
	MaxMessage int
	Logger     *log.Logger
}

// Impl is the lesson's API: the functions the suite grades, and the
// lesson's ErrServerDown.
type Impl struct {
	Serve         func(ctx context.Context, conn net.PacketConn, cfg Config) error
	Join          func(ctx context.Context, server string, cfg Config, send <-chan string, recv chan<- string) error
	Talk          func(ctx context.Context, conn net.PacketConn, peer string, send <-chan string, recv chan<- string) error
	ErrServerDown error
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// StopBound is how long Serve, Join and Talk may take to return once they
// are told to stop.
const StopBound = time.Second

// The protocol's control words.
const (
	heartbeat = "@im@"
	quit      = "quit"
)

// Suite is lesson 05's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	// The server.
	{
		ID: "server-broadcast", Points: 3,
		Title: "a message reaches every member, the sender included, as \"<ip>:<port> <message>\", from the server's address",
		Hint: "Keep a table of members keyed by the sender's address. A message registers its sender, then goes to " +
			"every member with WriteTo on the server's own socket, as addr.String() + \" \" + message.",
		Run: checkBroadcast,
	},
	{
		ID: "server-heartbeat", Points: 2,
		Title: "\"@im@\" registers its sender and is answered with \"@im@\" to the sender alone, never broadcast",
		Hint: "Compare the datagram with \"@im@\" before treating it as a message. Register or refresh the sender, " +
			"send \"@im@\" back to that address only, and stop there.",
		Run: checkHeartbeat,
	},
	{
		ID: "server-quit", Points: 2,
		Title: "\"quit\" removes its sender at once; quit from a stranger or twice is harmless; \"QUIT\" is a message",
		Hint: "Compare the bytes with \"quit\" exactly (the tutorial compared bytes with a str and never matched). " +
			"Deleting an absent key from a map is fine in Go: do not treat it as an error, and never return from Serve for it.",
		Run: checkQuit,
	},
	{
		ID: "server-expiry", Points: 3,
		Title: "a member silent for longer than the expiry receives nothing more, until it speaks again",
		Hint: "Store when you last heard from each member. Before sending a broadcast (or on every datagram), " +
			"delete every member with now.Sub(lastSeen) > cfg.Expiry. Use the Expiry from Config, not 10 s.",
		Run: checkExpiry,
	},
	{
		ID: "server-stays-live", Points: 2,
		Title: "a member that only sends heartbeats stays live across several expiry periods",
		Hint:  "A heartbeat from a member must refresh its last-seen time, not only register it the first time.",
		Run:   checkStaysLive,
	},
	{
		ID: "server-long-message", Points: 2,
		Title: "a 4 KiB message is broadcast whole, with the default settings",
		Hint: "Read into a 65,535-byte buffer: ReadFrom silently cuts a datagram to the buffer's size " +
			"(the tutorial's recvfrom(1024) did). The default MaxMessage is 4096 bytes, and 4096 bytes are allowed.",
		Run: checkLongMessage,
	},
	{
		ID: "server-bad-input", Points: 2,
		Title: "empty, oversized and non-UTF-8 datagrams are dropped; a message of exactly MaxMessage bytes is not",
		Hint: "Drop (do not truncate, do not broadcast) a datagram that is empty, longer than cfg.MaxMessage or " +
			"not utf8.Valid; an empty datagram is not \"quit\". Then go on reading.",
		Run: checkBadInput,
	},
	{
		ID: "server-member-cap", Points: 3,
		Title: "200 source ports joining fill the room to MaxMembers and no further; members are never pushed out",
		Hint: "When the table holds cfg.MaxMembers members, refuse a newcomer (no broadcast, no answer, no entry), " +
			"and keep the members you have. Refresh existing members as usual.",
		Run: checkMemberCap,
	},
	{
		ID: "server-concurrent", Points: 2,
		Title: "4 members sending at once, with expiry running, all receive every message in order (run it with -race)",
		Hint: "If expiry runs on its own goroutine, every access to the member table, there and in the read loop, " +
			"must hold the same mutex, and the sweep must not call anything that takes the mutex again. " +
			"Simpler: keep the table on Serve's goroutine and sweep before handling each datagram.",
		Run: checkConcurrent,
	},
	{
		ID: "server-stop", Points: 2,
		Title: "cancelling ctx makes Serve return ctx.Err() within 1s, with no goroutine left behind",
		Hint: "Use context.AfterFunc(ctx, ...) to set a read deadline in the past, and return ctx.Err() when ReadFrom " +
			"fails with ctx done. Stop any ticker or sweep goroutine you started before returning.",
		Run: checkServerStop,
	},
	{
		ID: "server-ipv6", Points: 1,
		Title: "the same over IPv6 loopback: broadcasts start with \"[::1]:<port> \"",
		Hint: "Format the sender with its netip.AddrPort's String method (or net.JoinHostPort): it puts an IPv6 " +
			"address in brackets. fmt.Sprintf(\"%s:%d\", ip, port) does not.",
		Run: checkServerIPv6,
	},

	// The client.
	{
		ID: "client-join", Points: 2,
		Title: "Join sends \"@im@\" at once, then each message as it is, all from one socket",
		Hint: "Dial the server once (net.Dial(\"udp\", server)) and send everything on that connection. Send the " +
			"first heartbeat before waiting for anything, or the member receives nothing for a whole interval.",
		Run: checkClientJoin,
	},
	{
		ID: "client-heartbeat", Points: 3,
		Title: "heartbeats go out every Interval (counted over 300ms), and none after Join returns",
		Hint: "Use a time.Ticker with cfg.Interval in the same select as the messages, and stop it (defer " +
			"ticker.Stop()) before Join returns. A heartbeat goroutine must be stopped and waited for.",
		Run: checkClientHeartbeat,
	},
	{
		ID: "client-receive", Points: 2,
		Title: "broadcasts are handed to recv whole and in order; the server's \"@im@\" answers are not",
		Hint: "Read on a goroutine of its own into a 65,535-byte buffer, skip datagrams that are exactly \"@im@\", " +
			"and send the others to recv as string(buf[:n]), one at a time.",
		Run: checkClientReceive,
	},
	{
		ID: "client-quit", Points: 2,
		Title: "Join sends \"quit\" when ctx is done and when send is closed",
		Hint: "Both ways out of the loop (ctx.Done() and a receive from send with ok == false) write \"quit\" " +
			"before returning.",
		Run: checkClientQuit,
	},
	{
		ID: "client-stop", Points: 2,
		Title: "Join returns (ctx.Err() or nil) within 1s, closes recv, and leaves no goroutine behind",
		Hint: "Close the connection to wake the receiving goroutine, wait for it (sync.WaitGroup), then close(recv) " +
			"(defer close(recv) as the first line does it). Return ctx.Err() when ctx is done, nil when send is closed.",
		Run: checkClientStop,
	},
	{
		ID: "client-refused", Points: 2,
		Title: "a server whose port has closed is reported: the error wraps ErrServerDown and syscall.ECONNREFUSED",
		Hint: "Only a connected socket (net.Dial) learns that the server's port is closed: the next Read or Write " +
			"fails with ECONNREFUSED. Return fmt.Errorf(\"%w: %w\", ErrServerDown, err) from Join.",
		Run: checkClientRefused,
	},
	{
		ID: "client-silence", Points: 2,
		Title: "a server that stops answering is reported after Timeout of silence, and not while it answers",
		Hint: "Set a read deadline of now + cfg.Timeout before every Read; when a Read fails with " +
			"os.ErrDeadlineExceeded, return an error wrapping ErrServerDown. The server's \"@im@\" answers count as word from it.",
		Run: checkClientSilence,
	},

	// Two people.
	{
		ID: "pair-send", Points: 2,
		Title: "Talk sends each message on send to the peer, in order, from its bound port, without waiting to receive",
		Hint: "Send with conn.WriteTo(msg, peerAddr) on the conn you were given, as soon as a message arrives on " +
			"send. Reading must happen on another goroutine, so that it never holds up sending.",
		Run: checkPairSend,
	},
	{
		ID: "pair-receive", Points: 2,
		Title: "Talk hands the peer's datagrams to recv in order, without waiting to send; strangers are ignored",
		Hint: "Read on a goroutine of its own with a 65,535-byte buffer, and pass on only datagrams whose sender " +
			"is the peer's address (compare netip.AddrPort values).",
		Run: checkPairReceive,
	},
	{
		ID: "pair-duplex", Points: 2,
		Title: "two Talks told each other's address exchange 50 messages each way at once, in order",
		Hint:  "recv gets what the peer sent, and only that: do not copy your own messages to it.",
		Run:   checkPairDuplex,
	},
	{
		ID: "pair-stop", Points: 1,
		Title: "Talk returns (ctx.Err() or nil) within 1s, closes recv, and leaves no goroutine behind",
		Hint: "To wake the reading goroutine without closing conn (it is the caller's), set a read deadline in the " +
			"past, wait for the goroutine, then clear the deadline and close(recv).",
		Run: checkPairStop,
	},
}}

// ---------------------------------------------------------------- server

func checkBroadcast(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4", Config{})
	a, b, cc := c.NewPeer("member A", "udp4"), c.NewPeer("member B", "udp4"), c.NewPeer("member C", "udp4")
	say(c, srv, a, "hello", "a message registers its sender, who receives it too", a)
	say(c, srv, b, "hi A", "every member receives every message, the sender included", a, b)
	say(c, srv, cc, "hey everyone", "every member receives every message, the sender included", a, b, cc)
	say(c, srv, a, "welcome, C", "every member receives every message, the sender included", a, b, cc)
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
			quietSend(c, b, srv.addr, heartbeat)
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
}

func checkMemberCap(c *harness.C, impl Impl) {
	const maxMembers, joiners, batch = 16, 200, 25
	srv := startServer(c, impl, "udp4", Config{MaxMembers: maxMembers})
	a := c.NewPeer("member A", "udp4")
	say(c, srv, a, "hello", "a message registers its sender", a)
	socks := make([]*net.UDPConn, joiners)
	for i := range socks {
		socks[i] = c.Listen("udp4")
	}
	c.Step("(MaxMembers is %d, and A is a member: the room has %d places left)", maxMembers, maxMembers-1)
	// The first 15 sockets fill the room; after each batch, A's broadcast
	// is a barrier: the server has handled the batch when A has it back.
	for i, round := 0, 1; i < joiners; round++ {
		n := batch
		if i == 0 {
			n = maxMembers - 1
		}
		n = min(n, joiners-i)
		for _, s := range socks[i : i+n] {
			if _, err := s.WriteToUDPAddrPort([]byte(heartbeat), srv.addr); err != nil {
				c.Fatalf("harness could not send: %v", err)
			}
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
		for _, d := range quietDrain(c, s) {
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
		c.Fatalf("your server let %d of the 200 joiners in besides A; with MaxMembers %d, want the first %d and no more",
			len(got), maxMembers, maxMembers-1)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		c.Fatalf("the joiners that received A's broadcast differ (-want +got):\n%s\nthe first %d to arrive fill the room; "+
			"later ones are refused, and nobody is pushed out", diff, maxMembers-1)
	}
	if len(heard) > maxMembers-1 {
		c.Fatalf("%d joiners received something from your server, but only %d were let in: a refused newcomer gets "+
			"nothing, not even an answer to its heartbeat", len(heard), maxMembers-1)
	}
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
	socks := make([]*net.UDPConn, members)
	names := make([]netip.AddrPort, members)
	for i := range socks {
		socks[i] = c.Listen("udp4")
		names[i] = harness.AddrPort(socks[i].LocalAddr())
		c.Name(names[i], fmt.Sprintf("member %c", 'A'+i))
	}
	// A check that is aborted wakes every reader at once.
	stop := context.AfterFunc(c.Context(), func() {
		for _, s := range socks {
			s.SetReadDeadline(time.Unix(1, 0))
		}
	})
	defer stop()

	// Everyone joins first, one after the other, so that each member is in
	// the room before anyone's first message.
	joinStart := time.Now()
	for i, s := range socks {
		if _, err := s.WriteToUDPAddrPort([]byte("join"), srv.addr); err != nil {
			c.Fatalf("harness could not send: %v", err)
		}
		for {
			d, ok := quietRead(c, s, c.Patience())
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
				if _, err := socks[i].WriteToUDPAddrPort([]byte(msg), srv.addr); err != nil {
					r.err = err
					return
				}
				r.sent = append(r.sent, msg)
				own := line(names[i], msg)
				for {
					if err := socks[i].SetReadDeadline(time.Now().Add(c.Patience())); err != nil {
						r.err = err
						return
					}
					if c.Context().Err() != nil {
						return // aborted: the check reports why
					}
					n, _, err := socks[i].ReadFromUDPAddrPort(buf)
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
	if _, err := socks[0].WriteToUDPAddrPort([]byte("end"), srv.addr); err != nil {
		c.Fatalf("harness could not send: %v", err)
	}
	for i, s := range socks {
		for {
			d, ok := quietRead(c, s, c.Patience())
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
	srv.cancel()
	var err error
	select {
	case err = <-srv.done:
	case <-time.After(c.Dur(StopBound)):
		c.Slow("Serve did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
	srv.returned = true
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, Serve returned %v; want ctx.Err() (context.Canceled)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}
}

func checkServerIPv6(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp6", Config{})
	a, b := c.NewPeer("member A", "udp6"), c.NewPeer("member B", "udp6")
	say(c, srv, a, "hello", "an IPv6 sender is written [addr]:port", a)
	say(c, srv, b, "hi", "an IPv6 sender is written [addr]:port", a, b)
}

// server is a learner's Serve running on a socket the harness bound.
type server struct {
	addr     netip.AddrPort
	cancel   context.CancelFunc
	done     chan error // Serve's return value
	returned bool       // the check has taken Serve's return value
}

// startServer binds a loopback socket, runs impl.Serve on it with cfg and
// stops it when the check ends. If Serve returns while the check still
// expects it to serve, the check is aborted with Serve's error, so a stub
// fails at once.
func startServer(c *harness.C, impl Impl, network string, cfg Config) *server {
	// Waits for the learner's code to return are timing verdicts too.
	c.Timed(c.Dur(StopBound) / 4)
	conn := c.Listen(network)
	s := &server{addr: harness.AddrPort(conn.LocalAddr()), done: make(chan error, 1)}
	c.Name(s.addr, "your server")
	c.Step("harness starts Serve on %s with %s", s.addr, describe(cfg))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("Serve panicked: %v", r)
				c.Abort(err)
			} else if ctx.Err() == nil {
				c.Abort(fmt.Errorf("Serve returned while it should still be serving: %v", err))
			}
			s.done <- err
		}()
		err = impl.Serve(ctx, conn, cfg)
	}()
	c.Cleanup(func() {
		cancel()
		conn.Close() // wakes a Serve that ignores ctx, so the next check starts clean
		if !s.returned {
			select {
			case <-s.done:
			case <-time.After(c.Dur(StopBound)):
			}
		}
	})
	return s
}

// describe writes cfg's non-zero fields for the trace.
func describe(cfg Config) string {
	var parts []string
	if cfg.Expiry > 0 {
		parts = append(parts, fmt.Sprintf("Expiry %v", cfg.Expiry))
	}
	if cfg.Interval > 0 {
		parts = append(parts, fmt.Sprintf("Interval %v", cfg.Interval))
	}
	if cfg.Timeout > 0 {
		parts = append(parts, fmt.Sprintf("Timeout %v", cfg.Timeout))
	}
	if cfg.MaxMembers > 0 {
		parts = append(parts, fmt.Sprintf("MaxMembers %d", cfg.MaxMembers))
	}
	if cfg.MaxMessage > 0 {
		parts = append(parts, fmt.Sprintf("MaxMessage %d", cfg.MaxMessage))
	}
	if len(parts) == 0 {
		return "Config{} (the defaults)"
	}
	return "Config{" + strings.Join(parts, ", ") + "}"
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

// expectNext waits up to Patience for p's next datagram and fails the
// check unless it is want, from from. rule says what the protocol
// requires, for the failure message.
func expectNext(c *harness.C, p *harness.Peer, from netip.AddrPort, want, rule string) {
	d, ok := p.Recv(c.Patience())
	check(c, p, d, ok, from, want, rule)
}

// expectSkipping is expectNext, skipping datagrams that are exactly
// "@im@" (answers to heartbeats) without adding them to the trace.
func expectSkipping(c *harness.C, p *harness.Peer, from netip.AddrPort, want, rule string) {
	skipped := 0
	for {
		d, ok := quietRead(c, p.Conn(), c.Patience())
		if ok && string(d.Data) == heartbeat && d.From == from {
			skipped++
			continue
		}
		if skipped > 0 {
			c.Step("%s -> %s: %d times %q (answers to heartbeats, skipped)", c.Who(from), c.Who(p.Addr()), skipped, heartbeat)
		}
		if ok {
			c.Step("%s -> %s: %s", c.Who(d.From), c.Who(p.Addr()), harness.Quote(d.Data))
		}
		check(c, p, d, ok, from, want, rule)
		return
	}
}

func check(c *harness.C, p *harness.Peer, d harness.Datagram, ok bool, from netip.AddrPort, want, rule string) {
	if !ok {
		c.Fatalf("expected %s to receive %s from %s within %v; got nothing.\n   The rule: %s",
			c.Who(p.Addr()), harness.Quote([]byte(want)), c.Who(from), c.Patience(), rule)
	}
	if d.From != from {
		c.Fatalf("expected %s to receive %s from %s; it came from %s instead: send everything from the socket you were given",
			c.Who(p.Addr()), harness.Quote([]byte(want)), c.Who(from), c.Who(d.From))
	}
	if string(d.Data) != want {
		c.Fatalf("%s received %s, want %s%s.\n   The rule: %s", c.Who(p.Addr()), harness.Quote(d.Data),
			harness.Quote([]byte(want)), harness.Difference(d.Data, []byte(want)), rule)
	}
}

// numbers lists ns, shortened when long.
func numbers(ns []int) string {
	if len(ns) <= 20 {
		return fmt.Sprint(ns)
	}
	return strings.TrimSuffix(fmt.Sprint(ns[:20]), "]") + fmt.Sprintf(" ...] (%d in all)", len(ns))
}

// pattern returns n bytes of letters from first on, cycling.
func pattern(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i%5)
	}
	return b
}

// ---------------------------------------------------------------- client

func checkClientJoin(c *harness.C, impl Impl) {
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: time.Minute, Timeout: time.Minute})
	me := firstHeartbeat(c, cl, fake, "with Interval 1m, the first heartbeat goes out at once, not after an interval")
	for _, msg := range []string{"hello", "héllo, 你好", "two  spaces ", "@not a heartbeat@"} {
		put(c, cl.send, msg, "Join")
		d, ok := fake.Recv(c.Patience())
		if !ok {
			c.Fatalf("expected %s from your client within %v; got nothing", harness.Quote([]byte(msg)), c.Patience())
		}
		if d.From != me {
			c.Fatalf("the message came from %s, but the heartbeat came from %s: send everything on one socket, "+
				"so that the server sees one member", d.From, me)
		}
		if string(d.Data) != msg {
			c.Fatalf("your client sent %s, want %s: send each message as it is", harness.Quote(d.Data), harness.Quote([]byte(msg)))
		}
	}
}

func checkClientHeartbeat(c *harness.C, impl Impl) {
	window := c.Dur(300 * time.Millisecond)
	cfg := Config{Interval: c.Dur(15 * time.Millisecond), Timeout: time.Minute}
	// On a machine too busy to run the harness on time, your client's
	// ticker falls behind too: a ticker drops a tick only when its reader
	// is late by a whole interval, so the count holds while the harness is
	// never that late.
	c.Timed(cfg.Interval)
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), cfg)
	start := time.Now()
	var got []string
	for time.Since(start) < window {
		d, ok := quietRead(c, fake.Conn(), window-time.Since(start))
		if ok {
			got = append(got, string(d.Data))
		}
	}
	c.Step("harness cancels Join's context")
	stopped := time.Now()
	cl.stop(c, true)
	if err := cl.wait(c); !errors.Is(err, context.Canceled) {
		c.Step("(Join returned %v)", err)
	}
	// Heartbeats are counted from Join's start to when it was told to stop
	// (what Join sends while stopping is counted against the upper bound).
	running := stopped.Sub(start)
	elapsed := time.Since(start)
	for _, d := range quietDrain(c, fake.Conn()) {
		got = append(got, string(d.Data))
	}
	beats := 0
	for _, g := range got {
		if g == heartbeat {
			beats++
		}
	}
	c.Step("fake server received %d datagrams from your client, %d of them %q, in the %v from calling Join to its return (Interval %v)",
		len(got), beats, heartbeat, elapsed.Round(time.Millisecond), cfg.Interval)
	for i, g := range got {
		if g != quit {
			continue
		}
		// A second quit is harmless; anything else re-registers the member.
		var after []string
		for _, h := range got[i+1:] {
			if h != quit {
				after = append(after, h)
			}
		}
		if len(after) > 0 {
			c.Fatalf("your client sent %s after %q: the server would take the member back in; stop the heartbeats "+
				"before sending quit", quoteAll(after), quit)
		}
		break
	}
	if len(got) == 0 || got[0] != heartbeat {
		c.Fatalf("the first datagram from your client must be %q; got %s", heartbeat, quoteAll(got))
	}
	// One at once, then one per interval: the bounds allow a quarter of
	// the count either way, and one more heartbeat while stopping.
	want := 1 + int(running/cfg.Interval)
	if most := 1 + int(elapsed/cfg.Interval) + want/4 + 1; beats > most {
		c.Fatalf("%d heartbeats in %v is too many for an Interval of %v: want at most %d (one at once, then one per interval)",
			beats, elapsed.Round(time.Millisecond), cfg.Interval, most)
	}
	if least := want - want/4; beats < least {
		c.Slow("%d heartbeats in %v is too few for an Interval of %v: want at least %d (one at once, then one per "+
			"interval, less a quarter); is the Interval from Config used?",
			beats, running.Round(time.Millisecond), cfg.Interval, least)
	}
	// After Join returns, nothing more may come: wait a few intervals.
	c.Pause(5 * cfg.Interval)
	if late := quietDrain(c, fake.Conn()); len(late) > 0 {
		var ls []string
		for _, d := range late {
			ls = append(ls, string(d.Data))
		}
		c.Fatalf("your client sent %s after Join had returned: the server would take the member back in; stop the ticker "+
			"(and any goroutine sending heartbeats) before returning", quoteAll(ls))
	}
}

func checkClientReceive(c *harness.C, impl Impl) {
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: time.Minute, Timeout: time.Minute})
	me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	long := "127.0.0.1:4444 " + string(pattern('a', 4096))
	sent := []string{heartbeat, "127.0.0.1:1111 one", heartbeat, "127.0.0.1:2222 two", long, heartbeat, "[::1]:3333 three"}
	for _, s := range sent {
		fake.Send(me, []byte(s))
	}
	var want []string
	for _, s := range sent {
		if s != heartbeat {
			want = append(want, s)
		}
	}
	for _, w := range want {
		got := next(c, cl.recv, "Join")
		if got != w {
			why := "hand over the broadcasts, whole and in order"
			if got == heartbeat {
				why = "the server's \"@im@\" answers prove it is alive; they are not messages for the caller"
			}
			c.Fatalf("recv gave %s, want %s%s: %s", harness.Quote([]byte(got)), harness.Quote([]byte(w)),
				harness.Difference([]byte(got), []byte(w)), why)
		}
	}
	// Nothing more: a last broadcast must come next.
	fake.Send(me, []byte("127.0.0.1:1111 last"))
	if got := next(c, cl.recv, "Join"); got != "127.0.0.1:1111 last" {
		c.Fatalf("recv gave %s, want %q: each datagram is handed over once", harness.Quote([]byte(got)), "127.0.0.1:1111 last")
	}
}

func checkClientQuit(c *harness.C, impl Impl) {
	for _, how := range []string{"cancels Join's context", "closes send"} {
		fake := c.NewPeer("fake server", "udp4")
		cl := startClient(c, impl, fake.Addr().String(), Config{Interval: time.Minute, Timeout: time.Minute})
		me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
		put(c, cl.send, "bye all", "Join")
		expectNext(c, fake, me, "bye all", "each message goes out as it is")
		c.Step("harness %s", how)
		cl.stop(c, how == "cancels Join's context")
		d, ok := fake.Recv(c.Patience())
		if !ok {
			c.Fatalf("after the harness %s, expected %q from your client within %v; got nothing", how, quit, c.Patience())
		}
		if string(d.Data) != quit || d.From != me {
			c.Fatalf("after the harness %s, your client sent %s from %s; want %q from %s, the socket it used all along",
				how, harness.Quote(d.Data), d.From, quit, me)
		}
		cl.wait(c)
	}
}

func checkClientStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Join)
	before := harness.Goroutines(pkg)
	for _, viaCtx := range []bool{true, false} {
		fake := c.NewPeer("fake server", "udp4")
		cl := startClient(c, impl, fake.Addr().String(), Config{Interval: 10 * time.Millisecond, Timeout: time.Minute})
		me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
		fake.Send(me, []byte("127.0.0.1:1111 hello"))
		if got := next(c, cl.recv, "Join"); got != "127.0.0.1:1111 hello" {
			c.Fatalf("recv gave %s, want %q", harness.Quote([]byte(got)), "127.0.0.1:1111 hello")
		}
		// Two more broadcasts that nobody takes from recv: Join must not
		// wait for the caller to take them when it is told to stop. (Two,
		// because the grader passes recv between processes, which holds
		// one message on the way.) Three more heartbeats give the client
		// time to read them.
		fake.Send(me, []byte("127.0.0.1:1111 unread"))
		fake.Send(me, []byte("127.0.0.1:1111 unread too"))
		for beats := 0; beats < 3; {
			d, ok := quietRead(c, fake.Conn(), c.Patience())
			if !ok {
				c.Fatalf("expected a heartbeat every %v from your client; got nothing for %v", 10*time.Millisecond, c.Patience())
			}
			if string(d.Data) == heartbeat {
				beats++
			}
		}
		how, want := "cancels Join's context", error(context.Canceled)
		if !viaCtx {
			how, want = "closes send", nil
		}
		c.Step("harness %s, without taking the last broadcast from recv", how)
		cl.stop(c, viaCtx)
		var err error
		select {
		case err = <-cl.done:
			cl.returned = true
		case <-time.After(c.Dur(StopBound)):
			c.Slow("Join did not return within %v after the harness %s", c.Dur(StopBound), how)
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			c.Fatalf("after the harness %s, Join returned %v; want %v", how, err, want)
		}
		if !recvClosed(c, cl.recv) {
			c.Fatalf("Join returned without closing recv: close it (defer close(recv)) so that a caller ranging over it stops")
		}
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Join returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}
}

func checkClientRefused(c *harness.C, impl Impl) {
	if runtime.GOOS == "windows" {
		c.Skipf("Go does not report refused UDP datagrams on windows (go.dev/issue/5834)")
	}
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), Config{Interval: 10 * time.Millisecond, Timeout: time.Minute})
	firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	cl.leaving.Store(true)
	fake.Conn().Close()
	c.Step("harness closes the fake server's socket: the next heartbeat gets ICMP port unreachable back (Timeout is 1m)")
	err := cl.waitDown(c, c.Patience(), "after the fake server's port was closed")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		c.Fatalf("Join returned %q, which does not wrap syscall.ECONNREFUSED (errors.Is is false): "+
			"wrap the error from Read or Write with %%w", err)
	}
}

func checkClientSilence(c *harness.C, impl Impl) {
	cfg := Config{Interval: c.Dur(10 * time.Millisecond), Timeout: c.Dur(250 * time.Millisecond)}
	c.Timed(cfg.Timeout / 8)
	fake := c.NewPeer("fake server", "udp4")
	cl := startClient(c, impl, fake.Addr().String(), cfg)
	me := firstHeartbeat(c, cl, fake, "the first heartbeat goes out at once")
	cl.leaving.Store(true) // a return is reported below, with what led to it
	// The fake server answers every heartbeat for one and a half times
	// the Timeout: your client must not call it down.
	phase := cfg.Timeout * 3 / 2
	start := time.Now()
	answers := 0
	lastAnswer := start
	for time.Since(start) < phase {
		d, ok := quietRead(c, fake.Conn(), phase-time.Since(start))
		if ok && string(d.Data) == heartbeat && d.From == me {
			lastAnswer = time.Now()
			quietSend(c, fake, me, heartbeat)
			answers++
		}
		select {
		case err := <-cl.done:
			// The verdict holds if the harness answered in time: your
			// client heard from the server less than the Timeout before.
			since := cl.returnedAt().Sub(lastAnswer)
			c.Within("the fake server's silence before Join returned", since, cfg.Timeout*3/4)
			cl.returned = true
			c.Slow("Join returned %v after %v, while the server answered each of its heartbeats (%d answers, the last %v before): "+
				"silence is the time since anything last came from the server",
				err, time.Since(start).Round(time.Millisecond), answers, since.Round(time.Millisecond))
		default:
		}
	}
	c.Step("fake server answered %d heartbeats with %q over %v; now it goes silent (Timeout %v)",
		answers, heartbeat, phase, cfg.Timeout)
	// Not too late: one and a half times the Timeout, and an interval for
	// a client that looks at the time only when it sends a heartbeat.
	most := cfg.Timeout*3/2 + cfg.Interval
	err := cl.waitDown(c, time.Until(lastAnswer.Add(most))+c.Patience(), "after the fake server went silent")
	took := cl.returnedAt().Sub(lastAnswer)
	if errors.Is(err, syscall.ECONNREFUSED) {
		c.Fatalf("Join returned %q, but the server's port is open: it fell silent, it did not close", err)
	}
	if took < cfg.Timeout*9/10 {
		c.Fatalf("Join reported the server down %v after its last answer; want no sooner than the Timeout of %v",
			took.Round(time.Millisecond), cfg.Timeout)
	}
	if took > most {
		c.Slow("Join reported the server down %v after its last answer; want no later than %v (the Timeout of %v, "+
			"half as much again, and one Interval): is the Timeout from Config used, as the deadline of every read?",
			took.Round(time.Millisecond), most, cfg.Timeout)
	}
	c.Step("Join returned %v after %v of silence", err, took.Round(time.Millisecond))
}

// client is a learner's Join running against a harness server.
type client struct {
	send     chan string
	recv     chan string
	done     chan error // Join's return value
	doneAt   time.Time  // when Join returned, written before done is sent on
	cancel   context.CancelFunc
	leaving  atomic.Bool // the check expects Join to return
	returned bool        // the check has taken Join's return value
	closed   bool        // send is closed
	errDown  error       // the lesson's ErrServerDown
}

// startClient runs impl.Join against server with cfg and stops it when
// the check ends. If Join returns while the check does not expect it to,
// the check is aborted with Join's error, so a stub fails at once.
func startClient(c *harness.C, impl Impl, server string, cfg Config) *client {
	// Waits for the learner's code to return are timing verdicts too.
	c.Timed(c.Dur(StopBound) / 4)
	cl := &client{send: make(chan string), recv: make(chan string), done: make(chan error, 1), errDown: impl.ErrServerDown}
	ctx, cancel := context.WithCancel(context.Background())
	cl.cancel = cancel
	c.Step("harness calls Join(ctx, %q, %s, send, recv)", server, describe(cfg))
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("Join panicked: %v", r)
				c.Abort(err)
			} else if !cl.leaving.Load() {
				c.Abort(fmt.Errorf("Join returned while it should still be running: %v", err))
			}
			cl.doneAt = time.Now()
			cl.done <- err
		}()
		err = impl.Join(ctx, server, cfg, cl.send, cl.recv)
	}()
	c.Cleanup(func() {
		cl.leaving.Store(true)
		cancel()
		if cl.returned {
			return
		}
		drainUntil(cl.done, cl.recv)
	})
	return cl
}

// returnedAt returns when Join returned; call it only after taking Join's
// return value from done.
func (cl *client) returnedAt() time.Time { return cl.doneAt }

// stop tells Join to leave: by cancelling its context, or by closing send.
func (cl *client) stop(c *harness.C, viaCtx bool) {
	cl.leaving.Store(true)
	if viaCtx {
		cl.cancel()
		return
	}
	if !cl.closed {
		cl.closed = true
		close(cl.send)
	}
}

// wait waits up to StopBound for Join to return, taking from recv
// meanwhile, and returns its error.
func (cl *client) wait(c *harness.C) error {
	timeout := time.After(c.Dur(StopBound))
	recv := cl.recv
	for {
		select {
		case err := <-cl.done:
			cl.returned = true
			return err
		case _, ok := <-recv:
			if !ok {
				recv = nil
			}
		case <-timeout:
			c.Slow("Join did not return within %v after it was told to stop", c.Dur(StopBound))
		}
	}
}

// waitDown waits up to d for Join to return an error that wraps
// ErrServerDown, taking from recv meanwhile.
func (cl *client) waitDown(c *harness.C, d time.Duration, when string) error {
	timeout := time.After(d)
	recv := cl.recv
	for {
		select {
		case err := <-cl.done:
			cl.returned = true
			if cl.errDown == nil {
				c.Fatalf("the lesson's ErrServerDown is nil: declare it with errors.New")
			}
			if err == nil || !errors.Is(err, cl.errDown) {
				c.Fatalf("%s, Join returned %v; want an error that wraps ErrServerDown (use %%w)", when, err)
			}
			return err
		case _, ok := <-recv:
			if !ok {
				recv = nil
			}
		case <-timeout:
			c.Slow("Join did not return within %v %s: the server is down, and Join must say so", d, when)
		}
	}
}

// firstHeartbeat waits for the client's first datagram, which must be a
// heartbeat, names the client's address for the trace and returns it.
func firstHeartbeat(c *harness.C, cl *client, fake *harness.Peer, rule string) netip.AddrPort {
	d, ok := fake.Recv(c.Patience())
	if !ok {
		c.Fatalf("expected %q from your client within %v; got nothing.\n   The rule: %s", heartbeat, c.Patience(), rule)
	}
	c.Name(d.From, "your client")
	if string(d.Data) != heartbeat {
		c.Fatalf("your client's first datagram was %s, want %q: join with a heartbeat at once", harness.Quote(d.Data), heartbeat)
	}
	return d.From
}

// put hands msg to a learner's function (who) over ch.
func put(c *harness.C, ch chan<- string, msg, who string) {
	select {
	case ch <- msg:
		c.Step("harness puts %s on send", harness.Quote([]byte(msg)))
	case <-time.After(c.Patience()):
		c.Fatalf("%s did not take %s from send within %v: read send in the same loop that does everything else",
			who, harness.Quote([]byte(msg)), c.Patience())
	case <-c.Context().Done():
		c.FailIfAborted()
	}
}

// next waits up to Patience for what a learner's function (who) hands to
// recv.
func next(c *harness.C, recv <-chan string, who string) string {
	select {
	case msg, ok := <-recv:
		if !ok {
			c.Fatalf("%s closed recv while it should still be running", who)
		}
		c.Step("recv gives %s", harness.Quote([]byte(msg)))
		return msg
	case <-time.After(c.Patience()):
		c.Fatalf("expected something on recv within %v; got nothing", c.Patience())
	case <-c.Context().Done():
		c.FailIfAborted()
	}
	return ""
}

// recvClosed reports whether recv is closed, taking anything left in it.
func recvClosed(c *harness.C, recv <-chan string) bool {
	timeout := time.After(c.Patience())
	for {
		select {
		case _, ok := <-recv:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func quoteAll(ss []string) string {
	var qs []string
	for _, s := range ss {
		qs = append(qs, harness.Quote([]byte(s)))
	}
	if len(qs) > 8 {
		qs = append(qs[:8], fmt.Sprintf("... (%d in all)", len(ss)))
	}
	return "[" + strings.Join(qs, " ") + "]"
}

// ---------------------------------------------------------------- two people

func checkPairSend(c *harness.C, impl Impl) {
	p := c.NewPeer("the other person", "udp4")
	tk := startTalk(c, impl, "udp4", p.Addr())
	msgs := []string{"hi", "are you there?", "", "你好, UDP"}
	c.Step("(the other person sends nothing: Talk must send without waiting to receive)")
	for _, m := range msgs {
		put(c, tk.send, m, "Talk")
		expectNext(c, p, tk.addr, m, "each message on send goes to the peer as it is, from the bound port, at once")
	}
}

func checkPairReceive(c *harness.C, impl Impl) {
	p := c.NewPeer("the other person", "udp4")
	s := c.NewPeer("stranger", "udp4")
	tk := startTalk(c, impl, "udp4", p.Addr())
	c.Step("(nothing is put on send: Talk must receive without waiting to send)")
	long := string(pattern('a', 4096))
	p.Send(tk.addr, []byte("hello"))
	s.Send(tk.addr, []byte("spam from a stranger"))
	p.Send(tk.addr, []byte("how are you?"))
	p.Send(tk.addr, []byte(long))
	s.Send(tk.addr, []byte("more spam"))
	p.Send(tk.addr, []byte("bye"))
	for _, w := range []string{"hello", "how are you?", long, "bye"} {
		got := next(c, tk.recv, "Talk")
		if got != w {
			why := "hand over the peer's datagrams whole and in order"
			if strings.Contains(got, "spam") {
				why = "a datagram from anyone but the peer is dropped"
			}
			c.Fatalf("recv gave %s, want %s%s: %s", harness.Quote([]byte(got)), harness.Quote([]byte(w)),
				harness.Difference([]byte(got), []byte(w)), why)
		}
	}
}

func checkPairDuplex(c *harness.C, impl Impl) {
	const n = 50
	conn1 := c.Listen("udp4")
	addr1 := harness.AddrPort(conn1.LocalAddr())
	conn2 := c.Listen("udp4")
	addr2 := harness.AddrPort(conn2.LocalAddr())
	c.Name(addr1, "Talk 1")
	c.Name(addr2, "Talk 2")
	t1 := runTalk(c, impl, conn1, addr2)
	t2 := runTalk(c, impl, conn2, addr1)
	want := func(side int) []string {
		var ms []string
		for i := range n {
			ms = append(ms, fmt.Sprintf("from %d, message %02d", side, i))
		}
		return ms
	}
	c.Step("harness puts %d messages on each Talk's send at the same time, and reads both recvs", n)
	type outcome struct {
		got []string
		err string
	}
	var wg sync.WaitGroup
	var out [2]outcome
	for i, tk := range []*talker{t1, t2} {
		wg.Add(2)
		go func() { // feed
			defer wg.Done()
			for _, m := range want(i + 1) {
				select {
				case tk.send <- m:
				case <-time.After(c.Patience()):
					return // the reader side will report the shortfall
				case <-c.Context().Done():
					return
				}
			}
		}()
		go func() { // collect
			defer wg.Done()
			for len(out[i].got) < n {
				select {
				case m, ok := <-tk.recv:
					if !ok {
						out[i].err = "closed recv"
						return
					}
					out[i].got = append(out[i].got, m)
				case <-time.After(c.Patience()):
					out[i].err = fmt.Sprintf("gave nothing more on recv for %v", c.Patience())
					return
				case <-c.Context().Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	c.FailIfAborted()
	for i := range out {
		other := 2 - i
		if diff := cmp.Diff(want(other), out[i].got); diff != "" {
			extra := ""
			if out[i].err != "" {
				extra = " (it " + out[i].err + ")"
			}
			c.Fatalf("Talk %d's recv differs from what Talk %d sent (-want +got)%s:\n%s", i+1, other, extra, diff)
		}
	}
	c.Step("each Talk received the other's %d messages, in order", n)
}

func checkPairStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Talk)
	before := harness.Goroutines(pkg)
	for _, viaCtx := range []bool{true, false} {
		p := c.NewPeer("the other person", "udp4")
		tk := startTalk(c, impl, "udp4", p.Addr())
		p.Send(tk.addr, []byte("hello"))
		if got := next(c, tk.recv, "Talk"); got != "hello" {
			c.Fatalf("recv gave %s, want %q", harness.Quote([]byte(got)), "hello")
		}
		p.Send(tk.addr, []byte("unread"))
		how, want := "cancels Talk's context", error(context.Canceled)
		if !viaCtx {
			how, want = "closes send", nil
		}
		c.Step("harness %s, without taking the last message from recv", how)
		tk.leaving.Store(true)
		if viaCtx {
			tk.cancel()
		} else {
			close(tk.send)
		}
		var err error
		select {
		case err = <-tk.done:
			tk.returned = true
		case <-time.After(c.Dur(StopBound)):
			c.Slow("Talk did not return within %v after the harness %s", c.Dur(StopBound), how)
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			c.Fatalf("after the harness %s, Talk returned %v; want %v", how, err, want)
		}
		if !recvClosed(c, tk.recv) {
			c.Fatalf("Talk returned without closing recv: close it (defer close(recv)) so that a caller ranging over it stops")
		}
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Talk returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}
}

// talker is a learner's Talk running on a socket the harness bound.
type talker struct {
	addr     netip.AddrPort
	send     chan string
	recv     chan string
	done     chan error
	cancel   context.CancelFunc
	leaving  atomic.Bool
	returned bool
}

// startTalk binds a socket on network and runs impl.Talk on it, told that
// the peer is at peer.
func startTalk(c *harness.C, impl Impl, network string, peer netip.AddrPort) *talker {
	conn := c.Listen(network)
	addr := harness.AddrPort(conn.LocalAddr())
	c.Name(addr, "your Talk")
	return runTalk(c, impl, conn, peer)
}

// runTalk runs impl.Talk on conn and stops it when the check ends. If Talk
// returns while the check does not expect it to, the check is aborted.
func runTalk(c *harness.C, impl Impl, conn *net.UDPConn, peer netip.AddrPort) *talker {
	c.Timed(c.Dur(StopBound) / 4)
	tk := &talker{addr: harness.AddrPort(conn.LocalAddr()), send: make(chan string), recv: make(chan string), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	tk.cancel = cancel
	c.Step("harness calls Talk(ctx, conn bound to %s, %q, send, recv)", tk.addr, peer.String())
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("Talk panicked: %v", r)
				c.Abort(err)
			} else if !tk.leaving.Load() {
				c.Abort(fmt.Errorf("Talk returned while it should still be running: %v", err))
			}
			tk.done <- err
		}()
		err = impl.Talk(ctx, conn, peer.String(), tk.send, tk.recv)
	}()
	c.Cleanup(func() {
		tk.leaving.Store(true)
		cancel()
		if tk.returned {
			return
		}
		drainUntil(tk.done, tk.recv)
	})
	return tk
}

// ---------------------------------------------------------------- helpers

// drainUntil takes from recv until done has a value or StopBound passes,
// so that a learner's function waiting to deliver does not hold up the
// next check. It puts the value back for anyone else.
func drainUntil(done chan error, recv <-chan string) {
	timeout := time.After(StopBound)
	for {
		select {
		case err := <-done:
			done <- err
			return
		case _, ok := <-recv:
			if !ok {
				recv = nil
			}
		case <-timeout:
			return
		}
	}
}

// quietSend sends msg from p to addr without adding it to the trace.
func quietSend(c *harness.C, p *harness.Peer, to netip.AddrPort, msg string) {
	if _, err := p.Conn().WriteToUDPAddrPort([]byte(msg), to); err != nil {
		c.Fatalf("harness could not send: %v", err)
	}
}

// quietRead waits up to wait for a datagram on conn without adding it to
// the trace. It fails the check at once if the check is aborted.
func quietRead(c *harness.C, conn *net.UDPConn, wait time.Duration) (harness.Datagram, bool) {
	stop := context.AfterFunc(c.Context(), func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		c.Fatalf("harness could not set a deadline: %v", err)
	}
	c.FailIfAborted()
	buf := make([]byte, harness.MaxDatagram+1)
	n, from, err := conn.ReadFromUDPAddrPort(buf)
	c.FailIfAborted()
	if errors.Is(err, net.ErrClosed) {
		return harness.Datagram{}, false
	}
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return quietRead(c, conn, wait) // a late ICMP error from an earlier send; not a datagram
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return harness.Datagram{}, false
		}
		c.Fatalf("harness could not read: %v", err)
	}
	return harness.Datagram{From: harness.Unmap(from), Data: bytes.Clone(buf[:n])}, true
}

// quietDrain returns the datagrams waiting on conn, without adding them to
// the trace. It sends a marker datagram to conn from a socket of its own
// and reads until the marker: on loopback, whatever was sent to conn
// before is queued ahead of it. (Go does not even try a read whose
// deadline has passed, so a zero wait cannot tell an empty socket.)
func quietDrain(c *harness.C, conn *net.UDPConn) []harness.Datagram {
	to := harness.AddrPort(conn.LocalAddr())
	network := "udp4"
	if !to.Addr().Is4() {
		network = "udp6"
	}
	marker, err := harness.ListenLoopback(network)
	if err != nil {
		c.Fatalf("harness could not bind a socket: %v", err)
	}
	defer marker.Close()
	from := harness.AddrPort(marker.LocalAddr())
	const mark = "harness marker: nothing after this"
	if _, err := marker.WriteToUDPAddrPort([]byte(mark), to); err != nil {
		c.Fatalf("harness could not send: %v", err)
	}
	var ds []harness.Datagram
	for {
		d, ok := quietRead(c, conn, c.Patience())
		if !ok {
			c.Fatalf("harness lost its own marker datagram to %v", to)
		}
		if d.From == from && string(d.Data) == mark {
			return ds
		}
		ds = append(ds, d)
	}
}
