package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"udpbook/harness"
)

// driverFile is the control socket when the grader started this process as
// a driver. It is taken from the environment while this package
// initializes, before the learner's package does.
var driverFile = takeDriver()

func takeDriver() *os.File {
	if os.Getenv(DriverEnv) != "fd3" {
		return nil
	}
	os.Unsetenv(DriverEnv)
	// Processes the learner's code starts must not hold the socket: the
	// judge learns that the driver has gone when its end closes.
	closeOnExec(3)
	return os.NewFile(3, "udpbook-control")
}

func init() {
	if driverFile != nil {
		harness.Driver = Serve
	}
}

var (
	contextType    = reflect.TypeFor[context.Context]()
	errorType      = reflect.TypeFor[error]()
	packetConnType = reflect.TypeFor[net.PacketConn]()
	addrType       = reflect.TypeFor[net.Addr]()
	fileType       = reflect.TypeFor[*os.File]()
	udpConnType    = reflect.TypeFor[*net.UDPConn]()
)

// driver serves a lesson's Impl to the judge.
type driver struct {
	tr        *transport
	funcs     map[string]reflect.Value
	sentinels map[string]error
	control   chan *message // begin, end and quit, for the test's goroutine

	mu    sync.Mutex
	gcOff bool // the garbage collector is stopped until the check ends
	gcOld int
	objs  map[uint64]any // learner's objects by handle, and the judge's sockets by the judge's id
	next  uint64
	ctxs  map[uint64]context.CancelFunc
	seq   uint64                   // of the driver's own requests (callbacks, channel values)
	wait  map[uint64]chan *message // their replies
	ins   map[uint64]*inbox        // channels the learner receives from, by the judge's id
	gone  chan struct{}            // closed when the judge has gone
}

// inbox delivers the values the judge sends on one channel, in order.
type inbox struct {
	ch    reflect.Value // the channel the learner's code receives from
	queue chan *message // values and the close, in order
}

// Serve serves impl, a lesson's Impl struct of functions, to the judge on
// the control socket the grader passed, until the judge says grading is
// over or goes away. Each check the judge runs is a subtest of t, so that a
// data race the race detector finds counts against the check that was
// running. It reports whether it served (whether this process is a
// driver).
func Serve(t *testing.T, impl any) bool {
	if driverFile == nil {
		return false
	}
	f := driverFile
	driverFile = nil
	serve(t, impl, f)
	return true
}

