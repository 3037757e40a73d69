package harness

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Timing checks judge durations: a heartbeat every Interval, an expiry
// after Expiry, a return within StopBound. On a busy machine the harness
// itself can fall behind the schedule it set up (a wait that ends 300 ms
// late, two sends meant to be 50 ms apart that end up 317 ms apart), and
// a verdict taken then could blame the learner for the harness's lateness.
//
// So a timing check watches its own schedule. It declares how late the
// harness may be without changing the verdict (C.Timed), waits with
// C.Pause and C.PauseUntil, which measure how late they wake, and checks
// the intervals it measured with C.Within. An attempt in which the
// harness was later than that is inconclusive: it counts neither way, and
// the check runs again with every duration (and the allowed lateness)
// doubled, up to MaxScale times the starting scale. Only a verdict taken
// at a scale where the harness kept its schedule counts; a check still
// inconclusive at the largest scale fails, saying that the harness could
// not keep its schedule, since a learner's program that keeps the CPU busy
// can cause that too. A verdict that a busy machine can cause in correct
// code even while the harness keeps its schedule ("too slow", C.Slow) is
// confirmed at the next scale before it counts.

// ScaleEnv names the environment variable that sets the time scale the
// checks start at (1 by default; 2, 4 or 8 on a slow machine).
const ScaleEnv = "UDPBOOK_TIME_SCALE"

// MaxScale is how many times larger than the starting scale the last
// attempt of a timing check may be: 32 gives attempts at 1×, 2×, 4×, 8×,
// 16× and 32×. Each attempt is slower than the one before, so the later
// ones cost time only on a machine that is too busy for the earlier ones
// (measured: with 8 full gradings at once and a busy loop on every core,
// a load of about 50 on 2 cores, one check in 250 gradings still found
// the harness too late at 16×).
const MaxScale = 32

// Inconclusive is the status of an attempt in which the harness did not
// keep its own schedule. It is never a check's final status.
const Inconclusive Status = "inconclusive"

// monitorTick is how often a timing check's monitor wakes to measure the
// harness's own lateness.
const monitorTick = 2 * time.Millisecond

// wakeups is how many wake-ups of the learner's code a judged duration is
// taken to span, and minSamples how many wake-ups of the monitor make a
// mean worth judging by.
const (
	wakeups    = 8
	minSamples = 10
)

// StartScale returns the time scale checks start at: the value of ScaleEnv
// when it is a whole number from 1 to 64, and 1 otherwise.
func StartScale() int {
	n, err := strconv.Atoi(os.Getenv(ScaleEnv))
	if err != nil || n < 1 || n > 64 {
		return 1
	}
	return n
}

// clock is the schedule watch of one attempt.
type clock struct {
	id      string // the check's, for injected stalls
	scale   int
	confirm bool // a verdict of slowness is final in this attempt (see Slow)

	mu       sync.Mutex
	slack    time.Duration // how late the harness may be; 0 for an untimed check
	worst    time.Duration // the latest the harness was
	worstWhy string
	samples  int           // the monitor's wake-ups
	total    time.Duration // and how late they were, in all
	late     string        // set by Late: why the attempt is inconclusive
	slow     bool          // late was set by Slow
	spans    []*Span
	stop     chan struct{}
	stopped  chan struct{}
}

// Scale returns the time scale of this attempt: the starting scale (1
// unless ScaleEnv says otherwise), doubled after each inconclusive attempt.
func (c *C) Scale() int { return c.clock.scale }

// Dur returns d multiplied by the attempt's time scale. A timing check
// passes every duration it configures or waits for through Dur, so that a
// repeated attempt runs the same scenario slower.
func (c *C) Dur(d time.Duration) time.Duration { return d * time.Duration(c.clock.scale) }

// Patience returns how long to wait for a datagram that should arrive:
// the package's Patience at this attempt's time scale, but never more
// than four times Patience (a datagram that takes longer is lost).
func (c *C) Patience() time.Duration { return Patience * time.Duration(min(c.clock.scale, 4)) }

