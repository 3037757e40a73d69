package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"udpbook/harness"
	"udpbook/harness/pristine"
	"udpbook/harness/registry"
	"udpbook/harness/remote"
)

// State is how far a lesson has got, as the table shows it.
type State string

// The states of a lesson.
const (
	NotStarted  State = "not started"
	InProgress  State = "in progress"
	Done        State = "done"
	NoCompile   State = "does not compile"
	TimedOut    State = "timed out"
	Crashed     State = "crashed"
	NotGradable State = "could not grade"
	OverLimit   State = "over a limit"
	// Refused: the lesson's code tried to get its grade other than by
	// behaving: it imports the harness, a reference solution or another
	// lesson, reaches into other packages with go:linkname, or brings C,
	// assembly or other non-Go code into the build (see screen).
	Refused State = "refused"
)

func (s State) String() string { return string(s) }

// Status is the outcome of one check in the grader's reports.
type Status string

// The statuses of a check: the harness's pass, fail and skip, and the
// grader's own.
const (
	StatusPass           = Status(harness.Pass)
	StatusFail           = Status(harness.Fail)
	StatusSkip           = Status(harness.Skip)
	StatusError   Status = "error"   // the lesson did not compile, or was refused
	StatusTimeout Status = "timeout" // the test binary was stopped while this check ran
	StatusNotRun  Status = "not run" // the test binary ended before this check
)

func (s Status) String() string { return string(s) }

// CheckResult is the outcome of one check.
type CheckResult struct {
	harness.CheckInfo
	Status   Status
	Message  string
	Duration time.Duration
	Attempts int    // more than 1 when the harness ran late and tried again at a larger time scale
	Scale    int    // the time scale of the attempt that decided
	Late     string // why the attempt before it was not judged
}

// Retried reports whether the check was decided only at a larger time
// scale than the one grading started at, because the harness itself ran
// late: a sign of a busy machine.
func (c CheckResult) Retried() bool { return c.Attempts > 1 }

// LessonResult is the outcome of grading one lesson.
type LessonResult struct {
	Lesson   registry.Lesson
	State    State
	Checks   []CheckResult
	Detail   string // compiler errors, or what a crash or time-out printed
	Duration time.Duration
	Modified []pristine.Problem // graded files that differ from the workbook's (graded with the workbook's)
	Forged   int                // report lines without the harness's signature (ignored)
	Copied   *Copy              // the lesson's code is the reference solution's (the points stand)
	Isolated bool               // the checks ran in a judge process, the learner's code in a driver process
	Limit    string             // the limit the learner's code ran into, in words, or ""
	Usage    Outcome            // how the learner's process ended, and what it used
	Stages   Stages             // how long each stage of grading took
}

// Stages is how long each stage of grading a lesson took (see gradeOne).
type Stages struct {
	Prepare, Build, Run, Collect time.Duration
}

func (s Stages) String() string {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return fmt.Sprintf("prepare %d ms, build %d ms, run %d ms, collect %d ms",
		ms(s.Prepare), ms(s.Build), ms(s.Run), ms(s.Collect))
}

// Passed returns how many checks passed and how many points they give.
func (r LessonResult) Passed() (checks, points int) {
	for _, c := range r.Checks {
		if c.Status == StatusPass {
			checks++
			points += c.Points
		}
	}
	return checks, points
}

// MaxPoints returns the most points the lesson could give here: a check
// skipped because the system cannot run it counts neither for nor
// against, so its points leave the maximum.
func (r LessonResult) MaxPoints() int {
	max := 0
	for _, c := range r.Checks {
		if c.Status != StatusSkip {
			max += c.Points
		}
	}
	return max
}

// Retried returns how many checks were decided only at a larger time
// scale (see CheckResult.Retried), and the largest scale among them.
func (r LessonResult) Retried() (n, scale int) {
	for _, c := range r.Checks {
		if c.Retried() {
			n, scale = n+1, max(scale, c.Scale)
		}
	}
	return n, scale
}

// Skipped returns how many checks were skipped.
func (r LessonResult) Skipped() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == StatusSkip {
			n++
		}
	}
	return n
}

