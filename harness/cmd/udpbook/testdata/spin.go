package echoserver

import (
	"context"
	"net"
)

// A learner's code that spins on every core it can get, from before the
// first check: only a limit or the lesson's time bound ends it.
func init() {
	for i := 0; i < 3; i++ {
		go func() {
			for {
			}
		}()
	}
	for {
	}
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
