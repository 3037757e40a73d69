package lesson05_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"udpbook/harness"
	"udpbook/harness/lesson05"
	stub "udpbook/lessons/05-chat"
	solution "udpbook/solutions/05-chat"
)

var reference = lesson05.Impl{
	Serve: func(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
		return solution.Serve(ctx, conn, solution.Config(cfg))
	},
	Join: func(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
		return solution.Join(ctx, server, solution.Config(cfg), send, recv)
	},
	Talk:          solution.Talk,
	ErrServerDown: solution.ErrServerDown,
}

var stubImpl = lesson05.Impl{
	Serve: func(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
		return stub.Serve(ctx, conn, stub.Config(cfg))
	},
	Join: func(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
		return stub.Join(ctx, server, stub.Config(cfg), send, recv)
	},
	Talk:          stub.Talk,
	ErrServerDown: stub.ErrServerDown,
}

// promises is everything lesson 05 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	// Serve and the protocol (the package documentation).
	{ID: "broadcast", Source: "Serve", Checks: []string{"server-broadcast", "server-concurrent"},
		Text: `any other non-empty datagram registers its sender and goes to every live member, the sender included, as "<ip>:<port> <message>"`},
	{ID: "broadcast-from-conn", Source: "Serve", Checks: []string{"server-broadcast"},
		Text: "broadcasts and answers go out from conn, the server's own socket"},
	{ID: "broadcast-as-is", Source: "Serve", Checks: []string{"server-broadcast"},
		Text: "a message is broadcast as it is: spaces and newlines are part of it"},
	{ID: "heartbeat", Source: "Serve", Checks: []string{"server-heartbeat"},
		Text: `"@im@" registers its sender and is answered with "@im@" to the sender alone; it is never broadcast`},
	{ID: "heartbeat-refreshes", Source: "Serve", Checks: []string{"server-stays-live"},
		Text: `"@im@" refreshes a member that is already in the room`},
	{ID: "quit", Source: "Serve", Checks: []string{"server-quit"},
		Text: `"quit" removes its sender at once; from an address that is not a member it does nothing`},
	{ID: "exact-words", Source: "Serve", Checks: []string{"server-quit", "server-heartbeat"},
		Text: `the control words are matched exactly: "QUIT", "quit\n" and "@im@\n" are ordinary messages`},
	{ID: "expiry", Source: "Serve", Checks: []string{"server-expiry"},
		Text: "a member not heard from for longer than Expiry receives nothing more until it speaks again"},
	{ID: "expiry-not-sooner", Source: "Serve", Checks: []string{"server-expiry"},
		Text: "a member heard from less than Expiry ago is still a member"},
	{ID: "whole-datagram", Source: "Serve", Checks: []string{"server-long-message"},
		Text: "Serve reads every datagram whole, up to the largest UDP payload, so a message is never cut short"},
	{ID: "max-message", Source: "Serve", Checks: []string{"server-bad-input", "server-long-message"},
		Text: "a message longer than MaxMessage is dropped, not truncated; one of exactly MaxMessage bytes is not"},
	{ID: "bad-input", Source: "Serve", Checks: []string{"server-bad-input"},
		Text: "empty and non-UTF-8 datagrams are dropped without a word, and register nobody"},
	{ID: "serve-defaults", Source: "Serve", Checks: []string{"server-long-message", "server-member-cap"},
		Text: "zero fields of cfg mean their defaults: MaxMessage 4096, MaxMembers 64"},
	{ID: "member-cap", Source: "Serve", Checks: []string{"server-member-cap"},
		Text: "at most MaxMembers members: a newcomer is refused while the room is full (no answer, no broadcast), members are never pushed out"},
	{ID: "send-error-dropped", Source: "Serve", Checks: []string{"server-long-message"},
		Text: "a broadcast that cannot be sent is dropped, and Serve goes on"},
	{ID: "one-table", Source: "chapter", Checks: []string{"server-concurrent"},
		Text: "a sweep goroutine, if any, removes only expired members and never deadlocks with the read loop"},
	{ID: "serve-stop", Source: "Serve", Checks: []string{"server-stop"},
		Text: "Serve returns ctx.Err() soon after ctx is done"},
	{ID: "serve-read-error", Source: "Serve", Checks: []string{"server-stop"},
		Text: "Serve returns early only if reading from conn fails for another reason, such as conn being closed, and returns that error"},
	{ID: "serve-no-leaks", Source: "Serve", Checks: []string{"server-stop"},
		Text: "Serve leaves no goroutine running when it returns, however it returns"},
	{ID: "serve-caller-owns-conn", Source: "Serve", Checks: []string{"server-stop"},
		Text: "Serve does not close conn; the caller does (and clears the read deadline Serve leaves to use it again)"},
	{ID: "ipv6", Source: "Serve", Checks: []string{"server-ipv6"},
		Text: `an IPv6 sender is written "[::1]:50312"`},
	{ID: "dual-stack", Source: "chapter", Checks: []string{"server-ipv6"},
		Text: "on a dual-stack socket an IPv4 sender is unmapped: written 127.0.0.1:port, and the same member whatever it sends"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"server-broadcast", "client-join"},
		Text: "a panic in Serve or Join is reported with where it happened"},

	// Join.
	{ID: "join-first-heartbeat", Source: "Join", Checks: []string{"client-join"},
		Text: "Join sends a heartbeat at once, so the member receives broadcasts straight away"},
	{ID: "join-as-is", Source: "Join", Checks: []string{"client-join"},
		Text: "Join sends each message that arrives on send as one datagram, as it is"},
	{ID: "join-one-socket", Source: "Join", Checks: []string{"client-join"},
		Text: "everything goes out of one connected UDP socket, so the server sees one member"},
	{ID: "join-defaults", Source: "Join", Checks: []string{"client-join"},
		Text: "zero fields of cfg mean their defaults: an Interval of 5s and a Timeout of 15s"},
	{ID: "join-interval", Source: "Join", Checks: []string{"client-heartbeat"},
		Text: "then a heartbeat every cfg.Interval: not fewer, not more"},
	{ID: "join-nothing-after", Source: "chapter", Checks: []string{"client-heartbeat"},
		Text: `nothing goes out after "quit" (but a second "quit") or after Join returns: the server would take the member back in`},
	{ID: "join-receive", Source: "Join", Checks: []string{"client-receive"},
		Text: "every broadcast from the server goes to recv, whole and in the order they arrive; the answers to heartbeats do not"},
	{ID: "join-quit", Source: "Join", Checks: []string{"client-quit"},
		Text: `when ctx is done or send is closed, Join sends "quit"`},
	{ID: "join-returns", Source: "Join", Checks: []string{"client-stop"},
		Text: "Join returns ctx.Err() when ctx is done and nil when send is closed, without waiting for the caller to take from recv"},
	{ID: "join-closes-recv", Source: "Join", Checks: []string{"client-stop"},
		Text: "Join closes recv when it returns, however it returns"},
	{ID: "join-no-leaks", Source: "Join", Checks: []string{"client-stop"},
		Text: "Join leaves nothing running when it returns, however it returns"},
	{ID: "join-refused", Source: "Join", Checks: []string{"client-refused"},
		Text: "a server port reported closed makes Join return an error wrapping ErrServerDown and syscall.ECONNREFUSED"},
	{ID: "join-silence", Source: "Join", Checks: []string{"client-silence"},
		Text: "nothing from the server for cfg.Timeout (not less, not much more) makes Join return an error wrapping ErrServerDown"},

	// Talk.
	{ID: "talk-send", Source: "Talk", Checks: []string{"pair-send"},
		Text: "Talk sends each message on send to peer as one datagram, as it is, from conn"},
	{ID: "talk-receive", Source: "Talk", Checks: []string{"pair-receive"},
		Text: "Talk hands every datagram from peer to recv, as it is, in order; datagrams from anyone else are dropped"},
	{ID: "talk-peer-any-form", Source: "Talk", Checks: []string{"pair-receive"},
		Text: "the peer is recognised whatever form its address takes (IPv4-mapped on a dual-stack socket)"},
	{ID: "talk-both-ways", Source: "Talk", Checks: []string{"pair-send", "pair-receive"},
		Text: "neither direction waits for the other"},
	{ID: "talk-only-peer", Source: "chapter", Checks: []string{"pair-duplex"},
		Text: "recv gets what the peer sent, and only that: never this side's own messages"},
	{ID: "talk-stop", Source: "Talk", Checks: []string{"pair-stop"},
		Text: "Talk returns ctx.Err() when ctx is done and nil when send is closed, closes recv and leaves nothing running"},
	{ID: "talk-error", Source: "Talk", Checks: []string{"pair-stop"},
		Text: "if receiving fails (conn closed under it), Talk returns the error, closes recv and leaves nothing running"},
	{ID: "talk-caller-owns-conn", Source: "Talk", Checks: []string{"pair-stop"},
		Text: "Talk does not close conn; the caller does"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it.
var broken = []harness.Broken[lesson05.Impl]{
	// The server.
	{Name: "leaves the sender out of its own broadcast", Msg: `to receive "127.0.0.1:`, Fails: "server-broadcast", Promise: "broadcast", Impl: serve(srv{noSelf: true})},
	{Name: "writes the sender like Python's tuple", Msg: `received "('127.0.0.1', `, Fails: "server-broadcast", Promise: "broadcast", Impl: serve(srv{tuple: true})},
	{Name: "sends broadcasts from a new socket", Msg: `it came from`, Fails: "server-broadcast", Promise: "broadcast-from-conn", Impl: serve(srv{newSocket: true})},
	{Name: "answers the sender only, like an echo server", Msg: `member A 127.0.0.1:`, Fails: "server-broadcast", Promise: "broadcast", Impl: serve(srv{echoOnly: true})},
	{Name: "trims every datagram, like Python's strip()", Msg: `, want "127.0.0.1:`, Fails: "server-broadcast", Promise: "broadcast-as-is", Impl: serve(srv{trimAll: true})},
	{Name: "broadcasts heartbeats as messages", Msg: ` @im@", want "@im@"`, Fails: "server-heartbeat", Promise: "heartbeat", Impl: serve(srv{hbAsMessage: true})},
	{Name: "does not answer heartbeats", Msg: `The rule: a heartbeat is answered`, Fails: "server-heartbeat", Promise: "heartbeat", Impl: serve(srv{noAnswer: true})},
	{Name: "answers a heartbeat to every member", Msg: `received "@im@", want "127.0.0.1:`, Fails: "server-heartbeat", Promise: "heartbeat", Impl: serve(srv{answerAll: true})},
	{Name: "a heartbeat refreshes members but does not register", Msg: `The rule: a heartbeat registers its sender`, Fails: "server-heartbeat", Promise: "heartbeat", Impl: serve(srv{hbNoRegister: true})},
	{Name: "trims a datagram before comparing it with the control words", Msg: `"@im@\n" is an ordinary message`, Fails: "server-heartbeat", Promise: "exact-words", Impl: serve(srv{trimControl: true})},
	{Name: "never matches quit (the tutorial's bytes-vs-str comparison)", Msg: ` quit", want "127.0.0.1:`, Fails: "server-quit", Promise: "quit", Impl: serve(srv{quitNever: true})},
	{Name: "matches quit case-insensitively", Msg: `"QUIT" is an ordinary message`, Fails: "server-quit", Promise: "exact-words", Impl: serve(srv{quitFold: true})},
	{Name: "trims a datagram before comparing it with quit", Msg: `"quit\n" is an ordinary message`, Fails: "server-quit", Promise: "exact-words", Impl: serve(srv{trimControl: true})},
	{Name: "returns an error for a quit from a stranger", Msg: `Serve returned while it should still be running: quit from a stranger`, Fails: "server-quit", Promise: "quit", Impl: serve(srv{quitStrangerErr: true})},
	{Name: "removes the member on quit but broadcasts the quit too", Msg: ` quit", want "127.0.0.1:`, Fails: "server-quit", Promise: "quit", Impl: serve(srv{quitBroadcast: true})},
	{Name: "never expires members", Msg: `it must receive nothing until it speaks again`, Fails: "server-expiry", Promise: "expiry", Impl: serve(srv{neverExpire: true})},
	{Name: "reads the Expiry's milliseconds as seconds", Msg: `it must receive nothing until it speaks again`, Fails: "server-expiry", Promise: "expiry", Impl: serve(srv{expiryAsSeconds: true})},
	{Name: "uses the default expiry of 10s, not Config's", Msg: `it must receive nothing until it speaks again`, Fails: "server-expiry", Promise: "expiry", Impl: serve(srv{defaultExpiry: true})},
	{Name: "expires members after twice the Expiry", Msg: `it must receive nothing until it speaks again`, Fails: "server-expiry", Promise: "expiry", Impl: serve(srv{expiryTimes: 2})},
	{Name: "expires members after 0.4 times the Expiry", Msg: `it is still a member`, Fails: "server-expiry", Promise: "expiry-not-sooner", Impl: serve(srv{expiryTimes: 0.4})},
	{Name: "expires members after half the Expiry", Msg: `it is still a member`, Fails: "server-expiry", Promise: "expiry-not-sooner", Impl: serve(srv{expiryTimes: 0.5})},
	{Name: "a heartbeat registers a member but never refreshes it", Msg: `every heartbeat must refresh a member`, Fails: "server-stays-live", Promise: "heartbeat-refreshes", Impl: serve(srv{noRefresh: true})},
	{Name: "1024-byte read buffer, as in the tutorial", Msg: `bytes, want 411`, Fails: "server-long-message", Promise: "whole-datagram", Impl: serve(srv{buf: 1024})},
	{Name: "default MaxMessage of 1024 bytes", Msg: `a message of 4096 bytes (the default MaxMessage) is broadcast whole`, Fails: "server-long-message", Promise: "serve-defaults", Impl: serve(srv{defaultMax: 1024})},
	{Name: "a zero MaxMessage means no limit", Msg: `a message longer than 4096 bytes is dropped`, Fails: "server-long-message", Promise: "serve-defaults", Impl: serve(srv{noDefaultMax: true})},
	{Name: "returns when a broadcast cannot be sent", Msg: `Serve returned while it should still be running: write udp`, Fails: "server-long-message", Promise: "send-error-dropped", Impl: serve(srv{returnOnSendErr: true})},
	{Name: "takes an empty datagram for quit, as the tutorial did", Msg: `an empty datagram does not make its sender leave`, Fails: "server-bad-input", Promise: "bad-input", Impl: serve(srv{emptyIsQuit: true})},
	{Name: "broadcasts empty datagrams", Msg: `received "127.0.0.1:`, Fails: "server-bad-input", Promise: "bad-input", Impl: serve(srv{broadcastEmpty: true})},
	{Name: "cuts oversized messages to MaxMessage", Msg: `xyz{|xyz{|xyz{|xyz{|`, Fails: "server-bad-input", Promise: "max-message", Impl: serve(srv{truncate: true})},
	{Name: "ignores MaxMessage", Msg: `xyz{|xyz{|`, Fails: "server-bad-input", Promise: "max-message", Impl: serve(srv{ignoreMax: true})},
	{Name: "drops a message of exactly MaxMessage bytes", Msg: `a message of exactly MaxMessage (100) bytes is allowed`, Fails: "server-bad-input", Promise: "max-message", Impl: serve(srv{dropAtMax: true})},
	{Name: "broadcasts bytes that are not UTF-8", Msg: `\xff\xfe not UTF-8`, Fails: "server-bad-input", Promise: "bad-input", Impl: serve(srv{allowBadUTF8: true})},
	{Name: "registers the sender before it looks at the datagram", Msg: `a datagram that is dropped must not register its sender`, Fails: "server-bad-input", Promise: "bad-input", Impl: serve(srv{registerFirst: true})},
	{Name: "panics on an empty datagram", Msg: `Serve panicked: runtime error: index out of range`, Fails: "server-bad-input", Promise: "bad-input", Impl: serve(srv{panicEmpty: true})},
	{Name: "no member cap", Msg: `joiners in besides A; with MaxMembers 16`, Fails: "server-member-cap", Promise: "member-cap", Impl: serve(srv{noCap: true})},
	{Name: "member cap off by one (> instead of >=)", Msg: `let 16 of the 200 joiners in`, Fails: "server-member-cap", Promise: "member-cap", Impl: serve(srv{capOffByOne: true})},
	{Name: "pushes out the oldest member to make room", Msg: `later ones are refused, and nobody is pushed out`, Fails: "server-member-cap", Promise: "member-cap", Impl: serve(srv{evictOldest: true})},
	{Name: "answers heartbeats from refused joiners", Msg: `not even an answer to its heartbeat`, Fails: "server-member-cap", Promise: "member-cap", Impl: serve(srv{answerRefused: true})},
	{Name: "caps heartbeats only: a newcomer's message gets in", Msg: `a newcomer's message is refused like its heartbeat`, Fails: "server-member-cap", Promise: "member-cap", Impl: serve(srv{capHeartbeatsOnly: true})},
	{Name: "a zero MaxMembers means no cap", Msg: `with MaxMembers 64, want the first 63`, Fails: "server-member-cap", Promise: "serve-defaults", Impl: serve(srv{noDefaultCap: true})},
	{Name: "sweep goroutine empties the whole table every tick", Msg: `exactly once each and in order (-want +got)`, Fails: "server-concurrent", Promise: "one-table", Impl: serve(srv{sweeper: true, clearAll: true})},
	{Name: "sweep goroutine locks its mutex twice and deadlocks", Msg: `waited for the broadcast of its message`, Fails: "server-concurrent", Promise: "one-table", Impl: serve(srv{sweeper: true, sweepDeadlock: true})},
	{Name: "ignores ctx", Msg: `did not return within `, Fails: "server-stop", Promise: "serve-stop", Impl: serve(srv{ignoreCtx: true})},
	{Name: "returns nil instead of ctx.Err()", Msg: `Serve returned <nil>`, Fails: "server-stop", Promise: "serve-stop", Impl: serve(srv{returnNil: true})},
	{Name: "leaves its sweep goroutine running", Msg: `left 1 goroutine(s) running`, Fails: "server-stop", Promise: "serve-no-leaks", Impl: serve(srv{sweeper: true, leakSweeper: true})},
	{Name: "sweep goroutine that only ctx stops", Msg: `Serve returned when its socket was closed, but left 1 goroutine(s)`, Fails: "server-stop", Promise: "serve-no-leaks", Impl: serve(srv{sweeper: true, sweeperCtx: true})},
	{Name: "returns ctx.Err() on any read error: nil when the socket is closed", Msg: `its context still live, Serve returned <nil>`, Fails: "server-stop", Promise: "serve-read-error", Impl: serve(srv{nilOnClosed: true})},
	{Name: "keeps looping after a read error", Msg: `after its socket was closed: a read error`, Fails: "server-stop", Promise: "serve-read-error", Impl: serve(srv{loopOnError: true})},
	{Name: "closes conn when it returns", Msg: `Serve must not close conn`, Fails: "server-stop", Promise: "serve-caller-owns-conn", Impl: serve(srv{closeConn: true})},
	{Name: "closes conn when ctx is done, to wake the read", Msg: `Serve must not close conn`, Fails: "server-stop", Promise: "serve-caller-owns-conn", Impl: serve(srv{closeToStop: true})},
	{Name: "writes the sender with %s:%d", Msg: `received "::1:`, Fails: "server-ipv6", Promise: "ipv6", Impl: serve(srv{hostColonPort: true}), Needs: harness.IPv6},
	{Name: "does not unmap the sender's address", Msg: `received "[::ffff:127.0.0.1]:`, Fails: "server-ipv6", Promise: "dual-stack", Impl: serve(srv{noUnmap: true}), Needs: dualStack},
	{Name: "quit deletes the sender's address as ReadFrom gave it, not the unmapped key", Msg: `on a dual-stack socket an IPv4 member`, Fails: "server-ipv6", Promise: "dual-stack", Impl: serve(srv{quitMapped: true}), Needs: dualStack},
	{Name: "panics", Msg: `Serve panicked: boom`, Fails: "server-broadcast", Promise: "no-panic", Impl: serve(srv{panics: true})},

	// The client.
	{Name: "waits one interval before the first heartbeat, as the tutorial did", Msg: `not after an interval`, Fails: "client-join", Promise: "join-first-heartbeat", Impl: join(cli{lateFirst: true})},
	{Name: "sends each message from a new socket", Msg: `send everything on one socket`, Fails: "client-join", Promise: "join-one-socket", Impl: join(cli{newSocketPerMsg: true})},
	{Name: "adds a newline to each message", Msg: `your client sent "hello\n", want "hello"`, Fails: "client-join", Promise: "join-as-is", Impl: join(cli{newline: true})},
	{Name: "trims each message, like a line reader", Msg: `your client sent "two  spaces", want "two  spaces "`, Fails: "client-join", Promise: "join-as-is", Impl: join(cli{trim: true})},
	{Name: "copies each message into a 1024-byte buffer", Msg: `(1024 bytes, want 2000`, Fails: "client-join", Promise: "join-as-is", Impl: join(cli{sendBuf: true})},
	{Name: "no defaults: a zero Interval makes time.NewTicker panic", Msg: `Join panicked: non-positive interval`, Fails: "client-join", Promise: "join-defaults", Impl: join(cli{noDefaults: true})},
	{Name: "no default Timeout: a zero Timeout is a deadline of now", Msg: `Join returned while it should still be running`, Fails: "client-join", Promise: "join-defaults", Impl: join(cli{noDefaultTimeout: true})},
	{Name: "ignores Interval and beats every 5s", Msg: `is too few for an Interval of `, Fails: "client-heartbeat", Promise: "join-interval", Impl: join(cli{defaultInterval: true})},
	{Name: "beats at half the rate: every two intervals", Msg: `is too few for an Interval of `, Fails: "client-heartbeat", Promise: "join-interval", Impl: join(cli{halfRate: true})},
	{Name: "beats twice per interval", Msg: `is too many for an Interval of `, Fails: "client-heartbeat", Promise: "join-interval", Impl: join(cli{doubleRate: true})},
	{Name: "heartbeat goroutine outlives Join", Msg: `the server would take the member back in`, Fails: "client-heartbeat", Promise: "join-nothing-after", Impl: join(cli{leakHeartbeat: true})},
	{Name: "sends a last heartbeat after quit", Msg: `after "quit": the server would take the member back in`, Fails: "client-heartbeat", Promise: "join-nothing-after", Impl: join(cli{beatAfterQuit: true})},
	{Name: "passes the server's @im@ answers on", Msg: `they are not messages for the caller`, Fails: "client-receive", Promise: "join-receive", Impl: join(cli{passAnswers: true})},
	{Name: "1024-byte read buffer", Msg: `(1024 bytes, want 4111`, Fails: "client-receive", Promise: "join-receive", Impl: join(cli{buf: 1024})},
	{Name: "no quit when ctx is done", Msg: `after the harness cancels Join's context, expected "quit"`, Fails: "client-quit", Promise: "join-quit", Impl: join(cli{noQuitCtx: true})},
	{Name: "no quit when send is closed", Msg: `after the harness closes send, expected "quit"`, Fails: "client-quit", Promise: "join-quit", Impl: join(cli{noQuitClose: true})},
	{Name: "sends QUIT", Msg: `your client sent "QUIT"`, Fails: "client-quit", Promise: "join-quit", Impl: join(cli{quitUpper: true})},
	{Name: "does not close recv", Msg: `Join returned without closing recv`, Fails: "client-stop", Promise: "join-closes-recv", Impl: join(cli{noCloseRecv: true})},
	{Name: "closes recv only when ctx is done or send is closed", Msg: `Join returned, the server down, without closing recv`, Fails: "client-stop", Promise: "join-closes-recv", Impl: join(cli{noCloseRecvOnDown: true})},
	{Name: "returns nil when ctx is done", Msg: `Join returned <nil>; want context canceled`, Fails: "client-stop", Promise: "join-returns", Impl: join(cli{returnNil: true})},
	{Name: "waits for the caller to take a broadcast before it can stop", Msg: `did not return within `, Fails: "client-stop", Promise: "join-returns", Impl: join(cli{blockDeliver: true})},
	{Name: "leaves a goroutine running", Msg: `Join returned but left`, Fails: "client-stop", Promise: "join-no-leaks", Impl: join(cli{leak: true})},
	{Name: "heartbeat goroutine stopped only when ctx is done or send is closed", Msg: `Join returned, the server down, but left 1 goroutine(s)`, Fails: "client-stop", Promise: "join-no-leaks", Impl: join(cli{beatsLeakOnDown: true})},
	{Name: "unconnected socket: never hears of a closed port", Msg: `port was closed: the server is down`, Fails: "client-refused", Promise: "join-refused", Impl: join(cli{unconnected: true})},
	{Name: "goes on reading after a read error", Msg: `port was closed: the server is down`, Fails: "client-refused", Promise: "join-refused", Impl: join(cli{ignoreReadErr: true})},
	{Name: "wraps the refusal with %v", Msg: `does not wrap syscall.ECONNREFUSED`, Fails: "client-refused", Promise: "join-refused", Impl: join(cli{wrapV: true})},
	{Name: "returns the refusal without ErrServerDown", Msg: `want an error that wraps ErrServerDown`, Fails: "client-refused", Promise: "join-refused", Impl: join(cli{noErrDown: true})},
	{Name: "never notices silence", Msg: `after the fake server went silent: the server is down`, Fails: "client-silence", Promise: "join-silence", Impl: join(cli{noSilence: true})},
	{Name: "sets the read deadline once, at the start", Msg: `while the server answered each of its heartbeats`, Fails: "client-silence", Promise: "join-silence", Impl: join(cli{deadlineOnce: true})},
	{Name: "counts only broadcasts as word from the server", Msg: `while the server answered each of its heartbeats`, Fails: "client-silence", Promise: "join-silence", Impl: join(cli{onlyBroadcasts: true})},
	{Name: "waits twice the Timeout", Msg: `want no later than`, Fails: "client-silence", Promise: "join-silence", Impl: join(cli{doubleTimeout: true})},
	{Name: "waits half the Timeout", Msg: `want no sooner than the Timeout of `, Fails: "client-silence", Promise: "join-silence", Impl: join(cli{halfTimeout: true})},
	{Name: "Join panics", Msg: `Join panicked: boom`, Fails: "client-join", Promise: "no-panic", Impl: join(cli{panics: true})},

	// Two people.
	{Name: "sends from a new socket", Msg: `it came from`, Fails: "pair-send", Promise: "talk-send", Impl: talk(tlk{newSocket: true})},
	{Name: "takes turns: waits for a datagram before sending", Msg: `Talk did not take "hi" from send`, Fails: "pair-send", Promise: "talk-both-ways", Impl: talk(tlk{readFirst: true})},
	{Name: "adds a newline to each message", Msg: `received "hi\n", want "hi"`, Fails: "pair-send", Promise: "talk-send", Impl: talk(tlk{newline: true})},
	{Name: "trims each message, like a line reader", Msg: `received "spaces and a newline", want "  spaces and a newline \n"`, Fails: "pair-send", Promise: "talk-send", Impl: talk(tlk{trim: true})},
	{Name: "copies each message into a 1024-byte buffer", Msg: `(1024 bytes, want 2000`, Fails: "pair-send", Promise: "talk-send", Impl: talk(tlk{sendBuf: true})},
	{Name: "takes turns: waits for a message to send before reading", Msg: `expected something on recv within `, Fails: "pair-receive", Promise: "talk-both-ways", Impl: talk(tlk{sendFirst: true})},
	{Name: "passes on strangers' datagrams", Msg: `a datagram from anyone but the peer is dropped`, Fails: "pair-receive", Promise: "talk-receive", Impl: talk(tlk{strangers: true})},
	{Name: "1024-byte read buffer", Msg: `(1024 bytes, want 4096`, Fails: "pair-receive", Promise: "talk-receive", Impl: talk(tlk{buf: 1024})},
	{Name: "compares the sender with the peer without unmapping either", Msg: `expected something on recv within `, Fails: "pair-receive", Promise: "talk-peer-any-form", Impl: talk(tlk{noUnmap: true}), Needs: dualStack},
	{Name: "copies its own messages to recv", Msg: `recv differs from what Talk`, Fails: "pair-duplex", Promise: "talk-only-peer", Impl: talk(tlk{echoOwn: true})},
	{Name: "does not close recv", Msg: `Talk returned without closing recv`, Fails: "pair-stop", Promise: "talk-stop", Impl: talk(tlk{noCloseRecv: true})},
	{Name: "ignores ctx", Msg: `after the harness cancels Talk's context`, Fails: "pair-stop", Promise: "talk-stop", Impl: talk(tlk{ignoreCtx: true})},
	{Name: "leaves a goroutine running", Msg: `Talk returned but left`, Fails: "pair-stop", Promise: "talk-stop", Impl: talk(tlk{leak: true})},
	{Name: "closes conn when it returns", Msg: `Talk must not close conn`, Fails: "pair-stop", Promise: "talk-caller-owns-conn", Impl: talk(tlk{closeConn: true})},
	{Name: "closes conn to wake its reading goroutine", Msg: `Talk must not close conn`, Fails: "pair-stop", Promise: "talk-caller-owns-conn", Impl: talk(tlk{closeToWake: true})},
	{Name: "returns nil when its socket is closed", Msg: `its context still live, Talk returned <nil>`, Fails: "pair-stop", Promise: "talk-error", Impl: talk(tlk{nilOnClosed: true})},
	{Name: "keeps reading after a read error", Msg: `after its socket was closed: a read error`, Fails: "pair-stop", Promise: "talk-error", Impl: talk(tlk{loopOnReadErr: true})},
	{Name: "closes recv only when ctx is done or send is closed", Msg: `Talk returned, its socket closed, without closing recv`, Fails: "pair-stop", Promise: "talk-error", Impl: talk(tlk{noCloseRecvOnErr: true})},
}

// dualStack is the capability the dual-stack parts of server-ipv6 and
// pair-receive need (see the suite's own).
var dualStack = lesson05.DualStack

func serve(m srv) lesson05.Impl {
	impl := reference
	impl.Serve = m.Serve
	return impl
}

func join(m cli) lesson05.Impl {
	impl := reference
	impl.Join = m.Join
	return impl
}

func talk(m tlk) lesson05.Impl {
	impl := reference
	impl.Talk = m.Talk
	return impl
}

// srv is a chat server with one mistake switched on. Without sweeper it
// works as the reference does; with it, a ticker goroutine sweeps the
// table under a mutex.
type srv struct {
	noSelf, tuple, newSocket, echoOnly, hostColonPort         bool
	hbAsMessage, noAnswer, answerAll, hbNoRegister, noRefresh bool
	quitNever, quitFold, quitStrangerErr, quitBroadcast       bool
	neverExpire, expiryAsSeconds, defaultExpiry               bool
	expiryTimes                                               float64 // the expiry used, in Expiries
	buf, defaultMax                                           int
	emptyIsQuit, broadcastEmpty, truncate, ignoreMax          bool
	dropAtMax, allowBadUTF8, panicEmpty                       bool
	noCap, capOffByOne, evictOldest, answerRefused            bool
	sweeper, clearAll, sweepDeadlock, leakSweeper             bool
	ignoreCtx, returnNil, panics                              bool
	trimAll, trimControl, registerFirst                       bool // class 3
	noDefaultMax, noDefaultCap, capHeartbeatsOnly             bool
	returnOnSendErr                                           bool
	closeConn, closeToStop                                    bool // class 1
	nilOnClosed, loopOnError, sweeperCtx                      bool // class 4
	noUnmap, quitMapped                                       bool // class 5
	roomFull, announce                                        bool // "Going further"
}

type member struct {
	addr     net.Addr
	lastSeen time.Time
	joined   int
}

func (m srv) Serve(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
	if m.panics {
		panic("boom")
	}
	expiry, maxMembers, maxMessage := cfg.Expiry, cfg.MaxMembers, cfg.MaxMessage
	if expiry <= 0 || m.defaultExpiry {
		expiry = 10 * time.Second
	}
	if m.expiryAsSeconds {
		expiry = time.Duration(expiry.Milliseconds()) * time.Second
	}
	if m.expiryTimes > 0 {
		expiry = time.Duration(float64(expiry) * m.expiryTimes)
	}
	if maxMembers <= 0 {
		maxMembers = 64
		if m.noDefaultCap {
			maxMembers = math.MaxInt
		}
	}
	if maxMessage <= 0 {
		maxMessage = 4096
		if m.defaultMax > 0 {
			maxMessage = m.defaultMax
		}
		if m.noDefaultMax {
			maxMessage = math.MaxInt
		}
	}
	if m.closeConn {
		defer conn.Close()
	}
	switch {
	case m.closeToStop:
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
	case !m.ignoreCtx:
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		defer stop()
	}
	var mu sync.Mutex
	members := map[netip.AddrPort]*member{}
	joins := 0
	sweep := func(now time.Time) {
		if m.neverExpire {
			return
		}
		for who, mem := range members {
			if now.Sub(mem.lastSeen) > expiry {
				delete(members, who)
			}
		}
	}
	if m.sweeper {
		done := make(chan struct{})
		if !m.leakSweeper && !m.sweeperCtx {
			defer close(done)
		}
		go func() {
			ticker := time.NewTicker(expiry / 2)
			defer ticker.Stop()
			for {
				var stop <-chan struct{} = done
				if m.sweeperCtx {
					stop = ctx.Done() // a sweeper that only ctx ends
				}
				select {
				case <-stop:
					return
				case <-ticker.C:
					mu.Lock()
					if m.sweepDeadlock {
						mu.Lock() // as a helper that locks again would
					}
					if m.clearAll {
						clear(members)
					} else {
						sweep(time.Now())
					}
					mu.Unlock()
				}
			}
		}()
	}
	var announce []string // lines to broadcast for joins, with the "Going further" variant
	admit := func(who netip.AddrPort, addr net.Addr, now time.Time, refresh bool) bool {
		if mem, ok := members[who]; ok {
			if refresh {
				mem.lastSeen = now
			}
			return true
		}
		full := len(members) >= maxMembers
		if m.capOffByOne {
			full = len(members) > maxMembers
		}
		if full && m.evictOldest {
			var oldest netip.AddrPort
			first := -1
			for w, mem := range members {
				if first < 0 || mem.joined < first {
					oldest, first = w, mem.joined
				}
			}
			delete(members, oldest)
			full = false
		}
		if full && !m.noCap {
			return false
		}
		joins++
		members[who] = &member{addr: addr, lastSeen: now, joined: joins}
		if m.announce {
			announce = append(announce, who.String()+" joined")
		}
		return true
	}
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if m.returnNil {
				return nil
			}
			if m.nilOnClosed {
				return ctx.Err() // nil when the socket was closed under it
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if m.loopOnError {
				time.Sleep(time.Millisecond)
				continue
			}
			return err
		}
		data := buf[:n]
		if m.trimAll {
			data = bytes.TrimSpace(data) // like Python's strip()
		}
		if m.panicEmpty {
			_ = data[0] // looks at the first byte before checking the length
		}
		now := time.Now()
		mu.Lock()
		if !m.sweeper {
			sweep(now)
		}
		udp := from.(*net.UDPAddr)
		who := netip.AddrPortFrom(udp.AddrPort().Addr().Unmap(), udp.AddrPort().Port())
		if m.noUnmap {
			who = udp.AddrPort()
		}
		name := who.String()
		if m.tuple {
			name = fmt.Sprintf("('%s', %d)", who.Addr(), who.Port())
		}
		if m.hostColonPort {
			name = fmt.Sprintf("%s:%d", who.Addr(), who.Port())
		}
		text := string(data)
		word := text
		if m.trimControl {
			word = strings.TrimSpace(text)
		}
		isQuit := word == "quit" && !m.quitNever
		if m.quitFold {
			isQuit = strings.EqualFold(text, "quit")
		}
		announce = nil
		if m.registerFirst && len(data) > 0 && word != "quit" {
			admit(who, from, now, true) // registers before it knows whether the datagram is any good
		}
		var out []net.Addr
		var msg string
		switch {
		case len(data) == 0 && m.emptyIsQuit:
			delete(members, who)
		case len(data) == 0 && !m.broadcastEmpty:
		case isQuit:
			if _, ok := members[who]; !ok && m.quitStrangerErr {
				mu.Unlock()
				return fmt.Errorf("quit from a stranger, %v", who)
			}
			if _, ok := members[who]; ok && m.announce {
				announce = append(announce, name+" left")
			}
			if m.quitMapped {
				delete(members, udp.AddrPort()) // the key was unmapped: this deletes nothing on a dual-stack socket
			} else {
				delete(members, who)
			}
			if m.quitBroadcast {
				msg = name + " " + text
				for _, mem := range members {
					out = append(out, mem.addr)
				}
			}
		case word == "@im@" && !m.hbAsMessage:
			if _, ok := members[who]; !ok && m.hbNoRegister {
				out, msg = []net.Addr{from}, "@im@"
				break
			}
			_, wasMember := members[who]
			if m.roomFull && !wasMember && !admit(who, from, now, true) {
				out, msg = []net.Addr{from}, "room is full"
				break
			}
			if admit(who, from, now, !m.noRefresh) || m.answerRefused {
				msg = "@im@"
				if m.answerAll {
					for _, mem := range members {
						out = append(out, mem.addr)
					}
				} else if !m.noAnswer {
					out = []net.Addr{from}
				}
			}
		case len(data) > maxMessage && !m.ignoreMax && !m.truncate:
		case len(data) >= maxMessage && m.dropAtMax:
		case !utf8.Valid(data) && !m.allowBadUTF8:
		default:
			if len(data) > maxMessage && m.truncate {
				text = text[:maxMessage]
			}
			if m.capHeartbeatsOnly {
				if _, ok := members[who]; !ok {
					joins++
					members[who] = &member{addr: from, lastSeen: now, joined: joins}
				}
			}
			if admit(who, from, now, true) {
				msg = name + " " + text
				switch {
				case m.echoOnly:
					out = []net.Addr{from}
				default:
					for w, mem := range members {
						if w != who || !m.noSelf {
							out = append(out, mem.addr)
						}
					}
				}
			} else if m.roomFull {
				out, msg = []net.Addr{from}, "room is full"
			}
		}
		for _, a := range announce {
			for _, mem := range members {
				conn.WriteTo([]byte(a), mem.addr)
			}
		}
		mu.Unlock()
		sender := conn
		if m.newSocket && len(out) > 0 {
			other, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer other.Close()
			sender = other
		}
		for _, to := range out {
			if _, err := sender.WriteTo([]byte(msg), to); err != nil && m.returnOnSendErr {
				return err
			}
		}
	}
}

