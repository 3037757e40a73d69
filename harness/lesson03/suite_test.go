package lesson03_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"udpbook/harness"
	"udpbook/harness/lesson03"
	stub "udpbook/lessons/03-connected-udp"
	solution "udpbook/solutions/03-connected-udp"
)

var reference = lesson03.Impl{Dial: lesson03.DialFunc(solution.Dial)}

// promises is everything lesson 03 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "dial-returns-client", Source: "Dial", Checks: []string{"dial"},
		Text: "Dial returns a Client, or an error: never a nil Client and no error"},
	{ID: "dial-sends-nothing", Source: "Dial", Checks: []string{"dial"},
		Text: "connecting sends nothing: Dial puts no datagram on the wire"},
	{ID: "dial-nobody-listens", Source: "Dial", Checks: []string{"dial"},
		Text: "Dial succeeds whether or not anything listens at addr; the first Request finds out"},
	{ID: "dial-ctx", Source: "Dial", Checks: []string{"dial"},
		Text: "if ctx is done, Dial returns an error that wraps ctx.Err()"},
	{ID: "dial-any-ip", Source: "Dial", Checks: []string{"ipv6"},
		Text: `addr may be IPv4 or IPv6 ("[::1]:9999"): the address decides`},
	{ID: "local-addr", Source: "Client.LocalAddr", Checks: []string{"dial"},
		Text: "LocalAddr is the address datagrams leave from: a port the kernel chose, the IP of the route to the peer (127.0.0.1)"},
	{ID: "remote-addr", Source: "Client.RemoteAddr", Checks: []string{"dial", "ipv6"},
		Text: "RemoteAddr is the peer's address, the one given to Dial"},
	{ID: "close-frees", Source: "Client.Close", Checks: []string{"close"},
		Text: "Close closes the client's socket and frees its port"},
	{ID: "close-wakes-request", Source: "Client.Close", Checks: []string{"close"},
		Text: "a Request waiting for a reply returns at once when Close is called, with an error wrapping net.ErrClosed"},
	{ID: "close-errors", Source: "Client.Close", Checks: []string{"close"},
		Text: "after Close, every call returns an error wrapping net.ErrClosed, a second Close included"},
	{ID: "request-sends-msg", Source: "Client.Request", Checks: []string{"request"},
		Text: "Request sends msg, as it is and whole, as one datagram from the client's socket"},
	{ID: "request-whole-reply", Source: "Client.Request", Checks: []string{"request"},
		Text: "Request returns the first datagram that comes back, as it is and whole, up to 65,507 bytes"},
	{ID: "request-timeout", Source: "Client.Request", Checks: []string{"timeout"},
		Text: "with no reply, Request waits wait (no less, not much more) and returns an error wrapping os.ErrDeadlineExceeded"},
	{ID: "request-zero-wait", Source: "Client.Request", Checks: []string{"timeout"},
		Text: "a wait of zero or less gives up at once"},
	{ID: "request-once", Source: "Client.Request", Checks: []string{"timeout", "refused"},
		Text: "Request sends msg once and never again"},
	{ID: "request-refused", Source: "Client.Request", Checks: []string{"refused"},
		Text: "with nobody on the peer's port, Request returns at once an error wrapping syscall.ECONNREFUSED"},
	{ID: "request-usable", Source: "Client.Request", Checks: []string{"refused-then-works"},
		Text: "after a refusal the client stays usable: a later Request succeeds once the peer is there"},
	{ID: "send-every-cadence", Source: "Client.SendEvery", Checks: []string{"send-every", "send-every-stop"},
		Text: "SendEvery sends a message at once, then one every interval (not faster, not slower)"},
	{ID: "send-every-msg", Source: "Client.SendEvery", Checks: []string{"send-every"},
		Text: "SendEvery calls msg once for each message, just before sending it, and sends what it returns"},
	{ID: "send-every-stop", Source: "Client.SendEvery", Checks: []string{"send-every-stop"},
		Text: "when ctx is done, SendEvery returns ctx.Err()"},
	{ID: "send-every-no-leak", Source: "Client.SendEvery", Checks: []string{"send-every-stop", "send-every-error"},
		Text: "SendEvery leaves no goroutine running once it has returned, however it returns"},
	{ID: "send-every-refused", Source: "Client.SendEvery", Checks: []string{"send-every-refused"},
		Text: "a refused send is passed to refused, with an error wrapping syscall.ECONNREFUSED, and the sending goes on"},
	{ID: "send-every-refused-nil", Source: "Client.SendEvery", Checks: []string{"send-every-refused"},
		Text: "refused may be nil"},
	{ID: "send-every-refused-serial", Source: "Client.SendEvery", Checks: []string{"send-every-refused"},
		Text: "refused is called on SendEvery's goroutine, one call at a time, and is never running once SendEvery has returned"},
	{ID: "send-every-interval", Source: "Client.SendEvery", Checks: []string{"send-every-error"},
		Text: "an interval of zero or less is an error, returned at once, with nothing sent"},
	{ID: "send-every-other-error", Source: "Client.SendEvery", Checks: []string{"send-every-error"},
		Text: "any other failed send (a message too long, the client closed) ends SendEvery with that send's error"},
	{ID: "connect-filters-and-refuses", Source: "chapter", Checks: []string{"filters-strangers", "refused", "send-every-refused", "ipv6"},
		Text: "\"connect only records the peer\" is half true: the kernel also drops strangers' datagrams and reports refusals, on IPv4 and IPv6"},
	{ID: "writeto-fails", Source: "chapter", Checks: []string{"request"},
		Text: "WriteTo on a connected socket fails in Go: send with Write"},
	{ID: "refusal-transient", Source: "chapter", Checks: []string{"refused-then-works", "send-every-refused"},
		Text: "treating \"connection refused\" as the end of the connection is a mistake: it concerns one datagram"},
	{ID: "deadline-needed", Source: "chapter", Checks: []string{"timeout"},
		Text: "recv with no timeout blocks forever on a lost reply: connecting does not change that"},
	{ID: "big-buffer", Source: "chapter", Checks: []string{"request"},
		Text: "a 1024-byte receive buffer cuts a longer reply short: read into 65,535 bytes"},
	{ID: "no-sleep", Source: "chapter", Checks: []string{"send-every-stop"},
		Text: "stopping the sender with a flag checked between sleeps takes up to an interval: select on ctx.Done()"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"dial", "request"},
		Text: "a panic in the lesson's code is reported with where it happened"},
}