// FirstFailure returns the first check that did not pass or skip.
func (r LessonResult) FirstFailure() (CheckResult, bool) {
	for _, c := range r.Checks {
		if c.Status != StatusPass && c.Status != StatusSkip {
			return c, true
		}
	}
	return CheckResult{}, false
}

// Grader grades lessons of the workbook at Root.
type Grader struct {
	Root      string        // the workbook's top folder
	Solutions bool          // grade the reference solutions in place of the learner's files
	From      string        // grade the lessons' Go files from this workbook instead (a student's clone)
	Race      bool          // build with the race detector
	RunBound  time.Duration // how long a lesson's test binary may run
	Overlay   map[string]string
	Jobs      int  // lessons graded at once
	Scale     int  // the time scale timing checks start at (see harness.ScaleEnv); 0 means 1
	InProcess bool // run every lesson's checks in the learner's process, as `go test` does
	Progress  func(l registry.Lesson, event string)
	Sandbox   string  // SandboxAuto (the default), SandboxOn or SandboxOff
	Limits    *Limits // what a lesson's learner process may use; nil means DefaultLimits
	BinCache  string  // where linked test binaries are kept between gradings (see binSlot); "" keeps none

	statusOnce sync.Once
	status     SandboxStatus
}

// SandboxStatus says whether lessons are graded in the sandbox, and if not,
// why not.
func (g *Grader) SandboxStatus() SandboxStatus {
	g.statusOnce.Do(func() { g.status = sandboxStatus(g.Sandbox) })
	return g.status
}

func (g *Grader) limits() Limits {
	if g.Limits != nil {
		return *g.Limits
	}
	return DefaultLimits
}

// Grade grades the given lessons, Jobs at a time, and returns the results
// in the order given.
func (g *Grader) Grade(ctx context.Context, lessons []registry.Lesson) []LessonResult {
	results := make([]LessonResult, len(lessons))
	if g.BinCache != "" {
		evictIdle(g.BinCache)
	}
	jobs := g.Jobs
	if jobs < 1 {
		jobs = 1
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	// Start the lessons with the most checks first: the longest runs then
	// overlap the others' builds, and the last to finish is a short one.
	order := make([]int, len(lessons))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(lessons[order[a]].Checks) > len(lessons[order[b]].Checks) })
	for _, i := range order {
		l := lessons[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = g.gradeOne(ctx, l)
			g.annotate(&results[i])
		}()
	}
	wg.Wait()
	return results
}

func (g *Grader) progress(l registry.Lesson, event string) {
	if g.Progress != nil {
		g.Progress(l, event)
	}
}

// gradeOne grades one lesson in stages, each a function of its own with
// typed data between them:
//
//	prepare   the sandbox, and the screen of the learner's code
//	build     the lesson's test binary, with the workbook's graded files
//	run       the checks, in a judge and a driver (or one test process)
//	collect   the signed report into the lesson's check results
//	conclude  the lesson's state, from the results and how the run ended
//
// A stage that ends the grading (a refusal, a compile error) returns the
// lesson's result as it stands.
func (g *Grader) gradeOne(ctx context.Context, l registry.Lesson) (res LessonResult) {
	start := time.Now()
	res = newResult(l)
	defer func() {
		res.Duration = time.Since(start)
		g.progress(l, "done")
	}()

	tmp, err := os.MkdirTemp("", "udpbook-"+l.Number+"-")
	if err != nil {
		return failed(res, NotGradable, err.Error())
	}
	defer os.RemoveAll(tmp)

	lap := time.Now()
	stage := func(d *time.Duration) {
		now := time.Now()
		*d, lap = now.Sub(lap), now
	}
	state, why := g.prepare(l)
	stage(&res.Stages.Prepare)
	if state != "" {
		if state == Refused {
			res = setAll(res, StatusError, why)
		}
		return failed(res, state, why)
	}
	g.progress(l, "building")
	bin, modified, compiled, err := g.build(ctx, l, tmp)
	stage(&res.Stages.Build)
	res.Modified = modified
	switch {
	case err != nil:
		return failed(res, NotGradable, err.Error())
	case compiled != "":
		return failed(setAll(res, StatusError, ""), NoCompile, compilerErrors(compiled))
	}
	g.progress(l, "running")
	res.Isolated = g.isolated(l)
	ran, err := g.run(ctx, l, bin, tmp, res.Isolated)
	stage(&res.Stages.Run)
	if err != nil {
		return failed(res, NotGradable, err.Error())
	}
	res.Usage = ran.usage
	res, running := collect(res, ran.lines)
	res.Forged = ran.forged
	res = g.conclude(res, ran, running)
	stage(&res.Stages.Collect)
	return res
}

