package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// Each thing a lesson's folder may not hold is refused with a reason that
// names the file and what is wrong; the standard library and the modules
// of go.mod are fine.
func TestScreenRefusesByName(t *testing.T) {
	l := lesson(t, "01")
	for _, tc := range []struct {
		file, src string
		want      string // "" when allowed
	}{
		{"ok.go", "package echoserver\n\nimport (\n\t\"net\"\n\n\t\"golang.org/x/net/ipv4\"\n)\n", ""},
		{"ok_test.go", "package echoserver\n\nimport _ \"udpbook/harness\"\n", ""}, // replaced by the workbook's
		{"h.go", "package echoserver\n\nimport _ \"udpbook/harness/lesson02\"\n", "h.go imports udpbook/harness/lesson02: a lesson's code may use the standard library"},
		{"s.go", "package echoserver\n\nimport _ \"udpbook/solutions/01-echo-server\"\n", "not the reference solutions"},
		{"o.go", "package echoserver\n\nimport _ \"udpbook/lessons/06-multicast\"\n", "not another lesson"},
		{"sub.go", "package echoserver\n\nimport _ \"udpbook/lessons/01-echo-server/internal/x\"\n", "not of its sub-folders"},
		{"dots.go", "package echoserver\n\nimport _ \"udpbook/lessons/../harness\"\n", "no package of the workbook"},
		{"top.go", "package echoserver\n\nimport _ \"udpbook/docs\"\n", "no package of the workbook"},
		{"c.go", "package echoserver\n\n// #include <stdio.h>\nimport \"C\"\n", "c.go imports C: a lesson's code may not use cgo"},
		{"cgo.go", "package echoserver\n\n// #cgo LDFLAGS: -lm\n", "cgo.go has a #cgo directive"},
		{"ln.go", "package echoserver\n\nimport _ \"unsafe\"\n\n//go:linkname now runtime.nanotime\nfunc now() int64\n", "ln.go uses go:linkname"},
		{"peek_amd64.s", "TEXT ·peek(SB), 0, $0\n", "peek_amd64.s is assembly source"},
		{"peek.S", "", "peek.S is assembly source"},
		{"x.c", "int x;\n", "x.c is C source"},
		{"x.h", "", "x.h is a C header"},
		{"x.cpp", "", "x.cpp is C++ source"},
		{"rsrc_windows_amd64.syso", "", "rsrc_windows_amd64.syso is an object file"},
		{"notes.txt", "import \"C\"\n", ""},
		{"broken.go", "package echoserver\n\nimport (\n\t\"udpbook/harness\"\n\t!\n)\n", "broken.go imports udpbook/harness"},
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.src), 0o644))
		why, err := screenDir(filepath.Dir(dir), l, dir, true)
		require.NoError(t, err)
		if tc.want == "" && why != "" || tc.want != "" && !strings.Contains(why, tc.want) {
			t.Errorf("%s: %q, want %q", tc.file, why, tc.want)
		}
	}
}

// Under -from or -solutions the graded Go files are laid over the
// workbook's lesson folder, whose other sources the build still sees: they
// are screened too.
func TestScreenLooksAtTheBuildFolderToo(t *testing.T) {
	g := workbookCopy(t, map[string]string{"lessons/01-echo-server/x.syso": ""})
	g.Solutions = true
	why, err := g.screen(lesson(t, "01"))
	require.NoError(t, err)
	require.Contains(t, why, "lessons/01-echo-server/x.syso is an object file")
}

// Screening a lesson's folder is all the screening the build graph needs:
// besides the lesson's package, a lesson's test builds only the harness
// packages that the grader takes from its pristine copies (and the
// standard library and modules). If a harness package starts importing
// another package of the workbook, this fails, and screening (or the
// pristine overlay) must grow to cover it.
func TestGradedBuildGraph(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	for _, l := range registry.Lessons() {
		start := time.Now()
		cmd := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./"+l.Dir())
		cmd.Dir = root
		out, err := cmd.Output()
		require.NoError(t, err, "go list %s", l.Dir())
		t.Logf("lesson %s: go list -deps -test took %v", l.Number, time.Since(start).Round(time.Millisecond))
		seen := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			p, _, _ = strings.Cut(p, " ") // "udpbook/lessons/01-echo-server [udpbook/lessons/01-echo-server.test]"
			if p == "udpbook" || strings.HasPrefix(p, "udpbook/") {
				seen[strings.TrimSuffix(p, ".test")] = true
			}
		}
		var got []string
		for p := range seen {
			got = append(got, p)
		}
		sort.Strings(got)
		want := []string{"udpbook/harness", "udpbook/harness/lesson" + l.Number, "udpbook/harness/remote", "udpbook/" + l.Dir()}
		require.Equal(t, want, got, "the workbook's packages in lesson %s's test", l.Number)
		for _, d := range gradedDirs(l)[1:] {
			require.Contains(t, want, "udpbook/"+d, "gradedDirs")
		}
	}
}

// BenchmarkScreen measures screening all six lessons, as a grading does.
func BenchmarkScreen(b *testing.B) {
	root, err := findRoot()
	require.NoError(b, err)
	g := &Grader{Root: root}
	for b.Loop() {
		for _, l := range registry.Lessons() {
			if _, err := g.screen(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAnnotate measures the copy check of all six lessons, as a
// grading does.
func BenchmarkAnnotate(b *testing.B) {
	root, err := findRoot()
	require.NoError(b, err)
	g := &Grader{Root: root}
	for b.Loop() {
		for _, l := range registry.Lessons() {
			g.annotate(&LessonResult{Lesson: l})
		}
	}
}
