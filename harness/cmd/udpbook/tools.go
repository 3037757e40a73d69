package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"udpbook/harness/pristine"
	"udpbook/harness/registry"
)

// ProgressFile is where the learner's progress is kept, at the workbook's
// root: one line per lesson, plain text, easy to commit or delete.
const ProgressFile = "udpbook-progress.txt"

// progress is what the progress file holds for one lesson.
type progress struct {
	State   State
	Checks  string   // "3/10"
	Points  string   // "6/20"
	Failing []string // IDs of the checks that did not pass at the last grading
	Hints   int      // how many hints have been shown
	Updated string
}

func readProgress(root string) map[string]*progress {
	all := map[string]*progress{}
	f, err := os.Open(filepath.Join(root, ProgressFile))
	if err != nil {
		return all
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, " | ")
		if len(fields) == 0 {
			continue
		}
		number, _, _ := strings.Cut(fields[0], " ")
		p := &progress{}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, ": ")
			switch k {
			case "state":
				p.State = State(v)
			case "checks":
				p.Checks = v
			case "points":
				p.Points = v
			case "failing":
				if v != "-" {
					p.Failing = strings.Split(v, ",")
				}
			case "hints shown":
				p.Hints, _ = strconv.Atoi(v)
			case "updated":
				p.Updated = v
			}
		}
		all[number] = p
	}
	return all
}

func writeProgress(root string, all map[string]*progress) error {
	var b strings.Builder
	b.WriteString("# udpbook progress, written by `make check` and `udpbook hint`.\n")
	b.WriteString("# Commit it to keep your place, or delete it to start the record afresh.\n")
	for _, l := range registry.Lessons() {
		p, ok := all[l.Number]
		if !ok {
			continue
		}
		failing := strings.Join(p.Failing, ",")
		if failing == "" {
			failing = "-"
		}
		fmt.Fprintf(&b, "%s %s | state: %s | checks: %s | points: %s | failing: %s | hints shown: %d | updated: %s\n",
			l.Number, l.Slug, p.State, p.Checks, p.Points, failing, p.Hints, p.Updated)
	}
	return writeFileAtomic(filepath.Join(root, ProgressFile), []byte(b.String()))
}

// recordProgress stores the results of a grading in the progress file.
func recordProgress(root string, results []LessonResult) error {
	all := readProgress(root)
	for _, r := range results {
		p, ok := all[r.Lesson.Number]
		if !ok {
			p = &progress{}
			all[r.Lesson.Number] = p
		}
		checks, points := r.Passed()
		p.State = r.State
		p.Checks = fmt.Sprintf("%d/%d", checks, len(r.Checks))
		p.Points = fmt.Sprintf("%d/%d", points, r.MaxPoints())
		p.Failing = nil
		for _, c := range r.Checks {
			if c.Status != "pass" && c.Status != "skip" {
				p.Failing = append(p.Failing, c.ID)
			}
		}
		p.Updated = time.Now().UTC().Format(time.RFC3339)
	}
	return writeProgress(root, all)
}

// list prints the lessons with the state of each at its last grading.
func list(root string, w io.Writer) int {
	all := readProgress(root)
	for _, l := range registry.Lessons() {
		state, points := "not graded yet", fmt.Sprintf("%d points", l.Points())
		if p, ok := all[l.Number]; ok {
			state, points = p.State.String(), p.Points+" points"
		}
		fmt.Fprintf(w, "%s  %-22s %2d checks  %-14s %-16s %s\n", l.Number, l.Title, len(l.Checks), points, state, l.Doc())
	}
	return 0
}

// nextLesson returns the first lesson that is not done at its last
// grading, or false if every lesson is done.
func nextLesson(root string) (registry.Lesson, bool) {
	all := readProgress(root)
	for _, l := range registry.Lessons() {
		if p, ok := all[l.Number]; !ok || p.State != Done {
			return l, true
		}
	}
	return registry.Lesson{}, false
}

