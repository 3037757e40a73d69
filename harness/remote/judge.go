package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"udpbook/harness"
)

// Client is the judge's end of the control socket: it calls the learner's
// functions in the driver.
type Client struct {
	// Program is the driver's program, and Test the test function that
	// grades the lesson: lesson 04 starts them again as a child. The
	// grader gives them to the judge; they are not the driver's word.
	Program, Test string

	tr *transport

	mu        sync.Mutex
	seq       uint64
	nextID    uint64
	pending   map[uint64]chan reply
	pkg       string
	sentinels map[string]error
	problems  []string                 // what went wrong in the driver since the check began
	check     context.Context          // the running check's
	funcs     map[uint64]reflect.Value // functions passed to the learner's code, until the check ends
	outs      map[uint64]reflect.Value // channels the learner's code sends on, until the check ends
	owned     []io.Closer              // judge-side copies of the learner's sockets, closed when the check ends
	passed    map[any]uint64           // the harness's sockets and files passed to the driver, by the id of the driver's latest copy

	hello    chan struct{}
	garbled  bool // the driver was lost because it sent something that is not a message
	gone     chan struct{}
	goneOnce sync.Once
	onGone   func()
}

type reply struct {
	m     *message
	files fds
}

// Dial makes a Client of f, the judge's end of a control socket (see Pair),
// and waits at most wait for the driver to say it is ready. onGone, if not
// nil, is called once when the driver goes away, before any call fails
// because of it.
func Dial(f *os.File, wait time.Duration, onGone func()) (*Client, error) {
	tr, err := newTransport(f)
	if err != nil {
		return nil, err
	}
	cl := &Client{tr: tr, pending: map[uint64]chan reply{}, sentinels: map[string]error{},
		funcs: map[uint64]reflect.Value{}, outs: map[uint64]reflect.Value{}, passed: map[any]uint64{},
		check: context.Background(), hello: make(chan struct{}), gone: make(chan struct{}), onGone: onGone}
	go cl.read()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-cl.hello:
		harness.SetProbe(cl)
		return cl, nil
	case <-cl.gone:
		if cl.Garbled() {
			return nil, ErrGarbled
		}
		return nil, errGone
	case <-t.C:
		return nil, fmt.Errorf("the process running your code did not start within %v", wait)
	}
}

// Garbled reports whether the driver was lost because it wrote something
// on the control socket that is not a message of the driver's.
func (cl *Client) Garbled() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.garbled
}

// Gone returns a channel that is closed when the driver has gone.
func (cl *Client) Gone() <-chan struct{} { return cl.gone }

// Lost reports whether the driver has gone.
func (cl *Client) Lost() bool {
	select {
	case <-cl.gone:
		return true
	default:
		return false
	}
}

func (cl *Client) lose() {
	cl.goneOnce.Do(func() {
		if cl.onGone != nil {
			cl.onGone()
		}
		close(cl.gone)
	})
}

func (cl *Client) read() {
	defer cl.lose()
	for {
		m, files, err := cl.tr.recv()
		if err != nil {
			if errors.Is(err, ErrGarbled) {
				cl.mu.Lock()
				cl.garbled = true
				cl.mu.Unlock()
			}
			cl.tr.close()
			return
		}
		switch m.Op {
		case opHello:
			cl.mu.Lock()
			cl.pkg = m.Text
			for name, text := range m.Sentinels {
				if _, ok := cl.sentinels[name]; !ok {
					cl.sentinels[name] = errors.New(text)
				}
			}
			cl.mu.Unlock()
			close(cl.hello)
		case opReply:
			cl.mu.Lock()
			ch := cl.pending[m.Seq]
			delete(cl.pending, m.Seq)
			cl.mu.Unlock()
			if ch == nil {
				files.close()
				continue
			}
			ch <- reply{m, files}
		case opCallback:
			go cl.runCallback(m, files)
		case opChanRecv:
			go cl.deliver(m)
		case opChanShut:
			cl.mu.Lock()
			ch, ok := cl.outs[m.Obj]
			delete(cl.outs, m.Obj)
			cl.mu.Unlock()
			if ok {
				ch.Close()
			}
			files.close()
		default:
			files.close()
		}
	}
}

// Quit tells the driver that grading is over, and closes the control
// socket.
func (cl *Client) Quit() {
	cl.tr.send(&message{Op: opQuit}, nil)
	cl.tr.close()
}

