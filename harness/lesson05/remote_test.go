package lesson05_test

import (
	"strings"
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson05"
	"udpbook/harness/remote"
)

// Every broken implementation fails its check for the same reason when the
// check runs in a judge and the implementation in a driver, as the grader
// runs them (here both in this process, over a control socket).
func TestBrokenImplementationsFailThroughTheDriver(t *testing.T) {
	if !remote.Supported {
		t.Skip("the judge and the driver need descriptor passing")
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			cl, stop := remote.Loopback(t, b.impl)
			defer stop()
			res := lesson05.Suite.GradeOne(b.fails, remote.Proxy[lesson05.Impl](cl))
			if res.Status == harness.Skip {
				t.Skipf("check %q cannot run here: %s", b.fails, res.Message)
			}
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s) through the driver; want fail\n%s", b.fails, res.Status, b.name, res.Message)
			}
			msg := b.msg
			if alt, ok := slackMessages[b.name]; ok {
				msg = alt
			}
			if !strings.Contains(res.Message, msg) {
				t.Fatalf("check %q failed through the driver, but not for the reason expected: the message lacks %q:\n%s", b.fails, msg, res.Message)
			}
		})
	}
}

// slackMessages are the failures whose reason reads differently through
// the driver: a channel passed between the processes holds one message on
// the way, so the harness's put on send completes before the learner's
// code takes it, and the failure is seen one step later.
var slackMessages = map[string]string{
	"takes turns: waits for a datagram before sending": `to receive "hi" from your Talk`,
}