// newResult is a lesson's result before grading: every check of the
// grader's registry not run.
func newResult(l registry.Lesson) LessonResult {
	res := LessonResult{Lesson: l}
	for _, info := range l.Checks {
		res.Checks = append(res.Checks, CheckResult{CheckInfo: info, Status: StatusNotRun})
	}
	return res
}

// failed ends grading with state and detail.
func failed(res LessonResult, state State, detail string) LessonResult {
	res.State = state
	res.Detail = detail
	return res
}

// setAll gives every check status, and message where it is not empty.
func setAll(res LessonResult, status Status, message string) LessonResult {
	res.Checks = slices.Clone(res.Checks)
	for i := range res.Checks {
		res.Checks[i].Status = status
		if message != "" {
			res.Checks[i].Message = message
		}
	}
	return res
}

// prepare checks that the lesson can be graded as asked: the sandbox is
// there if -sandbox=on, and the learner's code passes the screen. It
// returns the state that ends grading and why, or "".
func (g *Grader) prepare(l registry.Lesson) (State, string) {
	if g.Sandbox == SandboxOn {
		if s := g.SandboxStatus(); !s.On {
			return NotGradable, "-sandbox=on, and there is no sandbox here: " + s.Why
		}
	}
	why, err := g.screen(l)
	switch {
	case err != nil:
		return NotGradable, err.Error()
	case why != "":
		return Refused, why
	}
	return "", ""
}

// build compiles the lesson's test binary into tmp on its own, so that a
// compile error is told apart from a failing test, and compile time does
// not count against the time bound of the run. It returns the binary, the
// graded files that differ from the workbook's (built with the workbook's
// copies), and, if the lesson does not compile, the compiler's output.
func (g *Grader) build(ctx context.Context, l registry.Lesson, tmp string) (bin string, modified []pristine.Problem, compilerOutput string, err error) {
	bin = filepath.Join(tmp, "lesson.test")
	// No symbol table and no DWARF: linking is a quarter faster, and
	// stack traces, which come from the pclntab, keep their names and
	// lines.
	args := []string{"test", "-c", "-ldflags=-s -w"}
	if g.Race {
		args = append(args, "-race")
	}
	overlay, modified, err := g.overlay(l, tmp)
	if err != nil {
		return "", modified, "", err
	}
	overlayJSON, err := os.ReadFile(overlay)
	if err != nil {
		return "", modified, "", err
	}
	args = append(args, "-overlay", overlay)
	pkg := "./" + filepath.ToSlash(l.Dir())
	err = buildCached(g.binSlot(l.Number, overlayJSON), bin, func(to string) error {
		cmd := goCommand(ctx, append(args[:len(args):len(args)], "-o", to, pkg)...)
		cmd.Dir = g.Root
		out, err := cmd.CombinedOutput()
		if err != nil {
			compilerOutput = string(out)
		}
		return err
	})
	switch {
	case compilerOutput != "":
		return "", modified, compilerOutput, nil
	case err != nil:
		return "", modified, "", err
	}
	return bin, modified, "", nil
}

// ranChecks is what running a lesson's checks produced.
type ranChecks struct {
	ranLesson
	usage  Outcome
	lines  []harness.ReportLine // the report's signed lines
	forged int                  // lines without the harness's signature
}

