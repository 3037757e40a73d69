package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"udpbook/harness"
)

// The JSON report follows the results format of Exercism's test runners
// (version 3: a status, a message, and the tests in order with name,
// status, message and output), with points added for grading, and the
// same tests grouped by lesson.

// JSONReport is the whole report.
type JSONReport struct {
	Version    int          `json:"version"`
	Status     Status       `json:"status"` // pass, fail or error
	Message    string       `json:"message,omitempty"`
	Score      int          `json:"score"`
	MaxScore   int          `json:"max_score"`
	Race       bool         `json:"race_detector"`
	TimeScale  int          `json:"time_scale"` // the scale timing checks started at (see docs/grading.md)
	Sandbox    JSONSandbox  `json:"sandbox"`
	Solutions  bool         `json:"solutions,omitempty"`
	Modified   []string     `json:"modified_files,omitempty"`
	DurationMS int64        `json:"duration_ms"`
	Lessons    []JSONLesson `json:"lessons"`
	Tests      []JSONTest   `json:"tests"`
}

// JSONSandbox says whether the lessons ran in the sandbox, and if not, why.
type JSONSandbox struct {
	On  bool   `json:"on"`
	Why string `json:"why,omitempty"`
}

// JSONLesson is one lesson's part of the report.
type JSONLesson struct {
	Lesson     string     `json:"lesson"`
	Name       string     `json:"name"`
	State      State      `json:"state"`
	Score      int        `json:"score"`
	MaxScore   int        `json:"max_score"`
	Passed     int        `json:"passed"`
	Checks     int        `json:"checks"`
	Detail     string     `json:"detail,omitempty"`
	Copied     *JSONCopy  `json:"copied,omitempty"`
	Forged     int        `json:"forged_report_lines,omitempty"`
	Limit      string     `json:"limit,omitempty"`      // the limit the code ran into: "used more than 1 GiB of memory"
	NoSandbox  string     `json:"no_sandbox,omitempty"` // why this lesson ran without the sandbox, which was on
	DurationMS int64      `json:"duration_ms"`
	Isolated   bool       `json:"isolated"` // the checks ran in a process of their own, apart from the learner's code
	Tests      []JSONTest `json:"tests"`
}

// JSONCopy flags a lesson whose code is the reference solution's, or
// another implementation's of the workbook.
type JSONCopy struct {
	From      string `json:"from"`      // "solutions/01-echo-server", or "harness/lesson05/alt"
	Percent   int    `json:"percent"`   // how much of the reference's own code is in the lesson
	Identical bool   `json:"identical"` // byte for byte, not only after formatting and renaming
	Message   string `json:"message"`
}

// JSONTest is one check.
type JSONTest struct {
	Name       string  `json:"name"` // "01-echo-server/listen"
	TaskID     int     `json:"task_id"`
	Status     Status  `json:"status"` // pass, fail, error, timeout, skip, not run
	Message    string  `json:"message,omitempty"`
	Output     string  `json:"output,omitempty"`
	Points     int     `json:"points"`
	MaxPoints  int     `json:"max_points"`
	DurationMS float64 `json:"duration_ms"`
	// Attempts and Scale: a check whose first attempt found the harness
	// itself running late ran again at a larger time scale; Scale is the
	// scale of the attempt that decided, Late why the one before was not
	// judged.
	Attempts int    `json:"attempts,omitempty"`
	Scale    int    `json:"time_scale,omitempty"`
	Late     string `json:"late,omitempty"`
}

// maxMessage keeps messages short enough to read in a CI page; the trace's
// start and its failing last lines matter most.
const maxMessage = 2000

func trimMessage(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	head, tail := s[:maxMessage/2], s[len(s)-maxMessage/2:]
	return head + "\n[... trimmed ...]\n" + tail
}

