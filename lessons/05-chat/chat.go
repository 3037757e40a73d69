// Package chat is lesson 05 of udpbook: a chat room over UDP with
// heartbeats, its client, and a chat between two people with no server.
//
// # The protocol
//
// Every datagram is UTF-8 text. The server knows a member by the source
// address of its datagrams (IP and port); there is no login and no
// connection.
//
//   - "@im@" (Heartbeat) registers the sender, or refreshes it if it is a
//     member already. The server answers it with "@im@" to the sender
//     alone, so that the client knows the server is there; it is never
//     broadcast.
//   - "quit" (Quit) removes the sender at once. From an address that is
//     not a member, it does nothing.
//   - Any other non-empty datagram registers or refreshes the sender and is
//     broadcast to every live member, the sender included, as
//     "<ip>:<port> <message>", such as "127.0.0.1:50312 hello" or
//     "[::1]:50312 hello".
//   - Empty datagrams, datagrams longer than MaxMessage bytes and datagrams
//     that are not UTF-8 are dropped without a word.
//
// A member the server has not heard from for longer than Expiry (10 s by
// default) is dropped and receives nothing more until it speaks again.
// Clients send a heartbeat every Interval (5 s by default), so a quiet
// member stays in the room.
//
// # Limits
//
// One datagram in, one datagram out per member: a broadcast multiplies
// every message by the number of members. The server therefore caps both:
// at most MaxMembers members (64 by default; newcomers are refused while the
// room is full, members are never pushed out) and at most MaxMessage bytes
// a message (4096 by default). With the defaults, one message makes at most
// 64 × 4 KiB = 256 KiB of traffic.
//
// # The server
//
// Serve runs the room on one socket. One goroutine reads every datagram and
// owns the member table, so the table needs no lock. Expired members are
// swept out each time a datagram arrives, before it is handled: no timer,
// and nothing is ever sent to a member that has expired.
//
// # The client
//
// Join dials the server (a connected UDP socket), sends a heartbeat at once
// and then every Interval, sends the caller's messages, and hands the
// broadcasts it receives to the caller. It reports the server down, with
// ErrServerDown, when the kernel says the server's port is closed
// (connection refused) or when nothing at all has come from the server for
// Timeout.
//
// # Two people
//
// Talk is the chat of two programs that know each other's address: each
// binds its own port and sends to the other's. Sending and receiving run at
// the same time, so either side can type at any moment.
package chat

import (
	"errors"
	"log"
	"time"
)

// The two control words of the protocol. Both are matched exactly: "QUIT"
// and "quit\n" are ordinary messages.
const (
	Heartbeat = "@im@"
	Quit      = "quit"
)

// The defaults that a zero field of Config stands for.
const (
	DefaultExpiry     = 10 * time.Second
	DefaultInterval   = 5 * time.Second
	DefaultTimeout    = 15 * time.Second
	DefaultMaxMembers = 64
	DefaultMaxMessage = 4096
)

// ErrServerDown is the error Join returns, wrapped with the reason, when it
// concludes that the server has gone away.
var ErrServerDown = errors.New("server is down")

// Config holds the settings of the server (Serve) and of the client (Join).
// The zero value of each field means its default, so Config{} is the
// protocol as written.
//
// Keep the fields as they are: the lesson's test file converts the
// grader's copy of Config into this one, which works only while the two
// have the same fields in the same order.
type Config struct {
	// Expiry is how long the server keeps a member it has not heard from.
	// Zero means DefaultExpiry.
	Expiry time.Duration
	// Interval is how often the client sends a heartbeat. Zero means
	// DefaultInterval.
	Interval time.Duration
	// Timeout is how long the client waits without hearing anything from
	// the server before it reports the server down. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxMembers is the most members the server keeps. Zero means
	// DefaultMaxMembers.
	MaxMembers int
	// MaxMessage is the longest message, in bytes, that the server
	// broadcasts. Zero means DefaultMaxMessage.
	MaxMessage int
	// Logger, if not nil, gets a line from the server for each member that
	// joins, leaves, expires or is refused. Nil logs nothing.
	Logger *log.Logger
}
