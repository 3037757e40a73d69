// Package remote lets a lesson's checks run in one process (the judge)
// while the learner's code runs in another (the driver).
//
// The driver is the lesson's test binary started by the grader with a
// control socket on descriptor 3 and DriverEnv in its environment: the
// lesson's Run then serves the lesson's Impl over that socket instead of
// running the checks. The judge, built from the harness alone, makes a
// proxy Impl with Proxy: each of its functions sends a call message naming
// the function, with the arguments encoded, and returns what the driver
// sends back.
//
// What crosses the socket:
//
//   - plain values (strings, numbers, durations, slices, structs of those)
//     as JSON;
//   - a context.Context as an id; its cancellation follows as a message;
//   - a socket (net.PacketConn) or *os.File of the judge's as a descriptor
//     (SCM_RIGHTS); closing the judge's copy closes the driver's;
//   - a connection the learner's code returns as a handle, with a duplicate
//     of its descriptor, so that the judge can look at the socket; its
//     methods become calls on the handle;
//   - an error as its text and what errors.Is finds in it (errno values,
//     net.ErrClosed, os.ErrDeadlineExceeded, the context errors and the
//     Impl's own sentinel errors).
//
// A call into the learner's code that panics or ends its goroutine with
// runtime.Goexit comes back as such, and the proxy panics with the panic's
// text and the driver's frames, so that the check fails as it would have
// in process. A driver that dies or stops answering fails the call.
//
// The driver also answers probes about what only it can see: the
// goroutines of the learner's package and the sockets it has open. These
// can only make a check fail.
package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"time"
)

// DriverEnv names the environment variable that tells a lesson's test
// binary to serve its Impl on descriptor 3 ("fd3").
const DriverEnv = "UDPBOOK_DRIVER"

// CallBound is the longest the judge waits for an answer to a call that
// has no context; calls with one are bound by it, plus this much after it
// ends.
const CallBound = 10 * time.Second

// message is one message on the control socket. Requests carry a Seq that
// their reply repeats.
type message struct {
	Op   string            `json:"op"`
	Seq  uint64            `json:"seq,omitempty"`
	Obj  uint64            `json:"obj,omitempty"`  // handle the call is on; 0 for the Impl
	Name string            `json:"name,omitempty"` // function, method, check or probe
	Args []json.RawMessage `json:"args,omitempty"`
	Res  []json.RawMessage `json:"res,omitempty"`
	Fail string            `json:"fail,omitempty"` // the call did not return: why
	OK   bool              `json:"ok,omitempty"`
	// Closed lists the arguments (files) that the call closed.
	Closed []int  `json:"closed,omitempty"`
	Text   string `json:"text,omitempty"`
	// Sentinels maps the Impl's error fields to their text (hello).
	Sentinels map[string]string `json:"sentinels,omitempty"`
}

// The operations.
const (
	opHello  = "hello"  // driver -> judge: ready; Text is the learner's package
	opCall   = "call"   // judge -> driver: call Name on Obj with Args
	opReply  = "reply"  // driver -> judge: Res, or Fail
	opCancel = "cancel" // judge -> driver: context Obj is done; Text is "deadline" or "canceled"
	opClose  = "close"  // judge -> driver: close the judge's socket Obj
	opRead   = "read"   // judge -> driver: ReadFrom on conn Obj with a buffer of Args[0] bytes
	opProbe  = "probe"  // judge -> driver: Name is "goroutines" (Text: package) or "sockets"
	opBegin  = "begin"  // judge -> driver: check Name starts
	opEnd    = "end"    // judge -> driver: check Name is over; the reply's OK says it ran clean
	opQuit   = "quit"   // judge -> driver: grading is over

	// Callbacks and channels: functions and channels the judge passed.
	opCallback = "callback" // driver -> judge: call the judge's function Obj with Args
	opChanSend = "chansend" // judge -> driver, for a channel the learner receives from: Args[0]
	opChanRecv = "chanrecv" // driver -> judge, for a channel the learner sends on: Args[0]
	opChanShut = "chanshut" // either way: the channel Obj is closed
)

// wireErr is an error on the wire.
type wireErr struct {
	Text    string   `json:"text"`
	Errno   []uint64 `json:"errno,omitempty"`
	Is      []string `json:"is,omitempty"` // closed, deadline, canceled, ctxdeadline, eof, or a sentinel's field name
	Timeout bool     `json:"timeout,omitempty"`
}

