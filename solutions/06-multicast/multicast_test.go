package multicast

import (
	"testing"

	"udpbook/harness/lesson06"
)

// TestMulticast grades this lesson. Run it with `make check LESSON=06`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestMulticast(t *testing.T) {
	lesson06.Run(t, lesson06.Impl{
		Listen:           lesson06.Adapt(Listen),
		ErrAlreadyJoined: ErrAlreadyJoined,
		ErrNotJoined:     ErrNotJoined,
	})
}
