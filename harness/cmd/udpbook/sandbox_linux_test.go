package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// needSandbox skips the test where the sandbox cannot be used.
func needSandbox(t *testing.T, g *Grader) {
	t.Helper()
	if s := g.SandboxStatus(); !s.On {
		t.Skipf("no sandbox here: %s", s.Why)
	}
}

// withToken returns the processes whose command line holds tok.
func withToken(tok string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(tok)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

func TestNothingOutlivesTheLesson(t *testing.T) {
	for _, mode := range []string{SandboxAuto, SandboxOff} {
		t.Run(mode, func(t *testing.T) {
			g := grader(t)
			g.Sandbox = mode
			tok := uniqueToken(t)
			r := plant(t, g, "detach.go", map[string]string{"TOKEN": tok})
			// The learner's code says, through the first check's message,
			// that its three processes were up and holding their sockets.
			if msg := checkMessage(r, "listen"); !strings.Contains(msg, "detached processes ready: 3") {
				t.Fatalf("%v: the planted code did not start its processes: %q\n%s", g.SandboxStatus(), msg, r.Detail)
			}
			if left := withToken(tok); len(left) > 0 {
				t.Fatalf("%v: processes left after grading:\n%s", g.SandboxStatus(), strings.Join(left, "\n"))
			}
		})
	}
}

// A lesson that the grader stops at its time bound leaves nothing either.
func TestNothingOutlivesATimeOut(t *testing.T) {
	for _, mode := range []string{SandboxAuto, SandboxOff} {
		t.Run(mode, func(t *testing.T) {
			g := grader(t)
			g.Sandbox = mode
			g.RunBound = time.Second
			tok := uniqueToken(t)
			r := plant(t, g, "detachinit.go", map[string]string{"TOKEN": tok})
			if r.State != TimedOut {
				t.Fatalf("%v: state %q, want %q\n%s", g.SandboxStatus(), r.State, TimedOut, r.Detail)
			}
			if left := withToken(tok); len(left) > 0 {
				t.Fatalf("%v: processes left after grading:\n%s", g.SandboxStatus(), strings.Join(left, "\n"))
			}
		})
	}
}

func TestSandboxShowsOnlyLoopback(t *testing.T) {
	g := grader(t)
	needSandbox(t, g)
	r := plant(t, g, "interfaces.go", nil)
	// lo only, in the kernel's list and in /sys; no process but the
	// learner's own, which is process 1; none of the services' sockets in
	// /run.
	want := "interfaces [lo] sys [lo] pids [1] run []"
	if msg := checkMessage(r, "listen"); !strings.Contains(msg, want) {
		t.Fatalf("the planted code saw %q, want %q", msg, want)
	}
}

func TestSandboxKeepsWritesInside(t *testing.T) {
	g := grader(t)
	needSandbox(t, g)
	tok := uniqueToken(t)
	// Targets outside /tmp (which the sandbox replaces with its own), so
	// that a write is refused for being read-only, not for a missing
	// folder: a stand-in for the real HOME and Go environment file under
	// the workbook's scratch folder.
	scratch := filepath.Join(g.Root, ".udpbook")
	require.NoError(t, os.MkdirAll(scratch, 0o755))
	fake, err := os.MkdirTemp(scratch, "home-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(fake) })
	goenv := filepath.Join(fake, "go-env")
	require.NoError(t, os.WriteFile(goenv, nil, 0o644))
	goMod := filepath.Join(g.Root, "go.mod")
	before, err := os.ReadFile(goMod)
	require.NoError(t, err)
	planted := filepath.Join(g.Root, "lessons", "02-echo-client", "planted_"+tok+".go")
	t.Cleanup(func() {
		// Should the sandbox fail, leave the workbook as it was.
		if after, _ := os.ReadFile(goMod); !bytes.Equal(before, after) {
			os.WriteFile(goMod, before, 0o644)
		}
		os.Remove(planted)
	})

	r := plant(t, g, "writes.go", map[string]string{"TOKEN": tok, "WORKBOOK": g.Root, "REALHOME": fake, "GOENVFILE": goenv})
	// The private working folder, the folder above it and HOME take
	// writes; nothing else does.
	want := "writes: cwd: written, parent: written, home: written, lesson: refused, gomod: refused, realhome: refused, goenv: refused"
	if msg := checkMessage(r, "listen"); !strings.Contains(msg, want) {
		t.Fatalf("the planted code reported %q, want %q", msg, want)
	}
	if after, _ := os.ReadFile(goMod); !bytes.Equal(before, after) {
		t.Errorf("go.mod changed")
	}
	if b, _ := os.ReadFile(goenv); len(b) > 0 {
		t.Errorf("the Go environment file was written: %q", b)
	}
	for _, dir := range []string{g.Root, filepath.Join(g.Root, "lessons", "01-echo-server"), fake, os.TempDir()} {
		if m, _ := filepath.Glob(filepath.Join(dir, "planted*"+tok+"*")); len(m) > 0 {
			t.Errorf("planted files outside the sandbox: %v", m)
		}
	}
	if _, err := os.Stat(planted); err == nil {
		t.Errorf("a file was planted in lesson 02")
	}

	// Later gradings are unaffected: the stubs of lessons 01 and 02 are
	// graded as stubs.
	g = grader(t)
	for _, r := range g.Grade(context.Background(), []registry.Lesson{lesson(t, "01"), lesson(t, "02")}) {
		if r.State != NotStarted {
			t.Errorf("lesson %s after the planted code: state %q, want %q\n%s", r.Lesson.Number, r.State, NotStarted, r.Detail)
		}
	}
}

// TestBuildsIgnoreTheGoEnvFile poisons a Go environment file as a
// learner's code could where there is no sandbox, and the variables that
// change builds: the grader's builds do not read them.
func TestBuildsIgnoreTheGoEnvFile(t *testing.T) {
	env := filepath.Join(t.TempDir(), "env")
	require.NoError(t, os.WriteFile(env, []byte("GOFLAGS=-toolexec=/bin/false\n"), 0o644))
	t.Setenv("GOENV", env)
	// The poison works on a go command that reads the file...
	out, err := exec.Command("go", "env", "GOFLAGS").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "-toolexec=/bin/false")
	// ...and not on the grader's, nor do the variables that change builds.
	t.Setenv("GOFLAGS", "-toolexec=/bin/false")
	t.Setenv("GOARCH", "wasm")
	r := grader(t).Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
	if r.State != NotStarted {
		t.Fatalf("the stub with a poisoned Go environment: state %q, want %q\n%s", r.State, NotStarted, r.Detail)
	}
}

func TestLimitsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		limit   func(*Limits)
		want    string
		race    bool
	}{
		{"memory.go", func(l *Limits) { l.Memory = 256 << 20 }, "used more than 256 MiB of memory", false},
		// The race detector's shadow memory counts too.
		{"memory.go", func(l *Limits) { l.Memory = 512 << 20 }, "used more than 512 MiB of memory", true},
		{"forks.go", func(l *Limits) { l.Processes = 64 }, "started more than 64 processes and threads", false},
		{"spin.go", func(l *Limits) { l.CPU = 2 * time.Second }, "used more than 2s of processor time", false},
		{"files.go", func(l *Limits) { l.OpenFiles = 256 }, "had more than 256 files and sockets open in one process", false},
		{"bigfile.go", func(l *Limits) { l.FileSize = 8 << 20 }, "wrote a file larger than 8 MiB", false},
		// Only the sandbox has a private /tmp of a given size.
		{"bigfile.go", func(l *Limits) { l.TempSpace = 32 << 20 }, "filled its 32 MiB of temporary space", false},
	} {
		for _, mode := range []string{SandboxAuto, SandboxOff} {
			if mode == SandboxOff && strings.Contains(tc.want, "temporary space") {
				continue
			}
			name := tc.fixture + "/" + mode
			if tc.race {
				name += "/race"
			}
			if strings.Contains(tc.want, "temporary space") {
				name += "/tmp"
			}
			t.Run(name, func(t *testing.T) {
				g := grader(t)
				g.Sandbox = mode
				g.Race = tc.race
				// Processor time comes slowly on a loaded machine: the
				// lesson's time bound must not come first.
				g.RunBound = time.Minute
				limits := DefaultLimits
				tc.limit(&limits)
				g.Limits = &limits
				start := time.Now()
				r := plant(t, g, tc.fixture, map[string]string{"TOKEN": uniqueToken(t)})
				out := table(r)
				if r.State != OverLimit || r.Limit != tc.want || !strings.Contains(out, tc.want) {
					t.Fatalf("%v: state %q, limit %q, want %q, %q in the table (after %v, %+v):\n%s\n%s",
						g.SandboxStatus(), r.State, r.Limit, OverLimit, tc.want, time.Since(start), r.Usage, out, r.Detail)
				}
				if !strings.Contains(r.Detail, tc.want) {
					t.Errorf("detail %q does not name the limit", r.Detail)
				}
			})
		}
	}
}

