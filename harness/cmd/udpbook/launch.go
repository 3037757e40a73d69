package main

import (
	"context"
	"os"
	"os/exec"
	"time"
)

// launched is how the two processes of an isolated lesson ended.
type launched struct {
	Judge, Driver *os.ProcessState // nil if the process could not be started
	JudgeErr      error            // from starting or waiting for the judge
	DriverEarly   bool             // the judge lost the driver before its last check ended
	TimedOut      bool             // ctx ended before the judge did; both were killed
}

// driverGrace is how long the driver may take to exit once the judge,
// which told it that grading is over, has ended.
const driverGrace = time.Second

// launch starts the judge and the driver of one lesson (made with
// exec.Command, not started), each in a process group of its own, and
// waits for the judge to end. The driver then has driverGrace to end by
// itself before it is killed with every process it started. When ctx ends
// first, both are killed.
//
// This is the one place where the two processes are started and waited
// for, so that it can be wrapped (in a sandbox, say).
func launch(ctx context.Context, judge, driver *exec.Cmd) launched {
	var out launched
	ownGroup(judge)
	ownGroup(driver)
	judge.WaitDelay = time.Second
	driver.WaitDelay = time.Second
	if err := driver.Start(); err != nil {
		out.JudgeErr = err
		return out
	}
	driverDone := make(chan struct{})
	go func() {
		driver.Wait()
		out.Driver = driver.ProcessState
		close(driverDone)
	}()
	if err := judge.Start(); err != nil {
		out.JudgeErr = err
		killNow(driver)
		<-driverDone
		return out
	}
	judgeDone := make(chan struct{})
	go func() {
		out.JudgeErr = judge.Wait()
		close(judgeDone)
	}()
	select {
	case <-judgeDone:
	case <-ctx.Done():
		out.TimedOut = true
		killNow(judge)
		killNow(driver)
		<-judgeDone
	}
	out.Judge = judge.ProcessState
	out.DriverEarly = !out.TimedOut && out.Judge != nil && out.Judge.ExitCode() == judgeLost
	select {
	case <-driverDone:
	case <-time.After(driverGrace):
	}
	killNow(driver) // and whatever it started
	<-driverDone
	return out
}
