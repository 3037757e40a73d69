package main

import (
	"archive/zip"
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"udpbook/harness/registry"
)

// Autograder bundles for Gradescope and PrairieLearn.
//
// Gradescope builds an image from a zip holding setup.sh and
// run_autograder at its root (gradescope-autograders.readthedocs.io,
// "Autograder Specifications"): it unpacks the zip into /autograder/source,
// runs setup.sh once as root, and for every submission puts the student's
// files into /autograder/submission, runs run_autograder from /autograder
// and reads /autograder/results/results.json.
//
// PrairieLearn runs a Docker image of the course's choosing
// (prairielearn.readthedocs.io, "External Grading"): the student's files
// are in /grade/student, the entrypoint must write
// /grade/results/results.json. Its bundle is the same two scripts, with
// those paths, and a Dockerfile that builds the image from the bundle.
//
// The bundle holds, besides the scripts, a copy of this workbook in
// udpbook/: the grader, the harness, the lessons' stubs and pristine test
// files. setup.sh installs the Go toolchain go.mod names and builds the
// grader from that copy; run_autograder makes a clone of the workbook with
// the submission's lessons in a temporary folder and grades it with -from,
// so that a submission changes only the lessons' own files, as in every
// other path. Every path the scripts use can be moved by an environment
// variable, which is how the tests run run_autograder in a temporary
// folder standing in for /autograder or /grade.

// autograderPlatform is what differs between the platforms' bundles.
type autograderPlatform struct {
	Name       string // "gradescope": the command's argument and check's flag
	Title      string // "Gradescope"
	Root       string // the platform's folder: /autograder, /grade
	Source     string // where the bundle is unpacked (shell, may use $ROOT)
	Submission string // where the student's files are (shell)
	Results    string // where results.json goes (shell)
	// NoResults is the shell run when the grader wrote no results.
	NoResults string
}

// autograderPlatforms are the platforms `udpbook autograder` writes bundles
// for, by the name the command takes.
var autograderPlatforms = map[string]autograderPlatform{
	"gradescope": {
		Name: "gradescope", Title: "Gradescope", Root: "/autograder",
		Source: "$ROOT/source", Submission: "$ROOT/submission", Results: "$ROOT/results",
		// Gradescope shows the instructor that the autograder failed.
		NoResults: `echo "run_autograder: the grader wrote no results (exit status $status)" >&2
  exit 1`,
	},
	"prairielearn": {
		Name: "prairielearn", Title: "PrairieLearn", Root: "/grade",
		Source: "/opt/udpbook", Submission: "$ROOT/student", Results: "$ROOT/results",
		// Not gradable: PrairieLearn does not count the attempt.
		NoResults: `printf '{"gradable": false, "message": "the grader failed (exit status %s): this attempt does not count"}\n' "$status" > "$RESULTS/results.json"
  exit 0`,
	},
}

// bundleDir is the folder of the bundle that holds the workbook's copy.
const bundleDir = "udpbook"

// bundleOptions says what goes into a bundle.
type bundleOptions struct {
	Platform  autograderPlatform
	Lessons   []registry.Lesson // the lessons graded
	GoVersion string            // the toolchain setup.sh installs: "1.24.0"
	Solutions bool              // include solutions/, for the copied-solution flag
}

// writeBundle writes the bundle for the workbook at root to w, and returns
// how many files of the workbook it holds.
func writeBundle(root string, w io.Writer, o bundleOptions) (int, error) {
	zw := zip.NewWriter(w)
	add := func(name string, mode fs.FileMode, b []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		return err
	}
	if err := add("setup.sh", 0o755, []byte(setupScript(o))); err != nil {
		return 0, err
	}
	if err := add("run_autograder", 0o755, []byte(runScript(o))); err != nil {
		return 0, err
	}
	if o.Platform.Name == "prairielearn" {
		if err := add("Dockerfile", 0o644, []byte(prairieLearnDockerfile)); err != nil {
			return 0, err
		}
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && !inBundle(rel+"/", o.Solutions) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && inBundle(rel, o.Solutions) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	for _, rel := range files {
		info, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return 0, err
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return 0, err
		}
		if err := add(bundleDir+"/"+rel, info.Mode().Perm(), b); err != nil {
			return 0, err
		}
	}
	return len(files), zw.Close()
}

// inBundle says whether the file or folder (ending in "/") at rel goes
// into the bundle's copy of the workbook: what a student template holds
// (see inTemplate), without the Classroom workflow, and with solutions/
// only when asked.
func inBundle(rel string, solutions bool) bool {
	switch {
	case rel == ".github/" || strings.HasPrefix(rel, ".github/"):
		return false
	case rel == "solutions/" || strings.HasPrefix(rel, "solutions/"):
		return solutions
	}
	return inTemplate(rel)
}