// broken lists deliberately wrong implementations, each with the promise it
// breaks and the check that must fail it.
var broken = []harness.Broken[lesson03.Impl]{
	{Name: "Dial returns nil, nil", Msg: `returned a nil client`, Fails: "dial", Promise: "dial-returns-client", Impl: impl(mutant{dialNil: true})},
	{Name: "Dial sends a hello to the peer", Msg: `Dial sent 1 datagram(s)`, Fails: "dial", Promise: "dial-sends-nothing", Impl: impl(mutant{dialHello: true})},
	{Name: "Dial probes the peer and fails when refused", Msg: `cannot know that nobody listens`, Fails: "dial", Promise: "dial-nobody-listens", Impl: impl(mutant{dialProbe: true})},
	{Name: "Dial only remembers the peer, on a socket bound to every interface", Msg: `want 127.0.0.1`, Fails: "dial", Promise: "local-addr", Impl: impl(mutant{emulate: true, wildcard: true})},
	{Name: "RemoteAddr returns the local address", Msg: `the address given to Dial`, Fails: "dial", Promise: "remote-addr", Impl: impl(mutant{remoteIsLocal: true})},
	{Name: "Dial ignores ctx (net.Dial)", Msg: `want an error wrapping context.Canceled`, Fails: "dial", Promise: "dial-ctx", Impl: impl(mutant{ignoreCtx: true})},
	{Name: "Dial panics", Msg: `panicked: boom`, Fails: "dial", Promise: "no-panic", Impl: impl(mutant{dialPanics: true})},
	{Name: "Request sends with WriteTo", Msg: `use of WriteTo with pre-connected connection`, Fails: "request", Promise: "writeto-fails", Impl: impl(mutant{writeTo: true})},
	{Name: "Request reads into 1024 bytes", Msg: `(1024 bytes, want 60000`, Fails: "request", Promise: "big-buffer", Impl: impl(mutant{buf: 1024})},
	{Name: "Request returns the whole buffer", Msg: `(65535 bytes, want 4`, Fails: "request", Promise: "request-whole-reply", Impl: impl(mutant{wholeBuffer: true})},
	{Name: "Request trims the reply, like a line reader", Msg: `Request returned "a reply", want " a reply\r\n"`, Fails: "request", Promise: "request-whole-reply", Impl: impl(mutant{trimReply: true})},
	{Name: "Request sends from a new socket", Msg: `it came from`, Fails: "request", Promise: "request-sends-msg", Impl: impl(mutant{newSocket: true})},
	{Name: "Request ends msg with a newline, like Fprintln", Msg: `got request "ping\n", want "ping"`, Fails: "request", Promise: "request-sends-msg", Impl: impl(mutant{sendNewline: true})},
	{Name: "Request copies msg into a 1024-byte buffer to send it", Msg: `(1024 bytes, want 3000`, Fails: "request", Promise: "request-sends-msg", Impl: impl(mutant{sendBuf: 1024})},
	{Name: "Request panics", Msg: `panicked: boom`, Fails: "request", Promise: "no-panic", Impl: impl(mutant{requestPanics: true})},
	{Name: "Request reads without a deadline", Msg: `did not return within `, Fails: "timeout", Promise: "deadline-needed", Impl: impl(mutant{noDeadline: true})},
	{Name: "Request waits 3s whatever wait says", Msg: `did not return within `, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{fixedWait: 3 * time.Second})},
	{Name: "Request waits twice the wait", Msg: `it must give up within`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{waitTimes: 2})},
	{Name: "Request waits 1.6 times the wait", Msg: `it must give up within`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{waitTimes: 1.6})},
	{Name: "Request waits half the wait", Msg: `want it to wait the whole`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{waitTimes: 0.5})},
	{Name: "Request hardly waits", Msg: `gave up after`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{fixedWait: time.Millisecond})},
	{Name: "Request returns nil, nil on a timeout", Msg: `and no error, though no reply came`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{nilOnTimeout: true})},
	{Name: "Request wraps the timeout with %v", Msg: `does not wrap os.ErrDeadlineExceeded`, Fails: "timeout", Promise: "request-timeout", Impl: impl(mutant{wrapV: true})},
	{Name: "Request sets no deadline for a wait of zero or less", Msg: `Request("no wait", 0s) did not return within`, Fails: "timeout", Promise: "request-zero-wait", Impl: impl(mutant{zeroNoDeadline: true})},
	{Name: "Request waits 3s when the wait is zero or less", Msg: `Request("no wait", 0s) did not return within`, Fails: "timeout", Promise: "request-zero-wait", Impl: impl(mutant{zeroDefault: 3 * time.Second})},
	{Name: "Request sends again every quarter of the wait", Msg: `got request "ping", want "ping again"`, Fails: "timeout", Promise: "request-once", Impl: impl(mutant{resend: true})},
	{Name: "connect emulated: socket on 127.0.0.1, WriteTo the remembered peer", Msg: `a stranger's datagram reached your socket`, Fails: "filters-strangers", Promise: "connect-filters-and-refuses", Impl: impl(mutant{emulate: true})},
	{Name: "connect emulated, and datagrams from others dropped by hand", Msg: `did not return within `, Fails: "refused", Promise: "connect-filters-and-refuses", Impl: impl(mutant{emulate: true, filter: true})},
	{Name: "Request sends again after a refusal", Msg: `did not return within `, Fails: "refused", Promise: "request-once", Impl: impl(mutant{retryRefused: true})},
	{Name: "Request reads again after a refusal", Msg: `did not return within `, Fails: "refused", Promise: "request-refused", Impl: impl(mutant{readAgain: true})},
	{Name: "Request wraps the refusal with %v", Msg: `does not wrap syscall.ECONNREFUSED`, Fails: "refused", Promise: "request-refused", Impl: impl(mutant{wrapV: true})},
	{Name: "Request closes the socket after a refusal", Msg: `use of closed network connection`, Fails: "refused-then-works", Promise: "refusal-transient", Impl: impl(mutant{closeOnRefused: true})},
	{Name: "Request remembers a refusal and returns it ever after", Msg: `"ping again", 1s) returned error before the peer replied`, Fails: "refused-then-works", Promise: "request-usable", Impl: impl(mutant{rememberRefused: true})},
	{Name: "Close does nothing", Msg: `: Close wakes a Read that is waiting`, Fails: "close", Promise: "close-wakes-request", Impl: impl(mutant{closeNoop: true})},
	{Name: "Dial keeps conn.File() for socket options, and Close leaves it open", Msg: `want the port free`, Fails: "close", Promise: "close-frees", Impl: impl(mutant{keepFile: true})},
	{Name: "Close waits for a running Request (one mutex for both)", Msg: `Close() did not return within`, Fails: "close", Promise: "close-wakes-request", Impl: impl(mutant{closeWaits: true})},
	{Name: "Close ignores the socket's error and returns nil", Msg: `the second Close() returned nil`, Fails: "close", Promise: "close-errors", Impl: impl(mutant{closeNil: true})},
	{Name: "Close sets the socket to nil", Msg: `panicked: runtime error: invalid memory address`, Fails: "close", Promise: "close-errors", Impl: impl(mutant{closeNilsConn: true})},
	{Name: "SendEvery sends as fast as it can", Msg: `want at most`, Fails: "send-every", Promise: "send-every-cadence", Impl: impl(mutant{flood: true})},
	{Name: "SendEvery sends twice per interval", Msg: `want at most`, Fails: "send-every", Promise: "send-every-cadence", Impl: impl(mutant{fast: 2})},
	{Name: "SendEvery waits ten intervals", Msg: `want about 41, and at least 31`, Fails: "send-every", Promise: "send-every-cadence", Impl: impl(mutant{slow: 10})},
	{Name: "SendEvery waits two intervals", Msg: `want about 41, and at least 31`, Fails: "send-every", Promise: "send-every-cadence", Impl: impl(mutant{slow: 2})},
	{Name: "SendEvery calls msg once", Msg: `want "tick-2"`, Fails: "send-every", Promise: "send-every-msg", Impl: impl(mutant{msgOnce: true})},
	{Name: "SendEvery sends from a goroutine and returns at once", Msg: `SendEvery returned while it should still be running`, Fails: "send-every", Promise: "send-every-cadence", Impl: impl(mutant{returnAtOnce: true})},
	{Name: "SendEvery returns at the first refusal", Msg: `SendEvery returned while it should still be running: send: write udp`, Fails: "send-every-refused", Promise: "send-every-refused", Impl: impl(mutant{returnOnRefused: true})},
	{Name: "SendEvery ignores refusals", Msg: `refused was not called within`, Fails: "send-every-refused", Promise: "send-every-refused", Impl: impl(mutant{silentRefused: true})},
	{Name: "SendEvery wraps the refusal with %v", Msg: `which does not wrap syscall.ECONNREFUSED`, Fails: "send-every-refused", Promise: "send-every-refused", Impl: impl(mutant{wrapV: true})},
	{Name: "SendEvery stops sending after a refusal", Msg: `msg was called 2 time(s) within`, Fails: "send-every-refused", Promise: "refusal-transient", Impl: impl(mutant{stopAfterRefused: true})},
	{Name: "connect emulated: no refusal ever reported", Msg: `refused was not called within`, Fails: "send-every-refused", Promise: "connect-filters-and-refuses", Impl: impl(mutant{emulate: true})},
	{Name: "SendEvery calls refused without looking whether it is nil", Msg: `SendEvery panicked: runtime error: invalid memory address`, Fails: "send-every-refused", Promise: "send-every-refused-nil", Impl: impl(mutant{nilRefusedPanics: true})},
	{Name: "SendEvery calls refused with go, not to be held up", Msg: `refused was called while its previous call had not returned`, Fails: "send-every-refused", Promise: "send-every-refused-serial", Impl: impl(mutant{goRefused: true})},
	{Name: "SendEvery hands refusals to a goroutine of its own through a channel", Msg: `while its call of refused had not returned`, Fails: "send-every-refused", Promise: "send-every-refused-serial", Impl: impl(mutant{chanRefused: true})},
	{Name: "SendEvery waits with time.Sleep", Msg: `after its context was cancelled`, Fails: "send-every-stop", Promise: "no-sleep", Impl: impl(mutant{sleep: true})},
	{Name: "SendEvery waits an interval before the first message", Msg: `expected the first message`, Fails: "send-every-stop", Promise: "send-every-cadence", Impl: impl(mutant{waitFirst: true})},
	{Name: "SendEvery returns nil when stopped", Msg: `SendEvery returned <nil>`, Fails: "send-every-stop", Promise: "send-every-stop", Impl: impl(mutant{returnNil: true})},
	{Name: "SendEvery leaves a goroutine running", Msg: `left 1 goroutine(s) running`, Fails: "send-every-stop", Promise: "send-every-no-leak", Impl: impl(mutant{leak: true})},
	{Name: "SendEvery stops its ticker from a goroutine that only ctx ends", Msg: `left 1 goroutine(s) running`, Fails: "send-every-error", Promise: "send-every-no-leak", Impl: impl(mutant{ctxWatcher: true})},
	{Name: "SendEvery passes an interval of zero to time.NewTicker", Msg: `SendEvery panicked: non-positive interval for NewTicker`, Fails: "send-every-error", Promise: "send-every-interval", Impl: impl(mutant{zeroTicker: true})},
	{Name: "SendEvery sends as fast as it can when the interval is zero", Msg: `SendEvery(ctx, 0s, msg, refused) did not return within`, Fails: "send-every-error", Promise: "send-every-interval", Impl: impl(mutant{zeroFlood: true})},
	{Name: "SendEvery sends the first message before looking at the interval", Msg: `sent 1 message(s) before returning its error`, Fails: "send-every-error", Promise: "send-every-interval", Impl: impl(mutant{sendFirst: true})},
	{Name: "SendEvery passes every failed send to refused", Msg: `refused was called with "write udp`, Fails: "send-every-error", Promise: "send-every-other-error", Impl: impl(mutant{allToRefused: true})},
	{Name: "SendEvery skips a message it cannot send", Msg: `after msg returned 65508 bytes`, Fails: "send-every-error", Promise: "send-every-other-error", Impl: impl(mutant{skipOther: true})},
	{Name: "SendEvery returns nil when a send fails", Msg: `SendEvery returned <nil>; want the send's error, wrapping syscall.EMSGSIZE`, Fails: "send-every-error", Promise: "send-every-other-error", Impl: impl(mutant{nilOnOther: true})},
	{Name: "Dial uses udp4", Msg: `no suitable address`, Fails: "ipv6", Promise: "dial-any-ip", Impl: impl(mutant{udp4: true}), Needs: harness.IPv6},
	{Name: "Dial uses udp4 and falls back to an unconnected udp6 socket for IPv6", Msg: `a stranger's datagram reached your socket`, Fails: "ipv6", Promise: "connect-filters-and-refuses", Impl: impl(mutant{emulate6: true}), Needs: harness.IPv6},
	{Name: "Dial falls back to an unconnected udp6 socket that drops strangers by hand", Msg: `did not return within `, Fails: "ipv6", Promise: "connect-filters-and-refuses", Impl: impl(mutant{emulate6: true, filter: true}), Needs: harness.IPv6},
}