// Hooks returns the hooks with which Suite.Judge runs a suite against the
// driver.
func (cl *Client) Hooks() harness.JudgeHooks {
	return harness.JudgeHooks{
		Begin: func(id string) error {
			cl.mu.Lock()
			cl.problems = nil
			cl.check = context.Background()
			cl.mu.Unlock()
			_, err := cl.roundTrip(&message{Op: opBegin, Name: id}, nil, nil, CallBound)
			return err
		},
		Check: func(ctx context.Context) {
			cl.mu.Lock()
			cl.check = ctx
			cl.mu.Unlock()
		},
		End: func(id string) ([]string, error) {
			r, err := cl.roundTrip(&message{Op: opEnd, Name: id}, nil, nil, CallBound)
			if err != nil {
				return nil, err
			}
			cl.mu.Lock()
			problems := cl.problems
			cl.problems = nil
			cl.check = context.Background()
			cl.funcs = map[uint64]reflect.Value{}
			cl.outs = map[uint64]reflect.Value{}
			owned := cl.owned
			cl.owned = nil
			cl.mu.Unlock()
			for _, c := range owned {
				c.Close()
			}
			if !r.m.OK {
				problems = append(problems, "the race detector found a data race while this check ran; "+
					"run `go test -race` in the lesson's folder to see the two conflicting accesses")
			}
			return problems, nil
		},
		Lost: cl.Lost,
	}
}

// roundTrip sends m and waits for its reply: until the driver goes, or
// bound passes after ctx (nil: at once) is done.
func (cl *Client) roundTrip(m *message, files []*os.File, ctx context.Context, bound time.Duration) (reply, error) {
	ch := make(chan reply, 1)
	cl.mu.Lock()
	cl.seq++
	m.Seq = cl.seq
	cl.pending[m.Seq] = ch
	cl.mu.Unlock()
	if err := cl.tr.send(m, files); err != nil {
		cl.mu.Lock()
		delete(cl.pending, m.Seq)
		cl.mu.Unlock()
		if cl.Lost() {
			return reply{}, errGone
		}
		return reply{}, err
	}
	var ctxDone <-chan struct{}
	if ctx != nil {
		ctxDone = ctx.Done()
	}
	var timeout <-chan time.Time
	if ctxDone == nil {
		t := time.NewTimer(bound)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-cl.gone:
			return reply{}, errGone
		case <-ctxDone:
			ctxDone = nil
			t := time.NewTimer(bound)
			defer t.Stop()
			timeout = t.C
		case <-timeout:
			cl.mu.Lock()
			delete(cl.pending, m.Seq)
			cl.mu.Unlock()
			return reply{}, fmt.Errorf("no answer within %v", bound)
		}
	}
}

// fail records what went wrong in a call, so that the running check fails
// even if the check's code recovers from the proxy's panic, and panics.
func (cl *Client) fail(call, why string) {
	cl.mu.Lock()
	cl.problems = append(cl.problems, call+" "+why)
	cl.mu.Unlock()
	panic(&Failure{Call: call, Why: why})
}

// invoke calls function name (obj 0) or method name of handle obj, of type
// ft, in the driver, and returns its results. It panics with a Failure if
// the call did not return normally or the driver did not answer.
func (cl *Client) invoke(obj uint64, name string, ft reflect.Type, args []reflect.Value) []reflect.Value {
	m := &message{Op: opCall, Obj: obj, Name: name}
	enc := &encoder{cl: cl}
	for i, a := range args {
		m.Args = append(m.Args, enc.encode(a, ft.In(i)))
	}
	if enc.err != nil {
		closeAll(enc.dups)
		panic(fmt.Sprintf("udpbook judge: %s: %v", name, enc.err))
	}
	ctx := enc.ctx
	if ctx == nil {
		cl.mu.Lock()
		ctx = cl.check
		cl.mu.Unlock()
	}
	r, err := cl.roundTripWith(m, enc, ctx)
	if err != nil {
		if errors.Is(err, errGone) {
			cl.fail(name, "did not return: the process running your code ended while it ran (os.Exit, a crash, or a panic on a goroutine)")
		}
		cl.fail(name, "did not answer: "+err.Error())
	}
	defer r.files.close()
	if r.m.Fail != "" {
		cl.fail(name, r.m.Fail)
	}
	for _, i := range r.m.Closed {
		// The learner's code closed a file it was given: so is the
		// caller's, as in one process.
		if i >= 0 && i < len(args) {
			if f, ok := args[i].Interface().(*os.File); ok && f != nil {
				f.Close()
			}
		}
	}
	if len(r.m.Res) != ft.NumOut() {
		cl.fail(name, fmt.Sprintf("returned %d results, want %d", len(r.m.Res), ft.NumOut()))
	}
	out := make([]reflect.Value, ft.NumOut())
	for i := range out {
		v, err := cl.decode(r.m.Res[i], ft.Out(i), r.files)
		if err != nil {
			cl.fail(name, fmt.Sprintf("result %d: %v", i+1, err))
		}
		out[i] = v
	}
	return out
}

