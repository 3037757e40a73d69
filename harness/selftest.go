package harness

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
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
	Name    string // what is wrong with it
	Msg     string // a piece of the failure message
	Fails   string // the check that must fail it
	Promise string // the ID of the promise it breaks (see Promise)
	Impl    I
	// Needs, if set, is a capability without which the check cannot catch
	// this mistake; where the host lacks it, the case is skipped.
	Needs *Capability
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
			if res.Status == Skip && res.Missing != "" {
				t.Skipf("check %q cannot run here: %s", tc.ID, res.Message)
			}
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
		if o.res.Status == Skip && o.res.Missing != "" {
			t.Logf("check %q skipped: %s", o.b.Fails, o.res.Message)
			return
		}
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

// NotWritten is what every stub's error says: "Serve is not written yet:
// see docs/01-echo-server.md, step 2". A lesson whose every failure says it
// has not been started.
const NotWritten = "is not written yet"

// Promise is one thing a lesson promises: a sentence of a doc comment, or a
// rule or "common mistake" of its chapter. A lesson's self-tests list them
// all; each names the checks that enforce it, and at least one broken
// implementation breaks it and nothing else (see SelfTest).
type Promise struct {
	ID     string   // short and unique in the lesson: "reply-to-sender"
	Source string   // where it is promised: an exported name ("Serve", "Server.Close") or "chapter"
	Text   string   // the promise, as a learner reads it
	Checks []string // the checks that fail an implementation that breaks it
}

// SelfTest is everything a lesson's self-tests need. Run proves, in this
// order, that:
//   - every promise has a check and a broken implementation, every exported
//     function and method of the lesson is the source of a promise, and every
//     check fails at least one broken implementation;
//   - the reference passes every check;
//   - the stub fails every check at once, with a message that says what to
//     write next;
//   - every broken implementation fails its check, with a message that
//     proves it failed for the stated reason;
//   - every timing check retries when the harness is late, and fails its
//     broken implementations at every time scale.
//
// A check skipped because the host lacks a capability (see C.Require)
// counts neither way, and the test says so.
type SelfTest[I any] struct {
	Suite     *Suite[I]
	Reference I
	Stub      I
	// StubMessage is what every check's failure says of the stub; by
	// default "is not written yet".
	StubMessage string
	Promises    []Promise
	Broken      []Broken[I]
	// Lesson is the lesson's folder, relative to the self-tests'
	// ("../../lessons/01-echo-server"). Each exported function and method in
	// it, named as Promise.Source names it ("Serve", "Server.Close"), must be
	// the source of a promise.
	Lesson string
	Timing []Timing
	// Alone names timing checks that count the lesson's goroutines and so
	// cannot share the process with other gradings.
	Alone map[string]bool
}

// Run runs the self-tests as subtests of t.
func (st *SelfTest[I]) Run(t *testing.T) {
	t.Run("promises", st.TestPromises)
	t.Run("reference", st.TestReference)
	t.Run("stub", st.TestStub)
	t.Run("broken", st.TestBroken)
	if len(st.Timing) > 0 {
		t.Run("timing-late", func(t *testing.T) { TestRetriesWhenLate(t, st.Suite, st.Reference, st.Timing) })
		t.Run("timing-scales", func(t *testing.T) {
			TestFailsAtEveryScale(t, st.Suite, st.Broken, st.Timing, []int{2, 4, 8}, st.Alone)
		})
	}
}

// TestPromises fails t for each problem that Problems finds.
func (st *SelfTest[I]) TestPromises(t *testing.T) {
	for _, p := range st.Problems() {
		t.Error(p)
	}
}