// nextCommand is `udpbook next`: name the first lesson not done.
func nextCommand(root string, w io.Writer) int {
	l, ok := nextLesson(root)
	if !ok {
		fmt.Fprintln(w, "Every lesson is done. Try the \"Going further\" ideas at the end of each chapter.")
		return 0
	}
	fmt.Fprintf(w, "Next: lesson %s, %s.\n  read:  %s\n  write: %s/\n  grade: make check LESSON=%s\n",
		l.Number, l.Title, l.Doc(), l.Dir(), l.Number)
	if p, ok := readProgress(root)[l.Number]; ok && len(p.Failing) > 0 {
		fmt.Fprintf(w, "  at the last grading, %s passed; the first check to fix is %q.\n", p.Checks, p.Failing[0])
	}
	return 0
}

// hint shows the next hint for a lesson: the hints of the checks that
// failed at its last grading, one more each time it is asked.
func hint(root string, args []string, w io.Writer) int {
	lessons, err := pickLessons(args)
	if err != nil && len(args) == 1 {
		fmt.Fprintf(w, "udpbook hint: %v\n", err)
		return 2
	}
	if err != nil || len(args) != 1 {
		fmt.Fprintln(w, "usage: udpbook hint LESSON   (for example: udpbook hint 01)")
		return 2
	}
	l := lessons[0]
	all := readProgress(root)
	p, ok := all[l.Number]
	if !ok {
		fmt.Fprintf(w, "Lesson %s has not been graded yet: run `make check LESSON=%s` first, then ask again.\n", l.Number, l.Number)
		return 1
	}
	var hints []string
	for _, id := range p.Failing {
		for _, c := range l.Checks {
			if c.ID == id {
				hints = append(hints, fmt.Sprintf("check %q (%s): %s", c.ID, c.Title, c.Hint))
			}
		}
	}
	if len(hints) == 0 {
		fmt.Fprintf(w, "Every check of lesson %s passed at its last grading: no hints needed.\n", l.Number)
		return 0
	}
	if p.Hints >= len(hints) {
		p.Hints = 0 // start again from the first
	}
	fmt.Fprintf(w, "Hint %d of %d for lesson %s, %s\n  %s\n", p.Hints+1, len(hints), l.Number, l.Title, hints[p.Hints])
	if p.Hints+1 < len(hints) {
		fmt.Fprintf(w, "(ask again for the next one; the chapter %s has more)\n", l.Doc())
	}
	p.Hints++
	if err := writeProgress(root, all); err != nil {
		fmt.Fprintln(w, "udpbook:", err)
		return 1
	}
	return 0
}

