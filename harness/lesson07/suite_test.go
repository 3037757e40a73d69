package lesson07_test

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"udpbook/harness"
	"udpbook/harness/lesson07"
	stub "udpbook/lessons/07-reliable"
	solution "udpbook/solutions/07-reliable"
)

var reference = adapt(
	func(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg lesson07.Config) error {
		return solution.Send(ctx, conn, peer, data, solution.Config(cfg))
	},
	func(ctx context.Context, conn net.PacketConn, cfg lesson07.Config) ([]byte, error) {
		return solution.Receive(ctx, conn, solution.Config(cfg))
	},
	solution.ErrGaveUp)

var stubImpl = adapt(
	func(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg lesson07.Config) error {
		return stub.Send(ctx, conn, peer, data, stub.Config(cfg))
	},
	func(ctx context.Context, conn net.PacketConn, cfg lesson07.Config) ([]byte, error) {
		return stub.Receive(ctx, conn, stub.Config(cfg))
	},
	stub.ErrGaveUp)

// adapt makes an Impl of functions that take and return a []byte, as the
// lesson's test file does.
func adapt(send func(ctx context.Context, conn net.PacketConn, peer string, data []byte, cfg lesson07.Config) error,
	receive func(ctx context.Context, conn net.PacketConn, cfg lesson07.Config) ([]byte, error), errGaveUp error) lesson07.Impl {
	return lesson07.Impl{
		Send: func(ctx context.Context, conn net.PacketConn, peer string, data *os.File, cfg lesson07.Config) error {
			b, err := io.ReadAll(data)
			if err != nil {
				return err
			}
			return send(ctx, conn, peer, b, cfg)
		},
		Receive: func(ctx context.Context, conn net.PacketConn, cfg lesson07.Config, out *os.File) error {
			b, err := receive(ctx, conn, cfg)
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
		ErrGaveUp: errGaveUp,
	}
}

// promises is everything lesson 07 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "wire-format", Source: "chapter", Checks: []string{"receive-in-order", "send-in-order"},
		Text: "segments and ACKs follow the chapter's wire format byte for byte, so any sender talks to any receiver"},
	{ID: "receive-exact", Source: "Receive", Checks: []string{"receive-in-order", "receive-lossy", "both-sides"},
		Text: "Receive returns every byte exactly once, in order, whatever the network loses, duplicates or reorders"},
	{ID: "send-delivers", Source: "Send", Checks: []string{"send-in-order", "send-lossy", "both-sides"},
		Text: "Send resends what is not acknowledged, as often as it takes, and returns nil once everything arrived"},
	{ID: "rto-backoff", Source: "Send", Checks: []string{"rto-backoff", "rto-adapts"},
		Text: "the RTO starts at InitialRTO, doubles after every timeout and never exceeds MaxRTO"},
	{ID: "rto-no-early", Source: "Send", Checks: []string{"rto-no-early"},
		Text: "RTO = SRTT + max(G, 4·RTTVAR), at least MinRTO: nothing is resent while its ACK is on its way"},
	{ID: "rto-karn", Source: "Send", Checks: []string{"rto-karn"},
		Text: "the RTO adapts to measured round trips, never below MinRTO, and never measures a segment sent more than once"},
	{ID: "window", Source: "Send", Checks: []string{"goodput"},
		Text: "up to cfg.Window segments are in flight at once, so goodput is not one segment per round trip"},
	{ID: "fin-acked", Source: "Send", Checks: []string{"ending"},
		Text: "Send returns nil only once its FIN is acknowledged, resending the FIN like any segment"},
	{ID: "linger", Source: "Receive", Checks: []string{"ending"},
		Text: "Receive lingers, answering repeated FINs, until the sender has been quiet for cfg.Linger"},
	{ID: "send-gives-up", Source: "Send", Checks: []string{"give-up"},
		Text: "a Send with nothing acknowledged for cfg.GiveUp returns an error wrapping ErrGaveUp, not before"},
	{ID: "receive-gives-up", Source: "Receive", Checks: []string{"give-up"},
		Text: "a Receive whose sender is silent for cfg.GiveUp returns an error wrapping ErrGaveUp"},
	{ID: "receive-hostile", Source: "Receive", Checks: []string{"receive-hostile"},
		Text: "Receive ignores malformed segments, strangers and segments MaxWindow or more ahead, and never crashes"},
	{ID: "send-hostile", Source: "Send", Checks: []string{"send-hostile"},
		Text: "Send ignores datagrams that are not ACKs from its peer and ACKs for segments never sent, and never crashes"},
	{ID: "stop", Source: "chapter", Checks: []string{"stop"},
		Text: "Send and Receive return ctx.Err() soon after ctx is done"},
	{ID: "send-clean", Source: "Send", Checks: []string{"stop"},
		Text: "Send does not close conn, and leaves no goroutine running"},
	{ID: "receive-clean", Source: "Receive", Checks: []string{"stop"},
		Text: "Receive does not close conn, and leaves no goroutine running"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it.
var broken = []harness.Broken[lesson07.Impl]{
	{Name: "reads the payload from byte 4", Msg: "your Receive returned", Fails: "receive-in-order", Promise: "wire-format", Impl: mutant{payloadFrom4: true}.impl()},
	{Name: "segments of 1,400 bytes", Msg: "more than MaxPayload", Fails: "send-in-order", Promise: "wire-format", Impl: mutant{bigSegments: true}.impl()},
	{Name: "delivers segments in the order they arrive", Msg: "your Receive returned", Fails: "receive-lossy", Promise: "receive-exact", Impl: mutant{arrivalOrder: true}.impl()},
	{Name: "delivers segments in the order they arrive (both sides)", Msg: "your Receive returned", Fails: "both-sides", Promise: "receive-exact", Impl: mutant{arrivalOrder: true}.impl()},
	{Name: "gives up on a segment after 3 sends", Msg: "Send returned error", Fails: "send-lossy", Promise: "send-delivers", Impl: mutant{maxTries: 3}.impl()},
	{Name: "no backoff", Msg: "double the RTO after each timeout", Fails: "rto-backoff", Promise: "rto-backoff", Impl: mutant{noBackoff: true}.impl()},
	{Name: "no backoff, when the round trip jumps", Msg: "want no spurious retransmission", Fails: "rto-adapts", Promise: "rto-backoff", Impl: mutant{noBackoff: true}.impl()},
	{Name: "no ceiling", Msg: "clamp the RTO to MaxRTO", Fails: "rto-backoff", Promise: "rto-backoff", Impl: mutant{noCeiling: true}.impl()},
	{Name: "RTO is SRTT alone, with no floor", Msg: "was too short", Fails: "rto-no-early", Promise: "rto-no-early", Impl: mutant{eagerRTO: true}.impl()},
	{Name: "measures resent segments from their first send (no Karn)", Msg: "breaks Karn's rule", Fails: "rto-karn", Promise: "rto-karn", Impl: mutant{noKarn: true}.impl()},
	{Name: "never measures: the RTO only backs off", Msg: "breaks Karn's rule", Fails: "rto-karn", Promise: "rto-karn", Impl: mutant{noSamples: true}.impl()},
	{Name: "no floor", Msg: "less than MinRTO", Fails: "rto-karn", Promise: "rto-karn", Impl: mutant{noFloor: true}.impl()},
	{Name: "stop-and-wait whatever the window", Msg: "want at least 50%", Fails: "goodput", Promise: "window", Impl: mutant{stopAndWait: true}.impl()},
	{Name: "Send does not wait for the FIN's ACK", Msg: "was never acknowledged", Fails: "ending", Promise: "fin-acked", Impl: mutant{finNoWait: true}.impl()},
	{Name: "Receive returns as soon as it has everything", Msg: "still waiting for ACKs", Fails: "ending", Promise: "linger", Impl: mutant{noLinger: true}.impl()},
	{Name: "Send never gives up", Msg: "your Send did not return within", Fails: "give-up", Promise: "send-gives-up", Impl: mutant{neverGiveUp: true}.impl()},
	{Name: "Send gives up with an error that does not wrap ErrGaveUp", Msg: "does not wrap ErrGaveUp", Fails: "give-up", Promise: "send-gives-up", Impl: mutant{plainGiveUp: true}.impl()},
	{Name: "Receive never gives up", Msg: "your Receive did not return within", Fails: "give-up", Promise: "receive-gives-up", Impl: mutant{recvNever: true}.impl()},
	{Name: "Receive takes segments from anyone", Msg: "your Receive", Fails: "receive-hostile", Promise: "receive-hostile", Impl: mutant{anySender: true}.impl()},
	{Name: "Receive reads a header without checking the length", Msg: "Receive panicked", Fails: "receive-hostile", Promise: "receive-hostile", Impl: mutant{panicShort: true}.impl()},
	{Name: "Receive keeps segments however far out", Msg: "but the harness has sent only", Fails: "receive-hostile", Promise: "receive-hostile", Impl: mutant{noWindow: true}.impl()},
	{Name: "Send takes ACKs from anyone", Msg: "before the harness's receiver had everything", Fails: "send-hostile", Promise: "send-hostile", Impl: mutant{anyAcker: true}.impl()},
	{Name: "Send takes ACKs for segments never sent", Msg: "before the harness's receiver had everything", Fails: "send-hostile", Promise: "send-hostile", Impl: mutant{trustAcks: true}.impl()},
	{Name: "Send reads an ACK without checking the length", Msg: "Send panicked", Fails: "send-hostile", Promise: "send-hostile", Impl: mutant{panicShortAck: true}.impl()},
	{Name: "Send ignores ctx", Msg: "your Send did not return within", Fails: "stop", Promise: "stop", Impl: mutant{sendNoCtx: true}.impl()},
	{Name: "Send leaves a goroutine running", Msg: "left 1 goroutine(s) running", Fails: "stop", Promise: "send-clean", Impl: mutant{sendLeaks: true}.impl()},
	{Name: "Receive closes conn when it returns", Msg: "Receive must not close conn", Fails: "stop", Promise: "receive-clean", Impl: mutant{recvCloses: true}.impl()},
	{Name: "Receive ignores ctx", Msg: "your Receive did not return within", Fails: "stop", Promise: "stop", Impl: mutant{recvNoCtx: true}.impl()},
}

// TestSelf is the self-test of lesson 07's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson07.Impl]{
	Suite:     &lesson07.Suite,
	Reference: reference,
	Stub:      stubImpl,
	Lesson:    "../../lessons/07-reliable",
	Promises:  promises,
	Broken:    broken,
	Timing:    timingChecks,
	// The check that counts the lesson's goroutines runs alone, at 2× only.
	Alone: map[string]bool{"stop": true},
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "rto-backoff", Stall: 300 * time.Millisecond},
	{ID: "rto-no-early", Stall: 300 * time.Millisecond},
	{ID: "rto-adapts", Stall: 300 * time.Millisecond},
	{ID: "rto-karn", Stall: 300 * time.Millisecond},
	{ID: "give-up", Stall: 600 * time.Millisecond},
	{ID: "stop", Stall: 600 * time.Millisecond},
}
