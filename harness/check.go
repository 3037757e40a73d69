package harness

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Status is the outcome of one check.
type Status string

// The outcomes a check can have. The grader adds its own for lessons that
// do not compile or do not finish.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// CheckBound is the longest one check may take. A check that is still
// running then fails with a message saying so, and grading goes on with the
// next check; whatever the learner's code was doing is left behind.
const CheckBound = 10 * time.Second

// Patience is how long the harness waits for a datagram that should arrive.
// On loopback a reply takes well under a millisecond; the bound is generous
// so that a loaded machine running the race detector never fails a correct
// solution. Waits end as soon as the datagram arrives, so a passing check
// never waits this long.
const Patience = time.Second

// Result is what running one check produced.
type Result struct {
	ID       string
	Status   Status
	Message  string        // for Fail and Skip: what happened, with the datagram trace
	Duration time.Duration // all attempts together
	Attempts int           // how many times the check ran: more than 1 when the harness ran late
	Scale    int           // the time scale of the attempt that decided
	Late     string        // why the last inconclusive attempt was not judged, if any
	Missing  string        // for Skip: the capability this host lacks (see C.Require), if that was why
}

// errCheckOver is the cause of a C's context when the check ends normally.
var errCheckOver = errors.New("check is over")

// C is the state of one running check: its trace of datagrams, its
// clean-ups and its outcome. Checks receive a *C the way tests receive a
// *testing.T. C implements testify's require.TestingT, so
// require.NoError(c, err) works for set-up steps.
//
// Fatalf, FailNow and Skipf stop the check's goroutine at once (with
// runtime.Goexit), so they must be called from the goroutine running the
// check; other goroutines report back over channels, or call Abort.
type C struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	clock  clock

	exiting atomic.Bool // the harness itself is ending the check's goroutine

	mu       sync.Mutex
	trace    []string
	names    map[netip.AddrPort]string
	cleanups []func()
	status   Status
	message  string
	missing  string   // the capability whose absence skipped the check
	pending  []string // messages from Errorf not yet ended by FailNow
}

func newC(id string, scale int, confirm bool) *C {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &C{ctx: ctx, cancel: cancel, clock: clock{id: id, scale: scale, confirm: confirm},
		names: map[netip.AddrPort]string{}, status: Pass}
}

// exit ends the check's goroutine. Only the harness's own ways out (Fatalf,
// FailNow, Skipf, Late) call it; any other runtime.Goexit on the check's
// goroutine comes from the learner's code, and fails the check.
func (c *C) exit() {
	c.exiting.Store(true)
	runtime.Goexit()
}

// Context returns a context that is done when the check ends or when
// Abort is called. Pass it to the learner's long-running functions.
func (c *C) Context() context.Context { return c.ctx }

// Abort ends every wait of the check at once: a Peer waiting for a datagram
// fails with err as the reason. Call it from a goroutine that saw the
// learner's code stop when it should have kept going (a Serve that returned
// early, say), so that a stub fails in milliseconds instead of after
// Patience.
func (c *C) Abort(err error) { c.cancel(err) }

// aborted returns the reason given to Abort, or nil.
func (c *C) aborted() error {
	if c.ctx.Err() == nil {
		return nil
	}
	if err := context.Cause(c.ctx); err != nil && !errors.Is(err, errCheckOver) {
		return err
	}
	return nil
}

// Helper does nothing; it lets C stand in for a testing.TB.
func (c *C) Helper() {}

// Step adds a line to the check's trace: what happened, in order. Sends and
// receives through a Peer or Relay are added automatically.
func (c *C) Step(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trace = append(c.trace, fmt.Sprintf(format, args...))
}

// Name gives addr a name for the trace, such as "your server".
func (c *C) Name(addr netip.AddrPort, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[addr] = name
}

// NameNew names addr as Name does, unless it has a name already.
func (c *C) NameNew(addr netip.AddrPort, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.names[addr]; !ok {
		c.names[addr] = name
	}
}

