package chat

import (
	"context"
	"errors"
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
	return errors.New("Join is not written yet: see docs/05-chat.md, step 4")
}
