package lesson06_test

import (
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson06"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket). A nil
// handle reaches the learner's Serve as nil there too.
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	remote.TestBrokenThroughDriver(t, lesson06.Suite.GradeOne, broken, nil)
}

// The reference passes every check through the driver too: the checks that
// bind the member's ports after Close, or share its port, must not be
// fooled by the judge's copies of the learner's sockets.
func TestReferencePassesThroughTheDriver(t *testing.T) {
	if !remote.Supported {
		t.Skip("the judge and the driver need descriptor passing")
	}
	cl, stop := remote.Loopback(t, reference)
	defer stop()
	for _, res := range lesson06.Suite.Grade(remote.Proxy[lesson06.Impl](cl)) {
		switch {
		case res.Status == harness.Skip && res.Missing != "":
			t.Logf("check %q skipped: %s", res.ID, res.Message)
		case res.Status != harness.Pass:
			t.Errorf("reference solution through the driver: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}