// Loopback serves impl as a driver does, in this process, on one end of a
// new control socket, and returns a Client on the other end: tests run
// checks through the remote layer with it. stop tells the driver that
// grading is over and waits for it.
func Loopback(t *testing.T, impl any) (cl *Client, stop func()) {
	judgeEnd, driverEnd, err := Pair()
	if err != nil {
		t.Fatalf("%v", err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		t.Run("driver", func(t *testing.T) { serve(t, impl, driverEnd) })
	}()
	cl, err = Dial(judgeEnd, CallBound, nil)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return cl, func() {
		cl.Quit()
		<-served
		harness.SetProbe(nil)
	}
}

// serve serves impl on the control socket f until the judge says grading
// is over or goes away.
func serve(t *testing.T, impl any, f *os.File) {
	tr, err := newTransport(f)
	if err != nil {
		t.Fatalf("udpbook driver: %v", err)
	}
	d := &driver{tr: tr, funcs: map[string]reflect.Value{}, sentinels: map[string]error{},
		control: make(chan *message, 4), objs: map[uint64]any{}, ctxs: map[uint64]context.CancelFunc{},
		wait: map[uint64]chan *message{}, ins: map[uint64]*inbox{}, gone: make(chan struct{})}
	hello := &message{Op: opHello, Sentinels: map[string]string{}}
	v := reflect.ValueOf(impl)
	for i := range v.NumField() {
		field := v.Type().Field(i)
		if !field.IsExported() {
			continue
		}
		switch {
		case field.Type.Kind() == reflect.Func:
			d.funcs[field.Name] = v.Field(i)
			if !v.Field(i).IsNil() {
				// The learner's package, or packages: the functions of a
				// lesson's test file are all in the lesson's package,
				// but a self-test's may come from several.
				pkg := harness.PackageOf(v.Field(i).Interface())
				if !slices.Contains(strings.Split(hello.Text, ","), pkg) {
					hello.Text = strings.TrimPrefix(hello.Text+","+pkg, ",")
				}
			}
		case field.Type == errorType && !v.Field(i).IsNil():
			err := v.Field(i).Interface().(error)
			d.sentinels[field.Name] = err
			var text string
			if why := guarded(func() { text = err.Error() }); why != "" {
				text = field.Name
			}
			hello.Sentinels[field.Name] = text
		}
	}
	go d.read()
	if err := tr.send(hello, nil); err != nil {
		t.Fatalf("udpbook driver: %v", err)
	}
	for {
		m, ok := <-d.control
		if !ok || m.Op == opQuit {
			return
		}
		if m.Op != opBegin {
			continue
		}
		// A descriptor the learner's code leaked and dropped is closed by a
		// finalizer when the garbage collector runs, which would hide the
		// leak at random: no collection while a check runs.
		d.mu.Lock()
		if !d.gcOff {
			d.gcOff, d.gcOld = true, debug.SetGCPercent(-1)
		}
		d.mu.Unlock()
		var end *message
		passed := t.Run(m.Name, func(t *testing.T) {
			d.reply(m, &message{OK: true})
			end = <-d.control
		})
		d.mu.Lock()
		if d.gcOff {
			debug.SetGCPercent(d.gcOld)
			d.gcOff = false
		}
		d.mu.Unlock()
		if end == nil || end.Op != opEnd {
			return
		}
		d.reply(end, &message{OK: passed})
	}
}

// read handles the judge's messages until the control socket closes.
func (d *driver) read() {
	defer close(d.control)
	defer close(d.gone)
	for {
		m, files, err := d.tr.recv()
		if err != nil {
			return
		}
		switch m.Op {
		case opReply:
			d.mu.Lock()
			ch := d.wait[m.Seq]
			delete(d.wait, m.Seq)
			d.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case opChanSend, opChanShut:
			d.mu.Lock()
			in := d.ins[m.Obj]
			d.mu.Unlock()
			if in != nil {
				in.queue <- m
			}
		case opBegin, opEnd, opQuit:
			d.control <- m
		case opCancel:
			d.mu.Lock()
			cancel := d.ctxs[m.Obj]
			delete(d.ctxs, m.Obj)
			d.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case opClose:
			d.mu.Lock()
			obj := d.objs[m.Obj]
			delete(d.objs, m.Obj)
			d.mu.Unlock()
			if c, ok := obj.(io.Closer); ok {
				c.Close()
			}
		case opCall:
			d.call(m, files)
			continue
		case opRead:
			go d.readFrom(m)
		case opProbe:
			go d.probe(m)
		}
		files.close()
	}
}

func (d *driver) reply(req, m *message) {
	m.Op, m.Seq = opReply, req.Seq
	if err := d.tr.send(m, nil); err != nil {
		// The judge cannot take the reply (too large, say): say so.
		d.tr.send(&message{Op: opReply, Seq: req.Seq, Fail: "the driver could not send the result: " + err.Error()}, nil)
	}
}

// call decodes the arguments of a call here, in order with the other
// messages (a context's cancellation comes after the call that got it),
// and runs the call on a goroutine of its own.
func (d *driver) call(m *message, files fds) {
	defer files.close() // those no argument took
	var fn reflect.Value
	if m.Obj == 0 {
		fn = d.funcs[m.Name]
	} else {
		d.mu.Lock()
		obj := d.objs[m.Obj]
		d.mu.Unlock()
		if obj != nil {
			fn = reflect.ValueOf(obj).MethodByName(m.Name)
		}
	}
	if !fn.IsValid() || fn.Kind() != reflect.Func || fn.IsNil() {
		go d.reply(m, &message{Fail: fmt.Sprintf("there is no function %s to call", m.Name)})
		return
	}
	ft := fn.Type()
	if len(m.Args) != ft.NumIn() || ft.IsVariadic() {
		go d.reply(m, &message{Fail: fmt.Sprintf("%s takes %d arguments, the judge sent %d", m.Name, ft.NumIn(), len(m.Args))})
		return
	}
	args := make([]reflect.Value, len(m.Args))
	for i, raw := range m.Args {
		v, err := d.decode(raw, ft.In(i), files)
		if err != nil {
			go d.reply(m, &message{Fail: fmt.Sprintf("argument %d: %v", i+1, err)})
			return
		}
		args[i] = v
	}
	go func() {
		var res []json.RawMessage
		var out []*os.File
		var closed []int
		why := guarded(func() {
			results := fn.Call(args)
			// A file the learner's code closed is closed for the
			// caller too, as in one process.
			for i, a := range args {
				if f, ok := a.Interface().(*os.File); ok && f != nil && isClosed(f) {
					closed = append(closed, i)
				}
			}
			for i, r := range results {
				raw, f := d.encode(r, ft.Out(i), len(out))
				res = append(res, raw)
				if f != nil {
					out = append(out, f)
				}
			}
		})
		if why != "" {
			closeAll(out)
			d.reply(m, &message{Fail: why})
			return
		}
		rep := &message{Op: opReply, Seq: m.Seq, Res: res, Closed: closed}
		if err := d.tr.send(rep, out); err != nil {
			d.reply(m, &message{Fail: "the driver could not send the result: " + err.Error()})
		}
		closeAll(out)
	}()
}

// readFrom is ReadFrom on a connection the learner's code returned, into a
// buffer of the size the judge's caller gave.
func (d *driver) readFrom(m *message) {
	d.mu.Lock()
	conn, _ := d.objs[m.Obj].(net.PacketConn)
	d.mu.Unlock()
	var size int
	if conn == nil || len(m.Args) != 1 || json.Unmarshal(m.Args[0], &size) != nil || size < 0 || size > 1<<17 {
		d.reply(m, &message{Fail: "ReadFrom on a connection that is not there"})
		return
	}
	var res []json.RawMessage
	why := guarded(func() {
		buf := make([]byte, size)
		n, addr, err := conn.ReadFrom(buf)
		if n < 0 || n > size {
			panic(fmt.Sprintf("ReadFrom returned n = %d for a buffer of %d bytes", n, size))
		}
		nb, _ := json.Marshal(n)
		data, _ := json.Marshal(buf[:n])
		a, _ := d.encode(reflect.ValueOf(&addr).Elem(), addrType, 0)
		e, _ := d.encode(reflect.ValueOf(&err).Elem(), errorType, 0)
		res = []json.RawMessage{nb, data, a, e}
	})
	if why != "" {
		d.reply(m, &message{Fail: why})
		return
	}
	d.reply(m, &message{Res: res})
}

// probe answers what only the driver can see.
func (d *driver) probe(m *message) {
	var v any
	switch m.Name {
	case "goroutines":
		all := map[int]string{}
		for _, pkg := range strings.Split(m.Text, ",") {
			maps.Copy(all, harness.OwnGoroutines(pkg))
		}
		v = all
	case "sockets":
		// A socket nobody refers to is closed by a finalizer when the
		// garbage collector runs, which would hide a socket left open at
		// random: no collection until the check ends, as in one process.
		d.mu.Lock()
		if !d.gcOff {
			d.gcOff, d.gcOld = true, debug.SetGCPercent(-1)
		}
		d.mu.Unlock()
		open, ok := harness.OwnSockets()
		v = struct {
			Open map[string]bool
			OK   bool
		}{open, ok}
	case "holds":
		id, _ := strconv.ParseUint(m.Text, 10, 64)
		d.mu.Lock()
		obj, ok := d.objs[id]
		d.mu.Unlock()
		var got struct{ Held, Known bool }
		if ok {
			got.Held, got.Known = harness.OwnHolds(obj)
		}
		v = got
	}
	b, _ := json.Marshal(v)
	d.reply(m, &message{Res: []json.RawMessage{b}})
}

// ask sends the judge a request and waits for its reply, or for the
// judge to go (nil).
func (d *driver) ask(m *message, files []*os.File) *message {
	ch := make(chan *message, 1)
	d.mu.Lock()
	d.seq++
	m.Seq = d.seq
	d.wait[m.Seq] = ch
	d.mu.Unlock()
	if err := d.tr.send(m, files); err != nil {
		d.mu.Lock()
		delete(d.wait, m.Seq)
		d.mu.Unlock()
		return nil
	}
	select {
	case r := <-ch:
		return r
	case <-d.gone:
		return nil
	}
}

// callback returns a function of type t that calls the judge's function
// id. If the judge cannot run it (the check is over), it returns zero
// values, as a function that does nothing would.
func (d *driver) callback(id uint64, t reflect.Type) reflect.Value {
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		m := &message{Op: opCallback, Obj: id}
		var files []*os.File
		for i, a := range args {
			raw, f := d.encode(a, t.In(i), len(files))
			m.Args = append(m.Args, raw)
			if f != nil {
				files = append(files, f)
			}
		}
		r := d.ask(m, files)
		closeAll(files)
		out := make([]reflect.Value, t.NumOut())
		for i := range out {
			out[i] = reflect.New(t.Out(i)).Elem()
			if r != nil && r.Fail == "" && i < len(r.Res) {
				if v, err := d.decode(r.Res[i], t.Out(i), nil); err == nil {
					out[i] = v
				}
			}
		}
		return out
	})
}

