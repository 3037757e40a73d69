package lesson06_test

import (
	"slices"
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson06"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket), except
// those in localOnly: the judge passes a nil func to the driver as a
// function that does nothing, so through the driver Serve never sees a nil
// handle.
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	viaDriver := slices.DeleteFunc(slices.Clone(broken), func(b harness.Broken[lesson06.Impl]) bool { return localOnly[b.Name] })
	remote.TestBrokenThroughDriver(t, lesson06.Suite.GradeOne, viaDriver, nil)
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
