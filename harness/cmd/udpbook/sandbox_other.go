//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
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

// runPlain runs the lesson's processes as ordinary children, each in a
// process group of its own where the system has them, and kills the
// groups when the processes end or ctx does. Limits are not set here.
func runPlain(ctx context.Context, spec Spec) (Outcome, error) {
	learner := command(ctx, spec.Learner)
	var judge *exec.Cmd
	judgeDone := make(chan struct{})
	if j := spec.Judge; j != nil {
		judge = command(ctx, *j)
		ready, readyW, err := os.Pipe()
		if err != nil {
			return Outcome{}, err
		}
		defer ready.Close()
		judge.ExtraFiles = append(judge.ExtraFiles, readyW)
		judge.Env = append(judge.Env, fmt.Sprintf("%s=fd%d", JudgeReadyEnv, 2+len(judge.ExtraFiles)))
		if spec.Report != "" {
			judge.Env = append(judge.Env, harness.ReportEnv+"="+spec.Report)
		}
		err = judge.Start()
		readyW.Close()
		// The judge has its descriptors now; the copies kept here would
		// hide from it that the learner has gone.
		for _, f := range j.Files {
			f.Close()
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("start the judge: %w", err)
		}
		go func() {
			judge.Wait()
			killTree(judge)
			close(judgeDone)
		}()
		// The judge closes the descriptor when it is ready, or ends.
		go func() {
			<-ctx.Done()
			ready.SetReadDeadline(time.Now())
		}()
		ready.Read(make([]byte, 1))
	} else if spec.Report != "" {
		learner.Env = append(learner.Env, harness.ReportEnv+"="+spec.Report)
	}
	err := learner.Start()
	for _, f := range spec.Learner.Files {
		f.Close()
	}
	if err != nil {
		if judge != nil {
			judge.Process.Kill()
			<-judgeDone
		}
		return Outcome{}, err
	}
	learnerDone := make(chan struct{})
	go func() {
		learner.Wait()
		close(learnerDone)
	}()
	if judge != nil {
		<-judgeDone
		select {
		case <-learnerDone:
		case <-time.After(JudgeGrace):
			learner.Process.Kill()
		}
	}
	<-learnerDone
	killTree(learner)
	out := exitOf(learner.ProcessState)
	if judge != nil {
		j := exitOf(judge.ProcessState)
		out.Judge = &j
	}
	return out, nil
}

// command returns m as a command that is killed, with its process group
// where there is one, when ctx ends.
func command(ctx context.Context, m Member) *exec.Cmd {
	cmd := exec.CommandContext(ctx, m.Path, m.Args...)
	cmd.Dir = m.Dir
	cmd.Env = append(os.Environ(), m.Env...)
	cmd.ExtraFiles = m.Files
	cmd.Stdout, cmd.Stderr = m.Stdout, m.Stderr
	cmd.WaitDelay = time.Second
	killGroup(cmd)
	return cmd
}

// exitOf says how a process ended.
func exitOf(ps *os.ProcessState) Outcome {
	out := Outcome{Exited: true, Code: ps.ExitCode()}
	if out.Code < 0 {
		out.Signal = "killed"
	}
	return out
}

// sandboxedProgram is where a process in the sandbox finds the learner's
// executable bin: there is no sandbox here, so where it is.
func sandboxedProgram(bin string) string { return bin }