// Who returns addr with its name for the trace: "your server 127.0.0.1:40312".
func (c *C) Who(addr netip.AddrPort) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.names[addr]; ok {
		return name + " " + addr.String()
	}
	return addr.String()
}

// Fatalf ends the check as failed. The message becomes the last numbered
// step of the trace, so the learner reads what was sent, what came back and
// what was expected, in order.
func (c *C) Fatalf(format string, args ...any) {
	c.finish(Fail, fmt.Sprintf(format, args...))
	c.exit()
}

// Errorf records a failure without stopping; testify calls it before
// FailNow.
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, fmt.Sprintf(format, args...))
}

// FailNow ends the check as failed with the messages given to Errorf.
func (c *C) FailNow() {
	c.mu.Lock()
	msg := strings.Join(c.pending, "\n")
	c.mu.Unlock()
	if msg == "" {
		msg = "check failed"
	}
	c.finish(Fail, msg)
	c.exit()
}

// Skipf ends the check as skipped, with the reason. Use it only where the
// system cannot do what is checked (no IPv6 loopback, say), never for a
// learner's mistake.
func (c *C) Skipf(format string, args ...any) {
	c.finish(Skip, fmt.Sprintf(format, args...))
	c.exit()
}

// Cleanup registers f to run when the check ends, last registered first.
func (c *C) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// finish records the first outcome; later ones are ignored. A failure
// while a span of the check's schedule has overrun its bound makes the
// attempt inconclusive (see Span).
func (c *C) finish(s Status, msg string) {
	if s == Fail {
		if why := c.clock.overrun(time.Now()); why != "" {
			c.clock.setLate(why, false)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status != Pass {
		return
	}
	c.status = s
	if s == Skip || s == Inconclusive {
		c.message = msg
		return
	}
	var b strings.Builder
	for i, line := range c.trace {
		fmt.Fprintf(&b, "%d. %s\n", i+1, line)
	}
	if len(c.trace) > 0 {
		fmt.Fprintf(&b, "%d. %s", len(c.trace)+1, msg)
	} else {
		b.WriteString(msg)
	}
	c.message = b.String()
}

func (c *C) runCleanups() {
	c.cancel(errCheckOver)
	for {
		c.mu.Lock()
		n := len(c.cleanups)
		if n == 0 {
			c.mu.Unlock()
			return
		}
		f := c.cleanups[n-1]
		c.cleanups = c.cleanups[:n-1]
		c.mu.Unlock()
		c.runCleanup(f)
	}
}

// runCleanup runs one clean-up; a panic in it (a learner's Close, say)
// fails the check instead of the whole test binary.
func (c *C) runCleanup(f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.finish(Fail, fmt.Sprintf("panic while cleaning up after the check: %v\n%s", r, panicFrames(debug.Stack())))
		}
	}()
	f()
}

func (c *C) result(id string) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Result{ID: id, Status: c.status, Message: c.message, Missing: c.missing}
}

// RunCheck runs fn as a check on its own goroutine and returns its result.
// A panic in fn (or in learner code it calls) fails the check with the
// panic's value and where it happened; so does a runtime.Goexit that the
// harness did not call. A check still running after bound fails, and
// RunCheck returns without waiting for it.
//
// An attempt in which the harness did not keep its own schedule (see
// C.Timed) is inconclusive: RunCheck runs the check again at twice the
// time scale, up to MaxScale times the starting scale.
func RunCheck(id string, bound time.Duration, fn func(c *C)) Result {
	return RunCheckAt(id, bound, StartScale(), fn)
}

