//go:build !unix

package main

import "os/exec"

// killGroup does nothing here: on this system only the test binary itself
// is killed when its context ends.
func killGroup(cmd *exec.Cmd) {}

// killTree does nothing here: the process has ended, and this system
// keeps no group of the processes it started.
func killTree(cmd *exec.Cmd) {}