// cli is a chat client with one mistake switched on.
type cli struct {
	lateFirst, newSocketPerMsg, newline                       bool
	defaultInterval, doubleRate, leakHeartbeat, beatAfterQuit bool
	halfRate, doubleTimeout, quitTwice                        bool
	passAnswers                                               bool
	buf                                                       int
	noQuitCtx, noQuitClose, quitUpper                         bool
	noCloseRecv, returnNil, blockDeliver, leak                bool
	unconnected, ignoreReadErr, wrapV, noErrDown              bool
	noSilence, deadlineOnce, onlyBroadcasts, halfTimeout      bool
	panics                                                    bool
	noDefaults, noDefaultTimeout, trim, sendBuf               bool // class 3
	beatsLeakOnDown, noCloseRecvOnDown                        bool // class 4
}

func (m cli) Join(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
	if m.panics {
		panic("boom")
	}
	// With noCloseRecvOnDown, only the ctx and send ways out close recv.
	closeRecv := !m.noCloseRecv && !m.noCloseRecvOnDown
	defer func() {
		if closeRecv {
			close(recv)
		}
	}()
	interval, timeout := cfg.Interval, cfg.Timeout
	if (interval <= 0 && !m.noDefaults) || m.defaultInterval {
		interval = 5 * time.Second
	}
	if m.doubleRate {
		interval /= 2
	}
	if m.halfRate {
		interval *= 2
	}
	if timeout <= 0 && !m.noDefaults && !m.noDefaultTimeout {
		timeout = 15 * time.Second
	}
	if m.doubleTimeout {
		timeout *= 2
	}
	if m.halfTimeout {
		timeout /= 2
	}
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return err
	}
	// conn is connected, or (unconnected) bound and written to with WriteTo.
	var conn *net.UDPConn
	if m.unconnected {
		conn, err = net.ListenUDP("udp", nil)
	} else {
		conn, err = net.DialUDP("udp", nil, raddr)
	}
	if err != nil {
		return err
	}
	write := func(msg string) error {
		var err error
		if m.sendBuf {
			buf := make([]byte, 1024) // a fixed buffer, as C code would have
			msg = string(buf[:copy(buf, msg)])
		}
		if m.unconnected {
			_, err = conn.WriteToUDP([]byte(msg), raddr)
		} else {
			_, err = conn.Write([]byte(msg))
		}
		return m.down(err)
	}
	if m.leak {
		go func() { select {} }()
	}

	down := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		down <- m.receive(conn, timeout, recv, done)
	}()
	if !m.leakHeartbeat {
		defer wg.Wait()
		defer conn.Close()
	}
	defer close(done)

	leave := func() {
		if m.quitUpper {
			write("QUIT")
		} else {
			write("quit")
		}
		if m.beatAfterQuit {
			write("@im@")
		}
		if m.quitTwice {
			write("quit")
		}
	}
	if !m.lateFirst {
		if err := write("@im@"); err != nil {
			return err
		}
	}
	var beats <-chan time.Time
	stopBeats := make(chan struct{})
	if m.beatsLeakOnDown {
		// A heartbeat goroutine that only the ctx and send ways out stop.
		go func() {
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			for {
				select {
				case <-stopBeats:
					return
				case <-ticker.C:
					if err := write("@im@"); err != nil {
						select {
						case down <- err: // Join returns it, but nobody stops this loop
						default:
						}
					}
				}
			}
		}()
	} else if m.leakHeartbeat {
		go func() {
			ticker := time.NewTicker(interval)
			for range ticker.C {
				if write("@im@") != nil {
					return
				}
			}
		}()
	} else {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		beats = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			close(stopBeats)
			if m.noCloseRecvOnDown {
				closeRecv = true
			}
			if !m.noQuitCtx {
				leave()
			}
			if m.returnNil {
				return nil
			}
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				close(stopBeats)
				if m.noCloseRecvOnDown {
					closeRecv = true
				}
				if !m.noQuitClose {
					leave()
				}
				return nil
			}
			if m.newline {
				msg += "\n"
			}
			if m.trim {
				msg = strings.TrimSpace(msg)
			}
			if m.newSocketPerMsg {
				other, err := net.DialUDP("udp", nil, raddr)
				if err != nil {
					return err
				}
				other.Write([]byte(msg))
				other.Close()
				continue
			}
			if err := write(msg); err != nil {
				return err
			}
		case <-beats:
			if err := write("@im@"); err != nil {
				return err
			}
		case err := <-down:
			return err
		}
	}
}

