package lesson05_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"udpbook/harness"
	"udpbook/harness/lesson05"
	stub "udpbook/lessons/05-chat"
	solution "udpbook/solutions/05-chat"
)

var reference = lesson05.Impl{
	Serve: func(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
		return solution.Serve(ctx, conn, solution.Config(cfg))
	},
	Join: func(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
		return solution.Join(ctx, server, solution.Config(cfg), send, recv)
	},
	Talk:          solution.Talk,
	ErrServerDown: solution.ErrServerDown,
}

// broken lists deliberately wrong implementations, each with the check
// that must fail it. Every check has at least one (see
// TestEveryCheckCatchesSomething): a check that cannot fail is a defect.
var broken = []struct {
	name  string // what is wrong with it
	msg   string // a piece of the failure message, proving it failed for that reason
	fails string // the check that must catch it
	impl  lesson05.Impl
}{
	// The server.
	{"leaves the sender out of its own broadcast", `to receive "127.0.0.1:`, "server-broadcast", serve(srv{noSelf: true})},
	{"writes the sender like Python's tuple", `received "('127.0.0.1', `, "server-broadcast", serve(srv{tuple: true})},
	{"sends broadcasts from a new socket", `it came from`, "server-broadcast", serve(srv{newSocket: true})},
	{"answers the sender only, like an echo server", `member A 127.0.0.1:`, "server-broadcast", serve(srv{echoOnly: true})},
	{"broadcasts heartbeats as messages", ` @im@", want "@im@"`, "server-heartbeat", serve(srv{hbAsMessage: true})},
	{"does not answer heartbeats", `The rule: a heartbeat is answered`, "server-heartbeat", serve(srv{noAnswer: true})},
	{"answers a heartbeat to every member", `received "@im@", want "127.0.0.1:`, "server-heartbeat", serve(srv{answerAll: true})},
	{"a heartbeat refreshes members but does not register", `The rule: a heartbeat registers its sender`, "server-heartbeat", serve(srv{hbNoRegister: true})},
	{"never matches quit (the tutorial's bytes-vs-str comparison)", ` quit", want "127.0.0.1:`, "server-quit", serve(srv{quitNever: true})},
	{"matches quit case-insensitively", `"QUIT" is an ordinary message`, "server-quit", serve(srv{quitFold: true})},
	{"returns an error for a quit from a stranger", `Serve returned while it should still be serving: quit from a stranger`, "server-quit", serve(srv{quitStrangerErr: true})},
	{"removes the member on quit but broadcasts the quit too", ` quit", want "127.0.0.1:`, "server-quit", serve(srv{quitBroadcast: true})},
	{"never expires members", `it must receive nothing until it speaks again`, "server-expiry", serve(srv{neverExpire: true})},
	{"reads the Expiry's milliseconds as seconds", `it must receive nothing until it speaks again`, "server-expiry", serve(srv{expiryAsSeconds: true})},
	{"uses the default expiry of 10s, not Config's", `it must receive nothing until it speaks again`, "server-expiry", serve(srv{defaultExpiry: true})},
	{"expires members after twice the Expiry", `it must receive nothing until it speaks again`, "server-expiry", serve(srv{expiryTimes: 2})},
	{"expires members after 0.4 times the Expiry", `it is still a member`, "server-expiry", serve(srv{expiryTimes: 0.4})},
	{"a heartbeat registers a member but never refreshes it", `every heartbeat must refresh a member`, "server-stays-live", serve(srv{noRefresh: true})},
	{"1024-byte read buffer, as in the tutorial", `bytes, want 411`, "server-long-message", serve(srv{buf: 1024})},
	{"default MaxMessage of 1024 bytes", `a message of 4096 bytes (the default MaxMessage) is broadcast whole`, "server-long-message", serve(srv{defaultMax: 1024})},
	{"takes an empty datagram for quit, as the tutorial did", `an empty datagram does not make its sender leave`, "server-bad-input", serve(srv{emptyIsQuit: true})},
	{"broadcasts empty datagrams", `received "127.0.0.1:`, "server-bad-input", serve(srv{broadcastEmpty: true})},
	{"cuts oversized messages to MaxMessage", `xyz{|xyz{|xyz{|xyz{|`, "server-bad-input", serve(srv{truncate: true})},
	{"ignores MaxMessage", `xyz{|xyz{|`, "server-bad-input", serve(srv{ignoreMax: true})},
	{"drops a message of exactly MaxMessage bytes", `a message of exactly MaxMessage (100) bytes is allowed`, "server-bad-input", serve(srv{dropAtMax: true})},
	{"broadcasts bytes that are not UTF-8", `\xff\xfe not UTF-8`, "server-bad-input", serve(srv{allowBadUTF8: true})},
	{"panics on an empty datagram", `Serve panicked: runtime error: index out of range`, "server-bad-input", serve(srv{panicEmpty: true})},
	{"no member cap", `joiners in besides A; with MaxMembers 16`, "server-member-cap", serve(srv{noCap: true})},
	{"member cap off by one (> instead of >=)", `let 16 of the 200 joiners in`, "server-member-cap", serve(srv{capOffByOne: true})},
	{"pushes out the oldest member to make room", `later ones are refused, and nobody is pushed out`, "server-member-cap", serve(srv{evictOldest: true})},
	{"answers heartbeats from refused joiners", `not even an answer to its heartbeat`, "server-member-cap", serve(srv{answerRefused: true})},
	{"sweep goroutine empties the whole table every tick", `exactly once each and in order (-want +got)`, "server-concurrent", serve(srv{sweeper: true, clearAll: true})},
	{"sweep goroutine locks its mutex twice and deadlocks", `waited for the broadcast of its message`, "server-concurrent", serve(srv{sweeper: true, sweepDeadlock: true})},
	{"ignores ctx", `did not return within `, "server-stop", serve(srv{ignoreCtx: true})},
	{"returns nil instead of ctx.Err()", `Serve returned <nil>`, "server-stop", serve(srv{returnNil: true})},
	{"leaves its sweep goroutine running", `left 1 goroutine(s) running`, "server-stop", serve(srv{sweeper: true, leakSweeper: true})},
	{"writes the sender with %s:%d", `received "::1:`, "server-ipv6", serve(srv{hostColonPort: true})},
	{"panics", `Serve panicked: boom`, "server-broadcast", serve(srv{panics: true})},

	// The client.
	{"waits one interval before the first heartbeat, as the tutorial did", `not after an interval`, "client-join", join(cli{lateFirst: true})},
	{"sends each message from a new socket", `send everything on one socket`, "client-join", join(cli{newSocketPerMsg: true})},
	{"adds a newline to each message", `your client sent "hello\n", want "hello"`, "client-join", join(cli{newline: true})},
	{"ignores Interval and beats every 5s", `is too few for an Interval of `, "client-heartbeat", join(cli{defaultInterval: true})},
	{"beats at half the rate: every two intervals", `is too few for an Interval of `, "client-heartbeat", join(cli{halfRate: true})},
	{"beats twice per interval", `is too many for an Interval of `, "client-heartbeat", join(cli{doubleRate: true})},
	{"heartbeat goroutine outlives Join", `the server would take the member back in`, "client-heartbeat", join(cli{leakHeartbeat: true})},
	{"sends a last heartbeat after quit", `after "quit": the server would take the member back in`, "client-heartbeat", join(cli{beatAfterQuit: true})},
	{"passes the server's @im@ answers on", `they are not messages for the caller`, "client-receive", join(cli{passAnswers: true})},
	{"1024-byte read buffer", `(1024 bytes, want 4111`, "client-receive", join(cli{buf: 1024})},
	{"no quit when ctx is done", `after the harness cancels Join's context, expected "quit"`, "client-quit", join(cli{noQuitCtx: true})},
	{"no quit when send is closed", `after the harness closes send, expected "quit"`, "client-quit", join(cli{noQuitClose: true})},
	{"sends QUIT", `your client sent "QUIT"`, "client-quit", join(cli{quitUpper: true})},
	{"does not close recv", `Join returned without closing recv`, "client-stop", join(cli{noCloseRecv: true})},
	{"returns nil when ctx is done", `Join returned <nil>; want context canceled`, "client-stop", join(cli{returnNil: true})},
	{"waits for the caller to take a broadcast before it can stop", `did not return within `, "client-stop", join(cli{blockDeliver: true})},
	{"leaves a goroutine running", `Join returned but left`, "client-stop", join(cli{leak: true})},
	{"unconnected socket: never hears of a closed port", `port was closed: the server is down`, "client-refused", join(cli{unconnected: true})},
	{"goes on reading after a read error", `port was closed: the server is down`, "client-refused", join(cli{ignoreReadErr: true})},
	{"wraps the refusal with %v", `does not wrap syscall.ECONNREFUSED`, "client-refused", join(cli{wrapV: true})},
	{"returns the refusal without ErrServerDown", `want an error that wraps ErrServerDown`, "client-refused", join(cli{noErrDown: true})},
	{"never notices silence", `after the fake server went silent: the server is down`, "client-silence", join(cli{noSilence: true})},
	{"sets the read deadline once, at the start", `while the server answered each of its heartbeats`, "client-silence", join(cli{deadlineOnce: true})},
	{"counts only broadcasts as word from the server", `while the server answered each of its heartbeats`, "client-silence", join(cli{onlyBroadcasts: true})},
	{"waits twice the Timeout", `want no later than`, "client-silence", join(cli{doubleTimeout: true})},
	{"waits half the Timeout", `want no sooner than the Timeout of `, "client-silence", join(cli{halfTimeout: true})},
	{"Join panics", `Join panicked: boom`, "client-join", join(cli{panics: true})},

	// Two people.
	{"sends from a new socket", `it came from`, "pair-send", talk(tlk{newSocket: true})},
	{"takes turns: waits for a datagram before sending", `Talk did not take "hi" from send`, "pair-send", talk(tlk{readFirst: true})},
	{"adds a newline to each message", `received "hi\n", want "hi"`, "pair-send", talk(tlk{newline: true})},
	{"takes turns: waits for a message to send before reading", `expected something on recv within `, "pair-receive", talk(tlk{sendFirst: true})},
	{"passes on strangers' datagrams", `a datagram from anyone but the peer is dropped`, "pair-receive", talk(tlk{strangers: true})},
	{"1024-byte read buffer", `(1024 bytes, want 4096`, "pair-receive", talk(tlk{buf: 1024})},
	{"copies its own messages to recv", `recv differs from what Talk`, "pair-duplex", talk(tlk{echoOwn: true})},
	{"does not close recv", `Talk returned without closing recv`, "pair-stop", talk(tlk{noCloseRecv: true})},
	{"ignores ctx", `after the harness cancels Talk's context`, "pair-stop", talk(tlk{ignoreCtx: true})},
	{"leaves a goroutine running", `Talk returned but left`, "pair-stop", talk(tlk{leak: true})},
}

