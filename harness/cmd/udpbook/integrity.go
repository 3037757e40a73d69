package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path"
	"path/filepath"

	"udpbook/harness/pristine"
	"udpbook/harness/registry"
)

// gradedDirs returns the folders whose graded files a lesson's test uses:
// the lesson's own, the harness and the lesson's suite.
func gradedDirs(l registry.Lesson) []string {
	return []string{filepath.ToSlash(l.Dir()), "harness", "harness/remote", "harness/lesson" + l.Number}
}

// pristineOverlay adds to replace the workbook's copies of every graded
// file of lesson l, so that the lesson is graded with them whatever is on
// disk, and removes graded files that were added. It returns what differs
// on disk.
func pristineOverlay(root string, l registry.Lesson, replace map[string]string) ([]pristine.Problem, error) {
	dirs := gradedDirs(l)
	problems, err := pristine.Check(root, dirs)
	if err != nil {
		return nil, err
	}
	for _, p := range pristine.Paths() {
		if !pristine.Graded(p) || !inDirs(p, dirs) {
			continue
		}
		copyPath, err := pristineCopy(p)
		if err != nil {
			return nil, err
		}
		replace[filepath.Join(root, filepath.FromSlash(p))] = copyPath
	}
	for _, pr := range problems {
		if pr.What == "added" {
			replace[filepath.Join(root, filepath.FromSlash(pr.Path))] = ""
		}
	}
	return problems, nil
}

// annotate adds to a lesson's result what does not depend on running it:
// whether its code is the reference solution's, and under -from which
// graded files the student's clone changed (gradeOne found those of the
// grader's own workbook, which are not the student's doing), even when the
// lesson was refused or did not compile.
func (g *Grader) annotate(res *LessonResult) {
	res.Copied = g.copied(res.Lesson)
	if g.From == "" {
		return
	}
	modified, err := pristine.Check(g.From, gradedDirs(res.Lesson))
	if err != nil {
		res.Modified = []pristine.Problem{{Path: g.From, What: "could not be compared: " + err.Error()}}
		return
	}
	res.Modified = modified
}

// pristineCopy writes the workbook's copy of the file at p where the build
// can read it, and returns where. The place is named by the content's
// digest and stays from one grading to the next: Go's build cache keys on
// the files' paths too, and a new path every time would rebuild the
// harness for every lesson.
func pristineCopy(p string) (string, error) {
	b, _ := pristine.File(p)
	dir := filepath.Join(os.TempDir(), "udpbook-pristine", pristine.Digest(b))
	name := filepath.Join(dir, path.Base(p))
	if got, err := os.ReadFile(name); err == nil && bytes.Equal(got, b) {
		return name, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Write to a temporary name and rename, so that two graders at once
	// never read a half-written file.
	tmp, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return name, os.Rename(tmp.Name(), name)
}

func inDirs(p string, dirs []string) bool {
	for _, d := range dirs {
		if filepath.ToSlash(filepath.Dir(p)) == d {
			return true
		}
	}
	return false
}

// newKey returns a fresh random key for signing one run's report lines.
func newKey() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b)), nil
}