func buildJSON(results []LessonResult, race, solutions bool, sandbox SandboxStatus, modified []string, d time.Duration) JSONReport {
	rep := JSONReport{Version: 3, Status: "pass", Race: race, TimeScale: harness.StartScale(),
		Sandbox: JSONSandbox{On: sandbox.On, Why: sandbox.Why}, Solutions: solutions, Modified: modified, DurationMS: d.Milliseconds()}
	for i, r := range results {
		checks, points := r.Passed()
		jl := JSONLesson{
			Lesson: r.Lesson.Number, Name: r.Lesson.Title, State: r.State,
			Score: points, MaxScore: r.MaxPoints(), Passed: checks, Checks: len(r.Checks),
			Detail: trimMessage(r.Detail), Forged: r.Forged, Limit: r.Limit, NoSandbox: r.Usage.Unsandboxed,
			DurationMS: r.Duration.Milliseconds(), Isolated: r.Isolated,
		}
		if c := r.Copied; c != nil {
			jl.Copied = &JSONCopy{From: c.From, Percent: int(100*c.Share + 0.5), Identical: c.Identical, Message: c.String()}
		}
		for _, c := range r.Checks {
			jt := JSONTest{
				Name: r.Lesson.Name() + "/" + c.ID, TaskID: i + 1, Status: c.Status,
				Message: trimMessage(c.Message), MaxPoints: c.Points,
				DurationMS: float64(c.Duration.Microseconds()) / 1000,
			}
			if c.Retried() {
				jt.Attempts, jt.Scale, jt.Late = c.Attempts, c.Scale, c.Late
			}
			if c.Status == StatusPass {
				jt.Points = c.Points
			} else if c.Status != StatusSkip {
				jt.Output = "hint: " + c.Hint
			}
			jl.Tests = append(jl.Tests, jt)
			rep.Tests = append(rep.Tests, jt)
		}
		rep.Score += points
		rep.MaxScore += jl.MaxScore
		switch {
		case r.State == NoCompile || r.State == NotGradable || r.State == Refused:
			rep.Status = "error"
			if rep.Message == "" {
				rep.Message = fmt.Sprintf("lesson %s %s: %s", r.Lesson.Number, r.State, firstLine(r.Detail))
			}
		case r.State != Done && rep.Status == "pass":
			rep.Status = "fail"
		}
		rep.Lessons = append(rep.Lessons, jl)
	}
	return rep
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func writeJSON(name string, rep JSONReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(name, append(b, '\n'))
}

// writeFileAtomic writes a result file the way no reader ever sees half
// of: to a temporary file in the same folder, then renamed over name.
func writeFileAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// JUnit XML, as most CI systems display it: a test suite per lesson, a
// test case per check.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  string          `xml:"system-err,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func buildJUnit(results []LessonResult, d time.Duration) junitSuites {
	all := junitSuites{Name: "udpbook", Time: seconds(d)}
	for _, r := range results {
		_, points := r.Passed()
		s := junitSuite{
			Name: r.Lesson.Name(), Time: seconds(r.Duration),
			Properties: []junitProperty{
				{"state", r.State.String()}, {"score", fmt.Sprint(points)}, {"max_score", fmt.Sprint(r.MaxPoints())},
				{"isolated", fmt.Sprint(r.Isolated)},
			},
			SystemErr: r.Detail,
		}
		if r.Copied != nil {
			s.Properties = append(s.Properties, junitProperty{"copied", r.Copied.String()})
		}
		if r.Forged > 0 {
			s.Properties = append(s.Properties, junitProperty{"forged_report_lines", fmt.Sprint(r.Forged)})
		}
		if r.Limit != "" {
			s.Properties = append(s.Properties, junitProperty{"limit", r.Limit})
		}
		for _, c := range r.Checks {
			jc := junitCase{Name: c.ID, Classname: "udpbook." + r.Lesson.Name(), Time: seconds(c.Duration)}
			text := trimMessage(c.Message) + "\nhint: " + c.Hint
			switch c.Status {
			case StatusPass:
			case StatusSkip:
				jc.Skipped = &junitProblem{Message: firstLine(c.Message)}
				s.Skipped++
			case StatusError, StatusTimeout:
				jc.Error = &junitProblem{Message: firstLine(c.Message), Type: c.Status.String(), Text: text}
				if c.Status == StatusError {
					jc.Error.Message = "does not compile"
					jc.Error.Text = r.Detail
				}
				s.Errors++
			default:
				jc.Failure = &junitProblem{Message: fmt.Sprintf("%s (0/%d points)", c.Title, c.Points), Type: c.Status.String(), Text: text}
				s.Failures++
			}
			s.Cases = append(s.Cases, jc)
			s.Tests++
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	return all
}

func writeJUnit(name string, results []LessonResult, d time.Duration) error {
	b, err := xml.MarshalIndent(buildJUnit(results, d), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(name, append([]byte(xml.Header), append(b, '\n')...))
}