// wireAddr is a net.Addr on the wire.
type wireAddr struct {
	Net string `json:"net"`
	Str string `json:"str"`
}

// wireObj is a handle, a descriptor, or both.
type wireObj struct {
	H     uint64    `json:"h,omitempty"`
	J     uint64    `json:"j,omitempty"`    // the judge's id for a socket or file it passed
	Name  string    `json:"name,omitempty"` // a file's name
	Shut  bool      `json:"shut,omitempty"` // a file the judge had closed already
	GoNB  bool      `json:"gonb,omitempty"` // Go put the file in non-blocking mode (its Fd puts it back)
	FD    int       `json:"fd"`             // index among the message's descriptors; -1 for none
	Laddr *wireAddr `json:"laddr,omitempty"`
	Nil   string    `json:"nil,omitempty"` // a nil pointer in a non-nil interface: its type, "*net.UDPConn"
}

// wireRef names a function or channel the judge passed.
type wireRef struct {
	ID uint64 `json:"ref"`
}

// wireCtx is a context on the wire.
type wireCtx struct {
	ID       uint64    `json:"id"`
	Deadline time.Time `json:"deadline,omitzero"`
	Done     string    `json:"done,omitempty"` // already done: "canceled" or "deadline"
}

// Failure is what a proxy panics with when a call into the learner's code
// did not return normally, or the driver could not answer.
type Failure struct {
	Call string // the function or method called
	Why  string // the panic and its frames, or what else happened
}

func (f *Failure) Error() string { return f.String() }

// String gives the text the checks print as the panic's value: a panic's
// own value and the driver's frames, as in one process, or what else
// happened to the call.
func (f *Failure) String() string {
	if v, ok := strings.CutPrefix(f.Why, "panicked: "); ok {
		return v
	}
	return f.Call + " " + f.Why
}

// errGone is the reason given when the driver cannot answer any more.
var errGone = ErrGone

// ErrGone is the error of a call that the driver could not answer because it
// has ended.
var ErrGone = errors.New("the process running your code has ended")

// ErrGarbled is the error of a message on the control socket that the
// harness did not write: something in the other process wrote on it.
var ErrGarbled = errors.New("a message on the control socket is not one the harness wrote")

// goexitText says what a call that ended by runtime.Goexit did.
const goexitText = "ended its goroutine with runtime.Goexit (or t.FailNow, or log.Fatal's cousin) instead of returning; " +
	"a function must return its results"

// frames keeps the frames of a panic's stack that help a learner, as the
// harness does in process: not the runtime's, the harness's, reflect's or
// this package's.
func frames(stack []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stack)), "\n")
	var keep []string
	for i := 1; i+1 < len(lines); i += 2 {
		fn, file := strings.TrimSpace(lines[i]), strings.TrimSpace(lines[i+1])
		if strings.HasPrefix(fn, "runtime") || strings.HasPrefix(fn, "panic(") || strings.HasPrefix(fn, "reflect.") ||
			strings.Contains(fn, "udpbook/harness.") || strings.Contains(fn, "udpbook/harness/remote.") ||
			strings.HasPrefix(fn, "testing.") {
			continue
		}
		keep = append(keep, "   "+fn+"\n      "+file)
		if len(keep) == 4 {
			break
		}
	}
	return strings.Join(keep, "\n")
}

// guarded runs f on a goroutine of its own and says how it ended: "" when
// it returned, otherwise the panic with its frames, or that it called
// runtime.Goexit.
func guarded(f func()) string {
	done := make(chan string, 1)
	go func() {
		returned := false
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Sprintf("panicked: %v\n%s", r, frames(debug.Stack()))
				return
			}
			if !returned {
				done <- goexitText
				return
			}
			done <- ""
		}()
		f()
		returned = true
	}()
	return <-done
}

// nilable reports whether a value of type t can be nil and goes on the wire
// as null when it is: a nil func (an optional callback) must reach the
// other side as nil, not as a function that calls back.
func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Func, reflect.Chan:
		return true
	}
	return false
}

// recvUnless receives a value from the channel ch (ok is false once ch is
// closed), unless gone is closed first.
func recvUnless(ch reflect.Value, gone chan struct{}) (v reflect.Value, ok, wasGone bool) {
	chosen, v, ok := reflect.Select([]reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: ch},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(gone)},
	})
	return v, ok, chosen == 1
}
