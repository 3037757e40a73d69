package chat

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Talk chats with one other program at peer, such as "127.0.0.1:9998",
// over conn, the socket bound to this side's own port, until ctx is done
// (it returns ctx.Err()) or send is closed (it returns nil).
//
// Talk sends each message that arrives on send to peer as one datagram,
// from conn, so the peer sees it come from this side's bound port. At the
// same time it hands every datagram that arrives from peer to recv, as it
// is, in the order they arrive; datagrams from any other address are
// dropped. Neither direction waits for the other: either side can send
// any number of messages in a row.
//
// Talk closes recv when it returns and leaves nothing running. It does not
// close conn; the caller does. If sending or receiving fails, Talk returns
// the error.
func Talk(ctx context.Context, conn net.PacketConn, peer string, send <-chan string, recv chan<- string) error {
	defer close(recv) // runs last, once both workers below have returned
	to, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return err
	}
	// The receiver compares senders with the peer's address, unmapped as
	// addrPortOf unmaps every sender.
	peerKey := to.AddrPort()
	peerKey = netip.AddrPortFrom(peerKey.Addr().Unmap(), peerKey.Port())

	// Two workers, one per direction. Each reports how it ended on a
	// channel of its own with room for one value, so neither waits to
	// report after Talk has stopped listening.
	stop := make(chan struct{})
	sent := make(chan error, 1)     // the sender: nil once send is closed
	received := make(chan error, 1) // the receiver: a failed read
	var workers sync.WaitGroup
	workers.Add(2)
	go func() {
		defer workers.Done()
		sent <- transmit(conn, to, send, stop)
	}()
	go func() {
		defer workers.Done()
		received <- deliver(conn, peerKey, recv, stop)
	}()

	// Talk's own goroutine only supervises: the first way out wins.
	var result error
	select {
	case <-ctx.Done():
		result = ctx.Err()
	case result = <-sent:
	case result = <-received:
	}

	// Stop both workers. conn is the caller's, so the receiver's read is
	// woken by a deadline in the past rather than by closing conn; once the
	// receiver has returned, the deadline is cleared, and conn is as it
	// was given.
	close(stop)
	conn.SetReadDeadline(time.Unix(1, 0))
	workers.Wait()
	conn.SetReadDeadline(time.Time{})
	return result
}

// transmit sends each message from send to the peer at to, from conn,
// until send is closed (it returns nil), a send fails (it returns the
// error) or stop is closed (it returns nil, which nobody reads).
func transmit(conn net.PacketConn, to *net.UDPAddr, send <-chan string, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case msg, ok := <-send:
			if !ok {
				return nil
			}
			if _, err := conn.WriteTo([]byte(msg), to); err != nil {
				return err
			}
		}
	}
}

// deliver reads from conn and hands each datagram whose sender is peer to
// recv, in order, until stop is closed (it returns nil) or a read fails
// for another reason (it returns the error). Datagrams from anyone else
// are dropped.
func deliver(conn net.PacketConn, peer netip.AddrPort, recv chan<- string, stop <-chan struct{}) error {
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-stop:
				return nil // the deadline Talk set to wake this read
			default:
				return err
			}
		}
		if who, ok := addrPortOf(addr); !ok || who != peer {
			continue // a stranger
		}
		select {
		case recv <- string(buf[:n]):
		case <-stop:
			return nil
		}
	}
}