// goVersion returns the toolchain the workbook's go.mod asks for: its
// toolchain line if it has one, else its go line.
func goVersion(root string) (string, error) {
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	var goLine string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 2 && fields[0] == "toolchain":
			return strings.TrimPrefix(fields[1], "go"), nil
		case len(fields) == 2 && fields[0] == "go":
			goLine = fields[1]
		}
	}
	if goLine == "" {
		return "", errors.New("go.mod has no go line")
	}
	return goLine, sc.Err()
}

func lessonNumbers(lessons []registry.Lesson) string {
	var n []string
	for _, l := range lessons {
		n = append(n, l.Number)
	}
	return strings.Join(n, " ")
}

// setupScript is setup.sh: it installs Go from the official tarball and
// a C compiler (for the race detector), builds the grader from the
// bundle's copy of the workbook, and grades the stubs once so that Go's
// build cache in the image holds the harness already.
func setupScript(o bundleOptions) string {
	p := o.Platform
	return `#!/usr/bin/env bash
# ` + setupWho(p) + `
# Written by ` + "`udpbook autograder " + p.Name + "`" + `; see docs/instructors.md.
set -euo pipefail

GO_VERSION="${UDPBOOK_GO_VERSION:-` + o.GoVersion + `}"
ROOT="${UDPBOOK_ROOT:-` + p.Root + `}"
SOURCE="${UDPBOOK_SOURCE:-` + p.Source + `}"
WORKBOOK="${UDPBOOK_WORKBOOK:-$SOURCE/` + bundleDir + `}"
GRADER="${UDPBOOK_GRADER:-$SOURCE/udpbook-grader}"
LESSONS="${UDPBOOK_LESSONS:-` + lessonNumbers(o.Lessons) + `}"

if command -v apt-get >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    ca-certificates curl tar gzip gcc libc6-dev
fi

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "setup.sh: no Go release for $(uname -m)" >&2; exit 1 ;;
esac
curl -fsSL "https://go.dev/dl/go${GO_VERSION}.linux-${arch}.tar.gz" -o /tmp/go.tar.gz
rm -rf /usr/local/go
tar -C /usr/local -xzf /tmp/go.tar.gz
rm /tmp/go.tar.gz
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local

cd "$WORKBOOK"
go mod download
go build -o "$GRADER" ./harness/cmd/udpbook
# Grade the stubs once: the image then holds the harness in Go's build
# cache, and each submission builds only its own lessons.
"$GRADER" check -no-progress $LESSONS >/dev/null || true
echo "setup.sh: the grader is $GRADER ($(go version))"
`
}

func setupWho(p autograderPlatform) string {
	if p.Name == "prairielearn" {
		return "The Dockerfile runs this once, as root, when it builds the grader image."
	}
	return "Gradescope runs this once, as root, when it builds the autograder's image."
}

// runScript is run_autograder. It builds, in a temporary folder, a
// clone of the workbook with the submission's lessons: for every lesson,
// the Go files of the submission's folder of that lesson (lessons/NN-slug
// at any depth up to three, or NN-slug), or else the workbook's stubs with
// any file of the same name at the submission's top level in their place.
// Then it grades the lessons with -from, which takes only the lessons'
// non-test Go files, and writes results.json.
func runScript(o bundleOptions) string {
	p := o.Platform
	var b strings.Builder
	b.WriteString(`#!/usr/bin/env bash
# ` + p.Title + ` runs this for every submission; it writes ` + p.Results + `/results.json.
# Written by ` + "`udpbook autograder " + p.Name + "`" + `; see docs/instructors.md.
set -uo pipefail

ROOT="${UDPBOOK_ROOT:-` + p.Root + `}"
SOURCE="${UDPBOOK_SOURCE:-` + p.Source + `}"
SUBMISSION="${UDPBOOK_SUBMISSION:-` + p.Submission + `}"
RESULTS="${UDPBOOK_RESULTS:-` + p.Results + `}"
WORKBOOK="${UDPBOOK_WORKBOOK:-$SOURCE/` + bundleDir + `}"
GRADER="${UDPBOOK_GRADER:-$SOURCE/udpbook-grader}"
LESSONS="${UDPBOOK_LESSONS:-` + lessonNumbers(o.Lessons) + `}"
FLAGS="${UDPBOOK_FLAGS:-}"
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local

mkdir -p "$RESULTS"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The harness as the workbook ships it: the clone is then complete, and
# the grader's list of files that differ from the workbook's (on standard
# output, which Gradescope shows only to instructors) names only the
# submission's own changes.
mkdir -p "$work/harness"
cp -R "$WORKBOOK/harness/." "$work/harness/"

# take LESSONDIR: one lesson's files, into $work: the workbook's test
# files, then the submission's folder of the lesson (its Go files, tests
# included: a changed test file is listed, and graded as shipped), or else
# the workbook's stubs with any file of the same name at the submission's
# top level in their place.
take() {
  local dir="$1" name found f
  name="$(basename "$dir")"
  mkdir -p "$work/$dir"
  for f in "$WORKBOOK/$dir"/*_test.go; do
    [ -f "$f" ] && cp -- "$f" "$work/$dir/"
  done
  found="$(find "$SUBMISSION" -maxdepth 4 -type d -path "*/lessons/$name" -not -path "*/solutions/*" 2>/dev/null | sort | head -n 1)"
  if [ -z "$found" ]; then
    found="$(find "$SUBMISSION" -maxdepth 3 -type d -name "$name" -not -path "*/solutions/*" 2>/dev/null | sort | head -n 1)"
  fi
  if [ -n "$found" ]; then
    for f in "$found"/*.go; do
      [ -f "$f" ] && cp -- "$f" "$work/$dir/"
    done
    echo "run_autograder: $dir from ${found#"$SUBMISSION"/}"
    return
  fi
  for f in "$WORKBOOK/$dir"/*.go; do
    case "$f" in *_test.go) continue ;; esac
    if [ -f "$SUBMISSION/$(basename "$f")" ]; then
      cp -- "$SUBMISSION/$(basename "$f")" "$work/$dir/"
      echo "run_autograder: $dir/$(basename "$f") from the submission's top level"
    else
      cp -- "$f" "$work/$dir/"
    fi
  done
}

`)
	for _, l := range registry.Lessons() {
		fmt.Fprintf(&b, "take %s\n", l.Dir())
	}
	b.WriteString(`
cd "$WORKBOOK" || exit 1
# shellcheck disable=SC2086 # FLAGS and LESSONS are lists
rm -f "$RESULTS/results.json"
"$GRADER" check -from "$work" -no-progress $FLAGS -` + p.Name + ` "$RESULTS/results.json" $LESSONS
status=$?
if [ ! -s "$RESULTS/results.json" ]; then
  ` + p.NoResults + `
fi
exit 0
`)
	return b.String()
}