// reset restores a lesson's folder from the workbook's copies, after a
// confirmation.
func reset(root string, args []string, in io.Reader, w io.Writer) int {
	yes := false
	var names []string
	for _, a := range args {
		if a == "--yes" || a == "-yes" || a == "-y" {
			yes = true
		} else {
			names = append(names, a)
		}
	}
	lessons, err := pickLessons(names)
	if err != nil && len(names) == 1 {
		fmt.Fprintf(w, "udpbook reset: %v\n", err)
		return 2
	}
	if err != nil || len(names) != 1 {
		fmt.Fprintln(w, "usage: udpbook reset [--yes] LESSON   (for example: udpbook reset 01)")
		return 2
	}
	l := lessons[0]
	prefix := filepath.ToSlash(l.Dir()) + "/"
	var restore []string
	for _, p := range pristine.Paths() {
		if strings.HasPrefix(p, prefix) {
			restore = append(restore, p)
		}
	}
	var changed []string
	for _, p := range restore {
		want, _ := pristine.File(p)
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil || string(got) != string(want) {
			changed = append(changed, p)
		}
	}
	extra := extraFiles(root, l.Dir(), restore)
	if len(changed) == 0 {
		fmt.Fprintf(w, "%s is as the workbook shipped it: nothing to reset.\n", l.Dir())
		return 0
	}
	fmt.Fprintf(w, "This puts the original stub back in %s/, replacing your work (a copy is kept in .udpbook/reset/) in:\n", l.Dir())
	for _, p := range changed {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if len(extra) > 0 {
		fmt.Fprintf(w, "Files of your own are left alone: %s\n", strings.Join(extra, ", "))
	}
	if !yes {
		fmt.Fprint(w, "Type yes to go on: ")
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(w, "Nothing was changed.")
			return 1
		}
	}
	// Your work is kept: each replaced file is copied first into
	// .udpbook/reset/<time>/, under its own path.
	backup := filepath.Join(root, ".udpbook", "reset", time.Now().Format("20060102-150405"))
	kept := 0
	for _, p := range changed {
		dst := filepath.Join(root, filepath.FromSlash(p))
		if old, err := os.ReadFile(dst); err == nil {
			if err := writeFileAll(filepath.Join(backup, filepath.FromSlash(p)), old); err != nil {
				fmt.Fprintln(w, "udpbook: nothing was changed: could not keep a copy of your work:", err)
				return 1
			}
			kept++
		}
	}
	for _, p := range changed {
		b, _ := pristine.File(p)
		if err := writeFileAll(filepath.Join(root, filepath.FromSlash(p)), b); err != nil {
			fmt.Fprintln(w, "udpbook:", err)
			return 1
		}
	}
	fmt.Fprintf(w, "Restored %d file(s). Run `make check LESSON=%s` to see the fresh start.\n", len(changed), l.Number)
	if kept > 0 {
		rel, _ := filepath.Rel(root, backup)
		fmt.Fprintf(w, "Your version of each is kept in %s/.\n", filepath.ToSlash(rel))
	}
	return 0
}

// writeFileAll writes b to name, making its folder first if need be.
func writeFileAll(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// extraFiles lists the files under dir that the workbook did not ship.
func extraFiles(root, dir string, shipped []string) []string {
	known := map[string]bool{}
	for _, p := range shipped {
		known[p] = true
	}
	var extra []string
	filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rel = filepath.ToSlash(rel); !known[rel] {
			extra = append(extra, rel)
		}
		return nil
	})
	sort.Strings(extra)
	return extra
}

// snapshot records the size and modification time of every file under
// lessons/, to notice saves. Polling works everywhere, including WSL and
// network file systems, where change notifications do not.
func snapshot(root string) map[string]string {
	files := map[string]string{}
	filepath.WalkDir(filepath.Join(root, "lessons"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files[p] = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return files
}

// changedLesson returns the lesson whose files differ between two
// snapshots.
func changedLesson(root string, before, after map[string]string) (registry.Lesson, bool) {
	for p, v := range after {
		if before[p] == v {
			continue
		}
		for _, l := range registry.Lessons() {
			if strings.HasPrefix(p, filepath.Join(root, l.Dir())+string(filepath.Separator)) {
				return l, true
			}
		}
	}
	return registry.Lesson{}, false
}

// watch grades the lesson being worked on every time one of its files is
// saved, until ctx is done.
func watch(ctx context.Context, root string, interval time.Duration, grade func(registry.Lesson), w io.Writer) int {
	l, ok := nextLesson(root)
	why := "the first lesson not done at its last grading"
	if !ok {
		l = registry.Lessons()[0]
		why = "every lesson was done at its last grading, so the first"
	}
	fmt.Fprintf(w, "Watching lessons/ for saved files (every %v); Ctrl-C stops.\n", interval)
	fmt.Fprintf(w, "Grading lesson %s, %s, now: %s. After that, whichever lesson you save.\n", l.Number, l.Title, why)
	// The snapshot comes first, so a file saved during a grading is
	// graded next.
	before := snapshot(root)
	grade(l)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
		after := snapshot(root)
		if changed, ok := changedLesson(root, before, after); ok {
			fmt.Fprintf(w, "\n%s: lesson %s changed, grading it\n", time.Now().Format("15:04:05"), changed.Number)
			grade(changed)
		}
		before = after
	}
}
