package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// submissionClone writes into dir a student's clone of the workbook: go.mod,
// go.sum, the harness and the lessons as they ship, then files (by
// slash-separated path) in place of theirs.
func submissionClone(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	root, err := findRoot()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, top := range []string{"go.mod", "go.sum", "harness", "lessons"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
		})
		require.NoError(t, err)
	}
	for name, from := range files {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644))
	}
}

// grade-many on a folder of submissions (a stub, a solution, one half
// done with an edited test file, one that does not compile, one that
// hangs, and a folder that is not a clone at all) writes a row for each,
// with the right points, state and flags, and the JSON of each, in
// bounded time: the hanging lesson is stopped at the -timeout.
func TestGradeManyGradebook(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	subs := t.TempDir()
	sol := func(lesson, file string) string { return filepath.Join(root, "solutions", lesson, file) }
	testdata := func(name string) string {
		abs, err := filepath.Abs(filepath.Join("testdata", name))
		require.NoError(t, err)
		return abs
	}
	echoserver, echoclient := "lessons/01-echo-server/echoserver.go", "lessons/02-echo-client/echoclient.go"
	submissionClone(t, filepath.Join(subs, "stub"), nil)
	submissionClone(t, filepath.Join(subs, "solution"), map[string]string{
		echoserver: sol("01-echo-server", "echoserver.go"), echoclient: sol("02-echo-client", "echoclient.go")})
	submissionClone(t, filepath.Join(subs, "half"), map[string]string{
		echoserver: sol("01-echo-server", "echoserver.go"),
		"lessons/01-echo-server/echoserver_test.go": testdata("crash.go")})
	submissionClone(t, filepath.Join(subs, "nocompile"), map[string]string{
		echoserver: testdata("nocompile.go"), echoclient: sol("02-echo-client", "echoclient.go")})
	submissionClone(t, filepath.Join(subs, "hang"), map[string]string{
		echoserver: testdata("hang.go"), echoclient: sol("02-echo-client", "echoclient.go")})
	require.NoError(t, os.MkdirAll(filepath.Join(subs, "notaclone", "src"), 0o755))

	out := t.TempDir()
	csvFile, jsonDir := filepath.Join(out, "gradebook.csv"), filepath.Join(out, "json")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"grade-many", "-jobs", "2", "-race=off", "-timeout", "10s", "-lessons", "01,02",
		"-csv", csvFile, "-json-dir", jsonDir, subs}, &stdout, &stderr)
	elapsed := time.Since(start)
	require.Equal(t, 1, code, "a submission could not be graded: exit status 1\n%s", stderr.String())
	require.Less(t, elapsed, 3*time.Minute, "grade-many took %v", elapsed)
	t.Logf("grade-many graded 6 submissions in %v", elapsed)

	f, err := os.Open(csvFile)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"id", "total", "max", "lesson 01", "lesson 02", "state", "copied_solution", "modified_files"}, rows[0])
	got := map[string][]string{}
	for _, row := range rows[1:] {
		got[row[0]] = row
	}
	require.Len(t, got, 6)
	p01, p02 := lesson(t, "01").Points(), lesson(t, "02").Points()
	max := strconv.Itoa(p01 + p02)
	n := strconv.Itoa
	want := map[string][]string{
		"stub":      {"stub", "0", max, "0", "0", "01 not started; 02 not started", "", ""},
		"solution":  {"solution", max, max, n(p01), n(p02), "done", "01 02", ""},
		"half":      {"half", n(p01), max, n(p01), "0", "02 not started", "01", "lessons/01-echo-server/echoserver_test.go (changed)"},
		"nocompile": {"nocompile", n(p02), max, "0", n(p02), "01 does not compile", "02", ""},
	}
	for id, row := range want {
		require.Equal(t, row, got[id], "row of %s", id)
	}
	// The hanging lesson keeps the points of the checks that passed before
	// the one that hung.
	hang := got["hang"]
	hung, _ := strconv.Atoi(hang[3])
	require.Less(t, hung, p01)
	require.Equal(t, []string{"hang", n(hung + p02), max, n(hung), n(p02), "01 timed out", "02", ""}, hang)
	require.Equal(t, "0", got["notaclone"][1])
	require.True(t, strings.HasPrefix(got["notaclone"][5], "could not grade: no lessons folder"), got["notaclone"][5])

	for id := range got {
		b, err := os.ReadFile(filepath.Join(jsonDir, id+".json"))
		require.NoError(t, err, "no JSON for %s", id)
		var rep JSONReport
		require.NoError(t, json.Unmarshal(b, &rep))
		score, _ := strconv.Atoi(got[id][1])
		require.Equal(t, score, rep.Score, "%s.json", id)
	}
	progress := stderr.String()
	require.Contains(t, progress, "udpbook: grading 6 submission(s), 2 at once")
	require.Contains(t, progress, "[6/6]")
	require.Contains(t, progress, "hang: "+n(hung+p02)+"/"+max+" points, 01 timed out")
	require.Empty(t, stdout.String(), "with -csv, nothing goes to standard output")
}

// The gradebook of results built by hand: the lesson columns follow the
// lessons graded, and a submission that could not be graded has zeros.
func TestBuildGradebook(t *testing.T) {
	res := goldenResults()
	res[0].Copied = &Copy{From: "solutions/01-echo-server", Share: 1, Identical: true}
	rows := buildGradebook([]SubmissionResult{
		{Submission: Submission{ID: "ada"}, Results: res},
		{Submission: Submission{ID: "bob"}, Problem: "no lessons folder in /x"},
	}, []registry.Lesson{res[0].Lesson, res[1].Lesson, res[2].Lesson})
	require.Equal(t, []string{"id", "total", "max", "lesson 01", "lesson 02", "lesson 03", "state", "copied_solution", "modified_files"}, rows[0])
	require.Equal(t, []string{"ada", "7", "15", "5", "2", "0", "02 in progress; 03 does not compile", "01", ""}, rows[1])
	require.Equal(t, []string{"bob", "0", "15", "0", "0", "0"}, rows[2][:6])
	require.Equal(t, "could not grade: no lessons folder in /x", rows[2][6])
}
