package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"udpbook/harness/registry"
)

// The numbers the README and the chapters quote (a lesson's checks and
// points in a sample table, "N points in all") are the grader's: a test
// fails when they drift, as they did when checks were added.

var (
	// "  02 echo client   0/10     0/19     not started"
	tableRow = regexp.MustCompile(`(?m)^\s+(\d\d) (.+?)\s{2,}(\d+)/(\d+)\s+(\d+)/(\d+)\s+(.+)$`)
	// "(19 points in all)", "46 points in all"
	pointsInAll = regexp.MustCompile(`(\d+) points in all`)
	// "the row reads `10/10  19/19  done`"
	rowReads = regexp.MustCompile("`(\\d+)/(\\d+)\\s+(\\d+)/(\\d+)\\s+done`")
)

func TestDocsQuoteTheGradersNumbers(t *testing.T) {
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	lessons := map[string]registry.Lesson{}
	for _, l := range registry.Lessons() {
		lessons[l.Number] = l
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		rel, _ := filepath.Rel(root, name)
		lineOf := func(i int) int { return strings.Count(text[:i], "\n") + 1 }

		if i := strings.Index(text, "make: ***"); i >= 0 {
			t.Errorf("%s:%d quotes make failing; `make check` ends with status 0 when lessons are unfinished", rel, lineOf(i))
		}
		for _, m := range tableRow.FindAllStringSubmatchIndex(text, -1) {
			g := func(k int) string { return text[m[2*k]:m[2*k+1]] }
			l, ok := lessons[g(1)]
			if !ok {
				continue // not a row of the lessons' table
			}
			at := fmt.Sprintf("%s:%d", rel, lineOf(m[0]))
			checks, _ := strconv.Atoi(g(4))
			points, _ := strconv.Atoi(g(6))
			if strings.TrimSpace(g(2)) != l.Title {
				t.Errorf("%s: lesson %s is titled %q, the grader says %q", at, l.Number, strings.TrimSpace(g(2)), l.Title)
			}
			if checks != len(l.Checks) || points != l.Points() {
				t.Errorf("%s: lesson %s has %d checks and %d points, the grader says %d and %d",
					at, l.Number, checks, points, len(l.Checks), l.Points())
			}
			if strings.HasPrefix(g(7), "done") && (g(3) != g(4) || g(5) != g(6)) {
				t.Errorf("%s: a done row with %s/%s checks and %s/%s points", at, g(3), g(4), g(5), g(6))
			}
		}
		// A chapter's own totals.
		number := strings.SplitN(filepath.Base(name), "-", 2)[0]
		l, ok := lessons[number]
		if !ok {
			continue
		}
		for _, m := range pointsInAll.FindAllStringSubmatchIndex(text, -1) {
			if n, _ := strconv.Atoi(text[m[2]:m[3]]); n != l.Points() {
				t.Errorf("%s:%d says %d points in all; the grader gives lesson %s %d", rel, lineOf(m[0]), n, l.Number, l.Points())
			}
		}
		for _, m := range rowReads.FindAllStringSubmatchIndex(text, -1) {
			c, _ := strconv.Atoi(text[m[4]:m[5]])
			p, _ := strconv.Atoi(text[m[8]:m[9]])
			if c != len(l.Checks) || p != l.Points() {
				t.Errorf("%s:%d says the done row reads %s; the grader gives %d checks and %d points",
					rel, lineOf(m[0]), text[m[0]:m[1]], len(l.Checks), l.Points())
			}
		}
	}
}