func serve(m srv) lesson05.Impl {
	impl := reference
	impl.Serve = m.Serve
	return impl
}

func join(m cli) lesson05.Impl {
	impl := reference
	impl.Join = m.Join
	return impl
}

func talk(m tlk) lesson05.Impl {
	impl := reference
	impl.Talk = m.Talk
	return impl
}

// srv is a chat server with one mistake switched on. Without sweeper it
// works as the reference does; with it, a ticker goroutine sweeps the
// table under a mutex.
type srv struct {
	noSelf, tuple, newSocket, echoOnly, hostColonPort         bool
	hbAsMessage, noAnswer, answerAll, hbNoRegister, noRefresh bool
	quitNever, quitFold, quitStrangerErr, quitBroadcast       bool
	neverExpire, expiryAsSeconds, defaultExpiry               bool
	expiryTimes                                               float64 // the expiry used, in Expiries
	buf, defaultMax                                           int
	emptyIsQuit, broadcastEmpty, truncate, ignoreMax          bool
	dropAtMax, allowBadUTF8, panicEmpty                       bool
	noCap, capOffByOne, evictOldest, answerRefused            bool
	sweeper, clearAll, sweepDeadlock, leakSweeper             bool
	ignoreCtx, returnNil, panics                              bool
}

type member struct {
	addr     net.Addr
	lastSeen time.Time
	joined   int
}

