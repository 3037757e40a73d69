package harness

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// PackageOf returns the import path of the package that defines fn, such
// as "udpbook/lessons/01-echo-server" for echoserver.Serve.
func PackageOf(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	if p := currentProbe(); p != nil && strings.HasPrefix(name, "reflect.") {
		return p.Package() // a judge's proxy for the learner's function
	}
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

// Goroutines returns the stacks of the running goroutines whose stack
// mentions a function of package pkg (or was started by one), keyed by
// goroutine ID. In a judge, the learner's package's goroutines are those of
// the driver.
func Goroutines(pkg string) map[int]string {
	if p := currentProbe(); p != nil {
		// In a judge, the learner's functions and objects are proxies
		// whose package is the harness's: ask for the learner's.
		return p.Goroutines(p.Package())
	}
	return goroutines(pkg)
}

// goroutines is Goroutines in this process.
func goroutines(pkg string) map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	found := map[int]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, pkg+".") {
			continue
		}
		header, _, _ := strings.Cut(g, " [")
		id, err := strconv.Atoi(strings.TrimPrefix(header, "goroutine "))
		if err == nil {
			found[id] = g
		}
	}
	return found
}

// UntilReading waits up to wait for a goroutine of package pkg to be
// blocked on a socket (in the state "IO wait"), and reports whether one
// is. A check that cancels a learner's Serve calls it first: cancelled
// between two datagrams, a Serve that looks at its context only between
// reads would return at once and pass.
func UntilReading(pkg string, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		for _, g := range Goroutines(pkg) {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(header, "[IO wait") {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// LeftBehind waits up to wait for every goroutine of package pkg that is
// not in before to end, and returns the stacks of those still running.
// Waiting lets a goroutine that is on its way out finish; it returns at
// once when there are none.
func LeftBehind(pkg string, before map[int]string, wait time.Duration) []string {
	return untilNone(wait, func() []string {
		var left []string
		for id, stack := range Goroutines(pkg) {
			if _, old := before[id]; !old {
				left = append(left, stack)
			}
		}
		return left
	})
}

// untilNone calls find until it finds nothing or wait has passed, and
// returns what it found last. There is no event for a goroutine ending or a
// socket closing, so it looks every few milliseconds; it returns at once
// when there is nothing to wait for.
func untilNone(wait time.Duration, find func() []string) []string {
	deadline := time.Now().Add(wait)
	for {
		found := find()
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FirstLines returns the first n lines of s.
func FirstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// OpenSockets returns the sockets this process has open, as the kernel
// names them ("socket:[12345]"), and whether the system can list them. In
// a judge, they are the sockets of the driver, where the learner's code
// runs.
func OpenSockets() (map[string]bool, bool) {
	if p := currentProbe(); p != nil {
		return p.OpenSockets()
	}
	return openSockets()
}

// LearnerHolds reports whether the learner's code still holds conn, a socket
// (or an *os.File) the harness gave it (to Serve, say): false once the
// learner's code has closed it. In a judge it asks the driver, whose copy is the learner's; in
// one process the harness's conn is the learner's. known is false where
// this cannot be told.
func LearnerHolds(conn any) (held, known bool) {
	if p := currentProbe(); p != nil {
		return p.Holds(conn)
	}
	return OwnHolds(conn)
}

// NewSockets waits up to wait for every socket opened since before (from
// OpenSockets) to be closed, and returns those still open. A socket closed
// on another goroutine may take a moment to go.
func NewSockets(before map[string]bool, wait time.Duration) []string {
	return untilNone(wait, func() []string {
		var left []string
		now, _ := OpenSockets()
		for s := range now {
			if !before[s] {
				left = append(left, s)
			}
		}
		return left
	})
}

// TypedNil returns, for a non-nil interface value v that holds a nil
// pointer, the pointer's type ("*net.UDPConn"), and "" otherwise. It sees
// through a judge's proxies. A function that returns such a value returns
// something the caller's v != nil test takes for a value: the typed-nil
// pitfall of `c, err := net.ListenUDP(...); return c, err`.
func TypedNil(v any) string {
	if p, ok := v.(interface{ TypedNil() string }); ok {
		return p.TypedNil()
	}
	if IsTypedNil(v) {
		return reflect.TypeOf(v).String()
	}
	return ""
}

// IsTypedNil reports whether v is a non-nil interface value that holds a
// nil pointer.
func IsTypedNil(v any) bool {
	rv := reflect.ValueOf(v)
	return v != nil && rv.Kind() == reflect.Pointer && rv.IsNil()
}
