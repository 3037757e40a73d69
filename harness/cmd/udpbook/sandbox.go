package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// The sandbox runs a lesson's learner process where the learner's code
// can do no harm: on Linux, in namespaces of its own (a network whose only
// interface is lo, its own process IDs, a read-only view of the files with
// a private temporary folder) and under limits. Where the kernel refuses
// the namespaces, or on other systems, the process runs as before, with
// the same limits where the system has them, and everything it started is
// killed when the lesson ends. See docs/grading.md#the-sandbox.

// SandboxEnv names the environment variable that turns the sandbox off
// ("off"), like -sandbox=off; -sandbox=on overrides it.
const SandboxEnv = "UDPBOOK_SANDBOX"

// The sandbox modes, as -sandbox and UDPBOOK_SANDBOX take them.
const (
	SandboxAuto = "auto" // use the sandbox where the system allows it
	SandboxOn   = "on"   // use it, and grade nothing where the system does not allow it
	SandboxOff  = "off"  // never use it: grade as an ordinary child process
)

// Limits bound what a lesson's learner process may use. A zero field means
// no limit.
type Limits struct {
	Memory    int64         // resident memory of all the learner's processes together, in bytes
	Processes int           // processes and threads, all together
	OpenFiles int           // open descriptors of one process
	FileSize  int64         // the largest file a process may write, in bytes
	CPU       time.Duration // processor time of one process
	TempSpace int64         // the private temporary folder, in bytes (sandbox only)
}

// DefaultLimits are the limits a lesson runs under. The reference
// solutions use a small part of each: measured under the race detector, a
// lesson peaks under 50 MiB of resident memory and 10 processes and
// threads, and uses under 0.2 s of processor time.
var DefaultLimits = Limits{
	Memory:    1 << 30,
	Processes: 128,
	OpenFiles: 1024,
	FileSize:  64 << 20,
	CPU:       10 * time.Second,
	TempSpace: 128 << 20,
}

// The limits a learner's process can run into, as the sandbox reports
// them.
const (
	LimitMemory    = "memory"
	LimitProcesses = "processes"
	LimitOpenFiles = "open files"
	LimitFileSize  = "file size"
	LimitCPU       = "cpu"
	LimitTempSpace = "temp space"
)

// Describe says, in words for the table, that the limit named kind was
// exceeded: "used more than 1 GiB of memory".
func (l Limits) Describe(kind string) string {
	switch kind {
	case LimitMemory:
		return "used more than " + size(l.Memory) + " of memory"
	case LimitProcesses:
		return fmt.Sprintf("started more than %d processes and threads", l.Processes)
	case LimitOpenFiles:
		return fmt.Sprintf("had more than %d files and sockets open in one process", l.OpenFiles)
	case LimitFileSize:
		return "wrote a file larger than " + size(l.FileSize)
	case LimitCPU:
		return fmt.Sprintf("used more than %v of processor time", l.CPU)
	case LimitTempSpace:
		return "filled its " + size(l.TempSpace) + " of temporary space"
	}
	return "ran into the limit on " + kind
}

// size writes n bytes the way people say it: "1 GiB", "64 MiB".
func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitSignatures are what a process prints, or a check reports, when it
// ran into a limit without being stopped by the sandbox: the runtime's
// and the race detector's last words, and the errors calls return. Each
// is a set of strings that must all be on one line.
var limitSignatures = []struct {
	text []string
	kind string
}{
	{[]string{"ThreadSanitizer failed to allocate"}, LimitMemory},
	{[]string{"fatal error: ", "out of memory"}, LimitMemory},
	{[]string{"cannot allocate memory"}, LimitMemory},
	{[]string{"failed to create new OS thread", "errno=12"}, LimitMemory}, // ENOMEM: a thread's stack did not fit
	{[]string{"failed to create new OS thread"}, LimitProcesses},
	{[]string{"pthread_create failed"}, LimitProcesses},
	{[]string{"fork/exec", "resource temporarily unavailable"}, LimitProcesses},
	{[]string{"too many open files"}, LimitOpenFiles},
	{[]string{"file too large"}, LimitFileSize},
	{[]string{"no space left on device"}, LimitTempSpace},
}

// limitFromText returns the limit that text shows was hit, or "".
func limitFromText(text string) string {
	for _, s := range limitSignatures {
		for _, line := range strings.Split(text, "\n") {
			all := true
			for _, part := range s.text {
				all = all && strings.Contains(line, part)
			}
			if all {
				return s.kind
			}
		}
	}
	return ""
}

// Member is one process of a lesson's group.
type Member struct {
	Path   string     // the executable
	Args   []string   // its arguments, without the name
	Env    []string   // its own variables, added to the grader's environment (in the sandbox, the learner's to a bare one)
	Dir    string     // its working folder (in the sandbox the learner gets a private one)
	Files  []*os.File // descriptors 3, 4, ... of the process; runLesson closes them once the process has them
	Stdout io.Writer
	Stderr io.Writer
}

