package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// The reports of a real grading (lesson 01's stub and lesson 02's
// solution) parse, and say what the table says.
func TestReportsDescribeTheGrading(t *testing.T) {
	stub := grader(t).Grade(context.Background(), []registry.Lesson{lesson(t, "01")})
	g := grader(t)
	g.Solutions = true
	solved := g.Grade(context.Background(), []registry.Lesson{lesson(t, "02")})
	results := append(stub, solved...)
	dir := t.TempDir()

	jsonFile := filepath.Join(dir, "results.json")
	require.NoError(t, writeJSON(jsonFile, buildJSON(results, false, false, SandboxStatus{On: true}, nil, 0)))
	b, err := os.ReadFile(jsonFile)
	require.NoError(t, err)
	var rep JSONReport
	require.NoError(t, json.Unmarshal(b, &rep))
	l01, l02 := lesson(t, "01"), lesson(t, "02")
	require.Equal(t, 3, rep.Version)
	require.Equal(t, StatusFail, rep.Status)
	require.Equal(t, l02.Points(), rep.Score, "only lesson 02 scores")
	require.Equal(t, l01.Points()+l02.Points(), rep.MaxScore)
	require.Len(t, rep.Tests, len(l01.Checks)+len(l02.Checks))
	require.Len(t, rep.Lessons, 2)
	require.Equal(t, NotStarted, rep.Lessons[0].State)
	require.Equal(t, Done, rep.Lessons[1].State)
	first := rep.Tests[0]
	require.Equal(t, "01-echo-server/listen", first.Name)
	require.Equal(t, StatusFail, first.Status)
	require.Contains(t, first.Message, "is not written yet")
	require.True(t, strings.HasPrefix(first.Output, "hint: "))
	require.Equal(t, 0, first.Points)
	require.Equal(t, l01.Checks[0].Points, first.MaxPoints)
	last := rep.Tests[len(rep.Tests)-1]
	require.Equal(t, StatusPass, last.Status)
	require.Equal(t, last.MaxPoints, last.Points)

	xmlFile := filepath.Join(dir, "results.xml")
	require.NoError(t, writeJUnit(xmlFile, results, 0))
	b, err = os.ReadFile(xmlFile)
	require.NoError(t, err)
	var suites junitSuites
	require.NoError(t, xml.Unmarshal(b, &suites))
	require.Equal(t, len(rep.Tests), suites.Tests)
	require.Equal(t, len(l01.Checks), suites.Failures, "every stub check is a failure")
	require.Len(t, suites.Suites, 2)
	require.Equal(t, "01-echo-server", suites.Suites[0].Name)
	require.NotNil(t, suites.Suites[0].Cases[0].Failure)
	require.Contains(t, suites.Suites[0].Cases[0].Failure.Text, "is not written yet")
	require.Nil(t, suites.Suites[1].Cases[0].Failure)
}

// A lesson that does not compile is an error in both reports.
func TestReportsMarkACompileErrorAsError(t *testing.T) {
	r := fixture(t, "nocompile.go", 25*time.Second)
	rep := buildJSON([]LessonResult{r}, false, false, SandboxStatus{Why: "turned off"}, nil, 0)
	require.Equal(t, StatusError, rep.Status)
	require.Equal(t, StatusError, rep.Tests[0].Status)
	junit := buildJUnit([]LessonResult{r}, 0)
	require.Equal(t, len(r.Checks), junit.Errors)
	require.NotNil(t, junit.Suites[0].Cases[0].Error)
}