// run runs the lesson's checks from bin and reads the signed report they
// wrote.
func (g *Grader) run(ctx context.Context, l registry.Lesson, bin, tmp string, isolated bool) (ranChecks, error) {
	report := filepath.Join(tmp, "report.jsonl")
	key, err := newKey()
	if err != nil {
		return ranChecks{}, err
	}
	lr, err := g.lessonSpec(l, bin, report, key, tmp, isolated)
	if err != nil {
		return ranChecks{}, err
	}
	defer lr.close()
	// The judge keeps the lesson's time; without one, the test binary's
	// own -test.timeout does, and this bound is a backstop.
	bound := g.RunBound
	if !isolated {
		bound += 5 * time.Second
	}
	runCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	stopWatching := g.watchReport(l, report)
	usage, err := runLesson(runCtx, g.SandboxStatus(), g.Sandbox == SandboxOn, lr.spec)
	stopWatching()
	if err != nil {
		return ranChecks{}, err
	}
	ran := ranChecks{ranLesson: ranFrom(usage, lr, runCtx.Err() != nil, isolated), usage: usage}
	ran.lines, ran.forged, err = readReport(report, key)
	return ran, err
}

// collect takes the checks' results from the report's lines. The checks
// and their points are the ones the graded run declared, not the grader's
// own: the graded run is built from the workbook's copies. It also returns
// the check that started and never ended, if any.
func collect(res LessonResult, lines []harness.ReportLine) (LessonResult, string) {
	res.Checks = slices.Clone(res.Checks)
	running := ""
	for _, line := range lines {
		if line.Event == "declare" {
			res.Checks = res.Checks[:0]
			for _, info := range line.Checks {
				res.Checks = append(res.Checks, CheckResult{CheckInfo: info, Status: StatusNotRun})
			}
			continue
		}
		for i := range res.Checks {
			if res.Checks[i].ID != line.ID {
				continue
			}
			if line.Event == "start" {
				running = line.ID
				continue
			}
			running = ""
			c := &res.Checks[i]
			c.Status = Status(line.Status)
			c.Message = line.Message
			c.Duration = time.Duration(line.Millis * float64(time.Millisecond))
			c.Attempts, c.Scale, c.Late = line.Attempts, line.Scale, line.Late
		}
	}
	return res, running
}

// conclude gives the lesson its state from its results and how its run
// ended (running is the check that started and never ended).
func (g *Grader) conclude(res LessonResult, ran ranChecks, running string) LessonResult {
	l := res.Lesson
	// markRunning gives the check that never ended its status.
	markRunning := func(status Status, message string) {
		for i := range res.Checks {
			if res.Checks[i].ID == running {
				res.Checks[i].Status, res.Checks[i].Message = status, message
			}
		}
	}
	stopped := running != "" || len(ran.lines) == 0 || endedEarly(res)
	limit := limitHit(ran.usage, res, ran.output)
	switch {
	case ran.timedOut:
		res.State = TimedOut
		res.Detail = crashLines(ran.output, l.Dir())
		markRunning(StatusTimeout, fmt.Sprintf("the lesson's test was stopped after %v while this check ran: "+
			"your code is stuck somewhere (a loop that never ends, a lock or channel that never frees)", g.RunBound))
	case limit != "":
		res.State = OverLimit
		res.Limit = g.limits().Describe(limit)
		if ran.usage.Limit != "" || stopped {
			res.Detail = "your code " + res.Limit + ", more than the grader allows, and was stopped"
		} else {
			res.Detail = "your code " + res.Limit + ", more than the grader allows: what went past the limit was refused"
		}
		markRunning(StatusFail, "the lesson was stopped while this check ran: your code "+res.Limit+
			" (the grader's limit)")
	case stopped:
		// A crash, or an exit (even with status 0) before every check ended.
		res.State = Crashed
		res.Detail = exitDetail(ran.output, l.Dir(), ran.exit, running, len(ran.lines) > 0)
		markRunning(StatusFail, "the lesson's test crashed while this check ran:\n"+res.Detail)
		noteNotRun(&res)
	default:
		res.State = lessonState(res)
	}
	if ran.forged > 0 {
		res.Detail = strings.TrimSpace(res.Detail + fmt.Sprintf("\n%d line(s) in the report were not written by the harness and were ignored", ran.forged))
	}
	return res
}

// ranLesson is what running a lesson's checks produced, besides the report.
type ranLesson struct {
	output   string // what the learner's process printed (its tail)
	timedOut bool   // the lesson ran out of time and was stopped
	exit     string // how the learner's process ended when it ended early: "exited with status 0"
}