// channel returns a channel of type t standing for the judge's channel
// id: values the judge sends arrive on it (the learner receives), or
// values the learner sends on it go to the judge.
func (d *driver) channel(id uint64, t reflect.Type) reflect.Value {
	ch := reflect.MakeChan(reflect.ChanOf(reflect.BothDir, t.Elem()), 0)
	if t.ChanDir()&reflect.RecvDir != 0 {
		in := &inbox{ch: ch, queue: make(chan *message, 16)}
		d.mu.Lock()
		d.ins[id] = in
		d.mu.Unlock()
		go func() {
			for {
				var m *message
				select {
				case m = <-in.queue:
				case <-d.gone:
					return
				}
				if m.Op == opChanShut {
					ch.Close()
					return
				}
				if len(m.Args) == 1 {
					if v, err := d.decode(m.Args[0], t.Elem(), nil); err == nil {
						// The judge's sender goes on once the learner's
						// code has taken the value.
						chosen, _, _ := reflect.Select([]reflect.SelectCase{
							{Dir: reflect.SelectSend, Chan: ch, Send: v},
							{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(d.gone)},
						})
						if chosen == 1 {
							return
						}
					}
				}
				d.tr.send(&message{Op: opReply, Seq: m.Seq, OK: true}, nil)
			}
		}()
	} else {
		go func() {
			for {
				v, ok, gone := recvUnless(ch, d.gone)
				if gone {
					return
				}
				if !ok {
					d.tr.send(&message{Op: opChanShut, Obj: id}, nil)
					return
				}
				raw, _ := d.encode(v, t.Elem(), 0)
				if d.ask(&message{Op: opChanRecv, Obj: id, Args: []json.RawMessage{raw}}, nil) == nil {
					return
				}
			}
		}()
	}
	return ch.Convert(t)
}