// roundTripWith sends a call whose arguments enc encoded, starts passing
// on the cancellation of its contexts and the closing of its sockets, and
// waits for the reply.
func (cl *Client) roundTripWith(m *message, enc *encoder, ctx context.Context) (reply, error) {
	ch := make(chan reply, 1)
	cl.mu.Lock()
	cl.seq++
	m.Seq = cl.seq
	cl.pending[m.Seq] = ch
	cl.mu.Unlock()
	err := cl.tr.send(m, enc.files)
	closeAll(enc.dups)
	if err != nil {
		cl.mu.Lock()
		delete(cl.pending, m.Seq)
		cl.mu.Unlock()
		if cl.Lost() {
			return reply{}, errGone
		}
		return reply{}, err
	}
	// After the call is on its way, so that the driver sees it first.
	for _, after := range enc.after {
		after()
	}
	return cl.await(m, ch, ctx)
}

func (cl *Client) await(m *message, ch chan reply, ctx context.Context) (reply, error) {
	cl.mu.Lock()
	cl.pending[m.Seq] = ch
	cl.mu.Unlock()
	defer func() {
		cl.mu.Lock()
		delete(cl.pending, m.Seq)
		cl.mu.Unlock()
	}()
	var timeout <-chan time.Time
	done := ctx.Done()
	if done == nil {
		t := time.NewTimer(CallBound)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-cl.gone:
			// A reply that came just before the end still counts.
			select {
			case r := <-ch:
				return r, nil
			default:
			}
			return reply{}, errGone
		case <-done:
			done = nil
			t := time.NewTimer(CallBound)
			defer t.Stop()
			timeout = t.C
		case <-timeout:
			return reply{}, fmt.Errorf("no answer within %v", CallBound)
		}
	}
}

// encoder encodes one call's arguments.
type encoder struct {
	cl    *Client
	files []*os.File // descriptors to send
	dups  []*os.File // of those, the copies to close once sent
	after []func()   // to run once the call is sent
	ctx   context.Context
	err   error
}

