package echoclient

import (
	"context"
	"testing"
	"time"

	"udpbook/harness/lesson02"
)

// TestEchoClient grades this lesson. Run it with `make check LESSON=02`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestEchoClient(t *testing.T) {
	lesson02.Run(t, lesson02.Impl{
		Greet: func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error) {
			return Greet(ctx, addr, names, Options{Timeout: timeout, Attempts: attempts})
		},
	})
}
