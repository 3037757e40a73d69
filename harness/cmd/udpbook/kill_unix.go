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

// ownGroup makes cmd start in a process group of its own, for killNow.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killNow kills cmd, started with ownGroup, and every process in its group.
func killNow(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
