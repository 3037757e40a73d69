//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd start in a process group of its own and, when its
// context ends, kills the whole group: the test binary and any process it
// started.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killTree kills what is left of cmd's process group once cmd has ended.
// A process that left the group (with setsid) is out of its reach.
func killTree(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
