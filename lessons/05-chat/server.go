package chat

import (
	"context"
	"errors"
	"net"
)

// Serve runs a chat room on conn, following the protocol in the package
// documentation, until ctx is done; then it returns ctx.Err(). It returns
// early only if reading from conn fails for another reason, such as conn
// being closed. Serve does not close conn; the caller does. When ctx ends,
// Serve leaves a read deadline in the past on conn; clear it with
// conn.SetReadDeadline(time.Time{}) before using conn again.
//
// Zero fields of cfg mean their defaults (see Config). Serve reads every
// datagram whole, up to the largest UDP payload, so a message is never cut
// short; a message longer than cfg.MaxMessage is dropped, not truncated. A
// broadcast that cannot be sent to one member is dropped for that member
// only.
func Serve(ctx context.Context, conn net.PacketConn, cfg Config) error {
	return errors.New("Serve is not written yet: see docs/05-chat.md, step 1")
}
