package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

func grader(t *testing.T) *Grader {
	t.Helper()
	root, err := findRoot()
	require.NoError(t, err)
	return &Grader{Root: root, RunBound: 25 * time.Second, Jobs: 2}
}

func lesson(t *testing.T, number string) registry.Lesson {
	t.Helper()
	ls, err := pickLessons([]string{number})
	require.NoError(t, err)
	return ls[0]
}

// fixture grades lesson 01 with its echoserver.go replaced by a file from
// testdata.
func fixture(t *testing.T, name string, bound time.Duration) LessonResult {
	t.Helper()
	g := grader(t)
	g.RunBound = bound
	abs, err := filepath.Abs(filepath.Join("testdata", name))
	require.NoError(t, err)
	g.Overlay = map[string]string{"lessons/01-echo-server/echoserver.go": abs}
	return g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
}

func TestStubsAreNotStarted(t *testing.T) {
	for _, r := range grader(t).Grade(context.Background(), registry.Lessons()) {
		if r.State != NotStarted {
			t.Errorf("lesson %s: state %q, want %q\n%s", r.Lesson.Number, r.State, NotStarted, r.Detail)
		}
		for _, c := range r.Checks {
			if c.Status != StatusFail || !strings.Contains(c.Message, "is not written yet") {
				t.Errorf("lesson %s check %s: %s %q; want a failure saying what to write next", r.Lesson.Number, c.ID, c.Status, c.Message)
			}
		}
	}
}

func TestSolutionsAreDone(t *testing.T) {
	g := grader(t)
	g.Solutions = true
	g.Race = true
	for _, r := range g.Grade(context.Background(), registry.Lessons()) {
		if r.State != Done {
			c, _ := r.FirstFailure()
			t.Errorf("lesson %s with the reference solution: state %q, first failure %s: %s\n%s",
				r.Lesson.Number, r.State, c.ID, c.Message, r.Detail)
		}
	}
}

func TestDoesNotCompile(t *testing.T) {
	r := fixture(t, "nocompile.go", 25*time.Second)
	if r.State != NoCompile || !strings.Contains(r.Detail, "undefined: adress") || !strings.Contains(r.Detail, "nocompile.go:10") {
		t.Fatalf("state %q, detail:\n%s\nwant %q naming the file, line and error", r.State, r.Detail, NoCompile)
	}
	for _, c := range r.Checks {
		if c.Status != StatusError {
			t.Errorf("check %s: %s, want %s", c.ID, c.Status, StatusError)
		}
	}
}

func TestCrashInLearnersGoroutine(t *testing.T) {
	r := fixture(t, "crash.go", 25*time.Second)
	if r.State != Crashed || !strings.Contains(r.Detail, "panic: boom from a learner's goroutine") ||
		!strings.Contains(r.Detail, "echoserver.go") {
		t.Fatalf("state %q, detail:\n%s\nwant %q with the panic and where it happened", r.State, r.Detail, Crashed)
	}
	c, ok := r.FirstFailure()
	if !ok || !strings.Contains(c.Message, "crashed while this check ran") {
		t.Fatalf("first failing check %s: %s", c.ID, c.Message)
	}
}

func TestHangIsTimedOut(t *testing.T) {
	r := fixture(t, "hang.go", 2*time.Second)
	if r.State != TimedOut {
		t.Fatalf("state %q, want %q; detail:\n%s", r.State, TimedOut, r.Detail)
	}
	timedOut := 0
	for _, c := range r.Checks {
		if c.Status == StatusTimeout {
			timedOut++
		}
	}
	if timedOut != 1 {
		t.Fatalf("%d checks marked %s, want the one that was running", timedOut, StatusTimeout)
	}
}

func TestLoopInInitIsKilled(t *testing.T) {
	r := fixture(t, "initloop.go", time.Second)
	if r.State != TimedOut {
		t.Fatalf("state %q, want %q; detail:\n%s", r.State, TimedOut, r.Detail)
	}
}

func TestTableAndExitCode(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"check", "-race=off", "-no-progress", "01"}, &out, &errs)
	if code != 1 {
		t.Errorf("exit code %d for the stub, want 1", code)
	}
	checks := fmt.Sprintf("0/%d", len(lesson(t, "01").Checks))
	for _, want := range []string{"01 echo server", checks, "not started", `Next: lesson 01 echo server, check "listen"`, "hint: ", "is not written yet"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"check", "-race=off", "-no-progress", "-solutions", "1", "02-echo-client"}, &out, &errs); code != 0 {
		t.Errorf("exit code %d for the solutions, want 0:\n%s", code, out.String())
	}
	if code := run([]string{"check", "99"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), `no lesson "99"`) {
		t.Errorf("unknown lesson: exit %d, stderr %q", code, errs.String())
	}
}
