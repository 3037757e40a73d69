// Package pristine holds the workbook's original lesson files and grading
// code, embedded in the grader, with a manifest of their SHA-256 digests.
//
// The grader compares the files on disk with these copies, reports every
// difference by name, and always grades with the copies: a lesson's test
// file or the harness edited by accident (or on purpose) changes nothing.
// `udpbook reset` restores a lesson's stub from them.
//
// # Keeping the copies in step
//
// After changing a lesson's files or the harness, refresh the copies with
//
//	make pristine
//
// `make test` fails while they differ from the files on disk.
package pristine

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed MANIFEST
var manifest string

//go:embed all:copies
var copies embed.FS

// suffix keeps the Go tools from taking the copies for code.
const suffix = ".pristine"

// File returns the original content of the file at path (slash-separated,
// relative to the workbook's root) and whether there is one.
func File(name string) ([]byte, bool) {
	b, err := copies.ReadFile("copies/" + name + suffix)
	return b, err == nil
}

// Paths returns the paths of every original file, sorted.
func Paths() []string {
	var paths []string
	fs.WalkDir(copies, "copies", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, strings.TrimSuffix(strings.TrimPrefix(p, "copies/"), suffix))
		}
		return nil
	})
	sort.Strings(paths)
	return paths
}

// Manifest returns the committed manifest: one "digest  path" line per
// file, as sha256sum prints them.
func Manifest() string { return manifest }

// Digest returns the hex SHA-256 digest of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Graded reports whether the file at path is part of the grading: a
// lesson's test file, or the harness code that lesson tests import. These
// are the files the grader always takes from the copies.
func Graded(p string) bool {
	dir, base := path.Split(p)
	if !strings.HasSuffix(base, ".go") {
		return false
	}
	switch {
	case strings.HasPrefix(dir, "lessons/") && strings.Count(dir, "/") == 2:
		return strings.HasSuffix(base, "_test.go")
	case dir == "harness/" || dir == "harness/remote/" ||
		strings.HasPrefix(dir, "harness/lesson") && strings.Count(dir, "/") == 2:
		return !strings.HasSuffix(base, "_test.go")
	}
	return false
}

// Problem is a graded file on disk that is not as the workbook shipped it.
type Problem struct {
	Path string // slash-separated, relative to the root
	What string // "changed", "missing" or "added"
}

func (p Problem) String() string { return p.Path + " (" + p.What + ")" }

// Check compares the graded files under dirs (slash-separated, relative
// to root, such as "lessons/01-echo-server" and "harness") with the
// copies. It returns the differences: graded files changed or missing,
// and Go files added where only graded files belong (a lesson's extra test
// files, new files in the harness).
func Check(root string, dirs []string) ([]Problem, error) {
	var problems []Problem
	known := map[string]bool{}
	for _, p := range Paths() {
		if !Graded(p) || !under(p, dirs) {
			continue
		}
		known[p] = true
		want, _ := File(p)
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		switch {
		case os.IsNotExist(err):
			problems = append(problems, Problem{p, "missing"})
		case err != nil:
			return nil, err
		case !bytes.Equal(got, want):
			problems = append(problems, Problem{p, "changed"})
		}
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range entries {
			p := path.Join(dir, e.Name())
			if !e.IsDir() && Graded(p) && !known[p] {
				problems = append(problems, Problem{p, "added"})
			}
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Path < problems[j].Path })
	return problems, nil
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if path.Dir(p) == d {
			return true
		}
	}
	return false
}

// Build writes fresh copies and a fresh manifest into dir (this package's
// folder) from the workbook at root: every file under lessons/, and the
// graded harness files.
func Build(root, dir string) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(rel, "lessons/") || Graded(rel) {
			paths = append(paths, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	if err := os.RemoveAll(filepath.Join(dir, "copies")); err != nil {
		return err
	}
	var m strings.Builder
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, "copies", filepath.FromSlash(p)+suffix)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&m, "%s  %s\n", Digest(b), p)
	}
	return os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte(m.String()), 0o644)
}
