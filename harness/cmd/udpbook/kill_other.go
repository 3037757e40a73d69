//go:build !unix

package main

import "os/exec"

// killGroup does nothing here: on this system only the test binary itself
// is killed when its context ends.
func killGroup(cmd *exec.Cmd) {}

// ownGroup does nothing here.
func ownGroup(cmd *exec.Cmd) {}

// killNow kills cmd.
func killNow(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
