package lesson02_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness"
	"udpbook/harness/lesson02"
	stub "udpbook/lessons/02-echo-client"
	solution "udpbook/solutions/02-echo-client"
)

func adapt(greet func(context.Context, string, []string, solution.Options) ([]string, error)) lesson02.Impl {
	return lesson02.Impl{Greet: func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error) {
		return greet(ctx, addr, names, solution.Options{Timeout: timeout, Attempts: attempts})
	}}
}

var reference = adapt(solution.Greet)

// promises is everything lesson 02 promises, from its doc comments and its
// chapter, with the checks that enforce each.
var promises = []harness.Promise{
	{ID: "one-datagram-each", Source: "Greet", Checks: []string{"three-names"},
		Text: "Greet sends each of names as its own datagram, once when nothing is lost"},
	{ID: "replies-in-order", Source: "Greet", Checks: []string{"three-names"},
		Text: "Greet returns the replies (\"Hello, Michael!\"), in the order of names"},
	{ID: "one-socket", Source: "Greet", Checks: []string{"three-names"},
		Text: "all requests go out from one UDP socket, so they share one local port"},
	{ID: "zero-options", Source: "Options", Checks: []string{"three-names"},
		Text: "zero Options are usable: they mean DefaultTimeout and DefaultAttempts, not \"no wait\" or \"no send\""},
	{ID: "default-timeout", Source: "Options", Checks: []string{"lost-reply"},
		Text: "a zero Timeout waits DefaultTimeout (1s) for each reply: not forever, not a default of the client's own"},
	{ID: "default-attempts", Source: "Options", Checks: []string{"no-server"},
		Text: "a zero Attempts sends each name at most DefaultAttempts (3) times"},
	{ID: "resend", Source: "Greet", Checks: []string{"lost-request", "lost-reply"},
		Text: "when no reply comes within Timeout, Greet sends the name again"},
	{ID: "attempts-in-all", Source: "Greet", Checks: []string{"no-server"},
		Text: "a name is sent up to Attempts times in all, the first send included"},
	{ID: "timeout-each-attempt", Source: "Greet", Checks: []string{"no-server"},
		Text: "Greet waits Timeout for each attempt: not less, and not much more"},
	{ID: "give-up-error", Source: "Greet", Checks: []string{"no-server"},
		Text: "if every attempt goes unanswered, Greet returns an error that wraps os.ErrDeadlineExceeded"},
	{ID: "replies-so-far", Source: "Greet", Checks: []string{"no-server", "cancel"},
		Text: "when Greet fails, it returns the replies so far: the greetings of the names before the one that failed"},
	{ID: "stop-at-failure", Source: "chapter", Checks: []string{"no-server"},
		Text: "Greet stops at the first name that gets no reply, and does not go on to the next"},
	{ID: "only-from-server", Source: "Greet", Checks: []string{"interloper", "ipv6"},
		Text: "only a datagram from the server's address, address and port, unmapped, is the reply"},
	{ID: "compare-unmapped", Source: "chapter", Checks: []string{"three-names"},
		Text: "the server's reply is recognised although the socket reports 127.0.0.1 as ::ffff:127.0.0.1: compare unmapped netip.AddrPort values, not strings"},
	{ID: "exact-greeting", Source: "Greet", Checks: []string{"stale-reply"},
		Text: "only a datagram that is exactly \"Hello, <name>!\" is the reply; duplicates and late replies are skipped"},
	{ID: "deadline-per-attempt", Source: "chapter", Checks: []string{"deadline-per-attempt", "no-server"},
		Text: "one deadline per attempt: datagrams that are not the reply do not buy time, and one name does not use up the others' time"},
	{ID: "stop-on-ctx", Source: "Greet", Checks: []string{"cancel"},
		Text: "if ctx is done first, Greet returns soon, even while blocked in a read, with an error that wraps ctx.Err()"},
	{ID: "closes-socket", Source: "chapter", Checks: []string{"closes-socket"},
		Text: "Greet closes its socket whenever it returns: after success, after giving up, after ctx is done"},
	{ID: "no-leaks", Source: "chapter", Checks: []string{"closes-socket"},
		Text: "Greet leaves no goroutine running when it returns, however it returns"},
	{ID: "ipv6", Source: "Greet", Checks: []string{"ipv6"},
		Text: "Greet works with a server on IPv6 loopback, [::1]"},
	{ID: "names-as-they-are", Source: "Greet", Checks: []string{"names-as-they-are"},
		Text: "names are sent as they are (empty, spaces, newlines, any length a datagram can carry), and their greetings read whole"},
	{ID: "no-names", Source: "Greet", Checks: []string{"names-as-they-are"},
		Text: "with no names, Greet sends nothing and returns no replies and no error"},
	{ID: "no-panic", Source: "chapter", Checks: []string{"three-names"},
		Text: "a panic in Greet is reported with where it happened"},
}

