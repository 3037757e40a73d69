// Package chat's test: lesson 05's own test file, lessons/05-chat/chat_test.go,
// graded against this alternative implementation (see chat.go).

package chat

import (
	"context"
	"net"
	"testing"

	"udpbook/harness/lesson05"
)

// TestChat grades this lesson. Run it with `make check LESSON=05`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestChat(t *testing.T) {
	lesson05.Run(t, lesson05.Impl{
		// Config(cfg) converts the grader's Config into yours: it compiles
		// only while the two have the same fields.
		Serve: func(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
			return Serve(ctx, conn, Config(cfg))
		},
		Join: func(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
			return Join(ctx, server, Config(cfg), send, recv)
		},
		Talk:          Talk,
		ErrServerDown: ErrServerDown,
	})
}
