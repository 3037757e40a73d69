package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
)

var held []*os.File

// A learner's code that opens files until it cannot, from before the
// first check, and says why it stopped.
func init() {
	for i := 0; i < 100000; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintf(os.Stderr, "file %d: %v\n", i, err)
			os.Exit(1)
		}
		held = append(held, f)
	}
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
