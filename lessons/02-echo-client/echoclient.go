// Package echoclient is lesson 02 of udpbook: a client for lesson 01's echo
// server that copes with what UDP does to datagrams.
//
// # Sending without a connection
//
// A UDP client needs no connection: it opens a socket, sends a datagram to
// the server's address with WriteTo, and reads the reply with ReadFrom.
// Opened with no local address, the socket is bound at once to a free port
// the kernel chooses, and the server replies to that port.
//
// # Waiting with a deadline
//
// A datagram can be lost, and so can its reply. A read without a deadline
// would then wait forever, so every read here has one. When it passes, the
// client sends the same request again, a few times, then gives up.
//
// # Knowing the reply when you see it
//
// Anything can arrive on the socket: a datagram from another program, a
// late reply to a request already answered, a duplicate. The client takes a
// datagram as the reply only if it comes from the server's address and is
// exactly the greeting the server sends for this request. The echo protocol
// makes that possible; real protocols put an ID in every request (DNS does)
// and match replies by it.
package echoclient

import (
	"context"
	"errors"
	"time"
)

// DefaultTimeout is how long Greet waits for each reply when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// DefaultAttempts is how many times Greet sends each name when
// Options.Attempts is zero.
const DefaultAttempts = 3

// Options configures Greet. The zero value waits DefaultTimeout for each
// reply and sends each name at most DefaultAttempts times.
type Options struct {
	// Timeout is how long to wait for a reply before sending the
	// request again.
	Timeout time.Duration
	// Attempts is how many times to send each request before giving up.
	Attempts int
}

// Greet sends each of names as its own datagram to the echo server at addr
// (such as "127.0.0.1:9999") and returns the replies ("Hello, Michael!"),
// in the order of names. All requests go out from one UDP socket, with
// WriteTo and no connect, so they share one local port.
//
// Greet takes as the reply to a name only a datagram from the server's
// address that is exactly "Hello, <name>!"; it ignores anything else. When
// no reply comes within opts.Timeout, it sends the name again, up to
// opts.Attempts times in all. If every attempt goes unanswered, Greet
// returns the replies so far and an error that wraps os.ErrDeadlineExceeded.
// If ctx is done first, it returns the replies so far and an error that
// wraps ctx.Err(). Names are sent as they are, spaces, newlines and all;
// with no names, Greet sends nothing and returns no replies and no error.
func Greet(ctx context.Context, addr string, names []string, opts Options) ([]string, error) {
	return nil, errors.New("Greet is not written yet: see docs/02-echo-client.md, step 1")
}
