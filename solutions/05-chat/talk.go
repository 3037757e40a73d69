package chat

import (
	"context"
	"fmt"
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
	defer close(recv)
	raddr, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", peer, err)
	}
	want := unmap(raddr.AddrPort())

	// The receiver runs on its own goroutine, so that both directions go
	// on at once. To end it, Talk sets a read deadline in the past, waits
	// for it, and then clears the deadline for the caller.
	failed := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		failed <- listen(conn, want, recv, done)
	}()
	defer func() {
		close(done)
		conn.SetReadDeadline(time.Now())
		wg.Wait()
		conn.SetReadDeadline(time.Time{})
	}()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				return nil
			}
			if _, err := conn.WriteTo([]byte(msg), raddr); err != nil {
				return fmt.Errorf("send to %s: %w", peer, err)
			}
		case err := <-failed:
			return err
		}
	}
}

// listen hands every datagram from peer to recv until done is closed or
// reading fails.
func listen(conn net.PacketConn, peer netip.AddrPort, recv chan<- string, done <-chan struct{}) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-done:
				return nil // Talk is returning and woke the read
			default:
				return fmt.Errorf("receive: %w", err)
			}
		}
		udp, ok := from.(*net.UDPAddr)
		if !ok || unmap(udp.AddrPort()) != peer {
			continue // not the person we are talking to
		}
		select {
		case recv <- string(buf[:n]):
		case <-done:
			return nil
		}
	}
}

// unmap turns ::ffff:127.0.0.1 into 127.0.0.1 and keeps other addresses.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
