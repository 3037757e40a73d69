package main

import (
	"fmt"
	"io"
	"strings"
)

// printNotIsolated says which lessons ran their checks in the learner's own
// process (where the system cannot pass descriptors between processes):
// their results are only as trustworthy as the learner's code.
func printNotIsolated(w io.Writer, results []LessonResult) {
	var numbers []string
	for _, r := range results {
		switch r.State {
		case NoCompile, Refused, NotGradable:
			continue // nothing ran
		}
		if !r.Isolated {
			numbers = append(numbers, r.Lesson.Number)
		}
	}
	if len(numbers) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNot isolated: lesson %s ran its checks in the same process as the lesson's code "+
		"(this system cannot pass descriptors between processes).\n",
		strings.Join(numbers, ", "))
}