func (d *driver) handle(obj any) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	d.objs[d.next] = obj
	return d.next
}

// decode turns an argument the judge sent into a value of type t.
func (d *driver) decode(raw json.RawMessage, t reflect.Type, files fds) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if string(raw) == "null" && nilable(t) {
		return v, nil
	}
	file := func(i int, name string) (*os.File, error) {
		if f := files.file(i, name); f != nil {
			return f, nil
		}
		return nil, errors.New("descriptor missing")
	}
	switch t {
	case contextType:
		var w wireCtx
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		if !w.Deadline.IsZero() {
			var cancelDeadline context.CancelFunc
			ctx, cancelDeadline = context.WithDeadline(ctx, w.Deadline)
			parent := cancel
			cancel = func() { cancelDeadline(); parent() }
		}
		if w.Done != "" {
			cancel()
		} else {
			d.mu.Lock()
			d.ctxs[w.ID] = cancel
			d.mu.Unlock()
		}
		v.Set(reflect.ValueOf(ctx))
		return v, nil
	case packetConnType:
		var w wireObj
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		if w.FD < 0 {
			d.mu.Lock()
			obj, ok := d.objs[w.H].(net.PacketConn)
			d.mu.Unlock()
			if !ok {
				return v, fmt.Errorf("no connection %d", w.H)
			}
			v.Set(reflect.ValueOf(obj))
			return v, nil
		}
		f, err := file(w.FD, "udpbook-socket")
		if err != nil {
			return v, err
		}
		conn, err := net.FilePacketConn(f)
		f.Close()
		if err != nil {
			return v, err
		}
		d.mu.Lock()
		d.objs[w.J] = conn
		d.mu.Unlock()
		v.Set(reflect.ValueOf(conn))
		return v, nil
	case fileType:
		var w wireObj
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		if w.Shut {
			v.Set(reflect.ValueOf(closedFile(w.Name)))
			return v, nil
		}
		f, err := file(w.FD, w.Name)
		if err != nil {
			return v, err
		}
		if w.GoNB {
			f = goNonblockFile(f)
		}
		d.mu.Lock()
		d.objs[w.J] = f
		d.mu.Unlock()
		v.Set(reflect.ValueOf(f))
		return v, nil
	case addrType:
		var w wireAddr
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(toAddr(w)))
		return v, nil
	}
	switch t.Kind() {
	case reflect.Func:
		var w wireRef
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		return d.callback(w.ID, t), nil
	case reflect.Chan:
		var w wireRef
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		return d.channel(w.ID, t), nil
	}
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return v, err
	}
	return p.Elem(), nil
}

