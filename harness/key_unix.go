//go:build unix

package harness

import (
	"io"
	"os"
)

// loadKey reads the key that signs report lines from the descriptor the
// grader passed (fd 3), and closes it. It runs while the harness package
// initializes, before any of the learner's code, so that code never sees
// the key.
func loadKey() []byte {
	if os.Getenv(KeyEnv) != "fd3" {
		return nil
	}
	os.Unsetenv(KeyEnv)
	f := os.NewFile(3, "udpbook-key")
	if f == nil {
		return nil
	}
	defer f.Close()
	key, _ := io.ReadAll(io.LimitReader(f, 256))
	return key
}