// Timed declares the check a timing check whose verdicts hold as long as
// the harness is never more than slack late (slack is already scaled: pass
// c.Dur(...)). It starts a monitor that wakes every few milliseconds and
// measures how late it wakes; with Pause, PauseUntil and Within, that
// measures the harness's schedule. If the harness was later than slack at
// any time in the attempt, the attempt is inconclusive, whatever its
// outcome, and the check runs again at twice the time scale.
func (c *C) Timed(slack time.Duration) {
	cl := &c.clock
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.slack > 0 {
		cl.slack = min(cl.slack, slack)
		return
	}
	cl.slack = slack
	cl.stop, cl.stopped = make(chan struct{}), make(chan struct{})
	go cl.monitor(cl.stop, cl.stopped)
}

// monitor sleeps monitorTick at a time and records how late it wakes.
func (cl *clock) monitor(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	if d := cl.stalled(monitorStall); d > 0 {
		start := time.Now()
		time.Sleep(d)
		cl.record(time.Since(start), "the harness's own timer")
	}
	t := time.NewTimer(monitorTick)
	defer t.Stop()
	want := time.Now().Add(monitorTick)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			// The time the goroutine runs again, not the time the
			// timer fired: a busy machine delays the goroutine.
			now := time.Now()
			cl.sample(now.Sub(want))
			want = now.Add(monitorTick)
			t.Reset(monitorTick)
		}
	}
}

// stopMonitor ends the monitor, if any, and waits for it.
func (cl *clock) stopMonitor() {
	cl.mu.Lock()
	stop, stopped := cl.stop, cl.stopped
	cl.stop = nil
	cl.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
}

// sample records one wake-up of the monitor, d late: the latest, and the
// sum for the mean.
func (cl *clock) sample(d time.Duration) {
	cl.record(d, "the harness's own timer")
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.samples++
	cl.total += max(d, 0)
}

// record notes that the harness was late by d at what.
func (cl *clock) record(d time.Duration, what string) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if d > cl.worst {
		cl.worst, cl.worstWhy = d, what
	}
}

// inconclusive returns why the attempt cannot be judged, or "".
func (cl *clock) inconclusive() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.late != "" {
		return cl.late
	}
	if cl.slack > 0 && cl.worst > cl.slack {
		return fmt.Sprintf("%s was %v late, more than the %v this check allows itself at %d× time scale",
			cl.worstWhy, cl.worst.Round(time.Millisecond), cl.slack, cl.scale)
	}
	// Small delays add up: a duration the check judges spans several
	// wake-ups of the learner's code, each as late as the harness's own
	// are on average.
	if cl.slack > 0 && cl.samples >= minSamples {
		if mean := cl.total / time.Duration(cl.samples); mean*wakeups > cl.slack {
			return fmt.Sprintf("the harness's own timer was %v late on average, too much for the %v this check "+
				"allows itself at %d× time scale (%d wake-ups at that delay)", mean.Round(10*time.Microsecond),
				cl.slack, cl.scale, wakeups)
		}
	}
	return ""
}

// Late ends the attempt as inconclusive: the harness itself fell behind
// the schedule the check's verdict depends on. The check runs again at
// twice the time scale. Call it only for the harness's own lateness (or
// the machine's), never for something the learner's code did.
func (c *C) Late(format string, args ...any) {
	c.clock.setLate(fmt.Sprintf(format, args...), false)
	c.finish(Inconclusive, "")
	c.exit()
}

// Slow ends the check as failed for a verdict that a busy machine can
// cause in correct code: something took too long or came too seldom (a
// Request that gave up late, too few heartbeats, a Serve that did not
// return in time), or a client starved of the CPU missed the answers that
// came in time. A busy machine can make correct code slow in
// ways the harness cannot always see (a timer of the learner's that the
// runtime fires late while the harness's own fire on time), so the first
// verdict of slowness is not final: that attempt is inconclusive, and the
// check runs again at twice the time scale. A second verdict of slowness,
// in any later attempt, fails the check, as does one in the attempt at the
// largest scale. A wrong implementation is slow at every scale; a correct
// one, slowed once by the machine, is not slowed twice in a row but by a
// machine too busy for any verdict.
func (c *C) Slow(format string, args ...any) {
	if c.clock.confirm {
		c.Fatalf(format, args...)
	}
	msg := fmt.Sprintf(format, args...)
	c.clock.setLate("at this scale, "+msg+" (a busy machine can cause that once: trying again)", true)
	c.finish(Inconclusive, "")
	c.exit()
}

// setLate makes the attempt inconclusive for why, unless it is already;
// slow says that why is a verdict of slowness (see Slow).
func (cl *clock) setLate(why string, slow bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.late == "" {
		cl.late, cl.slow = why, slow
	}
}