// autograderCommand is `udpbook autograder gradescope|prairielearn -o
// FILE.zip`.
func autograderCommand(root string, args []string, stdout, stderr io.Writer) int {
	var p autograderPlatform
	if len(args) > 0 {
		p = autograderPlatforms[args[0]]
	}
	if p.Name == "" {
		fmt.Fprintln(stderr, "usage: udpbook autograder gradescope|prairielearn -o FILE.zip [-lessons 01,02] [-with-solutions] [-go VERSION]")
		return 2
	}
	fs := flag.NewFlagSet("autograder "+p.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the bundle to this zip file (required)")
	only := fs.String("lessons", "", "the lessons graded, separated by commas: 01,02 (all of them if empty)")
	goVer := fs.String("go", "", "the Go version setup.sh installs (go.mod's, if empty)")
	solutions := fs.Bool("with-solutions", false, "include solutions/ so that copied solutions are flagged "+
		"(a student's code could read them while it runs)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "udpbook: autograder %s: -o FILE.zip is required, and takes no other arguments\n", p.Name)
		return 2
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	lessons, err := pickLessons(names)
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 2
	}
	o := bundleOptions{Platform: p, Lessons: lessons, GoVersion: *goVer, Solutions: *solutions}
	if o.GoVersion == "" {
		if o.GoVersion, err = goVersion(root); err != nil {
			fmt.Fprintln(stderr, "udpbook:", err)
			return 1
		}
	}
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		fmt.Fprintln(stderr, "udpbook:", err)
		return 1
	}
	n, err := writeBundle(root, f, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), *out)
	}
	if err != nil {
		os.Remove(f.Name())
		fmt.Fprintln(stderr, "udpbook: autograder:", err)
		return 1
	}
	points := 0
	for _, l := range lessons {
		points += l.Points()
	}
	what := "setup.sh, run_autograder"
	if p.Name == "prairielearn" {
		what += ", Dockerfile"
	}
	fmt.Fprintf(stdout, "udpbook: wrote the %s bundle %s: %s and the workbook (%d files), Go %s, lessons %s, %d points\n",
		p.Title, *out, what, n, o.GoVersion, lessonNumbers(lessons), points)
	return 0
}

// prairieLearnDockerfile builds PrairieLearn's grader image from the
// unpacked bundle. Go's caches live in /opt/go, open to every user, since
// the grading job may run as another user than the build.
const prairieLearnDockerfile = `# The udpbook grader image for PrairieLearn's external grading.
# Written by ` + "`udpbook autograder prairielearn`" + `; see docs/instructors.md.
# Build it from the unpacked bundle, and push it where PrairieLearn pulls from:
#   docker build -t your-org/udpbook-grader:v1.0.0 . && docker push your-org/udpbook-grader:v1.0.0
FROM ubuntu:24.04
ENV GOPATH=/opt/go GOCACHE=/opt/go/cache GOTOOLCHAIN=local PATH=/usr/local/go/bin:$PATH
COPY . /opt/udpbook
RUN bash /opt/udpbook/setup.sh \
 && rm -rf /var/lib/apt/lists/* \
 && chmod -R a+rwX /opt/go /opt/udpbook
ENTRYPOINT ["/opt/udpbook/run_autograder"]
`