// broken lists deliberately wrong clients, each with the promise it breaks
// and the check that must fail it.
var broken = []harness.Broken[lesson02.Impl]{
	{Name: "a new socket for every name", Msg: "want every request from one socket", Fails: "three-names", Promise: "one-socket", Impl: mutant{socketPerName: true}.impl()},
	{Name: "all names in one datagram", Msg: "returned the wrong replies", Fails: "three-names", Promise: "one-datagram-each", Impl: mutant{oneDatagram: true}.impl()},
	{Name: "a newline after each name, like a line-based client", Msg: `the server received "Michael\n", which is none of the names`, Fails: "three-names", Promise: "one-datagram-each", Impl: mutant{newline: true}.impl()},
	{Name: "replies in the order they arrived, not of names", Msg: "returned the wrong replies", Fails: "three-names", Promise: "replies-in-order", Impl: mutant{reversed: true}.impl()},
	{Name: "zero Options not given their defaults", Msg: "with zero Options returned error", Fails: "three-names", Promise: "zero-options", Impl: mutant{noDefaults: true}.impl()},
	{Name: "compares addresses as strings", Msg: "with zero Options returned error", Fails: "three-names", Promise: "compare-unmapped", Impl: mutant{asStrings: true}.impl()},
	{Name: "panics", Msg: "panicked: boom", Fails: "three-names", Promise: "no-panic", Impl: mutant{panics: true}.impl()},
	{Name: "sends every attempt at once, then waits once", Msg: "it must wait at least ", Fails: "no-server", Promise: "timeout-each-attempt", Impl: mutant{noWaitBetween: true}.impl()},
	{Name: "waits twice the Timeout", Msg: "it must give up within ", Fails: "no-server", Promise: "timeout-each-attempt", Impl: mutant{timeoutTimes: 2}.impl()},
	{Name: "waits half the Timeout", Msg: "it must wait at least ", Fails: "no-server", Promise: "timeout-each-attempt", Impl: mutant{timeoutTimes: 0.5}.impl()},
	{Name: "one deadline for the whole call", Msg: "it must wait at least ", Fails: "no-server", Promise: "deadline-per-attempt", Impl: mutant{oneDeadline: true}.impl()},
	{Name: "error does not wrap os.ErrDeadlineExceeded", Msg: "does not wrap os.ErrDeadlineExceeded", Fails: "no-server", Promise: "give-up-error", Impl: mutant{plainError: true}.impl()},
	{Name: "goes on to the next name after giving up", Msg: "it must give up within ", Fails: "no-server", Promise: "stop-at-failure", Impl: mutant{skipToNext: true}.impl()},
	{Name: "one attempt too many", Msg: `received "Michael" 4 times; with Attempts 3, want at most 3`, Fails: "no-server", Promise: "attempts-in-all", Impl: mutant{extraAttempt: true}.impl()},
	{Name: "Attempts 0 means one attempt", Msg: `received it 1 times; with Attempts 0 (so DefaultAttempts, 3), want 3`, Fails: "no-server", Promise: "default-attempts", Impl: mutant{zeroAttemptsOne: true}.impl()},
	{Name: "returns nil replies with its error", Msg: "want the replies so far", Fails: "no-server", Promise: "replies-so-far", Impl: mutant{nilOnError: true}.impl()},
	{Name: "appends the failed name's empty reply", Msg: "want the replies so far", Fails: "no-server", Promise: "replies-so-far", Impl: mutant{appendFailed: true}.impl()},
	{Name: "never retransmits (lost request)", Msg: "after 1 attempts", Fails: "lost-request", Promise: "resend", Impl: mutant{noRetry: true}.impl()},
	{Name: "never retransmits (lost reply)", Msg: "after 1 attempts", Fails: "lost-reply", Promise: "resend", Impl: mutant{noRetry: true}.impl()},
	{Name: "a zero Timeout means no deadline", Msg: "Greet had not returned", Fails: "lost-reply", Promise: "default-timeout", Impl: mutant{zeroTimeoutNone: true}.impl()},
	{Name: "a zero Timeout means a default of its own, 100ms", Msg: "before DefaultTimeout (1s) had passed", Fails: "lost-reply", Promise: "default-timeout", Impl: mutant{zeroTimeoutOwn: true}.impl()},
	{Name: "does not check who sent the reply", Msg: `but the server had not sent "Hello, Michael!": the only one came from interloper`, Fails: "interloper", Promise: "only-from-server", Impl: mutant{noSourceCheck: true}.impl()},
	{Name: "compares only the sender's IP address, not its port", Msg: `but the server had not sent "Hello, Michael!"`, Fails: "interloper", Promise: "only-from-server", Impl: mutant{ipOnly: true}.impl()},
	{Name: "compares only the sender's port", Msg: `but the server had not sent "Hello, Michael!": the only one came from interloper 127.0.0.1`, Fails: "ipv6", Promise: "only-from-server", Impl: mutant{portOnly: true}.impl(), Needs: harness.IPv6},
	{Name: "takes any datagram from the server as the reply", Msg: "with the reply to Michael duplicated", Fails: "stale-reply", Promise: "exact-greeting", Impl: mutant{noContentCheck: true}.impl()},
	{Name: "sets the read deadline before every read", Msg: "each datagram that was not the reply started its wait again", Fails: "deadline-per-attempt", Promise: "deadline-per-attempt", Impl: mutant{perReadDeadline: true}.impl()},
	{Name: "ignores ctx", Msg: "did not return within ", Fails: "cancel", Promise: "stop-on-ctx", Impl: mutant{ignoreCtx: true}.impl()},
	{Name: "checks ctx only between attempts", Msg: "did not return within ", Fails: "cancel", Promise: "stop-on-ctx", Impl: mutant{ctxBetweenAttempts: true}.impl()},
	{Name: "returns ctx.Err() unwrapped but replaced", Msg: "want an error wrapping context.Canceled", Fails: "cancel", Promise: "stop-on-ctx", Impl: mutant{loseCtxErr: true}.impl()},
	{Name: "appends the cancelled name's empty reply", Msg: "want the replies so far, in the order of names", Fails: "cancel", Promise: "replies-so-far", Impl: mutant{appendFailed: true}.impl()},
	{Name: "assumes IPv4", Msg: "returned error", Fails: "ipv6", Promise: "ipv6", Impl: mutant{ipv4Only: true}.impl()},
	{Name: "never closes its socket", Msg: "after Greet returned its replies, the socket it opened", Fails: "closes-socket", Promise: "closes-socket", Impl: mutant{noClose: true}.impl()},
	{Name: "closes its socket only on success", Msg: "after Greet gave up on \"Tracy\" after the reply to \"Michael\", the socket it opened", Fails: "closes-socket", Promise: "closes-socket", Impl: mutant{closeOnlyOnSuccess: true}.impl()},
	{Name: "closes its socket before every return but the one for ctx", Msg: "after Greet returned after its context was cancelled, the socket it opened", Fails: "closes-socket", Promise: "closes-socket", Impl: mutant{closeExceptCtx: true}.impl()},
	{Name: "watches ctx with a goroutine that only ctx ends", Msg: "after Greet returned its replies, 1 goroutine(s) it started were still running", Fails: "closes-socket", Promise: "no-leaks", Impl: mutant{watcher: true}.impl()},
	{Name: "reads on a goroutine that nobody waits for", Msg: "goroutine(s) it started were still running", Fails: "closes-socket", Promise: "no-leaks", Impl: mutant{readerGoroutine: true}.impl()},
	{Name: "trims spaces and newlines from names", Msg: `Greet's reply 2 is "Hello, Tracy!", want "Hello,   Tracy \n!"`, Fails: "names-as-they-are", Promise: "names-as-they-are", Impl: mutant{trim: true}.impl()},
	{Name: "skips empty names", Msg: "Greet returned 4 replies for 5 names", Fails: "names-as-they-are", Promise: "names-as-they-are", Impl: mutant{skipEmpty: true}.impl()},
	{Name: "1024-byte read buffer, as the tutorial's recv(1024)", Msg: `Greet returned error: no reply to "abcdefghijklmnopqrstuvwxyz`, Fails: "names-as-they-are", Promise: "names-as-they-are", Impl: mutant{buf: 1024}.impl()},
	{Name: "32 KiB read buffer", Msg: `Greet returned error: no reply to "abcdefghijklmnopqrstuvwxyz`, Fails: "names-as-they-are", Promise: "names-as-they-are", Impl: mutant{buf: 32 << 10}.impl()},
	{Name: "no names is an error", Msg: "Greet with no names returned [], no names to greet", Fails: "names-as-they-are", Promise: "no-names", Impl: mutant{noNamesError: true}.impl()},
	{Name: "sends an empty datagram when there are no names", Msg: `Greet with no names sent "" to the server`, Fails: "names-as-they-are", Promise: "no-names", Impl: mutant{pingOnNoNames: true}.impl()},
}

