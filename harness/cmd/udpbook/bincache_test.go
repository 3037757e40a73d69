package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A cached test binary is reused only while nothing that goes into it has
// changed: an edit to a lesson file or the race setting rebuilds, and so
// does another set of graded files (the harness's copies, which the grader
// overlays).
func TestCachedBinariesRebuildWhenAnInputChanges(t *testing.T) {
	g := workbookCopy(t, nil)
	g.BinCache = t.TempDir()
	slot := func() string { return g.binSlot("01", []byte("overlay")) }
	// built returns the digest of the cached binary. (Whether an unchanged
	// lesson is linked again is a matter of speed, measured by make timing:
	// Go refreshes the binary's time either way.)
	built := func() [32]byte {
		t.Helper()
		matches, err := filepath.Glob(filepath.Join(g.BinCache, "01-*", "lesson.test"))
		require.NoError(t, err)
		require.Len(t, matches, 1, "one slot for lesson 01")
		b, err := os.ReadFile(matches[0])
		require.NoError(t, err)
		return sha256.Sum256(b)
	}

	r := gradeLesson01(t, g)
	require.Equal(t, NotStarted, r.State, r.Detail)
	first := built()

	r = gradeLesson01(t, g)
	require.Equal(t, NotStarted, r.State, r.Detail)
	require.Equal(t, first, built(), "an unchanged lesson builds the same binary")

	// The learner edits the lesson: it is rebuilt, and graded as edited.
	solution, err := os.ReadFile(filepath.Join(g.Root, "solutions", "01-echo-server", "echoserver.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(g.Root, "lessons", "01-echo-server", "echoserver.go"), solution, 0o644))
	r = gradeLesson01(t, g)
	require.Equal(t, Done, r.State, r.Detail)
	require.NotEqual(t, first, built(), "an edited lesson must be built again")

	// Another race setting, or other graded files, is another slot.
	noRace := slot()
	g.Race = !g.Race
	require.NotEqual(t, noRace, slot())
	require.NotEqual(t, slot(), g.binSlot("01", []byte("other overlay")))
	require.NotEqual(t, slot(), g.binSlot("02", []byte("overlay")))

	// Builds from another workbook, or with a test's overlay, are not cached.
	g.From = t.TempDir()
	require.Empty(t, slot())
}
