package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The binary cache keeps each lesson's linked test binary between
// gradings, so that regrading a lesson whose files did not change does not
// link it again: go test -c -o PATH skips the link when PATH already holds
// a binary built from the same inputs (Go's own up-to-date check, from the
// binary's build ID). Linking is most of the time a warm grading takes.
//
// Each kind of build (lesson, race detector, overlay) has a slot of its
// own, a folder under Grader.BinCache named by a hash of those. Go decides
// whether the binary in a slot is up to date from every input, so a
// changed lesson file, harness file or flag always rebuilds; the slot only
// keeps builds of different kinds from replacing each other. A grading
// holds the slot's lock while it builds and copies the binary out, so
// gradings at once never run a half-written binary, and each runs its own
// copy.

// slotIdle is how long a slot may go unused before Grade removes it.
const slotIdle = 14 * 24 * time.Hour

// binSlot returns the slot for a build of lesson number with the overlay
// file's content, or "" when binaries are not cached: no BinCache, or a
// build from another workbook or a test's overlay, which would only fill
// the cache with binaries nobody builds again.
func (g *Grader) binSlot(number string, overlay []byte) string {
	if g.BinCache == "" || g.From != "" || len(g.Overlay) > 0 {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "lesson %s\nrace %v\nsolutions %v\n", number, g.Race, g.Solutions)
	h.Write(overlay)
	return filepath.Join(g.BinCache, number+"-"+hex.EncodeToString(h.Sum(nil))[:16])
}

// buildCached runs build, which writes a binary to the path it is given,
// with that path in slot, and copies the binary to bin. Without a slot, or
// when the slot cannot be locked, build writes bin itself.
func buildCached(slot, bin string, build func(out string) error) error {
	if slot == "" {
		return build(bin)
	}
	if err := os.MkdirAll(slot, 0o755); err != nil {
		return build(bin)
	}
	unlock, err := lockFile(filepath.Join(slot, "lock"))
	if err != nil {
		return build(bin)
	}
	defer unlock()
	now := time.Now()
	os.Chtimes(slot, now, now) // in use: not to be removed as idle
	cached := filepath.Join(slot, "lesson.test")
	if err := build(cached); err != nil {
		return err
	}
	return copyFile(cached, bin)
}

// copyFile copies the executable from to a new file to.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// evictIdle removes the slots of dir unused for longer than slotIdle.
func evictIdle(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || time.Since(info.ModTime()) < slotIdle {
			continue
		}
		slot := filepath.Join(dir, e.Name())
		if unlock, err := lockFile(filepath.Join(slot, "lock")); err == nil {
			os.RemoveAll(slot)
			unlock()
		}
	}
}