// mutant is the reference client with one mistake switched on.
type mutant struct {
	buf                int // the read buffer's size, if not 65,535
	socketPerName      bool
	oneDatagram        bool
	newline            bool
	reversed           bool
	noDefaults         bool
	asStrings          bool
	panics             bool
	noWaitBetween      bool
	oneDeadline        bool
	plainError         bool
	skipToNext         bool
	extraAttempt       bool
	zeroAttemptsOne    bool
	nilOnError         bool
	appendFailed       bool
	noRetry            bool
	zeroTimeoutNone    bool
	zeroTimeoutOwn     bool
	noSourceCheck      bool
	ipOnly             bool
	portOnly           bool
	noContentCheck     bool
	ignoreCtx          bool
	ctxBetweenAttempts bool
	loseCtxErr         bool
	ipv4Only           bool
	noClose            bool
	perReadDeadline    bool
	closeOnlyOnSuccess bool
	closeExceptCtx     bool
	watcher            bool
	readerGoroutine    bool
	trim               bool
	skipEmpty          bool
	noNamesError       bool
	pingOnNoNames      bool
	timeoutTimes       float64 // the Timeout used, in Timeouts
}

func (m mutant) impl() lesson02.Impl {
	if m.loseCtxErr {
		return adapt(func(ctx context.Context, addr string, names []string, opts solution.Options) ([]string, error) {
			replies, err := m.Greet(ctx, addr, names, opts)
			if errors.Is(err, context.Canceled) {
				err = errors.New("stopped")
			}
			return replies, err
		})
	}
	return adapt(m.Greet)
}

