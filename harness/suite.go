package harness

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Check is one graded behaviour of a lesson, run against an implementation
// of type I (a struct of the lesson's functions).
type Check[I any] struct {
	ID     string // subtest name: lower-case words joined by hyphens
	Title  string // what is graded, one line
	Points int
	Hint   string // advice for a learner whose code fails the check
	Run    func(c *C, impl I)
}

// CheckInfo describes a check without its code, for the grader.
type CheckInfo struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Points int    `json:"points"`
	Hint   string `json:"hint"`
}

// Suite is the list of checks of one lesson. The lesson's test file and the
// reference solution's identical test file both call Run: one suite, two
// callers.
type Suite[I any] struct {
	Checks []Check[I]
}

// Info describes the suite's checks, in order.
func (s *Suite[I]) Info() []CheckInfo {
	infos := make([]CheckInfo, len(s.Checks))
	for i, ch := range s.Checks {
		infos[i] = CheckInfo{ID: ch.ID, Title: ch.Title, Points: ch.Points, Hint: ch.Hint}
	}
	return infos
}

// Run runs every check as a subtest of t, in order. A failing subtest shows
// the check's trace and hint. When the environment variable named by
// ReportEnv is set, Run also appends one JSON line per check to that file
// for the grader.
//
// In a test binary the grader started as a driver, Run serves impl to the
// grader's judge instead (see Driver).
func (s *Suite[I]) Run(t *testing.T, impl I) {
	if Driver != nil && Driver(t, impl) {
		return
	}
	rep := openReport(t)
	s.declare(rep)
	for _, ch := range s.Checks {
		rep.write(reportLine{Event: "start", ID: ch.ID})
		var res Result
		ok := t.Run(ch.ID, func(t *testing.T) {
			res = RunCheck(ch.ID, CheckBound, func(c *C) { ch.Run(c, impl) })
			if res.Attempts > 1 {
				t.Logf("%s: decided at %d× time scale, after %d attempts; an earlier attempt was not judged: %s",
					ch.ID, res.Scale, res.Attempts, res.Late)
			}
			switch res.Status {
			case Fail:
				t.Fatalf("%s: %s\n%s\nhint: %s", ch.ID, ch.Title, res.Message, ch.Hint)
			case Skip:
				t.Skip(res.Message)
			}
		})
		if !ok && res.Status == Pass {
			// The check passed, but the testing package failed the subtest:
			// the race detector saw a data race while it ran.
			res.Status = Fail
			res.Message = "the race detector found a data race while this check ran; " +
				"run `go test -race` in the lesson's folder to see the two conflicting accesses"
		}
		rep.write(reportLine{Event: "end", ID: ch.ID, Status: res.Status, Message: res.Message,
			Millis: float64(res.Duration.Microseconds()) / 1000, Attempts: res.Attempts, Scale: res.Scale, Late: res.Late})
	}
}

// Grade runs every check against impl without a testing.T and returns the
// results in order. The harness's self-tests use it to prove that broken
// implementations fail.
func (s *Suite[I]) Grade(impl I) []Result {
	results := make([]Result, len(s.Checks))
	for i, ch := range s.Checks {
		results[i] = RunCheck(ch.ID, CheckBound, func(c *C) { ch.Run(c, impl) })
	}
	return results
}

// GradeOne runs the check with the given ID against impl.
func (s *Suite[I]) GradeOne(id string, impl I) Result {
	return s.GradeOneAt(id, impl, StartScale())
}

// GradeOneAt runs the check with the given ID against impl, starting at
// the given time scale.
func (s *Suite[I]) GradeOneAt(id string, impl I, scale int) Result {
	for _, ch := range s.Checks {
		if ch.ID == id {
			return RunCheckAt(ch.ID, CheckBound, scale, func(c *C) { ch.Run(c, impl) })
		}
	}
	panic(fmt.Sprintf("harness: no check %q in suite", id))
}

// ReportEnv names the environment variable through which the grader asks a
// lesson's test binary to write its results.
const ReportEnv = "UDPBOOK_REPORT"

// KeyEnv names the environment variable through which the grader passes
// the key that signs report lines: "fd3" for a descriptor, or the key
// itself where descriptors cannot be passed.
const KeyEnv = "UDPBOOK_KEY"

// reportKey signs report lines, so that the grader can tell them from lines
// the learner's code might write into the report file.
var reportKey = loadKey()

