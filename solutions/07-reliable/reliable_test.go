package reliable

import (
	"context"
	"net"
	"testing"

	"udpbook/harness/lesson07"
)

// TestReliable grades this lesson. Run it with `make check LESSON=07`
// from the top of the workbook, or with `go test` in this folder.
//
// This file is the same in lessons/ and solutions/. Do not edit it: the
// grader checks it against its own copy.
func TestReliable(t *testing.T) {
	lesson07.Run(t, lesson07.Adapt(
		// Config(cfg) converts the grader's Config into yours: it compiles
		// only while the two have the same fields.
		func(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg lesson07.Config) error {
			return Send(ctx, conn, peer, data, Config(cfg))
		},
		func(ctx context.Context, conn net.PacketConn, cfg lesson07.Config) ([]byte, error) {
			return Receive(ctx, conn, Config(cfg))
		},
		ErrGaveUp,
	))
}