// down wraps a refused read or write as the mutant does.
func (m cli) down(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ECONNREFUSED) && m.noErrDown:
		return fmt.Errorf("read: %w", err)
	case errors.Is(err, syscall.ECONNREFUSED) && m.wrapV:
		return fmt.Errorf("%w: %v", solution.ErrServerDown, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %w", solution.ErrServerDown, err)
	}
	return err
}

func (m cli) receive(conn *net.UDPConn, timeout time.Duration, recv chan<- string, done <-chan struct{}) error {
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	deadline := time.Now().Add(timeout)
	for {
		switch {
		case m.noSilence, m.deadlineOnce, m.onlyBroadcasts:
		default:
			deadline = time.Now().Add(timeout)
		}
		if !m.noSilence {
			conn.SetReadDeadline(deadline)
		}
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("%w: silent for %v", solution.ErrServerDown, timeout)
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			if m.ignoreReadErr {
				continue
			}
			return m.down(err)
		}
		msg := string(buf[:n])
		if msg == "@im@" && !m.passAnswers {
			continue
		}
		if m.onlyBroadcasts {
			deadline = time.Now().Add(timeout)
		}
		if m.blockDeliver {
			recv <- msg
			continue
		}
		select {
		case recv <- msg:
		case <-done:
			return nil
		}
	}
}