func (m srv) Serve(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
	if m.panics {
		panic("boom")
	}
	expiry, maxMembers, maxMessage := cfg.Expiry, cfg.MaxMembers, cfg.MaxMessage
	if expiry <= 0 || m.defaultExpiry {
		expiry = 10 * time.Second
	}
	if m.expiryAsSeconds {
		expiry = time.Duration(expiry.Milliseconds()) * time.Second
	}
	if m.expiryTimes > 0 {
		expiry = time.Duration(float64(expiry) * m.expiryTimes)
	}
	if maxMembers <= 0 {
		maxMembers = 64
	}
	if maxMessage <= 0 {
		maxMessage = 4096
		if m.defaultMax > 0 {
			maxMessage = m.defaultMax
		}
	}
	if !m.ignoreCtx {
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		defer stop()
	}
	var mu sync.Mutex
	members := map[netip.AddrPort]*member{}
	joins := 0
	sweep := func(now time.Time) {
		if m.neverExpire {
			return
		}
		for who, mem := range members {
			if now.Sub(mem.lastSeen) > expiry {
				delete(members, who)
			}
		}
	}
	if m.sweeper {
		done := make(chan struct{})
		if !m.leakSweeper {
			defer close(done)
		}
		go func() {
			ticker := time.NewTicker(expiry / 2)
			defer ticker.Stop()
			for {
				select {
				case <-done:
					return
				case <-ticker.C:
					mu.Lock()
					if m.sweepDeadlock {
						mu.Lock() // as a helper that locks again would
					}
					if m.clearAll {
						clear(members)
					} else {
						sweep(time.Now())
					}
					mu.Unlock()
				}
			}
		}()
	}
	admit := func(who netip.AddrPort, addr net.Addr, now time.Time, refresh bool) bool {
		if mem, ok := members[who]; ok {
			if refresh {
				mem.lastSeen = now
			}
			return true
		}
		full := len(members) >= maxMembers
		if m.capOffByOne {
			full = len(members) > maxMembers
		}
		if full && m.evictOldest {
			var oldest netip.AddrPort
			first := -1
			for w, mem := range members {
				if first < 0 || mem.joined < first {
					oldest, first = w, mem.joined
				}
			}
			delete(members, oldest)
			full = false
		}
		if full && !m.noCap {
			return false
		}
		joins++
		members[who] = &member{addr: addr, lastSeen: now, joined: joins}
		return true
	}
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if m.returnNil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		data := buf[:n]
		if m.panicEmpty {
			_ = data[0] // looks at the first byte before checking the length
		}
		now := time.Now()
		mu.Lock()
		if !m.sweeper {
			sweep(now)
		}
		udp := from.(*net.UDPAddr)
		who := netip.AddrPortFrom(udp.AddrPort().Addr().Unmap(), udp.AddrPort().Port())
		name := who.String()
		if m.tuple {
			name = fmt.Sprintf("('%s', %d)", who.Addr(), who.Port())
		}
		if m.hostColonPort {
			name = fmt.Sprintf("%s:%d", who.Addr(), who.Port())
		}
		text := string(data)
		isQuit := text == "quit" && !m.quitNever
		if m.quitFold {
			isQuit = strings.EqualFold(text, "quit")
		}
		var out []net.Addr
		var msg string
		switch {
		case len(data) == 0 && m.emptyIsQuit:
			delete(members, who)
		case len(data) == 0 && !m.broadcastEmpty:
		case isQuit:
			if _, ok := members[who]; !ok && m.quitStrangerErr {
				mu.Unlock()
				return fmt.Errorf("quit from a stranger, %v", who)
			}
			delete(members, who)
			if m.quitBroadcast {
				msg = name + " " + text
				for _, mem := range members {
					out = append(out, mem.addr)
				}
			}
		case text == "@im@" && !m.hbAsMessage:
			if _, ok := members[who]; !ok && m.hbNoRegister {
				out, msg = []net.Addr{from}, "@im@"
				break
			}
			if admit(who, from, now, !m.noRefresh) || m.answerRefused {
				msg = "@im@"
				if m.answerAll {
					for _, mem := range members {
						out = append(out, mem.addr)
					}
				} else if !m.noAnswer {
					out = []net.Addr{from}
				}
			}
		case len(data) > maxMessage && !m.ignoreMax && !m.truncate:
		case len(data) >= maxMessage && m.dropAtMax:
		case !utf8.Valid(data) && !m.allowBadUTF8:
		default:
			if len(data) > maxMessage && m.truncate {
				text = text[:maxMessage]
			}
			if admit(who, from, now, true) {
				msg = name + " " + text
				switch {
				case m.echoOnly:
					out = []net.Addr{from}
				default:
					for w, mem := range members {
						if w != who || !m.noSelf {
							out = append(out, mem.addr)
						}
					}
				}
			}
		}
		mu.Unlock()
		sender := conn
		if m.newSocket && len(out) > 0 {
			other, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer other.Close()
			sender = other
		}
		for _, to := range out {
			sender.WriteTo([]byte(msg), to)
		}
	}
}

