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
	"fmt"
	"net"
	"net/netip"
	"os"
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
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", addr, err)
	}
	// Unmap turns the ::ffff:127.0.0.1 form into 127.0.0.1, so the
	// comparison with a sender's address below is like with like.
	server := unmap(raddr.AddrPort())

	// A nil local address: any port the kernel chooses.
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("open socket: %w", err)
	}
	defer conn.Close()

	// A blocked read does not watch ctx; a deadline in the past wakes it.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	replies := make([]string, 0, len(names))
	for _, name := range names {
		reply, err := request(ctx, conn, server, name, opts)
		if err != nil {
			return replies, err
		}
		replies = append(replies, reply)
	}
	return replies, nil
}

// request sends name to server until the matching reply arrives or every
// attempt has timed out.
func request(ctx context.Context, conn *net.UDPConn, server netip.AddrPort, name string, opts Options) (string, error) {
	want := "Hello, " + name + "!"
	buf := make([]byte, 65535)
	var err error
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		if _, err := conn.WriteToUDPAddrPort([]byte(name), server); err != nil {
			return "", fmt.Errorf("send %q to %s: %w", name, server, err)
		}
		// One deadline per attempt: datagrams we throw away below do not
		// buy the server more time.
		conn.SetReadDeadline(time.Now().Add(opts.Timeout))
		// If ctx ended before that line, the deadline it set is gone.
		if ctx.Err() != nil {
			return "", fmt.Errorf("greet %q: %w", name, ctx.Err())
		}
		for {
			var n int
			var from netip.AddrPort
			n, from, err = conn.ReadFromUDPAddrPort(buf)
			if ctx.Err() != nil {
				return "", fmt.Errorf("greet %q: %w", name, ctx.Err())
			}
			if err != nil {
				break
			}
			if unmap(from) != server {
				continue // not from the server
			}
			if string(buf[:n]) != want {
				continue // a late or duplicate reply to an earlier name
			}
			return want, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("read reply to %q: %w", name, err)
		}
	}
	return "", fmt.Errorf("no reply to %q from %s after %d attempts: %w", name, server, opts.Attempts, err)
}

// unmap turns ::ffff:127.0.0.1 into 127.0.0.1 and keeps other addresses.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
