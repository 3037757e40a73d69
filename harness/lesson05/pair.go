package lesson05

// The checks of Talk (pair-*), and how they run a learner's Talk.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"udpbook/harness"
)

func checkPairSend(c *harness.C, impl Impl) {
	p := c.NewPeer("the other person", "udp4")
	tk := startTalk(c, impl, "udp4", p.Addr())
	msgs := []string{"hi", "are you there?", "", "你好, UDP", "  spaces and a newline \n", "quit\n", string(pattern('a', 2000))}
	c.Step("(the other person sends nothing: Talk must send without waiting to receive)")
	for _, m := range msgs {
		put(c, tk.send, m, "Talk")
		expectNext(c, p, tk.addr, m, "each message on send goes to the peer as it is, from the bound port, at once")
	}
}

func checkPairReceive(c *harness.C, impl Impl) {
	p := c.NewPeer("the other person", "udp4")
	s := c.NewPeer("stranger", "udp4")
	tk := startTalk(c, impl, "udp4", p.Addr())
	c.Step("(nothing is put on send: Talk must receive without waiting to send)")
	long := string(pattern('a', 4096))
	p.Send(tk.addr, []byte("hello"))
	s.Send(tk.addr, []byte("spam from a stranger"))
	p.Send(tk.addr, []byte("how are you?"))
	p.Send(tk.addr, []byte(long))
	s.Send(tk.addr, []byte("more spam"))
	p.Send(tk.addr, []byte("bye"))
	for _, w := range []string{"hello", "how are you?", long, "bye"} {
		got := next(c, tk.recv, "Talk")
		if got != w {
			why := "hand over the peer's datagrams whole and in order"
			if strings.Contains(got, "spam") {
				why = "a datagram from anyone but the peer is dropped"
			}
			c.Fatalf("recv gave %s, want %s%s: %s", harness.Quote([]byte(got)), harness.Quote([]byte(w)),
				harness.Difference([]byte(got), []byte(w)), why)
		}
	}

	// A dual-stack socket sees the IPv4 peer as ::ffff:127.0.0.1.
	if why := dualStack.Missing(); why != "" {
		c.Step("(the dual-stack part is skipped: %s)", why)
		return
	}
	conn, err := listenDualStack()
	if err != nil {
		c.Fatalf("harness could not bind a dual-stack socket: %v", err)
	}
	c.Cleanup(func() { conn.Close() })
	c.Name(harness.AddrPort(conn.LocalAddr()), "your Talk (dual-stack)")
	c.Step("harness binds an IPv6 socket that takes IPv4 too (IPV6_V6ONLY off): Talk sees the peer "+
		"%s as [::ffff:127.0.0.1]:%d", p.Addr(), p.Addr().Port())
	tk = runTalk(c, impl, conn, p.Addr())
	p.Send(tk.addr, []byte("hello from IPv4"))
	if got := next(c, tk.recv, "Talk"); got != "hello from IPv4" {
		c.Fatalf("recv gave %s, want %q: on a dual-stack socket the peer %s arrives as [::ffff:127.0.0.1]:%d, "+
			"the same address (compare unmapped netip.AddrPort values)", harness.Quote([]byte(got)), "hello from IPv4",
			p.Addr(), p.Addr().Port())
	}
}