func impl(m mutant) lesson03.Impl { return lesson03.Impl{Dial: lesson03.DialFunc(m.Dial)} }

// mutant is the reference client with one mistake switched on.
type mutant struct {
	// Dial, LocalAddr, RemoteAddr, Close
	dialNil, dialHello, dialProbe, ignoreCtx, dialPanics, udp4, remoteIsLocal bool
	emulate                                                                   bool // an unconnected socket that remembers the peer's address
	emulate6                                                                  bool // udp4, and emulate for IPv6 addresses
	wildcard                                                                  bool // with emulate: bound to every interface, not 127.0.0.1
	filter                                                                    bool // with emulate: drops datagrams from anyone but the peer
	closeNoop, closeWaits, closeNil, closeNilsConn, keepFile                  bool
	// Request
	writeTo, wholeBuffer, newSocket, requestPanics, noDeadline, nilOnTimeout, wrapV bool
	trimReply, sendNewline, zeroNoDeadline, resend, readAgain                       bool
	buf, sendBuf                                                                    int
	fixedWait, zeroDefault                                                          time.Duration
	waitTimes                                                                       float64
	retryRefused, closeOnRefused, rememberRefused                                   bool
	// SendEvery
	flood, msgOnce, returnAtOnce, returnOnRefused, silentRefused, stopAfterRefused bool
	sleep, waitFirst, returnNil, leak, ctxWatcher                                  bool
	nilRefusedPanics, goRefused, chanRefused                                       bool
	zeroTicker, zeroFlood, sendFirst, allToRefused, skipOther, nilOnOther          bool
	slow, fast                                                                     time.Duration
}

