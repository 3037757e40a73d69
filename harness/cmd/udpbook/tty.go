package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"udpbook/harness/registry"
)

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// useColour reports whether to colour output to w: only on a terminal,
// and never when NO_COLOR is set (https://no-color.org) or TERM is dumb.
func useColour(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// palette colours text, or leaves it plain.
type palette struct{ on bool }

func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// state paints text, which describes a lesson in state s, in the colour
// of that state.
func (p palette) state(s State, text string) string {
	switch s {
	case Done:
		return p.paint("32", text) // green
	case InProgress:
		return p.paint("33", text) // yellow
	case NotStarted:
		return text
	}
	return p.paint("31", text) // red: does not compile, crashed, timed out
}

func (p palette) bold(s string) string { return p.paint("1", s) }

// progressLine shows, on one line of a terminal that it rewrites, what
// each lesson being graded is doing.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	state map[string]string
	width int
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, state: map[string]string{}}
}

func (p *progressLine) update(l registry.Lesson, event string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if event == "done" {
		delete(p.state, l.Number)
	} else {
		p.state[l.Number] = event
	}
	var parts []string
	for n, e := range p.state {
		parts = append(parts, n+" "+e)
	}
	sort.Strings(parts)
	line := ""
	if len(parts) > 0 {
		line = "grading: " + strings.Join(parts, " · ")
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s\r", line, pad)
	p.width = len(line)
}

// clear removes the progress line.
func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

// progressLines reports what each lesson being graded is doing as plain
// lines, for an output that is not a terminal (a pipe, a CI log, an
// editor's task runner): without them a first grading, which builds every
// lesson, would print nothing for a minute.
func progressLines(w io.Writer) func(l registry.Lesson, event string) {
	var mu sync.Mutex
	return func(l registry.Lesson, event string) {
		var line string
		switch event {
		case "building":
			line = fmt.Sprintf("udpbook: building lesson %s (up to a minute the first time, then under a second)", l.Number)
		case "running":
			line = fmt.Sprintf("udpbook: running lesson %s's checks", l.Number)
		default:
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, line)
	}
}
