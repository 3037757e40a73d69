//go:build !unix

package harness

import "os"

// loadKey reads the key that signs report lines from the environment (this
// system cannot pass the grader's descriptor), and removes it from there.
// It runs while the harness package initializes, before any of the
// learner's code.
func loadKey() []byte {
	key := os.Getenv(KeyEnv)
	os.Unsetenv(KeyEnv)
	if key == "" || key == "fd3" {
		return nil
	}
	return []byte(key)
}