type mclient struct {
	m       mutant
	emu     bool // emulated connect
	mu      sync.Mutex
	conn    *net.UDPConn
	reqMu   sync.Mutex   // for closeWaits
	peer    *net.UDPAddr // for emulate
	file    *os.File     // for keepFile
	refusal error        // for rememberRefused
}

func (m mutant) Dial(ctx context.Context, addr string) (*mclient, error) {
	if m.dialPanics {
		panic("boom")
	}
	if m.dialNil {
		return nil, nil
	}
	cl := &mclient{m: m, emu: m.emulate}
	if m.emulate6 {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "udp4", addr)
		if err == nil {
			cl.conn = conn.(*net.UDPConn)
			return cl, nil
		}
		cl.emu = true
	}
	if cl.emu {
		peer, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, err
		}
		laddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		if peer.IP.To4() == nil {
			laddr = &net.UDPAddr{IP: net.IPv6loopback}
		}
		if m.wildcard {
			laddr = nil
		}
		conn, err := net.ListenUDP("udp", laddr)
		if err != nil {
			return nil, err
		}
		cl.conn, cl.peer = conn, peer
		return cl, nil
	}
	var conn net.Conn
	var err error
	switch {
	case m.ignoreCtx:
		conn, err = net.Dial("udp", addr)
	case m.udp4:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "udp4", addr)
	default:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "udp", addr)
	}
	if err != nil {
		return nil, err
	}
	cl.conn = conn.(*net.UDPConn)
	if m.keepFile {
		if cl.file, err = cl.conn.File(); err != nil {
			return nil, err
		}
	}
	if m.dialHello {
		cl.conn.Write([]byte("hello"))
	}
	if m.dialProbe {
		cl.conn.Write([]byte("anybody there?"))
		cl.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := cl.conn.Read(make([]byte, 100))
		cl.conn.SetReadDeadline(time.Time{})
		if errors.Is(err, syscall.ECONNREFUSED) {
			cl.conn.Close()
			return nil, err
		}
	}
	return cl, nil
}

