package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Join takes part in the chat room whose server is at server, such as
// "127.0.0.1:9999", until ctx is done or send is closed.
//
// Join sends a heartbeat at once, so the member starts receiving
// broadcasts straight away, and then one every cfg.Interval. It sends each
// message that arrives on send as one datagram, as it is. It hands every
// broadcast from the server to recv, in the order they arrive; the
// server's answers to heartbeats are not passed on. Everything goes out of
// one connected UDP socket, so the server sees one member.
//
// When ctx is done, Join sends "quit" and returns ctx.Err(); when send is
// closed, it sends "quit" and returns nil. When the server goes away, Join
// returns an error that wraps ErrServerDown and the reason: an error that
// wraps syscall.ECONNREFUSED when the kernel reports the server's port
// closed, or one that says nothing came from the server for cfg.Timeout.
// Zero fields of cfg mean their defaults (see Config).
//
// Join closes recv when it returns, and leaves nothing running.
//
// BUG(lesson05): On Windows, Go turns off the reporting of refused
// datagrams (see go.dev/issue/5834), so Join notices a vanished server
// only by its silence.
func Join(ctx context.Context, server string, cfg Config, send <-chan string, recv chan<- string) error {
	defer close(recv)
	cfg = cfg.withDefaults()
	// A connected socket talks to the server only: the kernel drops
	// datagrams from anyone else, and it reports the server's port being
	// closed (ICMP port unreachable) as ECONNREFUSED on the next read.
	conn, err := net.Dial("udp", server)
	if err != nil {
		return fmt.Errorf("dial %s: %w", server, err)
	}

	// The receiver runs on its own goroutine, so that a read waiting for
	// the server never holds up a heartbeat or a message. Before Join
	// returns, it closes conn, which ends the receiver's read, and waits.
	down := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		down <- receive(conn, cfg.Timeout, recv, done)
	}()
	defer wg.Wait()
	defer conn.Close()
	defer close(done)

	if err := write(conn, Heartbeat); err != nil {
		return err
	}
	ticker := time.NewTicker(cfg.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = write(conn, Quit)
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				_ = write(conn, Quit)
				return nil
			}
			if err := write(conn, msg); err != nil {
				return err
			}
		case <-ticker.C:
			if err := write(conn, Heartbeat); err != nil {
				return err
			}
		case err := <-down:
			return err
		}
	}
}

// write sends msg to the server. A refused send means the server is gone.
func write(conn net.Conn, msg string) error {
	_, err := conn.Write([]byte(msg))
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %w", ErrServerDown, err)
	}
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// receive reads from the server until conn is closed or the server goes
// away, and hands each broadcast to recv. It gives up on a broadcast that
// nobody takes once done is closed.
func receive(conn net.Conn, timeout time.Duration, recv chan<- string, done <-chan struct{}) error {
	buf := make([]byte, 65535)
	for {
		// The deadline is set again before every read: it measures the
		// silence since the last datagram, whatever it was.
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		n, err := conn.Read(buf)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("%w: nothing came from it for %v", ErrServerDown, timeout)
		case errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("%w: %w", ErrServerDown, err)
		case err != nil:
			return err // conn was closed: Join is returning
		}
		msg := string(buf[:n])
		if msg == Heartbeat {
			continue // the server's answer to a heartbeat: proof of life, nothing to show
		}
		select {
		case recv <- msg:
		case <-done:
			return nil
		}
	}
}
