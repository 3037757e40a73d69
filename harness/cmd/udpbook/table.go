package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printTable prints one line per lesson, a total, and then what to do
// next: the first failing check of the first unfinished lesson, with its
// trace and hint.
func printTable(w io.Writer, results []LessonResult, pal palette) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  lesson\tchecks\tpoints\tstate")
	var checks, maxChecks, points, maxPoints int
	for _, r := range results {
		c, p := r.Passed()
		checks, points = checks+c, points+p
		maxChecks, maxPoints = maxChecks+len(r.Checks)-r.Skipped(), maxPoints+r.MaxPoints()
		state := r.State.String()
		if n := r.Skipped(); n > 0 {
			state += fmt.Sprintf(" (%d skipped)", n)
		}
		if r.Copied != nil {
			state += ", copied"
		}
		if r.Forged > 0 {
			state += fmt.Sprintf(", %d forged report line(s)", r.Forged)
		}
		if n, scale := r.Retried(); n > 0 {
			state += fmt.Sprintf(", %d check(s) decided at up to %d× time scale", n, scale)
		}
		if r.State == OverLimit {
			state += " (" + r.Limit + ")"
		}
		fmt.Fprintf(tw, "  %s %s\t%d/%d\t%d/%d\t%s\n", r.Lesson.Number, r.Lesson.Title, c, len(r.Checks)-r.Skipped(), p, r.MaxPoints(), pal.state(r.State, state))
	}
	if len(results) > 1 {
		fmt.Fprintf(tw, "  total\t%d/%d\t%d/%d\n", checks, maxChecks, points, maxPoints)
	}
	tw.Flush()

	for _, r := range results {
		if r.Usage.Unsandboxed != "" {
			fmt.Fprintf(w, "\nLesson %s ran without the sandbox, which could not be set up for it: %s\n", r.Lesson.Number, r.Usage.Unsandboxed)
		}
	}

	if modified := modifiedFiles(results); len(modified) > 0 {
		fmt.Fprintf(w, "\nThese files differ from the workbook's; they were graded as the workbook shipped them:\n")
		for _, m := range modified {
			fmt.Fprintf(w, "  %s\n", m)
		}
		fmt.Fprintf(w, "  (the lesson's test file and the harness are not yours to change; `udpbook reset` restores a whole lesson)\n")
	}
	printNotIsolated(w, results)

	printFlags(w, results)
	printBusy(w, results)

	for _, r := range results {
		if r.State == Done {
			continue
		}
		fmt.Fprintln(w)
		l := r.Lesson
		switch r.State {
		case NoCompile:
			fmt.Fprintf(w, "Next: lesson %s %s does not compile:\n%s\n", l.Number, l.Title, indent(r.Detail, "  "))
			fmt.Fprintf(w, "  hint: fix the first error first; later ones often follow from it. The chapter: %s\n", l.Doc())
			return
		case Refused:
			fmt.Fprintf(w, "Next: lesson %s %s is not graded:\n  %s\n", l.Number, l.Title, r.Detail)
			return
		case NotGradable:
			fmt.Fprintf(w, "Lesson %s %s could not be graded: %s\n", l.Number, l.Title, r.Detail)
			return
		}
		c, ok := r.FirstFailure()
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%s lesson %s %s, check %q: %s\n", pal.bold("Next:"), l.Number, l.Title, c.ID, c.Title)
		if r.State == OverLimit {
			fmt.Fprintf(w, "  %s\n", r.Detail)
		}
		if r.State == Crashed || r.State == TimedOut {
			fmt.Fprintf(w, "  the lesson %s; what it printed:\n%s\n", r.State, indent(r.Detail, "    "))
		}
		if c.Message != "" {
			fmt.Fprintln(w, indent(c.Message, "  "))
		}
		fmt.Fprintf(w, "  hint: %s\n", c.Hint)
		fmt.Fprintf(w, "  chapter: %s · run just this lesson: make check LESSON=%s\n", l.Doc(), l.Number)
		return
	}
	skipped := 0
	for _, r := range results {
		skipped += r.Skipped()
	}
	switch {
	case len(results) == 0:
	case skipped > 0:
		fmt.Fprintf(w, "\nEvery check that can run here passes. Well done. (%d skipped: this system cannot run "+
			"them, so they count neither way.)\n", skipped)
	default:
		fmt.Fprintln(w, "\nEvery check passes. Well done.")
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, line := range lines {
		lines[i] = prefix + line
	}
	return strings.Join(lines, "\n")
}

// modifiedFiles lists the graded files that differ from the workbook's,
// once each (the harness is shared by every lesson).
func modifiedFiles(results []LessonResult) []string {
	seen := map[string]bool{}
	var list []string
	for _, r := range results {
		for _, m := range r.Modified {
			if !seen[m.Path] {
				seen[m.Path] = true
				list = append(list, m.String())
			}
		}
	}
	return list
}

// printFlags says, lesson by lesson, what the table's state only marks: a
// lesson whose code is the reference solution's (its points stand, and an
// instructor sees the flag), and lines in a lesson's report that the
// harness did not write (they counted for nothing).
func printFlags(w io.Writer, results []LessonResult) {
	for _, r := range results {
		l := r.Lesson
		if r.Copied != nil {
			fmt.Fprintf(w, "\nLesson %s %s is %s; its points stand, and this is reported.\n", l.Number, l.Title, r.Copied)
		}
		if r.Forged > 0 {
			fmt.Fprintf(w, "\nLesson %s %s: %d line(s) in its report were not written by the harness (forged or unsigned) "+
				"and were ignored; something in the lesson's code writes to the grader's report.\n", l.Number, l.Title, r.Forged)
		}
	}
}

// printBusy says which checks the harness could judge only at a larger
// time scale, because it ran late itself: their results stand, and the
// machine was busy.
func printBusy(w io.Writer, results []LessonResult) {
	for _, r := range results {
		for _, c := range r.Checks {
			if !c.Retried() {
				continue
			}
			outcome := "passed"
			if c.Status != StatusPass {
				outcome = "was decided"
			}
			fmt.Fprintf(w, "\nLesson %s, check %q %s at %d× time scale: an attempt at a smaller scale was not judged "+
				"(%s).\n", r.Lesson.Number, c.ID, outcome, c.Scale, c.Late)
		}
	}
}
