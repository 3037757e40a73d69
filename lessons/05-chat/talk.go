package chat

import (
	"context"
	"errors"
	"net"
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
	return errors.New("Talk is not written yet: see docs/05-chat.md, step 5")
}
