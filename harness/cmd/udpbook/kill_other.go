//go:build !unix

package main

import "os/exec"

// killGroup does nothing here: on this system only the test binary itself
// is killed when its context ends.
func killGroup(cmd *exec.Cmd) {}