// datagram is what the reader goroutine of a readerGoroutine mutant reads.
type datagram struct {
	data string
	from netip.AddrPort
	err  error
}

func (m mutant) Greet(ctx context.Context, addr string, names []string, opts solution.Options) ([]string, error) {
	if m.panics {
		panic("boom")
	}
	if m.noNamesError && len(names) == 0 {
		return nil, errors.New("no names to greet")
	}
	if !m.noDefaults {
		if opts.Timeout <= 0 {
			switch {
			case m.zeroTimeoutOwn:
				opts.Timeout = 100 * time.Millisecond
			case m.zeroTimeoutNone:
				// no deadline at all (see request)
			default:
				opts.Timeout = solution.DefaultTimeout
			}
		}
		if opts.Attempts <= 0 {
			opts.Attempts = solution.DefaultAttempts
			if m.zeroAttemptsOne {
				opts.Attempts = 1
			}
		}
	}
	if m.noRetry {
		opts.Attempts = 1
	}
	if m.extraAttempt {
		opts.Attempts++
	}
	if m.timeoutTimes > 0 {
		opts.Timeout = time.Duration(float64(opts.Timeout) * m.timeoutTimes)
	}
	network := "udp"
	if m.ipv4Only {
		network = "udp4"
	}
	raddr, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return nil, err
	}
	server := harness.Unmap(raddr.AddrPort())
	if m.asStrings {
		server = raddr.AddrPort() // compared as a string below
	}
	open := func() (*net.UDPConn, func(), error) {
		conn, err := net.ListenUDP(network, nil)
		if err != nil {
			return nil, nil, err
		}
		stop := func() bool { return true }
		switch {
		case m.ignoreCtx || m.ctxBetweenAttempts:
		case m.watcher:
			go func() {
				<-ctx.Done()
				conn.SetReadDeadline(time.Now())
			}()
		default:
			stop = context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		}
		return conn, func() { stop(); conn.Close() }, nil
	}
	conn, closeConn, err := open()
	if err != nil {
		return nil, err
	}
	if !m.noClose && !m.closeOnlyOnSuccess && !m.closeExceptCtx {
		defer func() { closeConn() }()
	}
	if m.oneDeadline {
		conn.SetReadDeadline(time.Now().Add(opts.Timeout))
	}
	var datagrams chan datagram
	if m.readerGoroutine {
		// Unbuffered, and nobody receives once Greet has returned: the
		// reader blocks on its send for ever.
		datagrams = make(chan datagram)
		go func() {
			buf := make([]byte, 65535)
			for {
				n, from, err := conn.ReadFromUDPAddrPort(buf)
				datagrams <- datagram{string(buf[:n]), from, err}
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
			}
		}()
	}
	if m.pingOnNoNames && len(names) == 0 {
		conn.WriteToUDPAddrPort(nil, server)
	}
	if m.oneDatagram {
		names = []string{strings.Join(names, "\n")}
	}
	var replies []string
	var failure error
	for _, name := range names {
		if m.skipEmpty && name == "" {
			continue
		}
		if m.trim {
			name = strings.TrimSpace(name)
		}
		if m.socketPerName {
			closeConn()
			if conn, closeConn, err = open(); err != nil {
				return nil, err
			}
		}
		var reply string
		var err error
		if m.readerGoroutine {
			reply, err = m.requestFromChannel(ctx, conn, datagrams, server, name, opts)
		} else {
			reply, err = m.request(ctx, conn, addr, server, name, opts)
		}
		if m.appendFailed {
			replies = append(replies, reply)
		}
		if err != nil {
			if m.skipToNext {
				failure = err
				continue
			}
			if m.closeExceptCtx && ctx.Err() == nil {
				closeConn()
			}
			if m.nilOnError {
				return nil, err
			}
			return replies, err
		}
		if !m.appendFailed {
			replies = append(replies, reply)
		}
	}
	if m.oneDatagram && len(replies) > 0 {
		return strings.Split(replies[0], "\n"), nil
	}
	if m.reversed {
		for i, j := 0, len(replies)-1; i < j; i, j = i+1, j-1 {
			replies[i], replies[j] = replies[j], replies[i]
		}
	}
	if (m.closeOnlyOnSuccess && failure == nil) || m.closeExceptCtx {
		closeConn()
	}
	return replies, failure
}

