package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
)

var held []*os.File

// A learner's code that opens files until it cannot.
func Listen(addr string) (net.PacketConn, error) {
	for i := 0; i < 100000; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return nil, fmt.Errorf("file %d: %w", i, err)
		}
		held = append(held, f)
	}
	return net.ListenPacket("udp", addr)
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