// sock returns the client's socket (nil once closeNilsConn closed it).
func (cl *mclient) sock() *net.UDPConn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.conn
}

func (cl *mclient) LocalAddr() net.Addr { return cl.sock().LocalAddr() }

func (cl *mclient) RemoteAddr() net.Addr {
	switch {
	case cl.emu:
		return cl.peer
	case cl.m.remoteIsLocal:
		return cl.sock().LocalAddr()
	}
	return cl.sock().RemoteAddr()
}

func (cl *mclient) Close() error {
	m := cl.m
	switch {
	case m.closeNoop:
		return nil
	case m.closeWaits:
		cl.reqMu.Lock()
		defer cl.reqMu.Unlock()
	case m.closeNil:
		cl.sock().Close()
		return nil
	case m.closeNilsConn:
		cl.mu.Lock()
		defer cl.mu.Unlock()
		err := cl.conn.Close()
		cl.conn = nil
		return err
	}
	return cl.sock().Close()
}

func (cl *mclient) write(conn *net.UDPConn, msg []byte) error {
	var err error
	switch {
	case cl.emu:
		_, err = conn.WriteToUDP(msg, cl.peer)
	case cl.m.writeTo:
		_, err = conn.WriteTo(msg, conn.RemoteAddr())
	default:
		_, err = conn.Write(msg)
	}
	return err
}

