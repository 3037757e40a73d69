// Command udpbook grades the workbook's lessons.
//
//	go run ./harness/cmd/udpbook check          # every lesson
//	go run ./harness/cmd/udpbook check 02       # one lesson
//	go run ./harness/cmd/udpbook list           # the lessons
//
// `make check` and `make check LESSON=02` run the same. Each lesson is
// built on its own and graded by two processes: a judge (this program,
// started again) that runs the checks, and a driver (the lesson's test
// binary) that runs the learner's code at the judge's request. A lesson that
// does not compile, crashes or hangs is reported as such and the others are
// still graded. See docs/grading.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"udpbook/harness"
	"udpbook/harness/registry"
)

const usage = `udpbook grades the lessons of the UDP workbook.

Usage:
  udpbook check [flags] [LESSON...]   grade lessons (all of them if none is named)
  udpbook list                        the lessons and their state at the last grading
  udpbook next                        the lesson to work on next
  udpbook hint LESSON                 the next hint for a lesson, one at a time
  udpbook reset [--yes] LESSON        put a lesson's original stub back
  udpbook watch [flags]               grade the lesson you are working on at every save
  udpbook classroom                   print the GitHub Classroom workflow (for instructors)
  udpbook classroom -template DIR     write a student template repository without solutions/
  udpbook autograder gradescope|prairielearn -o FILE.zip [-lessons 01,02]
                                      write an autograder bundle for Gradescope or PrairieLearn (for instructors)
  udpbook grade-many [flags] DIR...   grade a folder of submissions into a gradebook CSV (for instructors)

A LESSON is its number (01 or 1) or its folder name (01-echo-server).

Flags for check:
`

func main() {
	judging()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		checkFlags(stderr, new(checkOptions)).PrintDefaults()
		return 2
	}
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 2
	}
	switch args[0] {
	case "check":
		return checkCommand(root, args[1:], stdout, stderr)
	case "list":
		return list(root, stdout)
	case "next":
		return nextCommand(root, stdout)
	case "hint":
		return hint(root, args[1:], stdout)
	case "reset":
		return reset(root, args[1:], os.Stdin, stdout)
	case "watch":
		return watchCommand(root, args[1:], stdout, stderr)
	case "classroom":
		return classroom(root, args[1:], stdout, stderr)
	case "autograder":
		return autograderCommand(root, args[1:], stdout, stderr)
	case "grade-many":
		return gradeManyCommand(root, args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		checkFlags(stdout, new(checkOptions)).PrintDefaults()
		return 0
	}
	fmt.Fprintf(stderr, "udpbook: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type checkOptions struct {
	from       string
	noProgress bool
	jsonFile   string
	junitFile  string
	gradescope string
	prairie    string
	solutions  bool
	race       string
	bound      time.Duration
	jobs       int
	scale      int
	sandbox    string
	stages     bool
}

func checkFlags(out io.Writer, o *checkOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.jsonFile, "json", "", "also write the results to this file as JSON (Exercism's format, with points)")
	fs.StringVar(&o.junitFile, "junit", "", "also write the results to this file as JUnit XML")
	fs.StringVar(&o.gradescope, "gradescope", "", "also write the results to this file in Gradescope's autograder format (results.json)")
	fs.StringVar(&o.prairie, "prairielearn", "", "also write the results to this file in PrairieLearn's external grader format (results.json)")
	fs.BoolVar(&o.noProgress, "no-progress", false, "do not update "+ProgressFile)
	fs.BoolVar(&o.stages, "stages", false, "print how long each stage of grading each lesson took (on standard error)")
	fs.StringVar(&o.from, "from", "", "grade the lessons' Go files of the workbook in this folder (a student's clone) with this workbook's grader and tests")
	fs.BoolVar(&o.solutions, "solutions", false, "grade the reference solutions in place of your files (nothing is copied)")
	fs.StringVar(&o.race, "race", "auto", "build with the race detector: on, off, or auto (on where cgo works)")
	fs.DurationVar(&o.bound, "timeout", 90*time.Second, "how long one lesson's checks may run before the lesson is stopped")
	fs.IntVar(&o.scale, "time-scale", harness.StartScale(), "the time scale timing checks start at: 2, 4 or 8 on a slow machine "+
		"(every duration of a timing check is multiplied by it; $"+harness.ScaleEnv+" sets the default)")
	fs.StringVar(&o.sandbox, "sandbox", SandboxAuto, "run each lesson's code in a sandbox (Linux): auto (where the system allows it), on (grade nothing without it), or off (as "+SandboxEnv+"=off does)")
	fs.IntVar(&o.jobs, "jobs", 2*runtime.NumCPU(), "how many lessons to grade at once (lessons spend much of their time waiting on timers)")
	return fs
}

