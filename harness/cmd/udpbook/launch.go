package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// launched is how the two processes of an isolated lesson ended.
type launched struct {
	Judge, Driver *os.ProcessState // nil if the process could not be started
	JudgeErr      error            // from starting or waiting for the judge
	DriverErr     error            // from starting the driver
	DriverEarly   bool             // the judge lost the driver before its last check ended
	TimedOut      bool             // ctx ended before the judge did; both were killed
}

// driverGrace is how long the driver may take to exit once the judge,
// which told it that grading is over, has ended.
const driverGrace = time.Second

// launch starts the judge and the driver of one lesson (made with
// exec.Command, not started), each in a process group of its own, closes
// this process's copies of the descriptors passed to them, and waits for
// the judge to end. The driver starts only once the judge has said, on a
// pipe named in its environment (readyEnv), that the learner's code may
// start: the judge has made itself unreadable to it by then. Once the
// judge has ended, the driver has driverGrace to end by itself before it
// is killed with every process it started. When ctx ends first, both are
// killed.
//
// This is the one place where the two processes are started and waited
// for, so that it can be wrapped (in a sandbox, say).
func launch(ctx context.Context, judge, driver *exec.Cmd) launched {
	var out launched
	ownGroup(judge)
	ownGroup(driver)
	judge.WaitDelay = time.Second
	driver.WaitDelay = time.Second
	ready, readyW, err := os.Pipe()
	if err != nil {
		out.JudgeErr = err
		return out
	}
	defer ready.Close()
	judge.ExtraFiles = append(judge.ExtraFiles, readyW)
	judge.Env = append(judge.Env, fmt.Sprintf("%s=fd%d", readyEnv, 2+len(judge.ExtraFiles)))
	err = judge.Start()
	// The children have their copies now; the ends kept here would hide
	// from each that the other has gone.
	closeFiles(judge.ExtraFiles)
	if err != nil {
		out.JudgeErr = err
		return out
	}
	judgeDone := make(chan struct{})
	go func() {
		out.JudgeErr = judge.Wait()
		close(judgeDone)
	}()
	// The judge closes the pipe when it is ready, or when it ends.
	go func() {
		<-ctx.Done()
		ready.SetReadDeadline(time.Now())
	}()
	ready.Read(make([]byte, 1))

	driverDone := make(chan struct{})
	err = driver.Start()
	closeFiles(driver.ExtraFiles)
	if err != nil {
		// The judge would wait for it until the lesson's time is up.
		out.DriverErr = err
		close(driverDone)
		killNow(judge)
	} else {
		go func() {
			driver.Wait()
			out.Driver = driver.ProcessState
			close(driverDone)
		}()
	}
	select {
	case <-judgeDone:
	case <-ctx.Done():
		out.TimedOut = true
		killNow(judge)
		killNow(driver)
		<-judgeDone
	}
	out.Judge = judge.ProcessState
	out.DriverEarly = !out.TimedOut && out.Judge != nil &&
		(out.Judge.ExitCode() == judgeLost || out.Judge.ExitCode() == judgeGarbled)
	select {
	case <-driverDone:
	case <-time.After(driverGrace):
	}
	killNow(driver) // and whatever it started
	<-driverDone
	return out
}

// closeFiles closes this process's copies of descriptors passed to a child.
func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