func (cl *mclient) read(conn *net.UDPConn, buf []byte) (int, error) {
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err == nil && cl.m.filter && harness.Unmap(from) != harness.Unmap(cl.peer.AddrPort()) {
			continue
		}
		return n, err
	}
}

func (cl *mclient) Request(msg []byte, wait time.Duration) ([]byte, error) {
	m := cl.m
	if m.requestPanics {
		panic("boom")
	}
	if m.closeWaits {
		cl.reqMu.Lock()
		defer cl.reqMu.Unlock()
	}
	if m.rememberRefused && cl.refusal != nil {
		return nil, cl.refusal
	}
	conn := cl.sock()
	if m.newSocket {
		other, err := net.DialUDP("udp", nil, conn.RemoteAddr().(*net.UDPAddr))
		if err != nil {
			return nil, err
		}
		defer other.Close()
		conn = other
	}
	switch {
	case m.sendNewline:
		msg = append(msg[:len(msg):len(msg)], '\n')
	case m.sendBuf > 0:
		b := make([]byte, m.sendBuf)
		msg = b[:copy(b, msg)]
	case m.zeroDefault > 0 && wait <= 0:
		wait = m.zeroDefault
	}
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	end := time.Now().Add(wait)
	for {
		if err := cl.write(conn, msg); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		switch {
		case m.noDeadline, m.zeroNoDeadline && wait <= 0:
			conn.SetReadDeadline(time.Time{})
		case m.fixedWait > 0:
			conn.SetReadDeadline(time.Now().Add(m.fixedWait))
		case m.waitTimes > 0:
			conn.SetReadDeadline(time.Now().Add(time.Duration(m.waitTimes * float64(wait))))
		case m.resend:
			next := time.Now().Add(wait / 4)
			if next.After(end) {
				next = end
			}
			conn.SetReadDeadline(next)
		default:
			conn.SetReadDeadline(end)
		}
		n, err := cl.read(conn, buf)
		for err != nil && m.readAgain && errors.Is(err, syscall.ECONNREFUSED) {
			n, err = cl.read(conn, buf)
		}
		if err != nil {
			refused := errors.Is(err, syscall.ECONNREFUSED)
			switch {
			case m.resend && errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(end):
				continue
			case refused && m.retryRefused:
				time.Sleep(50 * time.Millisecond) // not a flood of ICMP
				continue
			case refused && m.closeOnRefused:
				conn.Close()
			case refused && m.rememberRefused:
				cl.refusal = err
			case errors.Is(err, os.ErrDeadlineExceeded) && m.nilOnTimeout:
				return nil, nil
			}
			if m.wrapV {
				return nil, fmt.Errorf("request: %v", err)
			}
			return nil, fmt.Errorf("request: %w", err)
		}
		switch {
		case m.wholeBuffer:
			return buf, nil
		case m.trimReply:
			return bytes.TrimSpace(buf[:n]), nil
		}
		return buf[:n], nil
	}
}