// Spec says how to run one lesson's processes: the learner's, which runs
// the learner's code under every restriction, and optionally a judge's.
//
// Today a lesson is one process, the test binary, which holds both the
// checks and the learner's code: it is the Learner. Where the checks run
// in a process of their own, that process is the Judge: trusted, it shares
// the learner's network namespace (so that the checks talk to the learner
// over loopback), runs with the grader's environment and without limits,
// and, in a PID namespace above the learner's, sees the learner's processes
// while they cannot see it. In the sandbox it sees the same read-only
// files (it may write the report), as the same user, without capabilities;
// without the sandbox it is an ordinary child of the grader. The
// judge starts first; the learner starts once the judge closes the
// descriptor named in its JudgeReadyEnv variable (or ends). The lesson
// ends when the judge does: the learner then has JudgeGrace to end by
// itself before it is killed with everything it started.
type Spec struct {
	Learner Member
	Judge   *Member
	// Report is the lesson's report file: the judge, or without one the
	// learner, appends to it, and finds it in harness.ReportEnv.
	Report string
	Limits Limits
	Race   bool // the learner is built with the race detector
}

// JudgeReadyEnv names the variable that tells a judge which of its
// descriptors to close once the learner's process may start: "fd5".
const JudgeReadyEnv = "UDPBOOK_JUDGE_READY"

// JudgeGrace is how long the learner's process may take to end by itself
// once the judge has ended.
const JudgeGrace = time.Second

// Outcome is how a lesson's learner process ended.
type Outcome struct {
	Exited     bool          // it ran and ended by itself or was stopped; false if it never started
	Code       int           // its exit code, or -1 if a signal ended it
	Signal     string        // the signal that ended it, if one did
	Limit      string        // the limit that stopped it or that it ran into, or ""
	PeakMemory int64         // the most resident memory its processes used at once, as sampled
	PeakTasks  int           // the most processes and threads it had at once, as sampled
	CPU        time.Duration // processor time the learner's own process used
	Judge      *Outcome      `json:",omitempty"` // how the judge ended, if there was one
	// Unsandboxed says why the lesson ran without the sandbox although
	// the sandbox was on: it could not be set up for this lesson.
	Unsandboxed string `json:",omitempty"`
}

// Success reports whether the learner's process exited with code 0.
func (o Outcome) Success() bool { return o.Exited && o.Code == 0 }

// SandboxStatus says whether lessons run in the sandbox, and why not.
type SandboxStatus struct {
	On  bool
	Why string // why it is off: "turned off with -sandbox=off", "the kernel refused ..."
}

func (s SandboxStatus) String() string {
	if s.On {
		return "sandbox on"
	}
	return "sandbox off: " + s.Why
}

var (
	probeOnce   sync.Once
	probeStatus SandboxStatus
)

// sandboxStatus returns whether the sandbox is used here in the given
// mode. The system is probed once per process, by setting up a sandbox and
// taking it down, which takes a few milliseconds.
func sandboxStatus(mode string) SandboxStatus {
	if env := os.Getenv(SandboxEnv); strings.EqualFold(env, SandboxOff) && mode == SandboxAuto {
		return SandboxStatus{Why: "turned off with " + SandboxEnv + "=off"}
	}
	if mode == SandboxOff {
		return SandboxStatus{Why: "turned off with -sandbox=off"}
	}
	probeOnce.Do(func() { probeStatus = probeSandbox() })
	return probeStatus
}

// sandboxMode checks a -sandbox value.
func sandboxMode(s string) (string, error) {
	switch s {
	case SandboxAuto, "":
		return SandboxAuto, nil
	case SandboxOn, SandboxOff:
		return s, nil
	}
	return "", fmt.Errorf("-sandbox=%s: want auto, on or off", s)
}

// runLesson runs spec's processes, in the sandbox when status says it is
// on, and waits for them, or until ctx ends, when everything is killed.
// Whatever happens, no process the learner started outlives the call: in
// the sandbox they die with its namespace, and elsewhere the whole tree is
// killed. Should the sandbox that the probe found working fail to be set
// up for this lesson, the lesson runs without it, and the outcome says
// why, unless the sandbox is required.
func runLesson(ctx context.Context, status SandboxStatus, required bool, spec Spec) (Outcome, error) {
	if !status.On {
		return runPlain(ctx, spec)
	}
	out, err := runSandboxed(ctx, spec)
	if err == nil || required || ctx.Err() != nil {
		return out, err
	}
	// Nothing of the learner's ran: every error of runSandboxed comes
	// from setting up.
	out, perr := runPlain(ctx, spec)
	out.Unsandboxed = err.Error()
	return out, perr
}

// withEnv returns base with the variables of extra added, each replacing
// any of the same name in base: a process may read either of two entries
// with one name.
func withEnv(base, extra []string) []string {
	names := map[string]bool{}
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	env := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		if name, _, _ := strings.Cut(kv, "="); !names[name] {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