func (e *encoder) encode(v reflect.Value, t reflect.Type) json.RawMessage {
	if nilable(t) && v.IsNil() {
		return json.RawMessage("null")
	}
	marshal := func(x any) json.RawMessage {
		b, err := json.Marshal(x)
		if err != nil && e.err == nil {
			e.err = err
		}
		return b
	}
	cl := e.cl
	switch t {
	case contextType:
		ctx := v.Interface().(context.Context)
		if e.ctx == nil {
			e.ctx = ctx
		}
		cl.mu.Lock()
		cl.nextID++
		w := wireCtx{ID: cl.nextID}
		cl.mu.Unlock()
		if d, ok := ctx.Deadline(); ok {
			w.Deadline = d
		}
		if ctx.Err() != nil {
			w.Done = "canceled"
		} else {
			id := w.ID
			e.after = append(e.after, func() {
				context.AfterFunc(ctx, func() { cl.tr.send(&message{Op: opCancel, Obj: id}, nil) })
			})
		}
		return marshal(w)
	case packetConnType:
		if rc, ok := v.Interface().(*remoteConn); ok && rc.cl == cl {
			return marshal(wireObj{H: rc.h, FD: -1})
		}
		f := dupFD(v.Interface())
		if f == nil {
			if e.err == nil {
				e.err = fmt.Errorf("a %T has no descriptor to pass", v.Interface())
			}
			return json.RawMessage("null")
		}
		cl.mu.Lock()
		cl.nextID++
		id := cl.nextID | 1<<62
		cl.mu.Unlock()
		e.files = append(e.files, f)
		e.dups = append(e.dups, f)
		conn := v.Interface()
		cl.mu.Lock()
		cl.passed[conn] = id
		cl.mu.Unlock()
		e.after = append(e.after, func() { go cl.watchClose(conn, id) })
		return marshal(wireObj{FD: len(e.files) - 1, H: 0, J: id})
	case fileType:
		f := v.Interface().(*os.File)
		if isClosed(f) {
			return marshal(wireObj{FD: -1, Shut: true, Name: f.Name()})
		}
		cl.mu.Lock()
		cl.nextID++
		id := cl.nextID | 1<<62
		cl.passed[f] = id
		cl.mu.Unlock()
		e.files = append(e.files, f)
		e.after = append(e.after, func() { go cl.watchClose(f, id) })
		return marshal(wireObj{FD: len(e.files) - 1, J: id, Name: f.Name(), GoNB: goNonblock(f)})
	case addrType:
		return marshal(wire(v.Interface().(net.Addr)))
	}
	switch t.Kind() {
	case reflect.Func:
		cl.mu.Lock()
		cl.nextID++
		id := cl.nextID
		cl.funcs[id] = v
		cl.mu.Unlock()
		return marshal(wireRef{ID: id})
	case reflect.Chan:
		cl.mu.Lock()
		cl.nextID++
		id := cl.nextID
		cl.mu.Unlock()
		if t.ChanDir()&reflect.RecvDir != 0 {
			// The learner's code receives: pass on what the check sends.
			e.after = append(e.after, func() { go cl.pump(v, id) })
		} else {
			cl.mu.Lock()
			cl.outs[id] = v
			cl.mu.Unlock()
		}
		return marshal(wireRef{ID: id})
	}
	return marshal(v.Interface())
}

// pump sends what the check puts on ch to the driver's channel id, one
// value at a time: the next is taken once the learner's code has received
// the last. When ch is closed, so is the driver's.
func (cl *Client) pump(ch reflect.Value, id uint64) {
	for {
		v, ok, gone := recvUnless(ch, cl.gone)
		if gone {
			return
		}
		if !ok {
			cl.tr.send(&message{Op: opChanShut, Obj: id}, nil)
			return
		}
		enc := &encoder{cl: cl}
		raw := enc.encode(v, ch.Type().Elem())
		if _, err := cl.roundTrip(&message{Op: opChanSend, Obj: id, Args: []json.RawMessage{raw}}, nil, nil, 24*time.Hour); err != nil {
			return
		}
	}
}

// deliver puts a value the learner's code sent on the check's channel, and
// then lets the driver go on.
func (cl *Client) deliver(m *message) {
	cl.mu.Lock()
	ch, ok := cl.outs[m.Obj]
	cl.mu.Unlock()
	if ok && len(m.Args) == 1 {
		if v, err := cl.decode(m.Args[0], ch.Type().Elem(), nil); err == nil {
			chosen, _, _ := reflect.Select([]reflect.SelectCase{
				{Dir: reflect.SelectSend, Chan: ch, Send: v},
				{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(cl.gone)},
			})
			if chosen == 1 {
				return
			}
		}
	}
	cl.tr.send(&message{Op: opReply, Seq: m.Seq, OK: true}, nil)
}

// runCallback runs a function the check passed to the learner's code, at
// the driver's request, and replies with its results.
func (cl *Client) runCallback(m *message, files fds) {
	defer files.close()
	cl.mu.Lock()
	fn, ok := cl.funcs[m.Obj]
	cl.mu.Unlock()
	if !ok {
		cl.tr.send(&message{Op: opReply, Seq: m.Seq, Fail: "the check is over"}, nil)
		return
	}
	ft := fn.Type()
	if len(m.Args) != ft.NumIn() {
		cl.tr.send(&message{Op: opReply, Seq: m.Seq, Fail: "wrong number of arguments"}, nil)
		return
	}
	args := make([]reflect.Value, len(m.Args))
	for i, raw := range m.Args {
		v, err := cl.decode(raw, ft.In(i), files)
		if err != nil {
			cl.tr.send(&message{Op: opReply, Seq: m.Seq, Fail: err.Error()}, nil)
			return
		}
		args[i] = v
	}
	rep := &message{Op: opReply, Seq: m.Seq}
	if why := guarded(func() {
		enc := &encoder{cl: cl}
		for i, r := range fn.Call(args) {
			rep.Res = append(rep.Res, enc.encode(r, ft.Out(i)))
		}
	}); why != "" {
		rep.Fail = why
	}
	cl.tr.send(rep, nil)
}

