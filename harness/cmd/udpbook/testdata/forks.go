package echoserver

import (
	"context"
	"fmt"
	"net"
	"os/exec"
)

// A learner's code that starts processes until it cannot.
func Listen(addr string) (net.PacketConn, error) {
	for i := 0; i < 2000; i++ {
		if err := exec.Command("sleep", "300").Start(); err != nil {
			return nil, fmt.Errorf("process %d: %w", i, err)
		}
	}
	return net.ListenPacket("udp", addr)
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
