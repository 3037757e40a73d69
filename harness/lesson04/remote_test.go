package lesson04_test

import (
	"strings"
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson04"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket). The
// socket-activation checks are left out: their child processes are this
// test binary started again, which serves the implementations in process.
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	var kit []harness.Broken[lesson04.Impl]
	for _, b := range broken {
		if !strings.Contains(b.Fails, "activat") {
			kit = append(kit, b)
		}
	}
	grade := func(id string, impl lesson04.Impl) harness.Result { return lesson04.GradeOne(t, id, impl) }
	remote.TestBrokenThroughDriver(t, grade, kit, nil)
}
