package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"udpbook/harness"
	"udpbook/harness/registry"
)

// Grading a folder of submissions: `udpbook grade-many DIR...`.
//
// Each submission is a student's clone, graded with -from as `check`
// grades one: through Grader.Grade, lesson by lesson, in the sandbox where
// there is one. A submission whose lessons do not compile, crash or hang
// gets its row like any other, and one that is not a clone at all (no
// lessons folder) gets a row that says so: nothing a submission does stops
// the run. The results are a gradebook, one CSV row per submission, and
// optionally the JSON report (report.go) per submission.

// Submission is one student's clone.
type Submission struct {
	ID  string // the folder's name, made unique
	Dir string
}

// SubmissionResult is a submission's grading.
type SubmissionResult struct {
	Submission
	Results  []LessonResult // in the order of the lessons graded; nil if Problem
	Problem  string         // why the submission could not be graded at all, or ""
	Duration time.Duration
}

// Total returns the points the submission earned and could have earned:
// skipped checks leave the maximum, as everywhere.
func (s SubmissionResult) Total(lessons []registry.Lesson) (points, max int) {
	if s.Results == nil {
		for _, l := range lessons {
			max += l.Points()
		}
		return 0, max
	}
	for _, r := range s.Results {
		_, p := r.Passed()
		points += p
		max += r.MaxPoints()
	}
	return points, max
}

// State sums up the submission in a few words: "done" when every lesson
// is, else the lessons that are not, with their state.
func (s SubmissionResult) State() string {
	if s.Problem != "" {
		return "could not grade: " + s.Problem
	}
	var notDone []string
	for _, r := range s.Results {
		if r.State != Done {
			notDone = append(notDone, r.Lesson.Number+" "+r.State.String())
		}
	}
	if len(notDone) == 0 {
		return "done"
	}
	return strings.Join(notDone, "; ")
}

// findSubmissions returns the submissions named by args: a folder with a
// lessons folder is one submission; any other folder holds submissions,
// one per subfolder (a subfolder that is not a clone still gets its row).
func findSubmissions(args []string) ([]Submission, error) {
	var subs []Submission
	seen := map[string]int{}
	add := func(dir string) {
		id := filepath.Base(dir)
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "-" + strconv.Itoa(n)
		}
		subs = append(subs, Submission{ID: id, Dir: dir})
	}
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("%s is not a folder", a)
		}
		if isClone(abs) {
			add(abs)
			continue
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				add(filepath.Join(abs, e.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s is neither a submission (it has no lessons folder) nor a folder of submissions", a)
		}
	}
	return subs, nil
}

func isClone(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "lessons"))
	return err == nil && info.IsDir()
}

// gradeMany grades subs, jobs at a time, each with a Grader from
// newGrader, and reports progress as lines on progress. It returns the
// results in the order of subs; a submission not started because ctx
// ended has a Problem saying so.
func gradeMany(ctx context.Context, subs []Submission, lessons []registry.Lesson, jobs int,
	newGrader func(from string) *Grader, progress io.Writer) []SubmissionResult {
	out := make([]SubmissionResult, len(subs))
	var mu sync.Mutex
	finished := 0
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(progress, "udpbook: "+format+"\n", args...)
	}
	// Workers take the submissions in order, so that progress reads in
	// the order given.
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(jobs, 1), max(len(subs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = gradeSubmission(ctx, subs[i], lessons, newGrader, say)
				points, max := out[i].Total(lessons)
				mu.Lock()
				finished++
				n := finished
				mu.Unlock()
				say("[%d/%d] %s: %d/%d points, %s (%.1fs)", n, len(subs), subs[i].ID, points, max, out[i].State(), out[i].Duration.Seconds())
			}
		}()
	}
	for i := range subs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// gradeSubmission grades one submission, or says why it cannot.
func gradeSubmission(ctx context.Context, s Submission, lessons []registry.Lesson,
	newGrader func(from string) *Grader, say func(string, ...any)) SubmissionResult {
	res := SubmissionResult{Submission: s}
	start := time.Now()
	switch {
	case ctx.Err() != nil:
		res.Problem = "interrupted before its grading"
	case !isClone(s.Dir):
		res.Problem = "no lessons folder in " + s.Dir
	default:
		say("grading %s", s.ID)
		res.Results = newGrader(s.Dir).Grade(ctx, lessons)
	}
	res.Duration = time.Since(start)
	return res
}

// buildGradebook returns the gradebook's rows, the header first: id,
// total, max, the points of each lesson, state, the lessons flagged as
// copied from a reference solution, and the graded files (tests, harness)
// the clone changed, added or lacks.
func buildGradebook(subs []SubmissionResult, lessons []registry.Lesson) [][]string {
	header := []string{"id", "total", "max"}
	for _, l := range lessons {
		header = append(header, "lesson "+l.Number)
	}
	header = append(header, "state", "copied_solution", "modified_files")
	rows := [][]string{header}
	for _, s := range subs {
		points, max := s.Total(lessons)
		row := []string{s.ID, strconv.Itoa(points), strconv.Itoa(max)}
		var copied []string
		for i := range lessons {
			if s.Results == nil {
				row = append(row, "0")
				continue
			}
			r := s.Results[i]
			_, p := r.Passed()
			row = append(row, strconv.Itoa(p))
			if r.Copied != nil {
				copied = append(copied, r.Lesson.Number)
			}
		}
		row = append(row, s.State(), strings.Join(copied, " "), strings.Join(modifiedFiles(s.Results), "; "))
		rows = append(rows, row)
	}
	return rows
}