// match reports whether from is the server's address, as the mutant
// compares them.
func (m mutant) match(from netip.AddrPort, addr string, server netip.AddrPort) bool {
	switch {
	case m.noSourceCheck:
		return true
	case m.asStrings:
		return from.String() == addr
	case m.ipOnly:
		return harness.Unmap(from).Addr() == server.Addr()
	case m.portOnly:
		return from.Port() == server.Port()
	}
	return harness.Unmap(from) == server
}

func (m mutant) request(ctx context.Context, conn *net.UDPConn, addr string, server netip.AddrPort, name string, opts solution.Options) (string, error) {
	want := "Hello, " + name + "!"
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	var err error
	sends := 1
	if m.noWaitBetween {
		sends, opts.Attempts = opts.Attempts, 1
	}
	payload := []byte(name)
	if m.newline {
		payload = append(payload, '\n')
	}
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		if m.ctxBetweenAttempts && ctx.Err() != nil {
			return "", ctx.Err()
		}
		for range sends {
			conn.WriteToUDPAddrPort(payload, server)
		}
		switch {
		case m.oneDeadline:
		case m.zeroTimeoutNone && opts.Timeout == 0:
			conn.SetReadDeadline(time.Time{})
		default:
			conn.SetReadDeadline(time.Now().Add(opts.Timeout))
		}
		if !m.ignoreCtx && !m.ctxBetweenAttempts && ctx.Err() != nil {
			return "", ctx.Err()
		}
		for {
			var n int
			var from netip.AddrPort
			if m.perReadDeadline {
				conn.SetReadDeadline(time.Now().Add(opts.Timeout))
			}
			n, from, err = conn.ReadFromUDPAddrPort(buf)
			if !m.ignoreCtx && !m.ctxBetweenAttempts && ctx.Err() != nil {
				return "", ctx.Err()
			}
			if err != nil {
				break
			}
			if !m.match(from, addr, server) {
				continue
			}
			if !m.noContentCheck && string(buf[:n]) != want {
				continue
			}
			return string(buf[:n]), nil
		}
	}
	if m.plainError {
		return "", fmt.Errorf("no reply to %q", name)
	}
	return "", fmt.Errorf("no reply to %q after %d attempts: %w", name, opts.Attempts, err)
}