// cli is a chat client with one mistake switched on.
type cli struct {
	lateFirst, newSocketPerMsg, newline                       bool
	defaultInterval, doubleRate, leakHeartbeat, beatAfterQuit bool
	halfRate, doubleTimeout, quitTwice                        bool
	passAnswers                                               bool
	buf                                                       int
	noQuitCtx, noQuitClose, quitUpper                         bool
	noCloseRecv, returnNil, blockDeliver, leak                bool
	unconnected, ignoreReadErr, wrapV, noErrDown              bool
	noSilence, deadlineOnce, onlyBroadcasts, halfTimeout      bool
	panics                                                    bool
}

func (m cli) Join(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
	if m.panics {
		panic("boom")
	}
	if !m.noCloseRecv {
		defer close(recv)
	}
	interval, timeout := cfg.Interval, cfg.Timeout
	if interval <= 0 || m.defaultInterval {
		interval = 5 * time.Second
	}
	if m.doubleRate {
		interval /= 2
	}
	if m.halfRate {
		interval *= 2
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if m.doubleTimeout {
		timeout *= 2
	}
	if m.halfTimeout {
		timeout /= 2
	}
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return err
	}
	// conn is connected, or (unconnected) bound and written to with WriteTo.
	var conn *net.UDPConn
	if m.unconnected {
		conn, err = net.ListenUDP("udp", nil)
	} else {
		conn, err = net.DialUDP("udp", nil, raddr)
	}
	if err != nil {
		return err
	}
	write := func(msg string) error {
		var err error
		if m.unconnected {
			_, err = conn.WriteToUDP([]byte(msg), raddr)
		} else {
			_, err = conn.Write([]byte(msg))
		}
		return m.down(err)
	}
	if m.leak {
		go func() { select {} }()
	}

	down := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		down <- m.receive(conn, timeout, recv, done)
	}()
	if !m.leakHeartbeat {
		defer wg.Wait()
		defer conn.Close()
	}
	defer close(done)

	leave := func() {
		if m.quitUpper {
			write("QUIT")
		} else {
			write("quit")
		}
		if m.beatAfterQuit {
			write("@im@")
		}
		if m.quitTwice {
			write("quit")
		}
	}
	if !m.lateFirst {
		if err := write("@im@"); err != nil {
			return err
		}
	}
	var beats <-chan time.Time
	if m.leakHeartbeat {
		go func() {
			ticker := time.NewTicker(interval)
			for range ticker.C {
				if write("@im@") != nil {
					return
				}
			}
		}()
	} else {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		beats = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			if !m.noQuitCtx {
				leave()
			}
			if m.returnNil {
				return nil
			}
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				if !m.noQuitClose {
					leave()
				}
				return nil
			}
			if m.newline {
				msg += "\n"
			}
			if m.newSocketPerMsg {
				other, err := net.DialUDP("udp", nil, raddr)
				if err != nil {
					return err
				}
				other.Write([]byte(msg))
				other.Close()
				continue
			}
			if err := write(msg); err != nil {
				return err
			}
		case <-beats:
			if err := write("@im@"); err != nil {
				return err
			}
		case err := <-down:
			return err
		}
	}
}