// writeGradebook writes rows as CSV to name, or to w if name is "".
func writeGradebook(name string, w io.Writer, rows [][]string) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	if name == "" {
		_, err := w.Write(b.Bytes())
		return err
	}
	return writeFileAtomic(name, b.Bytes())
}

// submissionJSON is a submission's JSON report (report.go's format).
func submissionJSON(s SubmissionResult, race bool, sandbox SandboxStatus) JSONReport {
	if s.Problem != "" {
		return JSONReport{Version: 3, Status: StatusError, Message: "could not grade: " + s.Problem,
			TimeScale: harness.StartScale(), Sandbox: JSONSandbox{On: sandbox.On, Why: sandbox.Why},
			Lessons: []JSONLesson{}, Tests: []JSONTest{}}
	}
	return buildJSON(s.Results, race, false, sandbox, modifiedFiles(s.Results), s.Duration)
}

type gradeManyOptions struct {
	jobs    int
	csvFile string
	jsonDir string
	lessons string
	race    string
	bound   time.Duration
	scale   int
	sandbox string
}

func gradeManyCommand(root string, args []string, stdout, stderr io.Writer) int {
	var o gradeManyOptions
	fs := flag.NewFlagSet("grade-many", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: udpbook grade-many [flags] DIR...\n\n"+
			"Grades every submission (a student's clone, graded with this workbook's grader and tests, as check -from does)\n"+
			"and writes a gradebook: one CSV row per submission. A DIR with a lessons folder is one submission; any\n"+
			"other DIR holds one submission per subfolder. Progress goes to standard error. Flags:")
		fs.PrintDefaults()
	}
	fs.IntVar(&o.jobs, "jobs", 1, "how many submissions to grade at once (more than 1 only where the sandbox is on: see docs/instructors.md)")
	fs.StringVar(&o.csvFile, "csv", "", "write the gradebook to this CSV file (standard output if empty)")
	fs.StringVar(&o.jsonDir, "json-dir", "", "also write each submission's JSON report, as ID.json, into this folder")
	fs.StringVar(&o.lessons, "lessons", "", "the lessons graded, separated by commas: 01,02 (all of them if empty)")
	fs.StringVar(&o.race, "race", "auto", "build with the race detector: on, off, or auto (on where cgo works)")
	fs.DurationVar(&o.bound, "timeout", 90*time.Second, "how long one lesson's checks may run before the lesson is stopped")
	fs.IntVar(&o.scale, "time-scale", harness.StartScale(), "the time scale timing checks start at (see check -h)")
	fs.StringVar(&o.sandbox, "sandbox", SandboxAuto, "run each lesson's code in a sandbox (Linux): auto, on, or off")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "udpbook: grade-many:", err)
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var names []string
	if o.lessons != "" {
		names = strings.Split(o.lessons, ",")
	}
	lessons, err := pickLessons(names)
	if err != nil {
		return fail(err)
	}
	subs, err := findSubmissions(fs.Args())
	if err != nil {
		return fail(err)
	}
	race, err := raceSetting(o.race)
	if err != nil {
		return fail(err)
	}
	mode, err := sandboxMode(o.sandbox)
	if err != nil {
		return fail(err)
	}
	if o.scale < 1 || o.scale > 64 {
		return fail(fmt.Errorf("-time-scale %d: want a whole number from 1 to 64", o.scale))
	}
	os.Setenv(harness.ScaleEnv, strconv.Itoa(o.scale))
	if o.jsonDir != "" {
		if err := os.MkdirAll(o.jsonDir, 0o755); err != nil {
			return fail(err)
		}
	}
	// The lessons of all the submissions graded at once share the
	// machine as one grading's lessons do.
	lessonJobs := max(1, 2*runtime.NumCPU()/max(o.jobs, 1))
	newGrader := func(from string) *Grader {
		return &Grader{Root: root, From: from, Race: race, RunBound: o.bound, Jobs: lessonJobs,
			Scale: o.scale, Sandbox: mode}
	}
	status := newGrader("").SandboxStatus()
	detector := "race detector off"
	if race {
		detector = "race detector on"
	}
	fmt.Fprintf(stderr, "udpbook: grading %d submission(s), %d at once (%s, %s)\n", len(subs), max(o.jobs, 1), detector, status)
	if o.jobs > 1 && !status.On {
		fmt.Fprintln(stderr, "udpbook: warning: without the sandbox, a submission's code runs as you and could change "+
			"what a grading beside it reads: grade one at a time (-jobs 1), or each in a container of its own")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	results := gradeMany(ctx, subs, lessons, o.jobs, newGrader, stderr)
	if ctx.Err() != nil {
		return 130
	}
	if err := writeGradebook(o.csvFile, stdout, buildGradebook(results, lessons)); err != nil {
		return fail(err)
	}
	code := 0
	for _, s := range results {
		if o.jsonDir != "" {
			if err := writeJSON(filepath.Join(o.jsonDir, s.ID+".json"), submissionJSON(s, race, status)); err != nil {
				return fail(err)
			}
		}
		if s.Problem != "" {
			code = 1
		}
		for _, r := range s.Results {
			if r.State == NotGradable {
				code = 1
			}
		}
	}
	where := "standard output"
	if o.csvFile != "" {
		where = o.csvFile
	}
	fmt.Fprintf(stderr, "udpbook: graded %d submission(s) in %.1fs; gradebook in %s\n", len(results), time.Since(start).Seconds(), where)
	return code
}