// encode turns a result of type t into what the judge decodes, and the
// descriptor to send with it, if any, which will be the message's
// descriptor number nfd. It runs the learner's code (Error, LocalAddr,
// SyscallConn), so it runs guarded.
func (d *driver) encode(v reflect.Value, t reflect.Type, nfd int) (json.RawMessage, *os.File) {
	if nilable(t) && v.IsNil() {
		return json.RawMessage("null"), nil
	}
	switch {
	case t == errorType:
		b, _ := json.Marshal(d.wireErr(v.Interface().(error)))
		return b, nil
	case t == addrType:
		b, _ := json.Marshal(wire(v.Interface().(net.Addr)))
		return b, nil
	case t == udpConnType:
		w := wireObj{H: d.handle(v.Interface()), FD: -1}
		f := dupFD(v.Interface())
		if f != nil {
			w.FD = nfd
		}
		b, _ := json.Marshal(w)
		return b, f
	case t == packetConnType:
		conn := v.Interface().(net.PacketConn)
		if harness.IsTypedNil(conn) {
			// Its methods would dereference the nil pointer: send the type only.
			b, _ := json.Marshal(wireObj{FD: -1, Nil: fmt.Sprintf("%T", conn)})
			return b, nil
		}
		w := wireObj{H: d.handle(conn), FD: -1}
		if la := conn.LocalAddr(); la != nil {
			wa := wire(la)
			w.Laddr = &wa
		}
		f := dupFD(conn)
		if f != nil {
			w.FD = nfd
		}
		b, _ := json.Marshal(w)
		return b, f
	case t.Kind() == reflect.Interface:
		b, _ := json.Marshal(wireObj{H: d.handle(v.Interface()), FD: -1})
		return b, nil
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		panic(fmt.Sprintf("udpbook driver: cannot send a %v: %v", t, err))
	}
	return b, nil
}

// knownErrors are the errors the checks look for with errors.Is, by their
// names on the wire.
var knownErrors = map[string]error{
	"closed": net.ErrClosed, "deadline": os.ErrDeadlineExceeded, "canceled": context.Canceled,
	"ctxdeadline": context.DeadlineExceeded, "eof": io.EOF, "unexpectedeof": io.ErrUnexpectedEOF,
	"fsclosed": os.ErrClosed, "invalid": os.ErrInvalid, "notexist": os.ErrNotExist,
	"exist": os.ErrExist, "permission": os.ErrPermission, "writetoconnected": net.ErrWriteToConnected,
}

// wireErr describes err by what the checks ask of it.
func (d *driver) wireErr(err error) wireErr {
	w := wireErr{Text: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		w.Errno = append(w.Errno, uint64(errno))
	}
	for name, target := range knownErrors {
		if errors.Is(err, target) {
			w.Is = append(w.Is, name)
		}
	}
	for name, target := range d.sentinels {
		if errors.Is(err, target) {
			w.Is = append(w.Is, "sentinel:"+name)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		w.Timeout = ne.Timeout()
	}
	return w
}

func wire(a net.Addr) wireAddr { return wireAddr{Net: a.Network(), Str: a.String()} }

// toAddr makes a net.Addr of w: a *net.UDPAddr for UDP, which the harness
// reads with AddrPort.
func toAddr(w wireAddr) net.Addr {
	if w.Net == "udp" || w.Net == "udp4" || w.Net == "udp6" {
		if ua, err := net.ResolveUDPAddr(w.Net, w.Str); err == nil {
			return ua
		}
	}
	return plainAddr(w)
}

// plainAddr is an address that is not UDP.
type plainAddr wireAddr

func (a plainAddr) Network() string { return a.Net }
func (a plainAddr) String() string  { return a.Str }

// goNonblockFile returns a copy of socket f made as (*net.UDPConn).File
// makes one, which Go put in non-blocking mode, and closes f; or f itself
// if it is not a socket Go can wrap.
func goNonblockFile(f *os.File) *os.File {
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return f
	}
	defer pc.Close()
	fc, ok := pc.(interface{ File() (*os.File, error) })
	if !ok {
		return f
	}
	g, err := fc.File()
	if err != nil {
		return f
	}
	f.Close()
	return g
}

// isClosed reports whether f has been closed.
func isClosed(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	return rc.Control(func(uintptr) {}) != nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
