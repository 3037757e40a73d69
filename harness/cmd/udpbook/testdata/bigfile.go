package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// A learner's code that writes a 256 MiB file into the temporary folder.
func Listen(addr string) (net.PacketConn, error) {
	f, err := os.Create(filepath.Join(os.TempDir(), "big-TOKEN.bin"))
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		if _, err := f.Write(chunk); err != nil {
			return nil, fmt.Errorf("after %d MiB: %w", i, err)
		}
	}
	return net.ListenPacket("udp", addr)
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