// checkCommand is `udpbook check`: grade lessons and print the table.
func checkCommand(root string, args []string, stdout, stderr io.Writer) int {
	var opts checkOptions
	fs := checkFlags(stderr, &opts)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	lessons, err := pickLessons(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return grade(ctx, root, opts, lessons, stdout, stderr)
}

// grade grades lessons, prints the table, writes the reports asked for and
// the progress file, and returns the exit code.
func grade(ctx context.Context, root string, opts checkOptions, lessons []registry.Lesson, stdout, stderr io.Writer) int {
	race, err := raceSetting(opts.race)
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 2
	}
	mode, err := sandboxMode(opts.sandbox)
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 2
	}
	if opts.from != "" {
		abs, err := filepath.Abs(opts.from)
		if err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 2
		}
		if _, err := os.Stat(filepath.Join(abs, "lessons")); err != nil {
			fmt.Fprintf(stderr, "udpbook: -from %s: no lessons folder there\n", opts.from)
			return 2
		}
		opts.from = abs
	}
	if opts.scale < 1 || opts.scale > 64 {
		fmt.Fprintf(stderr, "udpbook: -time-scale %d: want a whole number from 1 to 64\n", opts.scale)
		return 2
	}
	// The grader's own report states the scale, as the harness reads it.
	os.Setenv(harness.ScaleEnv, strconv.Itoa(opts.scale))
	g := &Grader{Root: root, Solutions: opts.solutions, From: opts.from, Race: race, RunBound: opts.bound, Jobs: opts.jobs,
		Scale: opts.scale, Sandbox: mode, BinCache: filepath.Join(root, ".udpbook", "build")}
	var pl *progressLine
	if isTerminal(stderr) {
		pl = newProgressLine(stderr)
		g.Progress = pl.update
	} else {
		g.Progress = progressLines(stderr)
	}
	what := "your lessons"
	switch {
	case opts.solutions:
		what = "the reference solutions"
	case opts.from != "":
		what = "the lessons in " + opts.from
	}
	detector := "race detector off"
	if race {
		detector = "race detector on"
	}
	// Whether the sandbox is on, and if not why, is said once, here.
	fmt.Fprintf(stdout, "udpbook: grading %s (%s, %s)\n\n", what, detector, g.SandboxStatus())
	start := time.Now()
	results := g.Grade(ctx, lessons)
	elapsed := time.Since(start)
	if pl != nil {
		pl.clear()
	}
	printTable(stdout, results, palette{useColour(stdout)})
	if opts.stages {
		for _, r := range results {
			fmt.Fprintf(stderr, "udpbook: lesson %s: %s\n", r.Lesson.Number, r.Stages)
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	if opts.jsonFile != "" {
		if err := writeJSON(opts.jsonFile, buildJSON(results, race, opts.solutions, g.SandboxStatus(), modifiedFiles(results), elapsed)); err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 2
		}
	}
	if opts.junitFile != "" {
		if err := writeJUnit(opts.junitFile, results, elapsed); err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 2
		}
	}
	if opts.gradescope != "" {
		if err := writeGradescope(opts.gradescope, buildGradescope(results, elapsed)); err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 2
		}
	}
	if opts.prairie != "" {
		if err := writePrairieLearn(opts.prairie, buildPrairieLearn(results)); err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 2
		}
	}
	if !opts.solutions && opts.from == "" && !opts.noProgress {
		if err := recordProgress(root, results); err != nil {
			fmt.Fprintln(stderr, "udpbook: could not save progress:", err)
		}
	}
	for _, r := range results {
		if _, failed := r.FirstFailure(); failed || r.State == NotGradable {
			return 1
		}
	}
	return 0
}

func watchCommand(root string, args []string, stdout, stderr io.Writer) int {
	var opts checkOptions
	fs := checkFlags(stderr, &opts)
	fs.Init("watch", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: udpbook watch [flags]\n\n"+
			"Grades the lesson you are working on (the first one not done), then again every time you save one of\n"+
			"a lesson's files, that lesson. Ctrl-C stops. Flags:")
		fs.PrintDefaults()
	}
	interval := fs.Duration("every", 500*time.Millisecond, "how often to look for saved files")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return watch(ctx, root, *interval, func(l registry.Lesson) {
		grade(ctx, root, opts, []registry.Lesson{l}, stdout, stderr)
	}, stdout)
}

// pickLessons returns the lessons named in args, or all of them.
func pickLessons(args []string) ([]registry.Lesson, error) {
	all := registry.Lessons()
	if len(args) == 0 {
		return all, nil
	}
	var picked []registry.Lesson
	for _, a := range args {
		found := false
		for _, l := range all {
			if a == l.Number || "0"+a == l.Number || a == l.Name() || a == l.Slug || strings.TrimSuffix(filepath.Base(a), "/") == l.Name() {
				picked = append(picked, l)
				found = true
			}
		}
		if !found {
			var names []string
			for _, l := range all {
				names = append(names, l.Number)
			}
			return nil, fmt.Errorf("no lesson %q: the lessons are %s", a, strings.Join(names, ", "))
		}
	}
	return picked, nil
}

// raceSetting turns on, off or auto into whether to use -race. The race
// detector needs cgo and a C compiler.
func raceSetting(s string) (bool, error) {
	switch s {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	case "auto", "":
		out, err := goCommand(context.Background(), "env", "CGO_ENABLED", "CC").Output()
		if err != nil {
			return false, nil
		}
		fields := strings.Fields(string(out))
		if len(fields) < 2 || fields[0] != "1" {
			return false, nil
		}
		_, err = exec.LookPath(fields[1])
		return err == nil, nil
	}
	return false, fmt.Errorf("-race=%s: want on, off or auto", s)
}

// findRoot returns the workbook's top folder: the nearest folder at or
// above the current one whose go.mod declares module udpbook.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			sc.Scan()
			f.Close()
			if strings.TrimSpace(sc.Text()) == "module udpbook" {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the udpbook workbook: run this from the workbook's folder")
		}
		dir = parent
	}
}