// RunCheckAt is RunCheck with its first attempt at the given time scale.
func RunCheckAt(id string, bound time.Duration, first int, fn func(c *C)) Result {
	start := time.Now()
	var res Result
	late := ""    // why the last inconclusive attempt was not judged
	slow := false // an attempt found something too slow: the next such verdict is final
	for scale, attempt := first, 1; ; scale, attempt = scale*2, attempt+1 {
		var a attempted
		res, a = runAttempt(id, bound, scale, slow || scale >= first*MaxScale, fn)
		res.Attempts, res.Scale, res.Late = attempt, scale, late
		if res.Status == Fail && scale > first {
			res.Message += fmt.Sprintf("\n(decided at %d× time scale: the durations above are %d times the lesson's, "+
				"because an earlier attempt was not judged: %s)", scale, scale, late)
		}
		if res.Status != Inconclusive {
			break
		}
		slow = slow || a.slow
		late = a.late
		res.Late = late
		if scale >= first*MaxScale {
			res.Status = Fail
			res.Message = fmt.Sprintf("this check could not be graded: in each of its %d attempts, up to %d× time scale, "+
				"the harness could not keep its own schedule (the last time: %s). The machine is too busy, or your code "+
				"keeps the CPU busy (a loop that never blocks). Grade again on a quieter machine, or start at a larger "+
				"time scale with %s=%d.", attempt, scale, late, ScaleEnv, scale*2)
			break
		}
	}
	res.Duration = time.Since(start)
	return res
}

// attempted says why an attempt was inconclusive: late, and whether it was
// a first verdict of slowness (see C.Slow).
type attempted struct {
	late string
	slow bool
}

// runAttempt runs fn once at the given time scale; confirm says that a
// verdict of slowness is final in this attempt. For an inconclusive
// attempt it also returns why.
func runAttempt(id string, bound time.Duration, scale int, confirm bool, fn func(c *C)) (Result, attempted) {
	c := newC(id, scale, confirm)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.runCleanups()
		returned := false
		defer func() {
			if r := recover(); r != nil {
				c.finish(Fail, fmt.Sprintf("panic: %v\n%s", r, panicFrames(debug.Stack())))
			} else if !returned && !c.exiting.Load() {
				c.finish(Fail, "the check's goroutine was ended by runtime.Goexit, called by your code: "+
					"a check passes only when it runs to its end. Do not call runtime.Goexit (or t.FailNow, "+
					"t.SkipNow) in the lesson's code.")
			}
		}()
		fn(c)
		returned = true
	}()
	// A slower attempt may take longer, within reason.
	bound *= time.Duration(min(scale, 4))
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		c.finish(Fail, fmt.Sprintf("the check did not finish within %v: your code is probably blocked "+
			"(a read without a deadline, a channel nobody sends on, a lock held forever)", bound))
		c.cancel(errCheckOver)
		c.clock.stopMonitor()
		return c.result(id), attempted{} // a check that hangs is never tried again
	}
	c.clock.stopMonitor()
	res := c.result(id)
	var a attempted
	if res.Status != Skip {
		if a.late = c.clock.inconclusive(); a.late != "" {
			res.Status = Inconclusive
			a.slow = c.clock.slowVerdict()
		}
	}
	return res, a
}

// panicFrames keeps the frames of a panic's stack that help a learner: the
// function and file lines below the panic, without the runtime's and the
// harness's own frames.
func panicFrames(stack []byte) string {
	if inJudge() {
		return "" // no learner code runs here: the driver sent its frames
	}
	lines := strings.Split(strings.TrimSpace(string(stack)), "\n")
	var keep []string
	for i := 1; i+1 < len(lines); i += 2 {
		fn, file := strings.TrimSpace(lines[i]), strings.TrimSpace(lines[i+1])
		if strings.HasPrefix(fn, "runtime") || strings.HasPrefix(fn, "panic(") ||
			strings.Contains(fn, "udpbook/harness.") || strings.HasPrefix(fn, "testing.") {
			continue
		}
		keep = append(keep, "   "+fn+"\n      "+file)
		if len(keep) == 4 {
			break
		}
	}
	return strings.Join(keep, "\n")
}
