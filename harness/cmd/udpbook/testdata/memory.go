package echoserver

import (
	"context"
	"net"
)

var sink [][]byte

// A learner's code that allocates 4 GiB, touching every page, from before
// the first check, so that no check's bound ends it first.
func init() {
	for i := 0; i < 4096; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		sink = append(sink, b)
	}
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
