package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// bundle writes the platform's bundle for lessons 01 and 02 and returns
// the zip's files by name.
func bundle(t *testing.T, platform string, solutions bool) map[string]*zip.File {
	t.Helper()
	root, err := findRoot()
	require.NoError(t, err)
	ver, err := goVersion(root)
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = writeBundle(root, &b, bundleOptions{Platform: autograderPlatforms[platform],
		Lessons: []registry.Lesson{lesson(t, "01"), lesson(t, "02")}, GoVersion: ver, Solutions: solutions})
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	return files
}

func readZipFile(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// The bundle has setup.sh and run_autograder, executable, at its root, as
// Gradescope requires, and the workbook without what only tests it; the
// solutions only when asked.
func TestGradescopeBundleLayout(t *testing.T) {
	files := bundle(t, "gradescope", false)
	for _, script := range []string{"setup.sh", "run_autograder"} {
		f := files[script]
		require.NotNil(t, f, "no %s at the zip's root", script)
		require.Equal(t, os.FileMode(0o755), f.Mode().Perm(), script)
		check := exec.Command("bash", "-n")
		check.Stdin = bytes.NewReader(readZipFile(t, f))
		out, err := check.CombinedOutput()
		require.NoError(t, err, "%s is not valid bash: %s", script, out)
	}
	root, err := findRoot()
	require.NoError(t, err)
	ver, err := goVersion(root)
	require.NoError(t, err)
	setup := string(readZipFile(t, files["setup.sh"]))
	require.Contains(t, setup, `GO_VERSION="${UDPBOOK_GO_VERSION:-`+ver+`}"`)
	require.Contains(t, setup, "https://go.dev/dl/go${GO_VERSION}.linux-${arch}.tar.gz")
	require.Contains(t, setup, "go build -o \"$GRADER\" ./harness/cmd/udpbook")
	run := string(readZipFile(t, files["run_autograder"]))
	require.Contains(t, run, `LESSONS="${UDPBOOK_LESSONS:-01 02}"`)
	for _, want := range []string{"udpbook/go.mod", "udpbook/go.sum", "udpbook/harness/cmd/udpbook/main.go",
		"udpbook/lessons/01-echo-server/echoserver_test.go", "udpbook/harness/pristine/MANIFEST"} {
		require.Contains(t, files, want)
	}
	for name := range files {
		for _, not := range []string{"udpbook/solutions/", "udpbook/.git/", "udpbook/.udpbook/", "testdata/", "udpbook/.github/"} {
			require.False(t, strings.HasPrefix(name, not) || strings.Contains(name, "/"+not), "the bundle has %s", name)
		}
	}
	require.Contains(t, bundle(t, "gradescope", true), "udpbook/solutions/01-echo-server/echoserver.go")
}

// run_autograder, run for real in a temporary folder laid out as
// Gradescope's /autograder, grades a submission there: lesson 01's
// solution in a clone's folder (its edited test file ignored), lesson 02's
// solution as a lone file at the submission's top level. The grader is
// built beforehand, as setup.sh would, so the test needs no network.
func TestRunAutograderInAutograderLayout(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	tmp := t.TempDir()
	grader := buildGrader(t, tmp)
	ag := filepath.Join(tmp, "autograder")
	unpack(t, bundle(t, "gradescope", false), filepath.Join(ag, "source"))
	sub := filepath.Join(ag, "submission")
	l01 := filepath.Join(sub, "udpbook-main", "lessons", "01-echo-server")
	require.NoError(t, os.MkdirAll(l01, 0o755))
	copyInto(t, filepath.Join(root, "solutions", "01-echo-server", "echoserver.go"), l01)
	require.NoError(t, os.WriteFile(filepath.Join(l01, "echoserver_test.go"), []byte("package echoserver\n"), 0o644))
	copyInto(t, filepath.Join(root, "solutions", "02-echo-client", "echoclient.go"), sub)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(ag, "source", "run_autograder"))
	cmd.Dir = ag
	cmd.Env = append(os.Environ(), "UDPBOOK_ROOT="+ag, "UDPBOOK_GRADER="+grader, "UDPBOOK_FLAGS=-race=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "run_autograder:\n%s", out)
	require.Contains(t, string(out), "lessons/01-echo-server from udpbook-main/lessons/01-echo-server")
	require.Contains(t, string(out), "lessons/02-echo-client/echoclient.go from the submission's top level")
	require.Contains(t, string(out), "lessons/01-echo-server/echoserver_test.go (changed)", "the edited test file is listed")
	require.NotContains(t, string(out), "(missing)", "the clone run_autograder builds is complete")

	b, err := os.ReadFile(filepath.Join(ag, "results", "results.json"))
	require.NoError(t, err)
	rep := validGradescope(t, b)
	want := lesson(t, "01").Points() + lesson(t, "02").Points()
	require.Equal(t, float64(want), rep.Score, "output:\n%s\nresults: %s", out, b)
	require.Contains(t, rep.Output, "01 echo server: done")
	require.Contains(t, rep.Output, "02 echo client: done")
	require.Len(t, rep.Tests, len(lesson(t, "01").Checks)+len(lesson(t, "02").Checks))
}

// unpack writes the bundle's files into dir.
func unpack(t *testing.T, files map[string]*zip.File, dir string) {
	t.Helper()
	for name, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, readZipFile(t, f), f.Mode().Perm()))
	}
}