// tlk is a two-person chat with one mistake switched on.
type tlk struct {
	newSocket, readFirst, newline, sendFirst, strangers bool
	buf                                                 int
	echoOwn, noCloseRecv, ignoreCtx, leak               bool
	trim, sendBuf                                       bool // class 3
	closeConn, closeToWake                              bool // class 1
	nilOnClosed, loopOnReadErr, noCloseRecvOnErr        bool // class 4
	noUnmap                                             bool // class 5
}

func (m tlk) Talk(ctx context.Context, conn net.PacketConn, peer string, send <-chan string, recv chan<- string) error {
	// With noCloseRecvOnErr, only the ctx and send ways out close recv.
	closeRecv := !m.noCloseRecv && !m.noCloseRecvOnErr
	defer func() {
		if closeRecv {
			close(recv)
		}
	}()
	if m.closeConn {
		defer conn.Close()
	}
	raddr, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return err
	}
	want := raddr.AddrPort()
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	// readOne reads one datagram from the peer (or anyone, with strangers).
	readOne := func() (string, error) {
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return "", err
			}
			sender, peer := harness.Unmap(from.(*net.UDPAddr).AddrPort()), harness.Unmap(want)
			if m.noUnmap {
				sender, peer = from.(*net.UDPAddr).AddrPort(), want
			}
			if m.strangers || sender == peer {
				return string(buf[:n]), nil
			}
		}
	}
	sendOne := func(msg string) error {
		if m.newline {
			msg += "\n"
		}
		if m.trim {
			msg = strings.TrimSpace(msg)
		}
		if m.sendBuf {
			b := make([]byte, 1024)
			msg = string(b[:copy(b, msg)])
		}
		if m.newSocket {
			other, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer other.Close()
			_, err = other.WriteTo([]byte(msg), raddr)
			return err
		}
		_, err := conn.WriteTo([]byte(msg), raddr)
		return err
	}
	if m.readFirst || m.sendFirst {
		// Turns on one goroutine: the tutorial's first version.
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		defer stop()
		defer conn.SetReadDeadline(time.Time{})
		for {
			if m.readFirst {
				msg, err := readOne()
				if err != nil {
					return ctx.Err()
				}
				recv <- msg
			}
			select {
			case msg, ok := <-send:
				if !ok {
					return nil
				}
				sendOne(msg)
			case <-ctx.Done():
				return ctx.Err()
			}
			if m.sendFirst {
				msg, err := readOne()
				if err != nil {
					return ctx.Err()
				}
				recv <- msg
			}
		}
	}
	if m.leak {
		go func() { select {} }()
	}
	done := make(chan struct{})
	failed := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			msg, err := readOne()
			if err != nil && m.loopOnReadErr {
				select {
				case <-done:
					return
				default:
					time.Sleep(time.Millisecond)
					continue // as if a read error would go away
				}
			}
			if err != nil {
				if m.nilOnClosed {
					err = nil // "the socket is closed: we are done"
				}
				failed <- err
				return
			}
			select {
			case recv <- msg:
			case <-done:
				return
			}
		}
	}()
	defer func() {
		close(done)
		if m.closeToWake {
			conn.Close()
		} else {
			conn.SetReadDeadline(time.Now())
		}
		wg.Wait()
		conn.SetReadDeadline(time.Time{})
	}()
	var ctxDone <-chan struct{}
	if !m.ignoreCtx {
		ctxDone = ctx.Done()
	}
	for {
		select {
		case <-ctxDone:
			closeRecv = closeRecv || m.noCloseRecvOnErr
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				closeRecv = closeRecv || m.noCloseRecvOnErr
				return nil
			}
			if err := sendOne(msg); err != nil {
				return err
			}
			if m.echoOwn {
				recv <- msg
			}
		case err := <-failed:
			return err
		}
	}
}

