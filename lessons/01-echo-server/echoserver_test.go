package echoserver

import (
	"testing"

	"udpbook/harness/lesson01"
)

// TestEchoServer grades this lesson. Run it with `make check LESSON=01`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestEchoServer(t *testing.T) {
	lesson01.Run(t, lesson01.Impl{Listen: Listen, Serve: Serve})
}
