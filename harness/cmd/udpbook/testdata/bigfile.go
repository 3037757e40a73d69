package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// A learner's code that writes a 256 MiB file into the temporary folder,
// from before the first check, and says why it stopped.
func init() {
	name := filepath.Join(os.TempDir(), "big-TOKEN.bin")
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		if _, err := f.Write(chunk); err != nil {
			fmt.Fprintf(os.Stderr, "after %d MiB: %v\n", i, err)
			f.Close()
			os.Remove(name)
			os.Exit(1)
		}
	}
	f.Close()
	os.Remove(name)
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
