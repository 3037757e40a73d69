package lesson07_test

import (
	"testing"

	"udpbook/harness/lesson07"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket).
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	remote.TestBrokenThroughDriver(t, lesson07.Suite.GradeOne, broken, nil)
}