// goNonblock reports whether Go itself put f in non-blocking mode (as
// (*net.UDPConn).File does), so that f.Fd() puts it back in blocking
// mode. The driver makes its copy the same way, so that a learner's Fd
// does there what it does in one process.
func goNonblock(f *os.File) bool {
	v := reflect.ValueOf(f).Elem()
	if v.NumField() == 0 || v.Field(0).Kind() != reflect.Pointer || v.Field(0).IsNil() {
		return false
	}
	nb := v.Field(0).Elem().FieldByName("nonblock")
	return nb.IsValid() && nb.Kind() == reflect.Bool && nb.Bool()
}

// watchClose waits for the judge's socket or file conn, whose copy the
// driver has as id, to be closed, and then closes the driver's copy, so
// that closing the harness's socket under the learner's code does what it
// does in one process. A file that cannot be waited on (a regular file)
// is looked at every few milliseconds.
func (cl *Client) watchClose(conn any, id uint64) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	for {
		// Wait for the socket to be readable, without reading: the
		// datagrams are the driver's. Close ends the wait with an error.
		err := rc.Read(func(uintptr) bool { return false })
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) ||
			err != nil && strings.Contains(err.Error(), "use of closed") {
			break
		}
		if err != nil {
			// A deadline the harness set on its socket: look again soon.
			select {
			case <-cl.gone:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	cl.tr.send(&message{Op: opClose, Obj: id}, nil)
}

// decode turns a result the driver sent into a value of type t.
func (cl *Client) decode(raw json.RawMessage, t reflect.Type, files fds) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if string(raw) == "null" && nilable(t) {
		return v, nil
	}
	switch t {
	case errorType:
		var w wireErr
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(&remoteError{w: w, cl: cl}))
		return v, nil
	case addrType:
		var w wireAddr
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(toAddr(w)))
		return v, nil
	case packetConnType:
		var w wireObj
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		rc := &remoteConn{cl: cl, h: w.H, file: files.file(w.FD, "udpbook-conn"), typedNil: w.Nil}
		v.Set(reflect.ValueOf(rc))
		return v, nil
	}
	if t == udpConnType {
		var w wireObj
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		f := files.file(w.FD, "udpbook-conn")
		if f == nil {
			return v, errors.New("the *net.UDPConn came without its descriptor")
		}
		pc, err := net.FilePacketConn(f)
		f.Close()
		if err != nil {
			return v, err
		}
		uc, ok := pc.(*net.UDPConn)
		if !ok {
			pc.Close()
			return v, fmt.Errorf("the *net.UDPConn's descriptor is a %T", pc)
		}
		cl.mu.Lock()
		cl.owned = append(cl.owned, uc)
		cl.mu.Unlock()
		v.Set(reflect.ValueOf(uc))
		return v, nil
	}
	if t.Kind() == reflect.Interface {
		proxiesMu.Lock()
		mk := proxies[t]
		proxiesMu.Unlock()
		if mk == nil {
			return v, fmt.Errorf("the judge cannot stand in for a %v", t)
		}
		var w wireObj
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(mk(&Object{cl: cl, h: w.H, iface: t})))
		return v, nil
	}
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return v, err
	}
	return p.Elem(), nil
}

// Proxy returns an I (a lesson's Impl, a struct of functions) whose
// functions call the learner's in the driver, and whose error fields are
// stand-ins for the learner's sentinel errors: an error from the driver
// matches one (errors.Is) when the driver's error matched the learner's.
func Proxy[I any](cl *Client) I {
	var impl I
	v := reflect.ValueOf(&impl).Elem()
	for i := range v.NumField() {
		field := v.Type().Field(i)
		if !field.IsExported() {
			continue
		}
		switch {
		case field.Type.Kind() == reflect.Func:
			name, ft := field.Name, field.Type
			v.Field(i).Set(reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
				return cl.invoke(0, name, ft, args)
			}))
		case field.Type == errorType:
			// nil where the learner's is nil, as the checks must see.
			cl.mu.Lock()
			if err := cl.sentinels[field.Name]; err != nil {
				v.Field(i).Set(reflect.ValueOf(err))
			}
			cl.mu.Unlock()
		}
	}
	return impl
}