func (cl *mclient) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	if cl.m.leak {
		go time.Sleep(time.Minute) // longer than any time scale's StopBound
	}
	if cl.m.returnAtOnce {
		go cl.send(ctx, interval, msg, refused)
		return nil
	}
	return cl.send(ctx, interval, msg, refused)
}

func (cl *mclient) send(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	m := cl.m
	conn := cl.sock()
	if m.sendFirst {
		cl.write(conn, msg())
	}
	if interval <= 0 && !m.zeroTicker && !m.zeroFlood {
		return fmt.Errorf("send every %v: the interval must be more than zero", interval)
	}
	if m.slow > 0 {
		interval *= m.slow
	}
	if m.fast > 0 {
		interval /= m.fast
	}
	if m.waitFirst {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	flood := m.flood || m.zeroFlood && interval <= 0
	var ticker *time.Ticker
	if flood {
		ticker = time.NewTicker(time.Hour)
	} else {
		ticker = time.NewTicker(interval)
	}
	defer ticker.Stop()
	if m.ctxWatcher {
		go func() {
			<-ctx.Done()
			ticker.Stop()
		}()
	}
	report := refused
	switch {
	case m.goRefused:
		report = func(err error) { go refused(err) }
	case m.chanRefused:
		reports := make(chan error, 100)
		defer close(reports)
		go func() {
			for err := range reports {
				refused(err)
			}
		}()
		report = func(err error) {
			select {
			case reports <- err:
			default:
			}
		}
	}
	var first []byte
	stopped := false
	for {
		if !stopped {
			data := msg
			if m.msgOnce {
				data = func() []byte {
					if first == nil {
						first = msg()
					}
					return first
				}
			}
			if err := cl.write(conn, data()); err != nil {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					switch {
					case m.allToRefused:
						if refused != nil {
							refused(err)
						}
					case m.skipOther:
					case m.nilOnOther:
						return nil
					default:
						return err
					}
				} else {
					switch {
					case m.returnOnRefused:
						return fmt.Errorf("send: %w", err)
					case m.silentRefused:
					case m.wrapV:
						if refused != nil {
							refused(fmt.Errorf("send: %v", err))
						}
					case m.nilRefusedPanics:
						refused(err)
					default:
						if refused != nil {
							report(err)
						}
					}
					stopped = m.stopAfterRefused
				}
			}
		}
		switch {
		case flood:
			if ctx.Err() != nil {
				return ctx.Err()
			}
		case m.sleep:
			time.Sleep(min(interval, time.Minute)) // longer than any scale's StopBound, and ends
			if ctx.Err() != nil {
				return ctx.Err()
			}
		default:
			select {
			case <-ctx.Done():
				if m.returnNil {
					return nil
				}
				return ctx.Err()
			case <-ticker.C:
			}
		}
	}
}

