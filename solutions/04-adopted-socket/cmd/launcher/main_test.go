//go:build unix

package main

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The launcher passes SIGTERM and SIGINT on to the program it started and
// ends with the program's status, as systemd-socket-activate does: killing
// the launcher must not leave the program serving as an orphan.
func TestLauncherPassesSignalsOnAndEndsAsTheProgramEnds(t *testing.T) {
	launcher := filepath.Join(t.TempDir(), "launcher")
	out, err := exec.Command("go", "build", "-o", launcher, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{
		{syscall.SIGTERM, 7},  // the program's own status
		{syscall.SIGINT, 130}, // 128 + SIGINT: the signal ended the program
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			// A program that ends with status 7 on SIGTERM and dies of SIGINT.
			script := `trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done`
			cmd := exec.Command(launcher, "-addr", "127.0.0.1:0", "/bin/sh", "-c", script)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill()
			ready := make(chan struct{})
			go func() {
				lines := bufio.NewScanner(stdout)
				for lines.Scan() {
					if lines.Text() == "ready" {
						close(ready)
					}
				}
			}()
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatal("the program did not start within 10s")
			}
			require.NoError(t, cmd.Process.Signal(tc.sig))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var exit *exec.ExitError
				require.True(t, errors.As(err, &exit), "launcher ended with %v", err)
				require.Equal(t, tc.want, exit.ExitCode(), "launcher's status after %v", tc.sig)
			case <-time.After(10 * time.Second):
				t.Fatalf("the launcher did not end within 10s of %v: it did not pass the signal on", tc.sig)
			}
		})
	}
}