var (
	proxiesMu sync.Mutex
	proxies   = map[reflect.Type]func(*Object) any{}
)

// RegisterProxy makes the judge stand in for a T (an interface) that the
// learner's code returns with what mk makes of the handle: a type whose
// methods call o.Invoke.
func RegisterProxy[T any](mk func(o *Object) T) {
	proxiesMu.Lock()
	defer proxiesMu.Unlock()
	proxies[reflect.TypeFor[T]()] = func(o *Object) any { return mk(o) }
}

// Object is an object the learner's code returned, in the driver, of the
// interface type a proxy was registered for.
type Object struct {
	cl    *Client
	h     uint64
	iface reflect.Type
}

// Invoke calls the object's method name with args (nil for a nil
// interface or pointer) and returns its results. Like the Impl's
// functions, it panics with a Failure if the method does not return
// normally.
func (o *Object) Invoke(name string, args ...any) []reflect.Value {
	m, ok := o.iface.MethodByName(name)
	if !ok {
		panic(fmt.Sprintf("udpbook judge: %v has no method %s", o.iface, name))
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		in[i] = reflect.New(m.Type.In(i)).Elem()
		if a != nil {
			in[i].Set(reflect.ValueOf(a))
		}
	}
	return o.cl.invoke(o.h, name, m.Type, in)
}

// Err returns the error in a result of Invoke.
func Err(v reflect.Value) error {
	e, _ := v.Interface().(error)
	return e
}

// Package returns the import path of the learner's package.
func (cl *Client) Package() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.pkg
}

// Goroutines returns the driver's goroutines that mention package pkg.
func (cl *Client) Goroutines(pkg string) map[int]string {
	var found map[int]string
	cl.probe("goroutines", pkg, &found)
	return found
}

// OpenSockets returns the sockets the driver has open.
func (cl *Client) OpenSockets() (map[string]bool, bool) {
	var got struct {
		Open map[string]bool
		OK   bool
	}
	cl.probe("sockets", "", &got)
	return got.Open, got.OK
}

// Holds reports whether the driver's copy of conn, a socket of the
// harness's passed to the learner's code, is still open: false once the
// learner's code has closed it. known is false for a conn never passed.
func (cl *Client) Holds(conn any) (held, known bool) {
	cl.mu.Lock()
	id, ok := cl.passed[conn]
	cl.mu.Unlock()
	if !ok {
		return false, false
	}
	var got struct{ Held, Known bool }
	cl.probe("holds", strconv.FormatUint(id, 10), &got)
	return got.Held, got.Known
}

func (cl *Client) probe(name, text string, v any) {
	r, err := cl.roundTrip(&message{Op: opProbe, Name: name, Text: text}, nil, nil, CallBound)
	if err != nil {
		if errors.Is(err, errGone) {
			cl.fail("looking at your code's process", "failed: the process running your code ended")
		}
		cl.fail("looking at your code's process", "failed: "+err.Error())
	}
	r.files.close()
	if r.m.Fail != "" || len(r.m.Res) != 1 || json.Unmarshal(r.m.Res[0], v) != nil {
		cl.fail("looking at your code's process", "failed: "+r.m.Fail)
	}
}

// remoteError is an error the learner's code returned in the driver.
type remoteError struct {
	w  wireErr
	cl *Client
}

func (e *remoteError) Error() string { return e.w.Text }

// Timeout reports whether the driver's error was a timeout (net.Error).
func (e *remoteError) Timeout() bool { return e.w.Timeout }

// Temporary is false, as for every error the net package returns now.
func (e *remoteError) Temporary() bool { return false }

// Unwrap returns the errno in the driver's error, if any, for errors.As.
func (e *remoteError) Unwrap() error {
	if len(e.w.Errno) > 0 {
		return syscall.Errno(e.w.Errno[0])
	}
	return nil
}

// Is reports whether errors.Is(err, target) was true in the driver.
func (e *remoteError) Is(target error) bool {
	for name, known := range knownErrors {
		if target == known {
			return slices.Contains(e.w.Is, name)
		}
	}
	if errno, ok := target.(syscall.Errno); ok {
		return slices.Contains(e.w.Errno, uint64(errno))
	}
	e.cl.mu.Lock()
	defer e.cl.mu.Unlock()
	for _, name := range e.w.Is {
		if s, ok := strings.CutPrefix(name, "sentinel:"); ok && e.cl.sentinels[s] == target {
			return true
		}
	}
	return false
}