// buildGrader builds the grader into dir, as setup.sh would, and returns
// its path.
func buildGrader(t *testing.T, dir string) string {
	t.Helper()
	root, err := findRoot()
	require.NoError(t, err)
	grader := filepath.Join(dir, "udpbook-grader")
	build := exec.Command("go", "build", "-o", grader, "./harness/cmd/udpbook")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return grader
}

// The PrairieLearn bundle has the Dockerfile, and its run_autograder, run
// for real in a temporary folder standing in for /grade, grades the lone
// file a student submitted through a file editor or upload into
// /grade/student, and writes PrairieLearn's results.json; when the grader
// fails, the results say the submission was not gradable, so the attempt
// does not count.
func TestRunAutograderInPrairieLearnLayout(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	tmp := t.TempDir()
	grader := buildGrader(t, tmp)
	files := bundle(t, "prairielearn", false)
	require.Contains(t, files, "Dockerfile")
	dockerfile := string(readZipFile(t, files["Dockerfile"]))
	require.Contains(t, dockerfile, "RUN bash /opt/udpbook/setup.sh")
	require.Contains(t, dockerfile, `ENTRYPOINT ["/opt/udpbook/run_autograder"]`)
	source := filepath.Join(tmp, "opt", "udpbook")
	unpack(t, files, source)
	grade := filepath.Join(tmp, "grade")
	student := filepath.Join(grade, "student")
	require.NoError(t, os.MkdirAll(student, 0o755))
	copyInto(t, filepath.Join(root, "solutions", "01-echo-server", "echoserver.go"), student)

	runIt := func(grader string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(source, "run_autograder"))
		cmd.Dir = grade
		cmd.Env = append(os.Environ(), "UDPBOOK_ROOT="+grade, "UDPBOOK_SOURCE="+source, "UDPBOOK_GRADER="+grader,
			"UDPBOOK_LESSONS=01", "UDPBOOK_FLAGS=-race=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "run_autograder:\n%s", out)
		b, err := os.ReadFile(filepath.Join(grade, "results", "results.json"))
		require.NoError(t, err, "run_autograder:\n%s", out)
		return b
	}
	rep := validPrairieLearn(t, runIt(grader))
	require.True(t, rep.Gradable)
	require.Equal(t, 1.0, rep.Score)
	require.Len(t, rep.Tests, len(lesson(t, "01").Checks))

	var failed map[string]any
	require.NoError(t, json.Unmarshal(runIt("/bin/false"), &failed))
	require.Equal(t, false, failed["gradable"])
	require.Contains(t, failed["message"], "the grader failed")
}

func copyInto(t *testing.T, file, dir string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(file)), b, 0o644))
}

// docs/instructors.md shows the Dockerfile the PrairieLearn bundle holds,
// without its comments.
func TestInstructorsDocShowsTheDockerfile(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "instructors.md"))
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(prairieLearnDockerfile, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, "   "+line)
		}
	}
	require.Contains(t, string(doc), "   ```dockerfile\n"+strings.Join(want, "\n")+"\n   ```\n")
}
