package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// The Gradescope and PrairieLearn results are checked field by field
// against the formats as the platforms document them:
//
//   - Gradescope, "Autograder Specifications"
//     (gradescope-autograders.readthedocs.io/en/latest/specs/): top level
//     score, execution_time (seconds), output, visibility, tests; a test
//     has score, max_score, status ("passed" or "failed"), name, number
//     (a string such as "1.1"), output, visibility ("hidden",
//     "after_due_date", "after_published" or "visible").
//   - PrairieLearn, "External Grading", grading results
//     (prairielearn.readthedocs.io/en/latest/externalGrading/): gradable,
//     score from 0.0 to 1.0 (not needed when gradable is false), message,
//     output, tests; a test has name, points, max_points, message, output.

var (
	gradescopeTop  = map[string]string{"score": "number", "execution_time": "number", "output": "string", "visibility": "string", "tests": "array"}
	gradescopeTest = map[string]string{"name": "string", "number": "string", "score": "number", "max_score": "number",
		"status": "string", "output": "string", "visibility": "string"}
	plTop  = map[string]string{"gradable": "bool", "score": "number", "message": "string", "output": "string", "tests": "array"}
	plTest = map[string]string{"name": "string", "points": "number", "max_points": "number", "output": "string", "message": "string"}
)

// jsonKind is the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// requireFields checks that obj has exactly the fields of schema, each of
// its type.
func requireFields(t *testing.T, what string, obj map[string]any, schema map[string]string) {
	t.Helper()
	for k, kind := range schema {
		v, ok := obj[k]
		require.True(t, ok, "%s lacks %q", what, k)
		require.Equal(t, kind, jsonKind(v), "%s field %q", what, k)
	}
	for k := range obj {
		_, ok := schema[k]
		require.True(t, ok, "%s has %q, which the format does not document here", what, k)
	}
}

// validGradescope decodes a Gradescope results.json, checks it field by
// field and returns it.
func validGradescope(t *testing.T, b []byte) GradescopeResults {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	requireFields(t, "results.json", raw, gradescopeTop)
	visibility := map[string]bool{"hidden": true, "after_due_date": true, "after_published": true, "visible": true}
	require.True(t, visibility[raw["visibility"].(string)])
	sum := 0.0
	for _, tt := range raw["tests"].([]any) {
		test := tt.(map[string]any)
		requireFields(t, "a test", test, gradescopeTest)
		require.Contains(t, []string{"passed", "failed"}, test["status"])
		require.True(t, visibility[test["visibility"].(string)])
		require.Regexp(t, `^\d+\.\d+$`, test["number"])
		score, maxScore := test["score"].(float64), test["max_score"].(float64)
		require.True(t, score >= 0 && score <= maxScore, "test %s: score %v of %v", test["name"], score, maxScore)
		if test["status"] == "passed" {
			require.Equal(t, maxScore, score, "test %s passed with less than its max_score", test["name"])
		}
		sum += score
	}
	require.Equal(t, sum, raw["score"], "the score is the tests' sum")
	var rep GradescopeResults
	require.NoError(t, json.Unmarshal(b, &rep))
	return rep
}

// validPrairieLearn decodes a PrairieLearn results.json, checks it field
// by field and returns it.
func validPrairieLearn(t *testing.T, b []byte) PrairieLearnResults {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	requireFields(t, "results.json", raw, plTop)
	score := raw["score"].(float64)
	require.True(t, score >= 0 && score <= 1, "score %v is not a fraction", score)
	earned, max := 0.0, 0.0
	for _, tt := range raw["tests"].([]any) {
		test := tt.(map[string]any)
		requireFields(t, "a test", test, plTest)
		p, m := test["points"].(float64), test["max_points"].(float64)
		require.True(t, p >= 0 && p <= m, "test %s: %v of %v points", test["name"], p, m)
		earned, max = earned+p, max+m
	}
	if raw["gradable"].(bool) {
		require.InDelta(t, earned/max, score, 1e-9, "the score is the share of the points")
	}
	var rep PrairieLearnResults
	require.NoError(t, json.Unmarshal(b, &rep))
	return rep
}

// platformResults are goldenResults with a lesson that crashed and has a
// check skipped.
func platformResults() []LessonResult {
	crashed := newResult(toyLesson())
	crashed.Lesson = lessonNumbered("06")
	crashed.Lesson.Checks = append(toyLesson().Checks[:1:1], toyLesson().Checks[1], toyLesson().Checks[0])
	crashed.Lesson.Checks[2].ID, crashed.Lesson.Checks[2].Title = "join", "Join joins"
	crashed = newResult(crashed.Lesson)
	crashed.Checks[0].Status, crashed.Checks[0].Message = StatusSkip, "multicast on loopback not supported on plan9"
	crashed.Checks[1].Status, crashed.Checks[1].Message = StatusFail, "the lesson's test crashed while this check ran:\npanic: boom"
	crashed.Checks[2].Message = "not run: panic: boom"
	crashed = failed(crashed, Crashed, "panic: boom\n  echoserver.go:12")
	return append(goldenResults(), crashed)
}