// remoteConn is a connection the learner's code returned: its methods run
// in the driver. Where the driver could pass its descriptor, SyscallConn
// gives a copy, to look at the socket's options.
type remoteConn struct {
	cl       *Client
	h        uint64
	file     *os.File
	typedNil string // the driver's conn is a nil pointer of this type in a non-nil interface
}

// TypedNil returns the type of the nil pointer the driver's interface held,
// or "" (see harness.TypedNil).
func (c *remoteConn) TypedNil() string { return c.typedNil }

var (
	writeToType  = reflect.TypeOf(func([]byte, net.Addr) (int, error) { return 0, nil })
	closeType    = reflect.TypeOf(func() error { return nil })
	addrFuncType = reflect.TypeOf(func() net.Addr { return nil })
	deadlineType = reflect.TypeOf(func(time.Time) error { return nil })
)

func (c *remoteConn) ReadFrom(p []byte) (int, net.Addr, error) {
	size, _ := json.Marshal(len(p))
	ch := make(chan reply, 1)
	c.cl.mu.Lock()
	ctx := c.cl.check
	c.cl.seq++
	m := &message{Op: opRead, Obj: c.h, Seq: c.cl.seq, Args: []json.RawMessage{size}}
	c.cl.pending[m.Seq] = ch
	c.cl.mu.Unlock()
	if err := c.cl.tr.send(m, nil); err != nil {
		c.cl.fail("ReadFrom", "could not be called: "+err.Error())
	}
	r, err := c.cl.await(m, ch, ctx)
	if err != nil {
		c.cl.fail("ReadFrom", "did not answer: "+err.Error())
	}
	r.files.close()
	if r.m.Fail != "" {
		c.cl.fail("ReadFrom", r.m.Fail)
	}
	var n int
	var data []byte
	if len(r.m.Res) != 4 || json.Unmarshal(r.m.Res[0], &n) != nil || json.Unmarshal(r.m.Res[1], &data) != nil {
		c.cl.fail("ReadFrom", "answered with something that is not a result")
	}
	addr, err1 := c.cl.decode(r.m.Res[2], addrType, nil)
	rerr, err2 := c.cl.decode(r.m.Res[3], errorType, nil)
	if err1 != nil || err2 != nil {
		c.cl.fail("ReadFrom", "answered with something that is not a result")
	}
	copy(p, data)
	a, _ := addr.Interface().(net.Addr)
	e, _ := rerr.Interface().(error)
	return n, a, e
}

func (c *remoteConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	out := c.cl.invoke(c.h, "WriteTo", writeToType, []reflect.Value{reflect.ValueOf(p), reflect.ValueOf(&addr).Elem()})
	return int(out[0].Int()), asError(out[1])
}

func (c *remoteConn) Close() error {
	if c.file != nil {
		c.file.Close()
	}
	return asError(c.cl.invoke(c.h, "Close", closeType, nil)[0])
}

func (c *remoteConn) LocalAddr() net.Addr {
	a, _ := c.cl.invoke(c.h, "LocalAddr", addrFuncType, nil)[0].Interface().(net.Addr)
	return a
}

func (c *remoteConn) SetDeadline(t time.Time) error {
	return asError(c.cl.invoke(c.h, "SetDeadline", deadlineType, []reflect.Value{reflect.ValueOf(t)})[0])
}

func (c *remoteConn) SetReadDeadline(t time.Time) error {
	return asError(c.cl.invoke(c.h, "SetReadDeadline", deadlineType, []reflect.Value{reflect.ValueOf(t)})[0])
}

func (c *remoteConn) SetWriteDeadline(t time.Time) error {
	return asError(c.cl.invoke(c.h, "SetWriteDeadline", deadlineType, []reflect.Value{reflect.ValueOf(t)})[0])
}

// SyscallConn gives the socket's descriptor as the driver passed it.
func (c *remoteConn) SyscallConn() (syscall.RawConn, error) {
	if c.file == nil {
		return nil, errors.New("the connection your code returned has no descriptor (it is not a syscall.Conn)")
	}
	return c.file.SyscallConn()
}

func asError(v reflect.Value) error {
	e, _ := v.Interface().(error)
	return e
}
