package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
	"udpbook/harness/remote"
)

// These tests grade a student's clone carrying an attack, with this
// workbook's grader and tests (-from), the instructor's path. Each must
// earn nothing, for a reason the result names.

// attack grades lesson number of a clone whose file (relative to the
// lesson's folder) is testdata/attack/fixture.
func isolationAttack(t *testing.T, number, file, fixture string) LessonResult {
	t.Helper()
	return isolationAttackWith(t, number, file, fixture, false)
}

// attackWith is attack, in one process if inProcess.
func isolationAttackWith(t *testing.T, number, file, fixture string, inProcess bool) LessonResult {
	t.Helper()
	if !remote.Supported && !inProcess {
		t.Skip("lessons are graded in one process on this system")
	}
	src, err := os.ReadFile(filepath.Join("testdata", "attack", fixture))
	require.NoError(t, err)
	l := lesson(t, number)
	clone := workbookCopy(t, map[string]string{l.Dir() + "/" + file: string(src)})
	g := grader(t)
	g.From = clone.Root
	g.InProcess = inProcess
	r := g.Grade(context.Background(), []registry.Lesson{l})[0]
	t.Logf("lesson %s with %s: state %q, detail %q", number, fixture, r.State, r.Detail)
	if !r.Isolated && !inProcess && r.State != Refused {
		t.Errorf("lesson %s was not graded in two processes", number)
	}
	if passed, points := r.Passed(); passed != 0 || points != 0 {
		for _, c := range r.Checks {
			t.Logf("  %s: %s %q", c.ID, c.Status, c.Message)
		}
		t.Fatalf("%s earned %d points (%d checks), want 0", fixture, points, passed)
	}
	return r
}

// names reports whether the result says why: in the lesson's detail or in
// the first failing check's message.
func names(r LessonResult, reason string) bool {
	c, _ := r.FirstFailure()
	return strings.Contains(r.Detail, reason) || strings.Contains(c.Message, reason)
}

func TestGoexitInLearnersCodeEarnsNothing(t *testing.T) {
	for _, tc := range []struct{ number, file, fixture string }{
		{"01", "echoserver.go", "goexit-calls.go"},
		{"01", "echoserver.go", "goexit-objects.go"},
		{"02", "echoclient.go", "goexit-greet.go"},
		{"03", "connected.go", "goexit-client.go"},
		{"06", "multicast.go", "goexit-member.go"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			r := isolationAttack(t, tc.number, tc.file, tc.fixture)
			for _, c := range r.Checks {
				if c.Status != "skip" && !strings.Contains(c.Message, "runtime.Goexit") {
					t.Errorf("check %s: %s %q; want a failure naming runtime.Goexit", c.ID, c.Status, c.Message)
				}
			}
		})
	}
}

// Code that looks for the report key in its own memory finds none, and
// lines it writes wherever it can (the report file named in a sibling's
// environment, its sockets and pipes) count for nothing.
func TestForgingFromTheLearnersProcessEarnsNothing(t *testing.T) {
	r := isolationAttack(t, "01", "echoserver.go", "procmem.go")
	if r.Forged > 0 && !strings.Contains(r.Detail, "not written by the harness") {
		t.Errorf("%d forged lines, not named in the detail %q", r.Forged, r.Detail)
	}
	if os.Geteuid() == 0 && r.Forged == 0 && !sandboxStatus(SandboxAuto).On {
		// Root reads every process's environment: the attack finds the
		// report file and its lines must be seen and ignored. (In the
		// sandbox, the judge is not among the processes it sees.)
		t.Errorf("no forged lines were found; the attack writes some as root")
	}
}

// Lesson 04's socket-activation checks start the learner's code again as a
// child process, which an environment variable tells what to do. Setting
// it in the learner's init must not make the main run a child: every check
// still runs (none skips) and fails against the stub.
func TestLesson04ChildModeFromInitEarnsNothing(t *testing.T) {
	for _, inProcess := range []bool{false, true} {
		name := map[bool]string{false: "two processes", true: "one process"}[inProcess]
		t.Run(name, func(t *testing.T) {
			r := isolationAttackWith(t, "04", "child_env.go", "lesson04-child-env.go", inProcess)
			if r.Skipped() > 0 {
				t.Errorf("%d checks skipped; want none", r.Skipped())
			}
			for _, c := range r.Checks {
				if c.Status != "fail" || !strings.Contains(c.Message, "is not written yet") {
					t.Errorf("check %s: %s %q; want it run against the stub", c.ID, c.Status, c.Message)
				}
			}
		})
	}
}

// The judge is the grader's own program: it must not contain any of a
// lesson's or a solution's code.
func TestJudgeLinksNoLessonCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "udpbook/harness/cmd/udpbook").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "udpbook/lessons/") || strings.HasPrefix(pkg, "udpbook/solutions/") {
			t.Errorf("the grader, which is the judge, depends on %s", pkg)
		}
	}
}

// The reports say, per lesson, whether its checks ran apart from the
// lesson's code; the table names the lessons that did not.
func TestReportsSayWhetherIsolated(t *testing.T) {
	g := grader(t)
	g.InProcess = true
	inProcess := g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})
	g.InProcess = false
	isolated := g.Grade(context.Background(), []registry.Lesson{lesson(t, "02")})
	if inProcess[0].Isolated || isolated[0].Isolated != remote.Supported {
		t.Fatalf("isolated: lesson 01 in one process %v, lesson 02 %v; want false, %v", inProcess[0].Isolated, isolated[0].Isolated, remote.Supported)
	}
	rep := buildJSON(append(inProcess, isolated...), false, false, SandboxStatus{}, nil, time.Second)
	if rep.Lessons[0].Isolated || rep.Lessons[1].Isolated != remote.Supported {
		t.Errorf("JSON isolated: %v, %v", rep.Lessons[0].Isolated, rep.Lessons[1].Isolated)
	}
	var out strings.Builder
	printTable(&out, append(inProcess, isolated...), palette{})
	if !strings.Contains(out.String(), "Not isolated: lesson 01 ran") || strings.Contains(out.String(), "lesson 01, 02") {
		t.Errorf("table does not name lesson 01 (only) as not isolated:\n%s", out.String())
	}
}
