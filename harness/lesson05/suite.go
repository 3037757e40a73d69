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
	"context"
	"log"
	"net"
	"testing"
	"time"

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
		Title: "a message reaches every member, the sender included, as \"<ip>:<port> <message>\", from the server's address; spaces and newlines are kept",
		Hint: "Keep a table of members keyed by the sender's address. A message registers its sender, then goes to " +
			"every member with WriteTo on the server's own socket, as addr.String() + \" \" + message.",
		Run: checkBroadcast,
	},
	{
		ID: "server-heartbeat", Points: 2,
		Title: "\"@im@\" registers its sender and is answered with \"@im@\" to the sender alone, never broadcast; \"@im@\\n\" is a message",
		Hint: "Compare the datagram with \"@im@\" before treating it as a message. Register or refresh the sender, " +
			"send \"@im@\" back to that address only, and stop there.",
		Run: checkHeartbeat,
	},
	{
		ID: "server-quit", Points: 2,
		Title: "\"quit\" removes its sender at once; quit from a stranger or twice is harmless; \"QUIT\", \"quit\\n\" and \" quit\" are messages",
		Hint: "Compare the bytes with \"quit\" exactly, without trimming (the tutorial compared bytes with a str and never matched). " +
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
		Title: "a 4 KiB message is broadcast whole, and one of 4097 bytes dropped, with the default settings",
		Hint: "Read into a 65,535-byte buffer: ReadFrom silently cuts a datagram to the buffer's size " +
			"(the tutorial's recvfrom(1024) did). The default MaxMessage is 4096 bytes: 4096 bytes are allowed, 4097 are not.",
		Run: checkLongMessage,
	},
	{
		ID: "server-bad-input", Points: 2,
		Title: "empty, oversized and non-UTF-8 datagrams are dropped and register nobody; a message of exactly MaxMessage bytes is not dropped",
		Hint: "Drop (do not truncate, do not broadcast) a datagram that is empty, longer than cfg.MaxMessage or " +
			"not utf8.Valid; an empty datagram is not \"quit\". Check before you register the sender. Then go on reading.",
		Run: checkBadInput,
	},
	{
		ID: "server-member-cap", Points: 3,
		Title: "200 source ports joining fill the room to MaxMembers (64 by default) and no further; members are never pushed out",
		Hint: "When the table holds cfg.MaxMembers members, refuse a newcomer, whether it sends a heartbeat or a message " +
			"(no broadcast, no answer, no entry), and keep the members you have. Refresh existing members as usual. " +
			"A zero MaxMembers means DefaultMaxMembers.",
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
		Title: "cancelling ctx makes Serve return ctx.Err() within 1s, and closing its socket the read's error; conn is not closed, no goroutine is left behind",
		Hint: "Use context.AfterFunc(ctx, ...) to set a read deadline in the past, and return ctx.Err() when ReadFrom " +
			"fails with ctx done, and the read's error otherwise. Stop any ticker or sweep goroutine you started before returning, " +
			"however Serve returns, and never close conn: it is the caller's.",
		Run: checkServerStop,
	},
	{
		ID: "server-ipv6", Points: 1,
		Title: "the same over IPv6 loopback (broadcasts start with \"[::1]:<port> \") and on a dual-stack socket (IPv4 members are still \"127.0.0.1:<port>\")",
		Hint: "Format the sender with its netip.AddrPort's String method (or net.JoinHostPort): it puts an IPv6 " +
			"address in brackets. fmt.Sprintf(\"%s:%d\", ip, port) does not. Unmap the address first: on a dual-stack socket an IPv4 " +
			"sender arrives as ::ffff:127.0.0.1.",
		Run: checkServerIPv6,
	},

	// The client.
	{
		ID: "client-join", Points: 2,
		Title: "Join, with Config{}, sends \"@im@\" at once, then each message as it is (2000 bytes, spaces, newlines), all from one socket",
		Hint: "Dial the server once (net.Dial(\"udp\", server)) and send everything on that connection. Send the " +
			"first heartbeat before waiting for anything, or the member receives nothing for a whole interval. Zero fields of " +
			"Config mean the defaults (time.NewTicker(0) panics).",
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
		Title: "Join returns (ctx.Err() or nil) within 1s, and on its own when the server is down; each time it closes recv and leaves no goroutine behind",
		Hint: "Close the connection to wake the receiving goroutine, wait for it (sync.WaitGroup), then close(recv) " +
			"(defer close(recv) as the first line does it). Return ctx.Err() when ctx is done, nil when send is closed. " +
			"A server found down is a way out too: stop and wait for every goroutine there as well.",
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
		Title: "Talk hands the peer's datagrams to recv in order, without waiting to send; strangers are ignored; also on a dual-stack socket",
		Hint: "Read on a goroutine of its own with a 65,535-byte buffer, and pass on only datagrams whose sender " +
			"is the peer's address (compare unmapped netip.AddrPort values: on a dual-stack socket an IPv4 peer arrives as " +
			"::ffff:127.0.0.1).",
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
		Title: "Talk returns (ctx.Err(), nil, or a closed socket's error) within 1s, closes recv, leaves conn open and no goroutine behind",
		Hint: "To wake the reading goroutine without closing conn (it is the caller's), set a read deadline in the " +
			"past, wait for the goroutine, then clear the deadline and close(recv). If conn is closed under Talk, the read fails: " +
			"return that error, having stopped everything the same way.",
		Run: checkPairStop,
	},
}}
