package echoserver

import (
	"context"
	"net"
)

// A learner's file with a type error.
func Listen(addr string) (net.PacketConn, error) {
	return net.ListenPacket("udp", adress)
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