// lessonRun is a lesson's processes, as runLesson takes them, and what
// they print.
type lessonRun struct {
	spec     Spec
	output   bytes.Buffer // the learner's process's output (its tail)
	judgeOut bytes.Buffer // the judge's
	closers  []func()
}

func (r *lessonRun) close() {
	for _, c := range r.closers {
		c()
	}
}

// lessonSpec describes lesson l's processes. In one process, the lesson's
// test binary runs the checks and the learner's code, and writes the
// report itself, signed with key. Isolated, the checks run in a judge (this
// program again), which alone holds key and writes the report, and the
// learner's code in a driver (the lesson's test binary, serving the
// lesson's functions), connected to it by a control socket.
func (g *Grader) lessonSpec(l registry.Lesson, bin, report string, key []byte, tmp string, isolated bool) (*lessonRun, error) {
	run := &lessonRun{}
	tail := &tailWriter{w: &run.output, n: 1 << 20}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, err
	}
	learner := Member{
		Path:   bin,
		Args:   []string{"-test.run", "^" + l.Test + "$", "-test.timeout", g.RunBound.String(), "-test.count", "1"},
		Env:    []string{goraceEnv()},
		Dir:    work,
		Stdout: tail,
		Stderr: tail,
	}
	run.spec = Spec{Report: report, Limits: g.limits(), Race: g.Race}
	if !isolated {
		learner.Env = append(learner.Env, g.scaleEnv())
		closeKey, err := passKey(&learner, key)
		if err != nil {
			return nil, err
		}
		run.closers = append(run.closers, closeKey)
		run.spec.Learner = learner
		return run, nil
	}

	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the grader's own program for the judge: %w", err)
	}
	// This process holds the report key too: out of the learner's reach.
	noDumpOnce.Do(func() { noDump() })
	judgeEnd, driverEnd, err := remote.Pair()
	if err != nil {
		return nil, err
	}
	run.closers = append(run.closers, func() { judgeEnd.Close(); driverEnd.Close() })
	// The driver serves the lesson's functions on descriptor 3. Its own
	// test timeout is longer than the lesson's bound: the judge keeps time.
	learner.Args[3] = (g.RunBound + time.Minute).String()
	learner.Env = append(learner.Env, remote.DriverEnv+"=fd3")
	learner.Files = []*os.File{driverEnd}
	judgeTail := &tailWriter{w: &run.judgeOut, n: 64 << 10}
	judge := Member{
		Path: self,
		// The judge starts lesson 04's activation children from the
		// driver's program, where it sees it.
		Env: []string{judgeEnv + "=" + l.Number, programEnv + "=" + g.programPath(bin), testEnv + "=" + l.Test,
			g.scaleEnv(), g.judgeTemp()},
		// The judge needs no folder of the workbook's: in the sandbox it
		// may not even see the workbook (under a hidden HOME, say).
		Dir:    "/",
		Files:  []*os.File{judgeEnd}, // descriptor 4, after the key
		Stdout: judgeTail,
		Stderr: judgeTail,
	}
	closeKey, err := passKey(&judge, key) // descriptor 3
	if err != nil {
		run.close()
		return nil, err
	}
	run.closers = append(run.closers, closeKey)
	run.spec.Learner, run.spec.Judge = learner, &judge
	return run, nil
}

// judgeTemp is the judge's temporary folder: in the sandbox, the private
// /tmp that it shares with the learner (the grader's is not there).
func (g *Grader) judgeTemp() string {
	if g.SandboxStatus().On {
		return "TMPDIR=/tmp"
	}
	return "TMPDIR=" + os.TempDir()
}

// programPath is where a process in the lesson's group finds the test
// binary bin: inside the sandbox, where the sandbox shows it.
func (g *Grader) programPath(bin string) string {
	if g.SandboxStatus().On {
		return sandboxedProgram(bin)
	}
	return bin
}

