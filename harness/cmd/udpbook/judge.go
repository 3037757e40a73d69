package main

import (
	"errors"
	"fmt"
	"os"
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

// The judge's exit codes besides 0 (every check ran).
const (
	judgeLost    = 3 // the driver ended (or never started) before the last check ended
	judgeTrouble = 4 // the judge could not do its job
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
	cl, err := remote.Dial(os.NewFile(4, "udpbook-control"), judgeStart, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: %v\n", err)
		if errors.Is(err, remote.ErrGone) {
			return judgeLost
		}
		return judgeTrouble
	}
	if err := judge(cl); err != nil {
		fmt.Fprintf(os.Stderr, "udpbook judge: %v\n", err)
		return judgeTrouble
	}
	if cl.Lost() {
		return judgeLost
	}
	cl.Quit()
	return 0
}

// judging runs this process as a judge if the grader started it as one,
// and exits; otherwise it returns.
func judging() {
	if number := os.Getenv(judgeEnv); number != "" {
		os.Unsetenv(judgeEnv)
		os.Exit(judgeMain(number))
	}
}