// slowVerdict reports whether the attempt is inconclusive because of Slow.
func (cl *clock) slowVerdict() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.slow
}

// Within checks an interval of the harness's own schedule that the check
// measured: what took d, and the verdict holds only if d is at most max.
// If it is more, the attempt is inconclusive (see Late).
func (c *C) Within(what string, d, max time.Duration) {
	if d > max {
		c.Late("%s took %v, more than the %v this check allows itself at %d× time scale",
			what, d.Round(time.Millisecond), max, c.clock.scale)
	}
}

// A Span is an interval of the check's own schedule whose verdicts hold
// only if it lasts at most a given time: "A's silence, as the server sees
// it, is less than the expiry" holds only if the harness's steps from A's
// message to B's broadcast took less than the expiry. If the check fails
// while a span is open and longer than its bound, or the span ends longer
// than its bound, the attempt is inconclusive (see Late).
type Span struct {
	c     *C
	what  string
	start time.Time
	max   time.Duration
	ended bool
}

// Span opens a span called what (for the message, "registering A and
// hearing B's broadcast"), starting at start, that may last at most max.
func (c *C) Span(what string, start time.Time, max time.Duration) *Span {
	s := &Span{c: c, what: what, start: start, max: max}
	c.clock.mu.Lock()
	c.clock.spans = append(c.clock.spans, s)
	c.clock.mu.Unlock()
	return s
}

// End closes the span now; if it lasted longer than its bound, the
// attempt is inconclusive and the check's goroutine ends at once.
func (s *Span) End() {
	s.c.clock.mu.Lock()
	s.ended = true
	s.c.clock.mu.Unlock()
	s.c.Within(s.what, time.Since(s.start), s.max)
}

// overrun returns why an open span makes a failure at time now
// inconclusive, or "".
func (cl *clock) overrun(now time.Time) string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, s := range cl.spans {
		if d := now.Sub(s.start); !s.ended && d > s.max {
			return fmt.Sprintf("%s took %v, more than the %v this check allows itself at %d× time scale",
				s.what, d.Round(time.Millisecond), s.max, cl.scale)
		}
	}
	return ""
}

// Pause waits d, measuring how late it wakes; it fails the check at once
// if the check is aborted.
func (c *C) Pause(d time.Duration) { c.PauseUntil(time.Now().Add(d)) }

// PauseUntil waits until t, measuring how late it wakes; it fails the
// check at once if the check is aborted.
func (c *C) PauseUntil(t time.Time) {
	time.Sleep(c.clock.stalled(pauseStall))
	if d := time.Until(t); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-c.ctx.Done():
		}
	}
	c.FailIfAborted()
	if late := time.Since(t); late > 0 {
		c.clock.record(late, "a pause of the harness")
	}
}

// FailIfAborted ends the check as failed, with the reason given to Abort,
// if Abort was called.
func (c *C) FailIfAborted() {
	if err := c.aborted(); err != nil {
		c.Fatalf("%v", err)
	}
}

// stalls holds stalls injected by the self-tests, as if the machine had
// not run the harness for a while: in a check's attempt at a given scale,
// the first Pause or PauseUntil wakes this much later, and the monitor
// (see C.Timed) sleeps this long as it starts.
var stalls sync.Map // stallKey -> time.Duration

type stallKey struct {
	check string
	scale int
	where int // pauseStall or monitorStall
}

const (
	pauseStall = iota
	monitorStall
)

// InjectStall makes check id, in its attempt at the given time scale,
// behave as on a machine that did not run the harness for d: its first
// Pause or PauseUntil wakes d late, and its monitor (see C.Timed) is held
// up for d as it starts. The self-tests use it to show that a timing check tries again
// instead of blaming the learner. It returns a function that removes the
// stall if it has not happened.
func InjectStall(id string, scale int, d time.Duration) (undo func()) {
	keys := []stallKey{{id, scale, pauseStall}, {id, scale, monitorStall}}
	for _, k := range keys {
		stalls.Store(k, d)
	}
	return func() {
		for _, k := range keys {
			stalls.Delete(k)
		}
	}
}

// stalled returns the injected stall for where in this attempt, once.
func (cl *clock) stalled(where int) time.Duration {
	if cl.id == "" {
		return 0
	}
	if d, ok := stalls.LoadAndDelete(stallKey{cl.id, cl.scale, where}); ok {
		return d.(time.Duration)
	}
	return 0
}
