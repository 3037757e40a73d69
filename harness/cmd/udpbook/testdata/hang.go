package echoserver

import (
	"context"
	"net"
)

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

// Serve never returns and never answers.
func Serve(ctx context.Context, conn net.PacketConn) error { select {} }
