package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Driver, when set, serves a lesson's Impl to a judge in another process
// instead of running the checks here: Suite.Run calls it first, and returns
// if it reports that it served. Package remote sets it in a test binary the
// grader started as a driver.
var Driver func(t *testing.T, impl any) bool

// Probe answers, for a judge, what only the process running the learner's
// code can see.
type Probe interface {
	// Package returns the import path of the learner's package.
	Package() string
	// Goroutines is Goroutines in the learner's process.
	Goroutines(pkg string) map[int]string
	// OpenSockets is OpenSockets in the learner's process.
	OpenSockets() (map[string]bool, bool)
	// Holds is LearnerHolds: whether the learner's copy of conn, a socket
	// of the harness's, is still open.
	Holds(conn any) (held, known bool)
}

var (
	probeMu sync.Mutex
	probe   Probe
)

// SetProbe makes PackageOf, Goroutines and OpenSockets look at the
// learner's process through p: in a judge, the learner's functions are
// proxies, and their goroutines and sockets are in the driver.
func SetProbe(p Probe) {
	probeMu.Lock()
	defer probeMu.Unlock()
	probe = p
}

func currentProbe() Probe {
	probeMu.Lock()
	defer probeMu.Unlock()
	return probe
}

// JudgeHooks connect a suite that a judge runs to the driver.
type JudgeHooks struct {
	// Begin tells the driver that check id starts.
	Begin func(id string) error
	// Check gives the running check's context, which ends the waits for
	// the driver's answers.
	Check func(ctx context.Context)
	// End tells the driver that check id is over, and returns what the
	// driver saw go wrong (a data race, a call that did not return
	// normally); each of these fails the check.
	End func(id string) (problems []string, err error)
	// Lost reports whether the driver has gone.
	Lost func() bool
}

// inJudge reports whether this process is a judge, where no learner code
// runs.
func inJudge() bool { return currentProbe() != nil }

// OwnGoroutines is Goroutines of this very process, whatever SetProbe
// said: a driver answers the judge's probes with it.
func OwnGoroutines(pkg string) map[int]string { return goroutines(pkg) }

// OwnSockets is OpenSockets of this very process, whatever SetProbe said.
func OwnSockets() (map[string]bool, bool) { return openSockets() }

// OwnHolds reports whether conn is still open in this very process: a
// driver answers the judge's Holds with it.
func OwnHolds(conn any) (held, known bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err == nil {
		err = rc.Control(func(uintptr) {})
	}
	// A closed socket says net.ErrClosed; a closed *os.File says "use of
	// closed file", an error the os package does not export.
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) &&
		!strings.Contains(err.Error(), "use of closed") {
		return false, false
	}
	return err == nil, true
}