// down wraps a refused read or write as the mutant does.
func (m cli) down(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ECONNREFUSED) && m.noErrDown:
		return fmt.Errorf("read: %w", err)
	case errors.Is(err, syscall.ECONNREFUSED) && m.wrapV:
		return fmt.Errorf("%w: %v", solution.ErrServerDown, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %w", solution.ErrServerDown, err)
	}
	return err
}

func (m cli) receive(conn *net.UDPConn, timeout time.Duration, recv chan<- string, done <-chan struct{}) error {
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	deadline := time.Now().Add(timeout)
	for {
		switch {
		case m.noSilence, m.deadlineOnce, m.onlyBroadcasts:
		default:
			deadline = time.Now().Add(timeout)
		}
		if !m.noSilence {
			conn.SetReadDeadline(deadline)
		}
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("%w: silent for %v", solution.ErrServerDown, timeout)
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			if m.ignoreReadErr {
				continue
			}
			return m.down(err)
		}
		msg := string(buf[:n])
		if msg == "@im@" && !m.passAnswers {
			continue
		}
		if m.onlyBroadcasts {
			deadline = time.Now().Add(timeout)
		}
		if m.blockDeliver {
			recv <- msg
			continue
		}
		select {
		case recv <- msg:
		case <-done:
			return nil
		}
	}
}

