package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"udpbook/harness/registry"
	"udpbook/harness/remote"
)

// The judge is this program started again by the grader, with judgeEnv
// naming the lesson: it runs the lesson's checks against the learner's code
// in the driver (the lesson's test binary), which it talks to on
// descriptor 4, and writes the signed report; the key is on descriptor 3.
// It is built from the harness alone, never from a lesson's files, so it
// is the same for every learner and every grading.
const judgeEnv = "UDPBOOK_JUDGE"

// programEnv and testEnv give the judge the driver's program and the test
// function in it that grades the lesson.
const (
	programEnv = "UDPBOOK_DRIVER_PROGRAM"
	testEnv    = "UDPBOOK_DRIVER_TEST"
)

// The judge's exit codes besides 0 (every check ran).
const (
	judgeLost    = 3 // the driver ended (or never started) before the last check ended
	judgeTrouble = 4 // the judge could not do its job
	judgeGarbled = 5 // the driver wrote something on the control socket that is not a message
)

// judgeStart bounds the wait for the driver's first message; the grader's
// bound on the lesson usually ends it first.
const judgeStart = 5 * time.Minute

// judgeMain is the judge's main.
func judgeMain(number string) int {
	judge := registry.Judge(number)
	if judge == nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: lesson %q is not graded in two processes\n", number)
		return judgeTrouble
	}
	program, test := os.Getenv(programEnv), os.Getenv(testEnv)
	os.Unsetenv(programEnv)
	os.Unsetenv(testEnv)
	cl, err := remote.Dial(os.NewFile(4, "udpbook-control"), judgeStart, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: %v\n", err)
		if errors.Is(err, remote.ErrGarbled) {
			return judgeGarbled
		}
		if errors.Is(err, remote.ErrGone) {
			return judgeLost
		}
		return judgeTrouble
	}
	cl.Program, cl.Test = program, test
	if err := judge(cl); err != nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: %v\n", err)
		return judgeTrouble
	}
	if cl.Lost() {
		if cl.Garbled() {
			return judgeGarbled
		}
		return judgeLost
	}
	cl.Quit()
	return 0
}

// readyEnv names the descriptor ("fd5") that the judge closes once it has
// made itself non-dumpable, so that the grader may start the learner's
// code.
const readyEnv = "UDPBOOK_JUDGE_READY"

// judging runs this process as a judge if the grader started it as one,
// and exits; otherwise it returns.
func judging() {
	number := os.Getenv(judgeEnv)
	if number == "" {
		return
	}
	os.Unsetenv(judgeEnv)
	// The report key is in this process's memory: out of the learner's
	// reach before the learner's code starts.
	if err := noDump(); err != nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: %v\n", err)
		os.Exit(judgeTrouble)
	}
	if fd, ok := strings.CutPrefix(os.Getenv(readyEnv), "fd"); ok {
		if n, err := strconv.Atoi(fd); err == nil {
			os.NewFile(uintptr(n), "udpbook-ready").Close()
		}
	}
	os.Unsetenv(readyEnv)
	os.Exit(judgeMain(number))
}
