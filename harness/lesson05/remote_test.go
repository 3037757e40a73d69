package lesson05_test

import (
	"testing"

	"udpbook/harness/lesson05"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket).
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	remote.TestBrokenThroughDriver(t, lesson05.Suite.GradeOne, broken, slackMessages)
}

// slackMessages are the failures whose reason reads differently through
// the driver: a channel passed between the processes holds one message on
// the way, so the harness's put on send completes before the learner's
// code takes it, and the failure is seen one step later.
var slackMessages = map[string]string{
	"takes turns: waits for a datagram before sending": `to receive "hi" from your Talk`,
}
