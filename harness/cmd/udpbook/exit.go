package main

import (
	"fmt"
	"strings"
)

// endedEarly reports whether some check of res never ran: the test binary
// ended, by a crash or an exit, before it got there.
func endedEarly(res LessonResult) bool {
	for _, c := range res.Checks {
		if c.Status == StatusNotRun {
			return true
		}
	}
	return false
}

// exitDetail says how a lesson's learner process that ended early ended:
// the panic and the first frames in the lesson's folder (dir) when there
// was one, or else how it ended (how: "exited with status 1"; empty for
// status 0) and when, before the first check (started is false) or while
// the check running ran, with the end of what it printed.
func exitDetail(out, dir, how string, running string, started bool) string {
	if strings.Contains(out, "panic: ") || strings.Contains(out, "fatal error: ") {
		return crashLines(out, dir)
	}
	if how == "" {
		how = "exited with status 0"
	}
	when := "before the first check"
	switch {
	case running != "":
		when = fmt.Sprintf("while check %q ran", running)
	case started:
		when = "before every check had run"
	}
	detail := fmt.Sprintf("the lesson's test %s %s, without a panic: something in the lesson's code "+
		"(or a package it uses) ended the process, with os.Exit or log.Fatal for example", how, when)
	if tail := crashLines(out, dir); tail != "" {
		detail += "; it printed:\n" + tail
	}
	return detail
}

// noteNotRun gives the checks that never ran a message that says why.
func noteNotRun(res *LessonResult) {
	for i := range res.Checks {
		if res.Checks[i].Status == StatusNotRun && res.Checks[i].Message == "" {
			res.Checks[i].Message = "not run: " + firstLine(res.Detail)
		}
	}
}