// tlk is a two-person chat with one mistake switched on.
type tlk struct {
	newSocket, readFirst, newline, sendFirst, strangers bool
	buf                                                 int
	echoOwn, noCloseRecv, ignoreCtx, leak               bool
}

func (m tlk) Talk(ctx context.Context, conn net.PacketConn, peer string, send <-chan string, recv chan<- string) error {
	if !m.noCloseRecv {
		defer close(recv)
	}
	raddr, err := net.ResolveUDPAddr("udp", peer)
	if err != nil {
		return err
	}
	want := raddr.AddrPort()
	size := 65535
	if m.buf > 0 {
		size = m.buf
	}
	buf := make([]byte, size)
	// readOne reads one datagram from the peer (or anyone, with strangers).
	readOne := func() (string, error) {
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return "", err
			}
			if m.strangers || harness.Unmap(from.(*net.UDPAddr).AddrPort()) == harness.Unmap(want) {
				return string(buf[:n]), nil
			}
		}
	}
	sendOne := func(msg string) error {
		if m.newline {
			msg += "\n"
		}
		if m.newSocket {
			other, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer other.Close()
			_, err = other.WriteTo([]byte(msg), raddr)
			return err
		}
		_, err := conn.WriteTo([]byte(msg), raddr)
		return err
	}
	if m.readFirst || m.sendFirst {
		// Turns on one goroutine: the tutorial's first version.
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
		defer stop()
		defer conn.SetReadDeadline(time.Time{})
		for {
			if m.readFirst {
				msg, err := readOne()
				if err != nil {
					return ctx.Err()
				}
				recv <- msg
			}
			select {
			case msg, ok := <-send:
				if !ok {
					return nil
				}
				sendOne(msg)
			case <-ctx.Done():
				return ctx.Err()
			}
			if m.sendFirst {
				msg, err := readOne()
				if err != nil {
					return ctx.Err()
				}
				recv <- msg
			}
		}
	}
	if m.leak {
		go func() { select {} }()
	}
	done := make(chan struct{})
	failed := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			msg, err := readOne()
			if err != nil {
				failed <- err
				return
			}
			select {
			case recv <- msg:
			case <-done:
				return
			}
		}
	}()
	defer func() {
		close(done)
		conn.SetReadDeadline(time.Now())
		wg.Wait()
		conn.SetReadDeadline(time.Time{})
	}()
	var ctxDone <-chan struct{}
	if !m.ignoreCtx {
		ctxDone = ctx.Done()
	}
	for {
		select {
		case <-ctxDone:
			return ctx.Err()
		case msg, ok := <-send:
			if !ok {
				return nil
			}
			if err := sendOne(msg); err != nil {
				return err
			}
			if m.echoOwn {
				recv <- msg
			}
		case err := <-failed:
			return err
		}
	}
}

func TestBrokenImplementationsFail(t *testing.T) {
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			res := lesson05.Suite.GradeOne(b.fails, b.impl)
			if res.Status != harness.Fail {
				t.Fatalf("check %q gave %s to a broken implementation (%s); want fail", b.fails, res.Status, b.name)
			}
			if !strings.Contains(res.Message, b.msg) {
				t.Fatalf("check %q failed, but not for the reason expected: the message lacks %q:\n%s", b.fails, b.msg, res.Message)
			}
			t.Logf("check %q failed it, as it should:\n%s", b.fails, res.Message)
		})
	}
}

func TestEveryCheckCatchesSomething(t *testing.T) {
	caught := map[string]bool{}
	for _, b := range broken {
		caught[b.fails] = true
	}
	for _, ch := range lesson05.Suite.Checks {
		if !caught[ch.ID] {
			t.Errorf("check %q has no broken implementation that it fails", ch.ID)
		}
		if ch.Points <= 0 || ch.Title == "" || ch.Hint == "" {
			t.Errorf("check %q needs points, a title and a hint", ch.ID)
		}
		if !strings.HasPrefix(ch.ID, "server-") && !strings.HasPrefix(ch.ID, "client-") && !strings.HasPrefix(ch.ID, "pair-") {
			t.Errorf("check %q should start with server-, client- or pair-", ch.ID)
		}
	}
}