// ranFrom reads how a lesson's processes ended.
func ranFrom(usage Outcome, run *lessonRun, timedOut, isolated bool) ranLesson {
	text := run.output.String()
	if !isolated {
		ran := ranLesson{output: text, timedOut: timedOut || strings.Contains(text, "panic: test timed out after")}
		if !usage.Success() {
			ran.exit = describeOutcome(usage)
		}
		return ran
	}
	// The driver's test passes when the judge lets it go: its "PASS" says
	// nothing about the learner's code.
	ran := ranLesson{output: strings.TrimSuffix(strings.TrimRight(text, "\n"), "PASS"), timedOut: timedOut}
	if timedOut || usage.Judge == nil {
		return ran
	}
	switch code := usage.Judge.Code; code {
	case 0:
	case judgeLost:
		ran.exit = describeOutcome(usage)
	case judgeGarbled:
		ran.exit = "wrote on the grader's control socket, which only the harness may use, and was stopped"
	default:
		// The judge itself failed: show what it said, with what the
		// driver printed.
		ran.output = strings.TrimSpace(ran.output + "\n" + run.judgeOut.String())
	}
	return ran
}

// describeOutcome says how the learner's process ended: "exited with
// status 1", "was ended by signal killed"; empty for status 0.
func describeOutcome(o Outcome) string {
	switch {
	case !o.Exited:
		return "never started"
	case o.Signal != "":
		return "was ended by signal " + o.Signal
	case o.Code != 0:
		return fmt.Sprintf("exited with status %d", o.Code)
	}
	return ""
}

var noDumpOnce sync.Once

// isolated reports whether lesson l is graded in two processes: where the
// system can pass descriptors and the lesson's checks can run in a judge.
func (g *Grader) isolated(l registry.Lesson) bool {
	return !g.InProcess && remote.Supported && registry.Judge(l.Number) != nil
}

// scaleEnv sets the time scale the checks start at, for the process that
// runs them.
func (g *Grader) scaleEnv() string { return fmt.Sprintf("%s=%d", harness.ScaleEnv, max(g.Scale, 1)) }

// goraceEnv is the race detector's settings for the learner's process:
// no sleep at exit, since a race is reported when it happens, within the
// check that ran.
func goraceEnv() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

// limitHit returns the limit the learner's code ran into: the one the
// sandbox stopped it at, or, when a check did not pass, the one that the
// checks' messages or the lesson's last words name.
func limitHit(usage Outcome, res LessonResult, output string) string {
	if usage.Limit != "" {
		return usage.Limit
	}
	if _, failed := res.FirstFailure(); !failed {
		return ""
	}
	var b strings.Builder
	for _, c := range res.Checks {
		b.WriteString(c.Message + "\n")
	}
	b.WriteString(output)
	return limitFromText(b.String())
}

// watchReport tells Progress how many checks have ended, as the report
// file grows, until the returned function is called.
func (g *Grader) watchReport(l registry.Lesson, report string) (stop func()) {
	if g.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				lines, _, _ := readReport(report, nil)
				ended := 0
				for _, line := range lines {
					if line.Event == "end" {
						ended++
					}
				}
				g.progress(l, fmt.Sprintf("running %d/%d", ended, len(l.Checks)))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// lessonState says how far a lesson that ran to the end has got.
func lessonState(res LessonResult) State {
	passed, _ := res.Passed()
	if _, failed := res.FirstFailure(); !failed {
		return Done
	}
	if passed > 0 {
		return InProgress
	}
	// Nothing passed: if every failure is a stub's "not written yet", the
	// learner has not begun.
	for _, c := range res.Checks {
		if c.Status == StatusFail && !strings.Contains(c.Message, harness.NotWritten) {
			return InProgress
		}
	}
	return NotStarted
}

// overlay writes a go build -overlay file and returns its name. It makes
// the build take the graded files from the workbook's own copies (and leave
// out graded files that were added), and the lesson's own files from the
// reference solution (-solutions), a student's clone (-from) or g.Overlay,
// where asked. Nothing on disk is changed.
func (g *Grader) overlay(l registry.Lesson, tmp string) (string, []pristine.Problem, error) {
	replace := map[string]string{}
	modified, err := pristineOverlay(g.Root, l, replace)
	if err != nil {
		return "", nil, err
	}
	switch {
	case g.Solutions:
		if err := g.useFiles(replace, l, filepath.Join(g.Root, l.SolutionDir())); err != nil {
			return "", modified, err
		}
	case g.From != "":
		// Every lesson's files, in case one lesson's code uses another's.
		for _, other := range registry.Lessons() {
			if err := g.useFiles(replace, other, filepath.Join(g.From, other.Dir())); err != nil {
				return "", modified, err
			}
		}
	}
	for from, to := range g.Overlay {
		replace[filepath.Join(g.Root, from)] = to
	}
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", modified, err
	}
	name := filepath.Join(tmp, "overlay.json")
	return name, modified, os.WriteFile(name, b, 0o644)
}

