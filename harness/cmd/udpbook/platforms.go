package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Results in the formats of two hosted autograders, built from the same
// lesson results as the JSON and JUnit reports (see report.go):
//
//   - Gradescope's results.json, as its autograder specification describes
//     it (gradescope-autograders.readthedocs.io, "Autograder
//     Specifications": score, execution_time, output, and tests with
//     name, number, score, max_score, status, output and visibility);
//   - PrairieLearn's external grader results.json (prairielearn.readthedocs.io,
//     "External Grading": gradable, score as a fraction from 0 to 1,
//     message, output, and tests with name, points, max_points, output
//     and message).
//
// A check skipped because the system cannot run it counts neither for
// nor against, as in the other reports: it appears with 0 of 0 points.

// GradescopeResults is Gradescope's results.json.
type GradescopeResults struct {
	Score         float64          `json:"score"`          // the points earned, overall
	ExecutionTime int              `json:"execution_time"` // seconds
	Output        string           `json:"output"`         // a line per lesson, shown above the tests
	Visibility    string           `json:"visibility"`
	Tests         []GradescopeTest `json:"tests"`
}

// GradescopeTest is one check in Gradescope's results.
type GradescopeTest struct {
	Name       string  `json:"name"`   // "01 echo server: Listen binds"
	Number     string  `json:"number"` // "1.2": lesson 1, its second check
	Score      float64 `json:"score"`
	MaxScore   float64 `json:"max_score"`
	Status     string  `json:"status"` // "passed" or "failed"
	Output     string  `json:"output"` // the trace and the hint
	Visibility string  `json:"visibility"`
}

// The statuses and the visibility Gradescope documents.
const (
	gradescopePassed  = "passed"
	gradescopeFailed  = "failed"
	gradescopeVisible = "visible"
)

// buildGradescope turns results into Gradescope's format. Every test is
// visible: the trace and the hint are what the student works from.
func buildGradescope(results []LessonResult, d time.Duration) GradescopeResults {
	rep := GradescopeResults{ExecutionTime: int(math.Round(d.Seconds())), Visibility: gradescopeVisible,
		Tests: []GradescopeTest{}}
	var out strings.Builder
	for _, r := range results {
		_, points := r.Passed()
		rep.Score += float64(points)
		out.WriteString(lessonSummary(r) + "\n")
		for i, c := range r.Checks {
			t := GradescopeTest{
				Name:       checkName(r, c),
				Number:     fmt.Sprintf("%d.%d", lessonOrdinal(r), i+1),
				MaxScore:   float64(c.Points),
				Status:     gradescopeFailed,
				Output:     checkOutput(r, c),
				Visibility: gradescopeVisible,
			}
			switch c.Status {
			case StatusPass:
				t.Score, t.Status = float64(c.Points), gradescopePassed
			case StatusSkip:
				t.MaxScore, t.Status = 0, gradescopePassed
			}
			rep.Tests = append(rep.Tests, t)
		}
	}
	rep.Output = strings.TrimRight(out.String(), "\n")
	return rep
}

// PrairieLearnResults is PrairieLearn's results.json for an external
// grader.
type PrairieLearnResults struct {
	Gradable bool     `json:"gradable"`
	Score    float64  `json:"score"`   // from 0 to 1
	Message  string   `json:"message"` // the points, in a sentence
	Output   string   `json:"output"`  // a line per lesson
	Tests    []PLTest `json:"tests"`
}

// PLTest is one check in PrairieLearn's results.
type PLTest struct {
	Name      string  `json:"name"`
	Points    float64 `json:"points"`
	MaxPoints float64 `json:"max_points"`
	Output    string  `json:"output"`  // the trace and the hint
	Message   string  `json:"message"` // the outcome, in a line
}