// TestSelf is the self-test of lesson 03's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson03.Impl]{
	Suite:     &lesson03.Suite,
	Reference: reference,
	Stub:      lesson03.Impl{Dial: lesson03.DialFunc(stub.Dial)},
	Lesson:    "../../lessons/03-connected-udp",
	Promises:  promises,
	Broken:    broken,
	Timing:    timingChecks,
	// Checks that count the lesson's goroutines run alone, at 2× only.
	Alone: map[string]bool{"send-every-stop": true, "send-every-error": true},
}

// The lesson's claims about the kernel, checked on the harness's own
// sockets, so that the checks built on them mean something.
func TestKernelFacts(t *testing.T) {
	peer, err := harness.ListenLoopback("udp4")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := net.DialUDP("udp4", nil, peer.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// WriteTo on a connected socket fails, in Go, before any system call.
	if _, err := conn.WriteTo([]byte("x"), peer.LocalAddr()); err == nil || !strings.Contains(err.Error(), "pre-connected") {
		t.Errorf("WriteTo on a connected socket: %v, want the pre-connected error", err)
	}
	// Write on an unconnected socket has no address to go to.
	if _, err := peer.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "destination address required") {
		t.Errorf("Write on an unconnected socket: %v, want \"destination address required\"", err)
	}
	// A socket connected to someone else does not take conn's datagrams
	// (the harness's closed ports rely on it): the datagram after the
	// refused one fails.
	other, err := net.DialUDP("udp4", nil, peer.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	toOther, err := net.DialUDP("udp4", nil, other.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer toOther.Close()
	if _, err := toOther.Write([]byte("1")); err != nil {
		t.Fatalf("first write to a closed port: %v, want it to succeed", err)
	}
	if _, err := toOther.Write([]byte("2")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("second write to a port where a socket connected elsewhere sits: %v, want ECONNREFUSED", err)
	}
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "timeout", Stall: 100 * time.Millisecond},
	{ID: "refused", Stall: 600 * time.Millisecond},
	{ID: "close", Stall: 600 * time.Millisecond},
	{ID: "send-every", Stall: 100 * time.Millisecond},
	{ID: "send-every-stop", Stall: 600 * time.Millisecond},
	{ID: "send-every-error", Stall: 600 * time.Millisecond},
	{ID: "ipv6", Stall: 600 * time.Millisecond},
}
