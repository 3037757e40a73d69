package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
)

// A learner's code that starts processes until it cannot, from before the
// first check, and says why it stopped.
func init() {
	for i := 0; i < 2000; i++ {
		if err := exec.Command("sleep", "300").Start(); err != nil {
			fmt.Fprintf(os.Stderr, "process %d: %v\n", i, err)
			os.Exit(1)
		}
	}
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
