package lesson03_test

import (
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson03"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket).
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	remote.TestBrokenThroughDriver(t, lesson03.Suite.GradeOne, throughDriver(), nil)
}

// throughDriver is broken without the cases the driver cannot reproduce.
// A nil func does not cross the control socket as nil: the driver hands the
// learner's code a function that calls the judge's, so a SendEvery that
// calls a nil refused does not panic there. (The shared fix: the judge's
// encoder sends a nil func as null, and the driver decodes null as a nil
// func.)
func throughDriver() []harness.Broken[lesson03.Impl] {
	var kit []harness.Broken[lesson03.Impl]
	for _, b := range broken {
		if b.Promise != "send-every-refused-nil" {
			kit = append(kit, b)
		}
	}
	return kit
}