// Sign returns the signature of a report line: an HMAC-SHA256 of the line
// without its signature.
func Sign(key []byte, line ReportLine) string {
	line.MAC = ""
	b, _ := json.Marshal(line)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// reportLine is one line of the report file: the checks this run grades
// (first), a check started, or a check ended with its result. A check that
// started and never ended was running when the test binary crashed or was
// killed.
type reportLine struct {
	Event   string      `json:"event"` // declare, start or end
	Checks  []CheckInfo `json:"checks,omitempty"`
	ID      string      `json:"id,omitempty"`
	Status  Status      `json:"status,omitempty"`
	Message string      `json:"message,omitempty"`
	Millis  float64     `json:"ms,omitempty"`
	// Attempts and Scale say how often the check ran and at what time
	// scale the deciding attempt ran; Late why the one before it was not
	// judged (see C.Timed).
	Attempts int    `json:"attempts,omitempty"`
	Scale    int    `json:"scale,omitempty"`
	Late     string `json:"late,omitempty"`
	MAC      string `json:"mac,omitempty"`
}

// ReportLine is the exported form of one report line, for the grader.
type ReportLine = reportLine

// report is the report file named by ReportEnv, or nothing when it is
// not set. Lines are signed with the grader's key.
type report struct {
	mu sync.Mutex
	f  *os.File
}

func openReportFile(name string) (*report, error) {
	if name == "" {
		return &report{}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open report file: %w", err)
	}
	return &report{f: f}, nil
}

func openReport(t *testing.T) *report {
	r, err := openReportFile(os.Getenv(ReportEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func (r *report) write(line reportLine) {
	if r.f == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reportKey != nil {
		line.MAC = Sign(reportKey, line)
	}
	b, _ := json.Marshal(line)
	// Each line goes out in one write so that a crash leaves whole lines.
	r.f.Write(append(b, '\n'))
}

func (r *report) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// declare writes the suite's checks, as this run grades them: the grader
// takes titles and points from this line, not from its own build.
func (s *Suite[I]) declare(r *report) {
	r.write(reportLine{Event: "declare", Checks: s.Info()})
}

// Call runs f, a call into learner code described by call (such as
// `Listen("127.0.0.1:0")`), on its own goroutine and waits at most d for it.
// A panic in f, or a call still running after d, fails the check with a
// message naming the call, so a learner's deadlock or panic never takes the
// grader down with it.
func (c *C) Call(call string, d time.Duration, f func()) {
	done := make(chan string, 1) // why f did not return normally, or ""
	go func() {
		returned := false
		defer func() {
			why := ""
			if r := recover(); r != nil {
				why = fmt.Sprintf("panicked: %v\n%s", r, panicFrames(debug.Stack()))
			} else if !returned {
				why = "ended its goroutine with runtime.Goexit instead of returning"
			}
			done <- why
		}()
		f()
		returned = true
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case why := <-done:
		if why != "" {
			c.Fatalf("%s %s", call, why)
		}
	case <-t.C:
		c.Fatalf("%s did not return within %v: something in it blocks forever "+
			"(a read without a deadline, a channel nobody sends on, a lock held forever)", call, d)
	}
}

// Running is a long-running call into learner code, such as Serve, that a
// check started with Go.
type Running struct {
	call     string
	done     chan error // the call's result, sent once
	expected atomic.Bool
	err      error
	finished bool
}

// Go runs f, a long-running call into learner code described by call (such
// as "Serve"), on its own goroutine, and returns at once.
//
// A panic in f fails the check at once with the panic's value and where in
// the learner's code it happened, whatever the check does next; so does a
// runtime.Goexit. If f returns before
// the check has said it should (see Running.Expect), the check is aborted
// with "<call> returned while it should still be running", so every wait
// ends at once and a stub fails in milliseconds. When the check ends, Go
// waits up to Patience for f to return: stop it first with a clean-up
// registered after Go returns (clean-ups run last registered first), which
// cancels its context or closes its socket.
func (c *C) Go(call string, f func() error) *Running {
	r := &Running{call: call, done: make(chan error, 1)}
	go func() {
		var err error
		returned := false
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s panicked: %v\n%s", call, p, panicFrames(debug.Stack()))
			} else if !returned {
				err = fmt.Errorf("%s ended its goroutine with runtime.Goexit instead of returning", call)
			}
			if err != nil && !returned {
				// The check fails for this, whatever it does next.
				c.finish(Fail, err.Error())
				c.Abort(err)
			} else if !r.expected.Load() {
				c.Abort(fmt.Errorf("%s returned while it should still be running: %v", call, err))
			}
			r.done <- err
		}()
		err = f()
		returned = true
	}()
	c.Cleanup(func() {
		r.Expect()
		r.Wait(Patience)
	})
	return r
}

// Expect says that the call may return from now on: call it just before
// cancelling the call's context or closing its socket.
func (r *Running) Expect() { r.expected.Store(true) }

// Wait waits at most d for the call to return, and returns its result and
// true, or false if it is still running. Once it has returned, Wait returns
// the same result at once. Call it from the check's goroutine only.
func (r *Running) Wait(d time.Duration) (error, bool) {
	if r.finished {
		return r.err, true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r.err = <-r.done:
		r.finished = true
		return r.err, true
	case <-t.C:
		return nil, false
	}
}
