//go:build !linux

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"time"

	"udpbook/harness"
)

// probeSandbox says why there is no sandbox here.
func probeSandbox() SandboxStatus {
	return SandboxStatus{Why: "the sandbox is built from Linux namespaces, and this is " + runtime.GOOS}
}

func runSandboxed(ctx context.Context, spec Spec) (Outcome, error) {
	return Outcome{}, errors.New("sandbox: not available on " + runtime.GOOS)
}

// runPlain runs the learner's process as an ordinary child, in a process
// group of its own where the system has them, and kills the group when the
// process ends or ctx does. Limits are not set here.
func runPlain(ctx context.Context, spec Spec) (Outcome, error) {
	m := spec.Learner
	cmd := exec.CommandContext(ctx, m.Path, m.Args...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), m.Env...)
	if spec.Report != "" {
		cmd.Env = append(cmd.Env, harness.ReportEnv+"="+spec.Report)
	}
	cmd.ExtraFiles = m.Files
	cmd.Stdout, cmd.Stderr = m.Stdout, m.Stderr
	cmd.WaitDelay = time.Second
	killGroup(cmd)
	if err := cmd.Start(); err != nil {
		return Outcome{}, err
	}
	cmd.Wait()
	killTree(cmd)
	out := Outcome{Exited: true, Code: cmd.ProcessState.ExitCode()}
	if out.Code < 0 {
		out.Signal = "killed"
	}
	return out, nil
}
