// Package connected is lesson 03 of udpbook: a UDP client whose socket is
// connected to one peer, and what that connection does and does not give.
//
// # Connecting
//
// Calling connect on a UDP socket sends nothing. The kernel writes the
// peer's address into the socket and picks the local address and port the
// datagrams will leave from. From then on, three things change: a write
// needs no address; the socket receives only datagrams from that peer (the
// kernel drops the others); and when the peer's host answers a datagram
// with "port unreachable", the kernel reports it on this socket as
// "connection refused". Dial does it, with a net.Dialer.
//
// # Asking and waiting
//
// Request writes one datagram with Write (no address) and reads one with a
// deadline. Both the reply and a refusal come back through that read: a
// refusal is a read error that wraps syscall.ECONNREFUSED. A connected
// socket knows no more than that. No acknowledgement exists in UDP, so a
// datagram that was lost and one that is still on its way look the same:
// nothing arrives before the deadline.
//
// # Refusals do not last
//
// A refusal says that nobody was listening when that one datagram arrived.
// It does not close anything: the socket stays connected, and when a program
// binds the peer's port the next datagram gets through.
//
// # Sending every so often
//
// SendEvery sends a message at once and then once every interval, until
// its context is done. A send that is refused is reported to a callback,
// and the sending goes on.
package connected

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Client is a UDP socket connected to one peer. Make one with Dial; the
// zero Client has no socket and must not be used.
type Client struct {
	conn *net.UDPConn
}

// Dial opens a UDP socket connected to addr, such as "127.0.0.1:9999" or
// "[::1]:9999", and returns it as a Client. Connecting sends nothing, so
// Dial succeeds whether or not anything listens at addr; the first Request
// finds out. addr needs the peer's port: Dial accepts port 0, but no program
// can listen there, so nothing would ever answer.
//
// ctx bounds the name lookup when addr names a host ("localhost:9999");
// if ctx is done, Dial returns an error that wraps ctx.Err().
func Dial(ctx context.Context, addr string) (*Client, error) {
	// "udp" rather than "udp4": the address decides between IPv4 and IPv6.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err // it already reads "dial udp <addr>: ..."
	}
	return &Client{conn: conn.(*net.UDPConn)}, nil
}

// LocalAddr returns the address the client's datagrams leave from. The
// kernel chose it when Dial connected the socket: the port is never 0, and
// the IP is the one the route to the peer uses (127.0.0.1 for a peer on
// 127.0.0.1).
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the peer's address, the one given to Dial.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Close closes the client's socket and frees its port. A Request waiting
// for a reply returns at once, and a SendEvery still running returns at its
// next send, with an error that wraps net.ErrClosed; so does every later
// call, a second Close included.
func (c *Client) Close() error { return c.conn.Close() }

// Request sends msg to the peer as one datagram and returns the first
// datagram that comes back within wait; a wait of zero or less gives up at
// once. The reply may be any size a UDP datagram can have, up to 65,507
// bytes.
//
// Request sends msg once and never again. If no reply comes in time, it
// returns an error that wraps os.ErrDeadlineExceeded. If the peer's host
// answers that nobody is listening on its port, Request returns at once
// with an error that wraps syscall.ECONNREFUSED; the client stays usable,
// and a later Request succeeds once the peer is there.
//
// Request must not be called while another Request on the same client is
// running: each would take the other's replies.
func (c *Client) Request(msg []byte, wait time.Duration) ([]byte, error) {
	// Write, not WriteTo: the socket knows its peer. (WriteTo on a
	// connected socket fails: "use of WriteTo with pre-connected
	// connection".)
	if _, err := c.conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send to %s: %w", c.conn.RemoteAddr(), err)
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	// The kernel delivers only the peer's datagrams to this socket, so the
	// first one read is the peer's. 65,535 bytes hold any datagram whole.
	buf := make([]byte, 65535)
	n, err := c.conn.Read(buf)
	if err != nil {
		// A refusal arrives here as the read's error. %w keeps it
		// visible to errors.Is(err, syscall.ECONNREFUSED).
		return nil, fmt.Errorf("wait for reply from %s: %w", c.conn.RemoteAddr(), err)
	}
	return append([]byte(nil), buf[:n]...), nil
}

// SendEvery sends a message to the peer at once, then one every interval,
// until ctx is done; then it returns ctx.Err(). It calls msg once for each
// message, just before sending it, so each message can differ (carry the
// time, say).
//
// When a send fails because the peer refused an earlier datagram (the
// error wraps syscall.ECONNREFUSED), SendEvery calls refused with the error
// and goes on with the next message; refused may be nil. It calls refused
// on its own goroutine, one call at a time, and waits for each call to
// return: refused is never running once SendEvery has returned. Any other
// failed send (a message too long, the client closed) ends SendEvery with
// that send's error. An interval of zero or less is an error, which
// SendEvery returns at once, without sending anything.
//
// A connected socket learns of a refusal after the datagram that caused it
// has gone, so the report comes with the next send, and that send is not
// made: with nobody listening, about every other message is reported.
func (c *Client) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	if interval <= 0 {
		return fmt.Errorf("send every %v: the interval must be more than zero", interval)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := c.conn.Write(msg()); err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("send to %s: %w", c.conn.RemoteAddr(), err)
			}
			if refused != nil {
				refused(err)
			}
		}
		// Wait for the next tick, or for ctx: a time.Sleep here would
		// keep SendEvery from stopping for up to one interval.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
