package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// workbookCopy copies the workbook into a temporary folder, with files
// replaced or added as given (paths relative to the root), and returns a
// grader for the copy.
func workbookCopy(t *testing.T, files map[string]string) *Grader {
	t.Helper()
	root, err := findRoot()
	require.NoError(t, err)
	dst := t.TempDir()
	for _, top := range []string{"go.mod", "go.sum", "harness", "lessons", "solutions"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		})
		require.NoError(t, err)
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dst, filepath.FromSlash(name)), []byte(content), 0o644))
	}
	return &Grader{Root: dst, RunBound: 25 * time.Second, Jobs: 1}
}

func gradeLesson01(t *testing.T, g *Grader) LessonResult {
	t.Helper()
	return g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
}

// A learner who edits the lesson's test file to pass everything, and adds
// a TestMain of their own, is graded with the workbook's test file anyway.
func TestEditedTestFilesAreIgnored(t *testing.T) {
	g := workbookCopy(t, map[string]string{
		"lessons/01-echo-server/echoserver_test.go": "package echoserver\n\nimport \"testing\"\n\nfunc TestEchoServer(t *testing.T) {}\n",
		"lessons/01-echo-server/main_test.go": "package echoserver\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n" +
			"func TestMain(m *testing.M) { os.Exit(0) }\n",
		"harness/lesson01/suite.go": "package lesson01\n",
	})
	r := gradeLesson01(t, g)
	if r.State != NotStarted {
		t.Fatalf("state %q, want %q (the stub, graded with the workbook's test); detail %q", r.State, NotStarted, r.Detail)
	}
	var got []string
	for _, m := range r.Modified {
		got = append(got, m.String())
	}
	want := "harness/lesson01/suite.go (changed) lessons/01-echo-server/echoserver_test.go (changed) lessons/01-echo-server/main_test.go (added)"
	if strings.Join(got, " ") != want {
		t.Fatalf("modified files %q, want %q", got, want)
	}
}

// Report lines written by the learner's code do not carry the harness's
// signature and count for nothing.
func TestForgedReportLinesAreIgnored(t *testing.T) {
	stub, err := os.ReadFile("../../../lessons/01-echo-server/echoserver.go")
	require.NoError(t, err)
	forger := `
func init() {
	f, err := os.OpenFile(os.Getenv("UDPBOOK_REPORT"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	for _, id := range []string{"listen", "port-in-use", "one-request", "two-clients", "back-to-back",
		"big-datagram", "empty-and-binary", "keeps-serving", "stop", "ipv6"} {
		fmt.Fprintf(f, "{\"event\":\"end\",\"id\":%q,\"status\":\"pass\"}\n", id)
	}
	f.Close()
}
`
	src := strings.Replace(string(stub), "import (", "import (\n\t\"fmt\"\n\t\"os\"", 1) + forger
	// In process, where the learner's code can name the report file; in
	// two processes it cannot (isolation_test.go).
	g := workbookCopy(t, map[string]string{"lessons/01-echo-server/echoserver.go": src})
	g.InProcess = true
	r := gradeLesson01(t, g)
	if passed, _ := r.Passed(); passed != 0 || r.Forged != 10 {
		t.Fatalf("%d checks passed and %d forged lines were found; want 0 and 10 (state %q: %s)", passed, r.Forged, r.State, r.Detail)
	}
}

// Code that hands the work to the reference solution is refused.
func TestImportingTheSolutionIsRefused(t *testing.T) {
	src := `package echoserver

import (
	"context"
	"net"

	solution "udpbook/solutions/01-echo-server"
)

func Listen(addr string) (net.PacketConn, error) { return solution.Listen(addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return solution.Serve(ctx, conn) }
`
	r := gradeLesson01(t, workbookCopy(t, map[string]string{"lessons/01-echo-server/echoserver.go": src}))
	if r.State != Refused || !strings.Contains(r.Detail, "imports udpbook/solutions/01-echo-server") {
		t.Fatalf("state %q (%s), want %q", r.State, r.Detail, Refused)
	}
	if passed, _ := r.Passed(); passed != 0 {
		t.Fatalf("%d checks passed, want 0", passed)
	}
}

// In a classroom the grader and the tests come from the upstream workbook
// and only the lessons' own files from the student's clone: whatever the
// student did to the tests, the harness or the manifest changes nothing.
func TestFromGradesAStudentsFilesWithTheseTests(t *testing.T) {
	solution, err := os.ReadFile("../../../solutions/01-echo-server/echoserver.go")
	require.NoError(t, err)
	student := workbookCopy(t, map[string]string{
		"lessons/01-echo-server/echoserver.go":      string(solution),
		"harness/lesson02/suite.go":                 "package lesson02\n",
		"lessons/02-echo-client/echoclient_test.go": "package echoclient\n\nimport \"testing\"\n\nfunc TestEchoClient(t *testing.T) {}\n",
		"harness/pristine/MANIFEST":                 "",
	})
	g := grader(t)
	g.From = student.Root
	results := g.Grade(context.Background(), []registry.Lesson{lesson(t, "01"), lesson(t, "02")})
	if results[0].State != Done {
		c, _ := results[0].FirstFailure()
		t.Errorf("lesson 01 with the solution's file in the student's clone: %q (%s: %s), want %q", results[0].State, c.ID, c.Message, Done)
	}
	if results[1].State != NotStarted {
		t.Errorf("lesson 02 with the student's tampered tests: %q, want %q", results[1].State, NotStarted)
	}
}