func TestReferencePasses(t *testing.T) {
	for _, res := range lesson05.Suite.Grade(reference) {
		if res.Status != harness.Pass {
			t.Errorf("reference solution: check %q: %s\n%s", res.ID, res.Status, res.Message)
		}
	}
}

func TestStubFailsEveryCheckAtOnce(t *testing.T) {
	impl := lesson05.Impl{
		Serve: func(ctx context.Context, conn net.PacketConn, cfg lesson05.Config) error {
			return stub.Serve(ctx, conn, stub.Config(cfg))
		},
		Join: func(ctx context.Context, server string, cfg lesson05.Config, send <-chan string, recv chan<- string) error {
			return stub.Join(ctx, server, stub.Config(cfg), send, recv)
		},
		Talk:          stub.Talk,
		ErrServerDown: stub.ErrServerDown,
	}
	for _, res := range lesson05.Suite.Grade(impl) {
		if res.Status != harness.Fail || !strings.Contains(res.Message, "is not written yet") {
			t.Errorf("stub: check %q: %s, want a failure that says what to write next; message:\n%s", res.ID, res.Status, res.Message)
		}
		// At once means without waiting for any timeout, the shortest of
		// which is Patience.
		if res.Duration >= harness.Patience*3/4 {
			t.Errorf("stub: check %q took %v to fail; it should fail at once, without waiting for a timeout", res.ID, res.Duration)
		}
	}
}

// The client checks rest on a fact of connected UDP sockets on this
// system: a datagram to a closed port comes back as ECONNREFUSED on the
// next read. Make sure it holds, or client-refused means nothing.
func TestConnectedSocketLearnsOfClosedPort(t *testing.T) {
	closed, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.LocalAddr().(*net.UDPAddr)
	closed.Close()
	conn, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("anyone?"))
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("read after writing to a closed port: %v, want ECONNREFUSED", err)
	}
}

// timingChecks are the checks whose verdicts depend on durations, with a
// stall long enough to turn a correct implementation's pass into a
// failure if the harness took its verdict anyway.
var timingChecks = []harness.Timing{
	{ID: "server-expiry", Stall: 200 * time.Millisecond},
	{ID: "server-stays-live", Stall: 300 * time.Millisecond},
	{ID: "server-concurrent", Stall: 300 * time.Millisecond},
	{ID: "server-stop", Stall: 600 * time.Millisecond},
	{ID: "client-heartbeat", Stall: 100 * time.Millisecond},
	{ID: "client-stop", Stall: 600 * time.Millisecond},
	{ID: "client-silence", Stall: 300 * time.Millisecond},
	{ID: "pair-stop", Stall: 600 * time.Millisecond},
}

func TestTimingChecksRetryWhenTheHarnessIsLate(t *testing.T) {
	harness.TestRetriesWhenLate(t, &lesson05.Suite, reference, timingChecks)
}

func TestBrokenTimingFailsAtEveryScale(t *testing.T) {
	// The stop checks count the lesson's goroutines, and each waits out
	// its StopBound: they run alone, at 2× only.
	alone := map[string]bool{"server-stop": true, "client-stop": true, "pair-stop": true}
	harness.TestFailsAtEveryScale(t, &lesson05.Suite, brokenKit(), timingChecks, []int{2, 4, 8}, alone)
}

// Correct variations of the reference: designs and harmless extras that
// the chapter allows. Each must pass every check named.
func TestCorrectVariantsPass(t *testing.T) {
	variants := []struct {
		name   string
		impl   lesson05.Impl
		checks []string
	}{
		// A second "quit" is harmless: server-quit grades exactly that.
		{"sends quit twice", join(cli{quitTwice: true}), []string{"client-heartbeat", "client-quit", "client-stop"}},
	}
	for _, v := range variants {
		for _, id := range v.checks {
			if res := lesson05.Suite.GradeOne(id, v.impl); res.Status != harness.Pass {
				t.Errorf("a correct client that %s: check %q gave %s:\n%s", v.name, id, res.Status, res.Message)
			}
		}
	}
}

// brokenKit is broken, for the self-test kit.
func brokenKit() []harness.Broken[lesson05.Impl] {
	kit := make([]harness.Broken[lesson05.Impl], len(broken))
	for i, b := range broken {
		kit[i] = harness.Broken[lesson05.Impl]{Name: b.name, Msg: b.msg, Fails: b.fails, Impl: b.impl}
	}
	return kit
}