// TestSelf is the self-test of lesson 05's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson05.Impl]{
	Suite:     &lesson05.Suite,
	Reference: reference,
	Stub:      stubImpl,
	Lesson:    "../../lessons/05-chat",
	Promises:  promises,
	Broken:    broken,
	Timing:    timingChecks,
	// The stop checks count the lesson's goroutines, and each waits out
	// its StopBound: they run alone, at 2× only.
	Alone: map[string]bool{"server-stop": true, "client-stop": true, "pair-stop": true},
}

// Every check ID names its part.
func TestCheckIDsNameTheirPart(t *testing.T) {
	for _, ch := range lesson05.Suite.Checks {
		if !strings.HasPrefix(ch.ID, "server-") && !strings.HasPrefix(ch.ID, "client-") && !strings.HasPrefix(ch.ID, "pair-") {
			t.Errorf("check %q should start with server-, client- or pair-", ch.ID)
		}
	}
}

// The client checks rest on a fact of connected UDP sockets on this
// system: a datagram to a closed port comes back as ECONNREFUSED on the
// next read. Make sure it holds, or client-refused means nothing.
func TestConnectedSocketLearnsOfClosedPort(t *testing.T) {
	closed, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.LocalAddr().(*net.UDPAddr)
	closed.Close()
	conn, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("anyone?"))
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("read after writing to a closed port: %v, want ECONNREFUSED", err)
	}
}