// buildPrairieLearn turns results into PrairieLearn's format. The
// submission is gradable unless the grader itself could not grade a lesson
// (NotGradable: the student is not charged an attempt for the grader's
// failure) or no check could run here at all. A lesson that does not
// compile is the student's and scores 0, as in the other reports.
func buildPrairieLearn(results []LessonResult) PrairieLearnResults {
	rep := PrairieLearnResults{Gradable: true, Tests: []PLTest{}}
	earned, max := 0, 0
	var out strings.Builder
	var ungradable []string
	for _, r := range results {
		_, points := r.Passed()
		earned += points
		max += r.MaxPoints()
		out.WriteString(lessonSummary(r) + "\n")
		if r.State == NotGradable {
			ungradable = append(ungradable, fmt.Sprintf("lesson %s could not be graded: %s", r.Lesson.Number, firstLine(r.Detail)))
		}
		for _, c := range r.Checks {
			t := PLTest{Name: checkName(r, c), MaxPoints: float64(c.Points), Output: checkOutput(r, c), Message: platformMessage(r, c)}
			switch c.Status {
			case StatusPass:
				t.Points = float64(c.Points)
			case StatusSkip:
				t.MaxPoints = 0
			}
			rep.Tests = append(rep.Tests, t)
		}
	}
	rep.Output = strings.TrimRight(out.String(), "\n")
	switch {
	case len(ungradable) > 0:
		rep.Gradable = false
		rep.Message = strings.Join(ungradable, "; ")
	case max == 0:
		rep.Gradable = false
		rep.Message = "no check could run here"
	default:
		rep.Score = float64(earned) / float64(max)
		rep.Message = fmt.Sprintf("%d of %d points", earned, max)
	}
	return rep
}

// lessonOrdinal is the lesson's number as a plain integer: 1 for "01".
func lessonOrdinal(r LessonResult) int {
	n, _ := strconv.Atoi(r.Lesson.Number)
	return n
}

// checkName names a check for a platform's list: "01 echo server: Listen
// binds".
func checkName(r LessonResult, c CheckResult) string {
	return fmt.Sprintf("%s %s: %s", r.Lesson.Number, r.Lesson.Title, c.Title)
}

// lessonSummary is a lesson's line in a platform's output: "01 echo
// server: done, 21/21 points", with the compiler's or the crash's first
// line where there is one.
func lessonSummary(r LessonResult) string {
	_, points := r.Passed()
	line := fmt.Sprintf("%s %s: %s, %d/%d points", r.Lesson.Number, r.Lesson.Title, r.State, points, r.MaxPoints())
	if n := r.Skipped(); n > 0 {
		line += fmt.Sprintf(" (%d check(s) skipped here, counted neither way)", n)
	}
	switch r.State {
	case NoCompile, Crashed, TimedOut, NotGradable, OverLimit, Refused:
		if d := firstLine(r.Detail); d != "" {
			line += ": " + d
		}
	}
	return line
}

// checkOutput is what a student reads under a check: the datagram trace
// (or the compiler's errors) and the hint; nothing for a check that passed.
func checkOutput(r LessonResult, c CheckResult) string {
	switch c.Status {
	case StatusPass:
		return ""
	case StatusSkip:
		return "skipped here, counted neither way: " + c.Message
	case StatusError:
		detail := r.Detail
		if r.State == Refused {
			detail = c.Message
		}
		return fmt.Sprintf("the lesson %s:\n%s\n\nhint: %s", r.State, trimMessage(detail), c.Hint)
	}
	return trimMessage(c.Message) + "\n\nhint: " + c.Hint
}

// platformMessage is a check's outcome in a line.
func platformMessage(r LessonResult, c CheckResult) string {
	switch c.Status {
	case StatusPass:
		return "passed"
	case StatusSkip:
		return "skipped: " + firstLine(c.Message)
	case StatusError:
		return fmt.Sprintf("not run: the lesson %s (0/%d points)", r.State, c.Points)
	}
	return fmt.Sprintf("%s (0/%d points): %s", c.Status, c.Points, firstLine(c.Message))
}

// marshalReport encodes a platform's report, indented, with <, > and &
// as they are: the platforms show the text, not HTML.
func marshalReport(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeGradescope(name string, rep GradescopeResults) error {
	b, err := marshalReport(rep)
	if err != nil {
		return err
	}
	return writeFileAtomic(name, b)
}

func writePrairieLearn(name string, rep PrairieLearnResults) error {
	b, err := marshalReport(rep)
	if err != nil {
		return err
	}
	return writeFileAtomic(name, b)
}
