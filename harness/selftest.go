package harness

import (
	"strings"
	"testing"
	"time"
)

// Timing names a timing check of a suite for the self-tests, with a stall
// long enough that a verdict taken through it would fail a correct
// implementation.
type Timing struct {
	ID    string
	Stall time.Duration
}

// Broken is a deliberately wrong implementation for the self-tests: the
// check it must fail, and a piece of the failure message that proves it
// failed for the stated reason.
type Broken[I any] struct {
	Name  string // what is wrong with it
	Msg   string // a piece of the failure message
	Fails string // the check that must fail it
	Impl  I
}

// TestRetriesWhenLate grades each timing check against reference with the
// harness stalled in its first attempt (see InjectStall), and fails t
// unless the check noticed, tried again at a larger time scale and passed:
// a harness that runs late must not blame a correct implementation.
func TestRetriesWhenLate[I any](t *testing.T, s *Suite[I], reference I, checks []Timing) {
	t.Helper()
	for _, tc := range checks {
		t.Run(tc.ID, func(t *testing.T) {
			defer InjectStall(tc.ID, StartScale(), tc.Stall)()
			res := s.GradeOne(tc.ID, reference)
			if res.Status != Pass {
				t.Fatalf("check %q with the harness stalled %v: %s, want pass at a larger scale:\n%s",
					tc.ID, tc.Stall, res.Status, res.Message)
			}
			if res.Attempts < 2 || res.Late == "" {
				t.Fatalf("check %q with the harness stalled %v passed in %d attempt(s) at %d× scale: the stall went unnoticed",
					tc.ID, tc.Stall, res.Attempts, res.Scale)
			}
			t.Logf("check %q passed at %d× time scale after %d attempts; an earlier attempt was inconclusive: %s",
				tc.ID, res.Scale, res.Attempts, res.Late)
		})
	}
}

// TestFailsAtEveryScale grades every broken implementation of a timing
// check starting at each of scales, and fails t unless each fails for its
// stated reason every time: a larger time scale must not let a wrong
// implementation through. The gradings mostly wait, so they run at the
// same time, except those of checks in alone (checks that count the
// lesson's goroutines, which cannot share the process), which run one
// after the other at the first scale only.
func TestFailsAtEveryScale[I any](t *testing.T, s *Suite[I], broken []Broken[I], checks []Timing, scales []int, alone map[string]bool) {
	t.Helper()
	timing := map[string]bool{}
	for _, tc := range checks {
		timing[tc.ID] = true
	}
	type outcome struct {
		scale int
		b     Broken[I]
		res   Result
	}
	results := make(chan outcome)
	judge := func(o outcome) {
		if o.res.Status != Fail || !strings.Contains(o.res.Message, o.b.Msg) {
			t.Errorf("starting at %d× time scale, check %q gave %s to a broken implementation (%s), want a failure containing %q:\n%s",
				o.scale, o.b.Fails, o.res.Status, o.b.Name, o.b.Msg, o.res.Message)
		}
	}
	n := 0
	var sequential []Broken[I]
	for i, scale := range scales {
		for _, b := range broken {
			switch {
			case !timing[b.Fails]:
			case alone[b.Fails]:
				if i == 0 {
					sequential = append(sequential, b)
				}
			default:
				n++
				go func() { results <- outcome{scale, b, s.GradeOneAt(b.Fails, b.Impl, scale)} }()
			}
		}
	}
	for range n {
		judge(<-results)
	}
	// Then, with nothing else running, the checks that must run alone.
	for _, b := range sequential {
		judge(outcome{scales[0], b, s.GradeOneAt(b.Fails, b.Impl, scales[0])})
	}
}