// A lesson in two processes: the judge, trusted, and the learner share
// loopback; the learner sees only its own process, the judge sees the
// learner's; the lesson ends with the judge, and the learner, which would
// wait for ever, is killed after the grace.
func TestJudgeAndLearner(t *testing.T) {
	for _, mode := range []string{SandboxAuto, SandboxOff} {
		t.Run(mode, func(t *testing.T) {
			status := sandboxStatus(mode)
			if mode == SandboxAuto && !status.On {
				t.Skipf("no sandbox here: %s", status.Why)
			}
			self, err := os.Executable()
			require.NoError(t, err)
			dir, err := os.MkdirTemp("", "judge-")
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			// The learner's program must be where the sandbox's user
			// can reach it; the judge's is the grader's own.
			b, err := os.ReadFile(self)
			require.NoError(t, err)
			learner := filepath.Join(dir, "learner")
			require.NoError(t, os.WriteFile(learner, b, 0o755))
			report := filepath.Join(dir, "report.jsonl")
			r, w, err := os.Pipe()
			require.NoError(t, err)
			var lout, jout bytes.Buffer
			spec := Spec{
				Learner: Member{Path: learner, Env: []string{testRoleEnv + "=learner"}, Dir: dir,
					Files: []*os.File{w}, Stdout: &lout, Stderr: &lout},
				Judge: &Member{Path: self, Env: []string{testRoleEnv + "=judge"}, Dir: "/",
					Files: []*os.File{r}, Stdout: &jout, Stderr: &jout},
				Report: report, Limits: DefaultLimits,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			out, err := runLesson(ctx, status, true, spec)
			r.Close()
			w.Close()
			require.NoError(t, err)
			if out.Judge == nil || out.Judge.Code != 0 || !strings.Contains(jout.String(), "judge got pong:ping") {
				t.Fatalf("%v: judge %+v, said %q; learner said %q", status, out.Judge, jout.String(), lout.String())
			}
			if out.Signal != "killed" || time.Since(start) > 30*time.Second {
				t.Errorf("the learner ended %+v after %v, want killed after the judge's end and the grace", out, time.Since(start))
			}
			if got, _ := os.ReadFile(report); !strings.Contains(string(got), "judge was here") {
				t.Errorf("the report holds %q, want the judge's line", got)
			}
			var judgeSees, learnerSees int
			fmt.Sscanf(jout.String()[strings.Index(jout.String(), "sees"):], "sees %d", &judgeSees)
			fmt.Sscanf(lout.String(), "learner sees %d", &learnerSees)
			if status.On && (learnerSees != 1 || judgeSees < 3) {
				t.Errorf("the learner sees %d processes (want itself only), the judge %d (want the supervisor, itself and the learner)", learnerSees, judgeSees)
			}
		})
	}
}

// Where the sandbox, although on, cannot be set up for one lesson, the
// lesson runs without it and says why; with -sandbox=on it is not run.
// The grader, as root, cannot give the sandbox's user a program in a
// folder only root may enter.
func TestSandboxFailureFallsBack(t *testing.T) {
	status := sandboxStatus(SandboxAuto)
	if !status.On || os.Geteuid() != 0 {
		t.Skipf("needs the sandbox and root: %v, uid %d", status, os.Geteuid())
	}
	hidden := filepath.Join(t.TempDir(), "hidden")
	require.NoError(t, os.Mkdir(hidden, 0o700))
	dir := filepath.Join(hidden, "bin")
	require.NoError(t, os.Mkdir(dir, 0o700))
	b, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	prog := filepath.Join(dir, "true")
	require.NoError(t, os.WriteFile(prog, b, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spec := Spec{Learner: Member{Path: prog, Dir: dir}, Limits: DefaultLimits}
	out, err := runLesson(ctx, status, false, spec)
	if err != nil || !out.Success() || !strings.Contains(out.Unsandboxed, prog) {
		t.Errorf("auto: %+v, %v; want a success without the sandbox, saying why", out, err)
	}
	if _, err := runLesson(ctx, status, true, spec); err == nil {
		t.Errorf("on: no error; want the sandbox's")
	}
}