func TestGoldenGradescope(t *testing.T) {
	b, err := marshalReport(buildGradescope(platformResults(), 4*time.Second))
	require.NoError(t, err)
	rep := validGradescope(t, b)
	require.Equal(t, 4, rep.ExecutionTime)
	require.Equal(t, "6.1", rep.Tests[len(rep.Tests)-3].Number)
	skipped := rep.Tests[len(rep.Tests)-3]
	require.Equal(t, 0.0, skipped.MaxScore, "a skipped check counts neither way")
	golden(t, "gradescope.json", b)
}

func TestGoldenPrairieLearn(t *testing.T) {
	b, err := marshalReport(buildPrairieLearn(platformResults()))
	require.NoError(t, err)
	rep := validPrairieLearn(t, b)
	require.True(t, rep.Gradable)
	require.Equal(t, "7 of 20 points", rep.Message)
	golden(t, "prairielearn.json", b)
}

func TestPrairieLearnNotGradableWhenTheGraderFails(t *testing.T) {
	r := failed(newResult(toyLesson()), NotGradable, "go: no such tool\nmore")
	b, err := marshalReport(buildPrairieLearn([]LessonResult{r}))
	require.NoError(t, err)
	rep := validPrairieLearn(t, b)
	require.False(t, rep.Gradable)
	require.Contains(t, rep.Message, "could not be graded: go: no such tool")
}

// writePlatforms writes both formats of results through check's writers
// and reads them back, validated.
func writePlatforms(t *testing.T, results []LessonResult) (GradescopeResults, PrairieLearnResults) {
	t.Helper()
	dir := t.TempDir()
	gs, pl := filepath.Join(dir, "gradescope.json"), filepath.Join(dir, "prairielearn.json")
	require.NoError(t, writeGradescope(gs, buildGradescope(results, time.Second)))
	require.NoError(t, writePrairieLearn(pl, buildPrairieLearn(results)))
	gb, err := os.ReadFile(gs)
	require.NoError(t, err)
	pb, err := os.ReadFile(pl)
	require.NoError(t, err)
	return validGradescope(t, gb), validPrairieLearn(t, pb)
}

// Real gradings: the stubs score 0, the solutions full marks, and a mix of
// a lesson that crashes, one that does not compile and one that is solved
// scores the solved one's points, with the crash and the compiler's errors
// in the outputs.
func TestPlatformFormatsOfRealGradings(t *testing.T) {
	l01, l02 := lesson(t, "01"), lesson(t, "02")
	stubs := grader(t).Grade(context.Background(), []registry.Lesson{l01, l02})
	gs, pl := writePlatforms(t, stubs)
	require.Equal(t, 0.0, gs.Score)
	require.Len(t, gs.Tests, len(l01.Checks)+len(l02.Checks))
	require.Equal(t, "01 echo server: "+l01.Checks[0].Title, gs.Tests[0].Name)
	require.Equal(t, "1.1", gs.Tests[0].Number)
	require.Equal(t, "2.1", gs.Tests[len(l01.Checks)].Number)
	require.Contains(t, gs.Tests[0].Output, "is not written yet")
	require.Contains(t, gs.Tests[0].Output, "hint: ")
	require.True(t, pl.Gradable)
	require.Equal(t, 0.0, pl.Score)

	g := grader(t)
	g.Solutions = true
	solved := g.Grade(context.Background(), []registry.Lesson{l01, l02})
	gs, pl = writePlatforms(t, solved)
	require.Equal(t, float64(l01.Points()+l02.Points()), gs.Score)
	for _, test := range gs.Tests {
		require.Equal(t, "passed", test.Status, test.Name)
	}
	require.Equal(t, 1.0, pl.Score)

	crash := fixture(t, "crash.go", 25*time.Second)
	broken := fixture(t, "nocompile.go", 25*time.Second)
	broken.Lesson.Number, broken.Lesson.Title = "03", "connected UDP (not compiling)"
	mix := []LessonResult{crash, broken, solved[1]}
	gs, pl = writePlatforms(t, mix)
	_, crashPoints := crash.Passed()
	require.Equal(t, float64(crashPoints+l02.Points()), gs.Score)
	require.Contains(t, gs.Output, "01 echo server: crashed")
	require.Contains(t, gs.Output, "does not compile")
	var sawCrash, sawCompiler bool
	for _, test := range gs.Tests {
		sawCrash = sawCrash || test.Status == "failed" && containsAll(test.Output, "crashed while this check ran", "boom from a learner's goroutine")
		sawCompiler = sawCompiler || test.Status == "failed" && containsAll(test.Output, "does not compile", "undefined: adress")
	}
	require.True(t, sawCrash, "no test shows the crash")
	require.True(t, sawCompiler, "no test shows the compiler's errors")
	require.True(t, pl.Gradable, "a compile error is the student's: the submission is graded")
	require.InDelta(t, float64(crashPoints+l02.Points())/float64(crash.MaxPoints()+broken.MaxPoints()+l02.Points()), pl.Score, 1e-9)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