// requestFromChannel is request for a mutant that reads on a goroutine of
// its own and waits for its datagrams with a timer.
func (m mutant) requestFromChannel(ctx context.Context, conn *net.UDPConn, datagrams <-chan datagram, server netip.AddrPort, name string, opts solution.Options) (string, error) {
	want := "Hello, " + name + "!"
	for range opts.Attempts {
		conn.WriteToUDPAddrPort([]byte(name), server)
		timer := time.NewTimer(opts.Timeout)
		for waiting := true; waiting; {
			select {
			case d := <-datagrams:
				if d.err == nil && harness.Unmap(d.from) == server && d.data == want {
					timer.Stop()
					return want, nil
				}
			case <-ctx.Done():
				timer.Stop()
				return "", ctx.Err()
			case <-timer.C:
				waiting = false
			}
		}
	}
	return "", fmt.Errorf("no reply to %q: %w", name, os.ErrDeadlineExceeded)
}

// TestSelf is the self-test of lesson 02's suite: see harness.SelfTest.
func TestSelf(t *testing.T) { selfTest.Run(t) }

var selfTest = harness.SelfTest[lesson02.Impl]{
	Suite:     &lesson02.Suite,
	Reference: reference,
	Stub: lesson02.Impl{Greet: func(ctx context.Context, addr string, names []string, timeout time.Duration, attempts int) ([]string, error) {
		return stub.Greet(ctx, addr, names, stub.Options{Timeout: timeout, Attempts: attempts})
	}},
	Lesson:   "../../lessons/02-echo-client",
	Promises: promises,
	Broken:   broken,
	Timing:   timingChecks,
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to change a verdict taken through it.
var timingChecks = []harness.Timing{
	{ID: "no-server", Stall: 100 * time.Millisecond},
	{ID: "lost-reply", Stall: 600 * time.Millisecond},
	{ID: "deadline-per-attempt", Stall: 300 * time.Millisecond},
	{ID: "cancel", Stall: 600 * time.Millisecond},
}

// The suite's DefaultTimeout and DefaultAttempts are the lesson's.
func TestDefaultsAreTheLessons(t *testing.T) {
	require.Equal(t, solution.DefaultTimeout, lesson02.DefaultTimeout)
	require.Equal(t, solution.DefaultAttempts, lesson02.DefaultAttempts)
	require.Equal(t, stub.DefaultTimeout, lesson02.DefaultTimeout)
	require.Equal(t, stub.DefaultAttempts, lesson02.DefaultAttempts)
}

// The no-server check leans on this: after a sender's write returns on
// loopback, the datagram is already in the receiver's socket.
func TestLoopbackDeliveryIsSynchronous(t *testing.T) {
	a, err := harness.ListenLoopback("udp4")
	require.NoError(t, err)
	defer a.Close()
	b, err := harness.ListenLoopback("udp4")
	require.NoError(t, err)
	defer b.Close()
	for i := range 100 {
		_, err := a.WriteTo([]byte{byte(i)}, b.LocalAddr())
		require.NoError(t, err)
	}
	b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	buf := make([]byte, 8)
	for i := range 100 {
		n, _, err := b.ReadFrom(buf)
		require.NoError(t, err, "datagram %d", i)
		require.Equal(t, []byte{byte(i)}, buf[:n], "datagram %d", i)
	}
	_, _, err = b.ReadFrom(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing more should be waiting")
}
