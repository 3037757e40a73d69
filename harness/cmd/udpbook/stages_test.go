package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"udpbook/harness"
	"udpbook/harness/registry"
)

// The grader's pure steps (collect, conclude, and the renderers of the
// table, the JSON and the JUnit reports) are tested here without building
// or running anything. The renderers' output is compared with golden files
// in testdata/golden; after a deliberate change, refresh them with
//
//	go test ./harness/cmd/udpbook -run Golden -update-golden

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the renderers' output")

// toyLesson is a lesson of the registry's shape with two checks.
func toyLesson() registry.Lesson {
	l := lessonNumbered("01")
	l.Checks = []harness.CheckInfo{
		{ID: "listen", Title: "Listen binds", Points: 2, Hint: "bind it"},
		{ID: "serve", Title: "Serve serves", Points: 3, Hint: "serve it"},
	}
	return l
}

func lessonNumbered(n string) registry.Lesson {
	for _, l := range registry.Lessons() {
		if l.Number == n {
			return l
		}
	}
	panic("no lesson " + n)
}

func reportLine(event, id string, status harness.Status, msg string) harness.ReportLine {
	return harness.ReportLine{Event: event, ID: id, Status: status, Message: msg}
}

func TestCollectTakesTheChecksTheGradedRunDeclares(t *testing.T) {
	res := newResult(toyLesson())
	declared := []harness.CheckInfo{
		{ID: "listen", Title: "Listen binds, as graded", Points: 1, Hint: "bind"},
		{ID: "serve", Title: "Serve serves", Points: 3, Hint: "serve"},
	}
	got, running := collect(res, []harness.ReportLine{
		{Event: "declare", Checks: declared},
		reportLine("start", "listen", "", ""),
		reportLine("end", "listen", harness.Pass, ""),
		reportLine("start", "serve", "", ""),
	})
	require.Equal(t, "serve", running)
	require.Equal(t, 4, got.MaxPoints(), "points come from the declaration, not the grader's registry")
	require.Equal(t, "Listen binds, as graded", got.Checks[0].Title)
	require.Equal(t, StatusPass, got.Checks[0].Status)
	require.Equal(t, StatusNotRun, got.Checks[1].Status)
	require.Equal(t, StatusNotRun, res.Checks[0].Status, "collect must not change the result it was given")
}

func TestConcludeNamesTheCheckThatWasRunningWhenTheRunCrashed(t *testing.T) {
	res, running := collect(newResult(toyLesson()), []harness.ReportLine{
		reportLine("start", "listen", "", ""), reportLine("end", "listen", harness.Pass, ""), reportLine("start", "serve", "", ""),
	})
	ran := ranChecks{ranLesson: ranLesson{output: "panic: boom\n\ngoroutine 7 [running]:\n", exit: "exited with status 2"},
		lines: make([]harness.ReportLine, 3)}
	got := (&Grader{RunBound: time.Second}).conclude(res, ran, running)
	require.Equal(t, Crashed, got.State)
	require.Equal(t, StatusFail, got.Checks[1].Status)
	require.Contains(t, got.Checks[1].Message, "the lesson's test crashed while this check ran")
}

func TestLessonStateFromResults(t *testing.T) {
	res := newResult(toyLesson())
	res = setAll(res, StatusFail, "Listen is not written yet: see docs/01-echo-server.md, step 1")
	require.Equal(t, NotStarted, lessonState(res))
	res.Checks[1].Message = "Serve replied \"x\", want \"y\""
	require.Equal(t, InProgress, lessonState(res))
	res = setAll(res, StatusPass, "")
	require.Equal(t, Done, lessonState(res))
}

// goldenResults are results of every kind the renderers show.
func goldenResults() []LessonResult {
	done := setAll(newResult(toyLesson()), StatusPass, "")
	done.State = Done
	done.Duration = 1500 * time.Millisecond
	done.Isolated = true

	progress := newResult(toyLesson())
	progress.Lesson = lessonNumbered("02")
	progress.Lesson.Checks = toyLesson().Checks
	progress = setAll(progress, StatusPass, "")
	progress.Checks[1].Status = StatusFail
	progress.Checks[1].Message = "1. harness 127.0.0.1:5000 -> your server 127.0.0.1:6000: \"Michael\"\n2. got nothing"
	progress.Checks[1].Attempts, progress.Checks[1].Scale, progress.Checks[1].Late = 2, 2, "the harness ran 300ms late"
	progress.State = InProgress
	progress.Isolated = true

	broken := newResult(toyLesson())
	broken.Lesson = lessonNumbered("03")
	broken.Lesson.Checks = toyLesson().Checks
	broken = failed(setAll(broken, StatusError, ""), NoCompile, "./connected.go:10:2: undefined: x")
	return []LessonResult{done, progress, broken}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, got, 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "no golden file: run with -update-golden")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestGoldenTable(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, goldenResults(), palette{})
	golden(t, "table.txt", b.Bytes())
}

func TestGoldenJSON(t *testing.T) {
	rep := buildJSON(goldenResults(), true, false, SandboxStatus{On: true}, nil, 4*time.Second)
	b, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	golden(t, "results.json", append(b, '\n'))
}

func TestGoldenJUnit(t *testing.T) {
	b, err := xml.MarshalIndent(buildJUnit(goldenResults(), 4*time.Second), "", "  ")
	require.NoError(t, err)
	golden(t, "results.xml", append(b, '\n'))
}