// Problems lists what is missing from the self-tests: a promise without a
// check or a broken implementation, a broken implementation that names no
// known promise or fails a check its promise does not name, an exported
// function without a promise, and a check that fails no broken
// implementation.
func (st *SelfTest[I]) Problems() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	checks := map[string]bool{}
	for _, ch := range st.Suite.Checks {
		checks[ch.ID] = true
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			add("check %q needs points, a title and a hint", ch.ID)
		}
	}
	promises := map[string]Promise{}
	sources := map[string]bool{}
	for _, p := range st.Promises {
		if _, dup := promises[p.ID]; dup {
			add("promise %q is listed twice", p.ID)
		}
		promises[p.ID] = p
		sources[p.Source] = true
		if p.Text == "" || p.Source == "" {
			add("promise %q needs a text and a source", p.ID)
		}
		if len(p.Checks) == 0 {
			add("promise %q (%s) has no check", p.ID, p.Text)
		}
		for _, id := range p.Checks {
			if !checks[id] {
				add("promise %q names check %q, which the suite does not have", p.ID, id)
			}
		}
	}
	broken := map[string]bool{}
	caught := map[string]bool{}
	for _, b := range st.Broken {
		caught[b.Fails] = true
		p, ok := promises[b.Promise]
		if !ok {
			add("broken implementation %q names promise %q, which is not in the table", b.Name, b.Promise)
			continue
		}
		broken[b.Promise] = true
		if !slices.Contains(p.Checks, b.Fails) {
			add("broken implementation %q must fail check %q, which promise %q does not name as one of its checks %q",
				b.Name, b.Fails, b.Promise, p.Checks)
		}
	}
	for _, p := range st.Promises {
		if !broken[p.ID] {
			add("promise %q (%s) has no broken implementation that breaks it", p.ID, p.Text)
		}
	}
	exported, err := exportedFuncs(st.Lesson)
	if err != nil {
		add("listing the lesson's exported functions: %v", err)
	}
	for _, name := range exported {
		if !sources[name] {
			add("%s has no promise: list what its doc comment promises", name)
		}
	}
	for _, ch := range st.Suite.Checks {
		if !caught[ch.ID] {
			add("check %q has no broken implementation that it fails: a check that cannot fail is a defect", ch.ID)
		}
	}
	return problems
}

// TestReference fails t unless the reference passes every check.
func (st *SelfTest[I]) TestReference(t *testing.T) {
	for _, res := range st.Suite.Grade(st.Reference) {
		switch {
		case res.Status == Skip && res.Missing != "":
			t.Logf("reference solution: check %q skipped: %s", res.ID, res.Message)
		case res.Status != Pass:
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

// TestStub fails t unless the stub fails every check at once with a
// message that says what to write next: a check that waited for a datagram
// from a stub would take Patience.
func (st *SelfTest[I]) TestStub(t *testing.T) {
	want := st.StubMessage
	if want == "" {
		want = NotWritten
	}
	for _, res := range st.Suite.Grade(st.Stub) {
		switch {
		case res.Status == Skip && res.Missing != "":
			t.Logf("stub: check %q skipped: %s", res.ID, res.Message)
		case res.Status != Fail || !strings.Contains(res.Message, want):
			t.Errorf("stub: check %q: %s, want a failure that says what to write next (%q); message:\n%s",
				res.ID, res.Status, want, res.Message)
		case res.Duration > Patience/2:
			t.Errorf("stub: check %q took %v; want it to fail at once", res.ID, res.Duration)
		}
	}
}

// TestBroken fails t unless every broken implementation fails its check
// with a message containing its Msg.
func (st *SelfTest[I]) TestBroken(t *testing.T) {
	for _, b := range st.Broken {
		t.Run(b.Name, func(t *testing.T) {
			if b.Needs != nil {
				if why := b.Needs.Missing(); why != "" {
					t.Skipf("check %q catches this only with %s: %s", b.Fails, b.Needs.Name, why)
				}
			}
			res := st.Suite.GradeOne(b.Fails, b.Impl)
			if res.Status == Skip && res.Missing != "" {
				t.Skipf("check %q cannot run here: %s", b.Fails, res.Message)
			}
			if res.Status != Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail\n%s", b.Fails, res.Status, b.Name, res.Message)
			}
			if !strings.Contains(res.Message, b.Msg) {
				t.Fatalf("check %q failed, but not for the reason expected: the message lacks %q:\n%s", b.Fails, b.Msg, res.Message)
			}
			t.Logf("check %q failed it, as it should:\n%s", b.Fails, res.Message)
		})
	}
}

// exportedFuncs lists the exported functions, and the exported methods of
// exported types, declared in the Go files of dir (not its tests), as
// "Func" and "Type.Method".
func exportedFuncs(dir string) ([]string, error) {
	if dir == "" {
		return nil, errors.New("SelfTest.Lesson is not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			if fn.Recv == nil {
				names = append(names, fn.Name.Name)
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
				names = append(names, id.Name+"."+fn.Name.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no exported functions in %s", dir)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
