package echoserver

import (
	"context"
	"net"
)

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

// Serve panics on a goroutine of its own, which no recover in the harness
// can catch: the whole test binary dies.
func Serve(ctx context.Context, conn net.PacketConn) error {
	go explode()
	<-ctx.Done()
	return ctx.Err()
}

func explode() { panic("boom from a learner's goroutine") }