// useFiles makes the build take the non-test Go files of lesson l from
// dir in place of those in the lesson's folder.
func (g *Grader) useFiles(replace map[string]string, l registry.Lesson, dir string) error {
	lessonDir := filepath.Join(g.Root, l.Dir())
	old, err := filepath.Glob(filepath.Join(lessonDir, "*.go"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !strings.HasSuffix(f, "_test.go") {
			replace[f] = "" // deleted, unless dir has it too
		}
	}
	src, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	for _, f := range src {
		if !strings.HasSuffix(f, "_test.go") {
			replace[filepath.Join(lessonDir, filepath.Base(f))] = f
		}
	}
	return nil
}

// learnerDir returns the folder whose files are graded for lesson l.
func (g *Grader) learnerDir(l registry.Lesson) string {
	switch {
	case g.Solutions:
		return filepath.Join(g.Root, l.SolutionDir())
	case g.From != "":
		return filepath.Join(g.From, l.Dir())
	}
	return filepath.Join(g.Root, l.Dir())
}

// readReport reads the lines the harness wrote. With a key, it keeps only
// lines signed with it, and counts the others.
func readReport(name string, key []byte) (lines []harness.ReportLine, forged int, err error) {
	// Without the sandbox, the learner's code could have put a pipe or a
	// link in the report's place: a pipe would block the read forever.
	if info, err := os.Lstat(name); err == nil && !info.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("the lesson's report %s is not a file: something replaced it", name)
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil // the binary died before its first check
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var line harness.ReportLine
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			forged++
			continue
		}
		if key != nil && !hmac.Equal([]byte(line.MAC), []byte(harness.Sign(key, line))) {
			forged++
			continue
		}
		lines = append(lines, line)
	}
	return lines, forged, sc.Err()
}

var compilerLine = regexp.MustCompile(`^\S+\.go:\d+(:\d+)?: `)

// compilerErrors keeps the first lines of the compiler's complaints.
func compilerErrors(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if compilerLine.MatchString(line) || strings.HasPrefix(line, "\t") && len(keep) > 0 {
			keep = append(keep, strings.TrimPrefix(line, "./"))
		}
		if len(keep) == 6 {
			break
		}
	}
	if len(keep) == 0 {
		return strings.TrimSpace(out)
	}
	return strings.Join(keep, "\n")
}

// crashLines keeps what helps with a crash or a time-out: the panic or
// fatal error line and the first stack frames in the lesson's own files.
func crashLines(out, dir string) string {
	lines := strings.Split(out, "\n")
	var keep []string
	for i, line := range lines {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			keep = append(keep, line)
			// The first frames in the learner's own folder.
			frames := 0
			for j := i + 1; j+1 < len(lines) && frames < 3; j++ {
				if strings.Contains(lines[j+1], "/"+filepath.ToSlash(dir)+"/") {
					keep = append(keep, "  "+strings.TrimSpace(lines[j]), "      "+strings.TrimSpace(lines[j+1]))
					frames++
					j++
				}
			}
			break
		}
	}
	if len(keep) == 0 {
		// No panic: show the end of the output.
		tail := lines
		if len(tail) > 8 {
			tail = tail[len(tail)-8:]
		}
		return strings.TrimSpace(strings.Join(tail, "\n"))
	}
	return strings.Join(keep, "\n")
}

// tailWriter keeps the last n bytes or so written to it, so a learner's
// program printing in a loop cannot fill the memory, and a panic at the end
// of its output is still there to read.
type tailWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
	n  int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w.Write(p)
	if t.w.Len() > 2*t.n {
		t.w.Next(t.w.Len() - t.n)
		rest := append([]byte(nil), t.w.Bytes()...)
		t.w.Reset()
		t.w.Write(rest)
	}
	return len(p), nil
}
