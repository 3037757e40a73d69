package lesson01_test

import (
	"strings"
	"testing"

	"udpbook/harness"
	"udpbook/harness/lesson01"
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
			res := lesson01.Suite.GradeOne(b.fails, remote.Proxy[lesson01.Impl](cl))
			if res.Status == harness.Skip {
				t.Skipf("check %q cannot run here: %s", b.fails, res.Message)
			}
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s) through the driver; want fail\n%s", b.fails, res.Status, b.name, res.Message)
			}
			if !strings.Contains(res.Message, b.msg) {
				t.Fatalf("check %q failed through the driver, but not for the reason expected: the message lacks %q:\n%s", b.fails, b.msg, res.Message)
			}
		})
	}
}
