package connected

import (
	"testing"

	"udpbook/harness/lesson03"
)

// TestConnectedUDP grades this lesson. Run it with `make check LESSON=03`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestConnectedUDP(t *testing.T) {
	lesson03.Run(t, lesson03.Impl{Dial: lesson03.DialFunc(Dial)})
}
