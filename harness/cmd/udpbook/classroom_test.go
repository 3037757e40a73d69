package main

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// `udpbook classroom -template DIR` writes a repository a student can start
// from: no solutions/, nothing that imports them, every package loads, the
// Classroom workflow is the current one, and the instructor's grader
// grades it as the stubs it holds.
func TestClassroomTemplate(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "template")
	var out, errs bytes.Buffer
	code := run([]string{"classroom", "-template", dir}, &out, &errs)
	require.Equal(t, 0, code, errs.String())
	require.Contains(t, out.String(), "no solutions/")

	_, err = os.Stat(filepath.Join(dir, "solutions"))
	require.True(t, os.IsNotExist(err), "the template has solutions/")
	for _, keep := range []string{"go.mod", "Makefile", "docs/instructors.md", "harness/pristine/MANIFEST", ".gitignore"} {
		require.FileExists(t, filepath.Join(dir, keep))
	}
	for _, l := range registry.Lessons() {
		tests, _ := filepath.Glob(filepath.Join(root, l.Dir(), "*_test.go"))
		for _, f := range tests {
			require.FileExists(t, filepath.Join(dir, l.Dir(), filepath.Base(f)))
		}
	}
	workflow, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ClassroomWorkflow)))
	require.NoError(t, err)
	var fresh bytes.Buffer
	writeClassroom(&fresh)
	require.Equal(t, fresh.String(), string(workflow))

	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, "udpbook/solutions") {
				t.Errorf("%s imports %s", p, path)
			}
		}
		return nil
	})
	require.NoError(t, err)

	list := exec.Command("go", "list", "-e", "-test", "-deps", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}", "./...")
	list.Dir = dir
	b, err := list.CombinedOutput()
	require.NoError(t, err, "%s", b)
	require.Empty(t, strings.TrimSpace(string(b)), "packages of the template that do not load")

	// Every package of the template serves the grader, a lesson's test, or
	// is a lesson's own (its programs in cmd/ included): nothing else, such
	// as a second implementation of a lesson, comes along.
	goList := func(args ...string) map[string]bool {
		cmd := exec.Command("go", append([]string{"list"}, args...)...)
		cmd.Dir = dir
		b, err := cmd.Output()
		require.NoError(t, err, "go list %v", args)
		set := map[string]bool{}
		for _, p := range strings.Fields(string(b)) {
			set[p] = true
		}
		return set
	}
	needed := goList("-deps", "-test", "./harness/cmd/udpbook", "./lessons/...")
	for p := range goList("./...") {
		if !needed[p] && !strings.HasPrefix(p, "udpbook/lessons/") {
			t.Errorf("the template has package %s, which neither grading nor a lesson needs", p)
		}
	}

	g := grader(t)
	g.From = dir
	r := g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
	require.Equal(t, NotStarted, r.State, r.Detail)
	require.Empty(t, r.Modified)
	require.Nil(t, r.Copied)

	code = run([]string{"classroom", "-template", dir}, &out, &errs)
	require.Equal(t, 1, code, "a second template into the same folder")
}
