package remote

import (
	"strings"
	"testing"

	"udpbook/harness"
)

// TestBrokenThroughDriver grades every broken implementation through a
// driver in this process, over a control socket, as the grader runs a
// lesson, and fails t unless each fails its check for the reason it
// states. grade grades one check (the suite's GradeOne for most lessons);
// alt gives, by name, the reason of a broken implementation whose failure
// reads differently through the driver.
func TestBrokenThroughDriver[I any](t *testing.T, grade func(id string, impl I) harness.Result,
	broken []harness.Broken[I], alt map[string]string) {
	t.Helper()
	if !Supported {
		t.Skip("the judge and the driver need descriptor passing")
	}
	for _, b := range broken {
		t.Run(b.Name+" ("+b.Fails+")", func(t *testing.T) {
			if b.Needs != nil {
				if why := b.Needs.Missing(); why != "" {
					t.Skipf("check %q catches this only with %s: %s", b.Fails, b.Needs.Name, why)
				}
			}
			cl, stop := Loopback(t, b.Impl)
			defer stop()
			res := grade(b.Fails, Proxy[I](cl))
			if res.Status == harness.Skip {
				t.Skipf("check %q cannot run here: %s", b.Fails, res.Message)
			}
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s) through the driver; want fail\n%s",
					b.Fails, res.Status, b.Name, res.Message)
			}
			msg := b.Msg
			if m, ok := alt[b.Name]; ok {
				msg = m
			}
			if !strings.Contains(res.Message, msg) {
				t.Fatalf("check %q failed through the driver, but not for the reason expected: the message lacks %q:\n%s",
					b.Fails, msg, res.Message)
			}
		})
	}
}
