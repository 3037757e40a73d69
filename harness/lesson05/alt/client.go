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
func Join(ctx context.Context, server string, cfg Config, send <-chan string, recv chan<- string) (err error) {
	// Deferred calls run last first: recv is closed after everything else
	// below has stopped, so nothing can send on it once it is closed.
	defer close(recv)
	cfg = cfg.withDefaults()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server) // connected: hears ECONNREFUSED
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // cancelled before it joined: nothing to quit
		}
		return err
	}
	defer conn.Close()

	// The first heartbeat goes out before anything else, so the server
	// takes the member in at once.
	if _, err := conn.Write([]byte(Heartbeat)); err != nil {
		return socketError(err)
	}

	// failed takes the one error each helper may end with. It has room
	// for both, so that a helper never waits to report.
	failed := make(chan error, 2)

	// The heartbeat goroutine. It is stopped and waited for before "quit"
	// goes out: a heartbeat after "quit" would take the member back in.
	stopBeats := make(chan struct{})
	var beats sync.WaitGroup
	beats.Add(1)
	go func() {
		defer beats.Done()
		if err := heartbeats(conn, cfg.Interval, stopBeats); err != nil {
			failed <- err
		}
	}()

	// The reader. Closing done tells it to stop handing over broadcasts
	// (the caller may have stopped taking them); closing conn ends its
	// Read.
	done := make(chan struct{})
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		if err := receive(conn, cfg.Timeout, recv, done); err != nil {
			failed <- err
		}
	}()

	leave := func(sayQuit bool) {
		close(stopBeats)
		beats.Wait()
		if sayQuit {
			conn.Write([]byte(Quit)) // best effort: Join is leaving anyway
		}
		close(done)
		conn.Close()
		reader.Wait()
	}

	for {
		select {
		case <-ctx.Done():
			leave(true)
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				leave(true)
				return nil
			}
			if _, err := conn.Write([]byte(msg)); err != nil {
				leave(false)
				return socketError(err)
			}
		case err := <-failed:
			leave(false)
			return err
		}
	}
}

// heartbeats sends a heartbeat on conn every interval until stop is
// closed. It returns nil when stopped, or the error of a failed send.
func heartbeats(conn net.Conn, interval time.Duration, stop <-chan struct{}) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-ticker.C:
		}
		// A tick and stop can be ready together; stop wins, so that no
		// heartbeat can follow the "quit" that comes after stop.
		select {
		case <-stop:
			return nil
		default:
		}
		if _, err := conn.Write([]byte(Heartbeat)); err != nil {
			return socketError(err)
		}
	}
}

// receive reads the server's datagrams on conn and hands every one that is
// not a heartbeat answer to recv, in order, until done is closed. Each Read
// may wait at most timeout: anything at all from the server, answers
// included, proves it alive. It returns nil when told to stop, or an error
// wrapping ErrServerDown.
func receive(conn net.Conn, timeout time.Duration, recv chan<- string, done <-chan struct{}) error {
	buf := make([]byte, maxDatagram)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return stopped(done, err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("%w: nothing came from it for %v", ErrServerDown, timeout)
			} else {
				err = socketError(err)
			}
			return stopped(done, err)
		}
		if string(buf[:n]) == Heartbeat {
			continue // the server's answer: it is alive, and that is all
		}
		select {
		case recv <- string(buf[:n]):
		case <-done:
			return nil
		}
	}
}

// stopped returns nil if done is closed, since an error while Join is
// closing the socket is Join's own doing, and err otherwise.
func stopped(done <-chan struct{}, err error) error {
	select {
	case <-done:
		return nil
	default:
		return err
	}
}

// socketError wraps an error of Join's socket. Every failure to send to or
// read from the server means Join can no longer talk to it (its port is
// closed, or the network in between is gone), so each one wraps
// ErrServerDown, keeping the reason (such as syscall.ECONNREFUSED) for
// errors.Is; a message that is too large to send at all is the exception.
func socketError(err error) error {
	if errors.Is(err, syscall.EMSGSIZE) {
		return fmt.Errorf("chat: sending a message: %w", err)
	}
	return fmt.Errorf("%w: %w", ErrServerDown, err)
}