func checkPairDuplex(c *harness.C, impl Impl) {
	const n = 50
	conn1 := c.Listen("udp4")
	addr1 := harness.AddrPort(conn1.LocalAddr())
	conn2 := c.Listen("udp4")
	addr2 := harness.AddrPort(conn2.LocalAddr())
	c.Name(addr1, "Talk 1")
	c.Name(addr2, "Talk 2")
	t1 := runTalk(c, impl, conn1, addr2)
	t2 := runTalk(c, impl, conn2, addr1)
	want := func(side int) []string {
		var ms []string
		for i := range n {
			ms = append(ms, fmt.Sprintf("from %d, message %02d", side, i))
		}
		return ms
	}
	c.Step("harness puts %d messages on each Talk's send at the same time, and reads both recvs", n)
	type outcome struct {
		got []string
		err string
	}
	var wg sync.WaitGroup
	var out [2]outcome
	for i, tk := range []*talker{t1, t2} {
		wg.Add(2)
		go func() { // feed
			defer wg.Done()
			for _, m := range want(i + 1) {
				select {
				case tk.send <- m:
				case <-time.After(c.Patience()):
					return // the reader side will report the shortfall
				case <-c.Context().Done():
					return
				}
			}
		}()
		go func() { // collect
			defer wg.Done()
			for len(out[i].got) < n {
				select {
				case m, ok := <-tk.recv:
					if !ok {
						out[i].err = "closed recv"
						return
					}
					out[i].got = append(out[i].got, m)
				case <-time.After(c.Patience()):
					out[i].err = fmt.Sprintf("gave nothing more on recv for %v", c.Patience())
					return
				case <-c.Context().Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	c.FailIfAborted()
	for i := range out {
		other := 2 - i
		if diff := cmp.Diff(want(other), out[i].got); diff != "" {
			extra := ""
			if out[i].err != "" {
				extra = " (it " + out[i].err + ")"
			}
			c.Fatalf("Talk %d's recv differs from what Talk %d sent (-want +got)%s:\n%s", i+1, other, extra, diff)
		}
	}
	c.Step("each Talk received the other's %d messages, in order", n)
}

func checkPairStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Talk)
	before := harness.Goroutines(pkg)
	for _, viaCtx := range []bool{true, false} {
		p := c.NewPeer("the other person", "udp4")
		tk := startTalk(c, impl, "udp4", p.Addr())
		p.Send(tk.addr, []byte("hello"))
		if got := next(c, tk.recv, "Talk"); got != "hello" {
			c.Fatalf("recv gave %s, want %q", harness.Quote([]byte(got)), "hello")
		}
		p.Send(tk.addr, []byte("unread"))
		how, want := "cancels Talk's context", error(context.Canceled)
		if !viaCtx {
			how, want = "closes send", nil
		}
		c.Step("harness %s, without taking the last message from recv", how)
		tk.run.Expect()
		if viaCtx {
			tk.cancel()
		} else {
			close(tk.send)
		}
		err, ok := tk.run.Wait(c.Dur(StopBound))
		if !ok {
			c.Slow("Talk did not return within %v after the harness %s", c.Dur(StopBound), how)
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			c.Fatalf("after the harness %s, Talk returned %v; want %v", how, err, want)
		}
		if !recvClosed(c, tk.recv) {
			c.Fatalf("Talk returned without closing recv: close it (defer close(recv)) so that a caller ranging over it stops")
		}
		// The caller owns conn: Talk must leave it open.
		if held, known := harness.LearnerHolds(tk.conn); known && !held {
			c.Fatalf("after Talk returned, its socket was closed: Talk must not close conn, the caller owns it and " +
				"may use it again (wake the reading goroutine with a read deadline in the past instead)")
		}
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Talk returned but left %d goroutine(s) running, the first:\n%s", len(left), harness.FirstLines(left[0], 8))
	}

	// The third way out: the socket closed under Talk while ctx is live.
	p := c.NewPeer("the other person", "udp4")
	tk := startTalk(c, impl, "udp4", p.Addr())
	p.Send(tk.addr, []byte("hello"))
	if got := next(c, tk.recv, "Talk"); got != "hello" {
		c.Fatalf("recv gave %s, want %q", harness.Quote([]byte(got)), "hello")
	}
	c.Step("harness closes the socket Talk reads from (its context is still live, send is open)")
	tk.run.Expect()
	tk.conn.Close()
	err, ok := tk.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Talk did not return within %v after its socket was closed: a read error that Talk did not cause "+
			"will not go away, so Talk must return it", c.Dur(StopBound))
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("after its socket was closed, its context still live, Talk returned %v; want the read's error "+
			"(it wraps net.ErrClosed): receiving failed", err)
	}
	if !recvClosed(c, tk.recv) {
		c.Fatalf("Talk returned, its socket closed, without closing recv: close it on every way out " +
			"(defer close(recv) as the first line does it)")
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Talk returned when its socket was closed, but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
}

// talker is a learner's Talk running on a socket the harness bound.
type talker struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	send   chan string
	recv   chan string
	run    *harness.Running
	cancel context.CancelFunc
}

// startTalk binds a socket on network and runs impl.Talk on it, told that
// the peer is at peer.
func startTalk(c *harness.C, impl Impl, network string, peer netip.AddrPort) *talker {
	conn := c.Listen(network)
	addr := harness.AddrPort(conn.LocalAddr())
	c.Name(addr, "your Talk")
	return runTalk(c, impl, conn, peer)
}

// runTalk runs impl.Talk on conn and stops it when the check ends. If Talk
// returns while the check does not expect it to, the check is aborted.
func runTalk(c *harness.C, impl Impl, conn *net.UDPConn, peer netip.AddrPort) *talker {
	c.Timed(c.Dur(StopBound) / 4)
	tk := &talker{conn: conn, addr: harness.AddrPort(conn.LocalAddr()), send: make(chan string), recv: make(chan string)}
	ctx, cancel := context.WithCancel(context.Background())
	tk.cancel = cancel
	c.Step("harness calls Talk(ctx, conn bound to %s, %q, send, recv)", tk.addr, peer.String())
	tk.run = c.Go("Talk", func() error { return impl.Talk(ctx, conn, peer.String(), tk.send, tk.recv) })
	c.Cleanup(func() {
		tk.run.Expect()
		cancel()
		drainFor(tk.recv, StopBound) // a Talk waiting to deliver must not hold up the next check
	})
	return tk
}