// The dual-stack parts of server-ipv6 and pair-receive rest on the
// harness's dual-stack socket: IPv4 datagrams reach it, and their senders
// show up as IPv4-mapped addresses.
func TestDualStackSocketSeesMappedSenders(t *testing.T) {
	if why := dualStack.Missing(); why != "" {
		t.Skip(why)
	}
	conn, err := lesson05.ListenDualStack()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := harness.AddrPort(conn.LocalAddr())
	if !to.Addr().Is4() {
		t.Fatalf("the dual-stack socket is bound to %v, want 127.0.0.1 once unmapped", conn.LocalAddr())
	}
	if _, err := peer.WriteToUDPAddrPort([]byte("hi"), to); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, from, err := conn.ReadFromUDPAddrPort(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if !from.Addr().Is4In6() || harness.Unmap(from) != harness.AddrPort(peer.LocalAddr()) {
		t.Fatalf("the dual-stack socket saw the sender as %v, want [::ffff:%v]", from, peer.LocalAddr())
	}
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to turn a correct implementation's pass into a
// failure if the harness took its verdict anyway.
var timingChecks = []harness.Timing{
	{ID: "server-expiry", Stall: 200 * time.Millisecond},
	{ID: "server-stays-live", Stall: 300 * time.Millisecond},
	{ID: "server-concurrent", Stall: 300 * time.Millisecond},
	{ID: "server-stop", Stall: 600 * time.Millisecond},
	{ID: "client-heartbeat", Stall: 100 * time.Millisecond},
	{ID: "client-stop", Stall: 600 * time.Millisecond},
	{ID: "client-silence", Stall: 300 * time.Millisecond},
	{ID: "pair-stop", Stall: 600 * time.Millisecond},
}

// Correct variations of the reference: designs and harmless extras that
// the chapter allows. Each must pass every check named.
func TestCorrectVariantsPass(t *testing.T) {
	variants := []struct {
		name   string
		impl   lesson05.Impl
		checks []string
	}{
		// A second "quit" is harmless: server-quit grades exactly that.
		{"sends quit twice", join(cli{quitTwice: true}), []string{"client-heartbeat", "client-quit", "client-stop"}},
	}
	for _, v := range variants {
		for _, id := range v.checks {
			if res := lesson05.Suite.GradeOne(id, v.impl); res.Status != harness.Pass {
				t.Errorf("a correct client that %s: check %q gave %s:\n%s", v.name, id, res.Status, res.Message)
			}
		}
	}
}

// The chapter's "Going further" suggests two changes to the protocol, and
// says which checks each one fails, because it changes what they grade.
// Keep the chapter and these lists in step.
func TestGoingFurtherChangesGradedBehaviour(t *testing.T) {
	variants := []struct {
		name  string
		impl  lesson05.Impl
		fails []string // the server checks it fails, in the suite's order
	}{
		{"tells a refused newcomer \"room is full\"", serve(srv{roomFull: true}), []string{"server-member-cap"}},
		{"announces joins and leaves", serve(srv{announce: true}), []string{
			"server-broadcast", "server-heartbeat", "server-quit", "server-expiry", "server-stays-live",
			"server-long-message", "server-bad-input", "server-member-cap", "server-concurrent", "server-stop", "server-ipv6"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var failed []string
			for _, ch := range lesson05.Suite.Checks {
				if !strings.HasPrefix(ch.ID, "server-") {
					continue
				}
				res := lesson05.Suite.GradeOne(ch.ID, v.impl)
				switch {
				case res.Status == harness.Fail:
					failed = append(failed, ch.ID)
				case res.Status == harness.Skip && res.Missing != "":
					// Not graded on this host: it neither passes nor fails.
					t.Logf("check %q skipped: %s", ch.ID, res.Message)
					v.fails = slices.DeleteFunc(slices.Clone(v.fails), func(id string) bool { return id == ch.ID })
				}
			}
			if strings.Join(failed, " ") != strings.Join(v.fails, " ") {
				t.Errorf("a server that %s fails %q, want %q (update docs/05-chat.md, \"Going further\")", v.name, failed, v.fails)
			}
		})
	}
}
