// Package lesson01 grades lesson 01, the echo server. The lesson's test
// file and the reference solution's (the same file) call Run.
package lesson01

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"udpbook/harness"
)

// Impl is the lesson's API: the functions the suite grades.
type Impl struct {
	Listen func(addr string) (net.PacketConn, error)
	Serve  func(ctx context.Context, conn net.PacketConn) error
}

// Run grades impl, one subtest per check.
func Run(t *testing.T, impl Impl) { Suite.Run(t, impl) }

// StopBound is how long Serve may take to return once its context is done.
const StopBound = time.Second

// Suite is lesson 01's list of checks.
var Suite = harness.Suite[Impl]{Checks: []harness.Check[Impl]{
	{
		ID: "listen", Points: 2,
		Title: "Listen binds a UDP socket to the address it is given; port 0 gets a free port",
		Hint: "Bind with net.ListenPacket(\"udp\", addr) and return what it returns. " +
			"Do not change the address: the caller chose it.",
		Run: checkListen,
	},
	{
		ID: "port-in-use", Points: 2,
		Title: "Listen fails with EADDRINUSE on a UDP address already bound; TCP may use the same port number",
		Hint: "Return the error from net.ListenPacket, or wrap it with %w, never %v: errors.Is must still find " +
			"syscall.EADDRINUSE in it. Do not set SO_REUSEADDR or SO_REUSEPORT, and do not fall back to another port.",
		Run: checkPortInUse,
	},
	{
		ID: "one-request", Points: 3,
		Title: "a datagram gets \"Hello, <data>!\" back, from the server's address, to the sender's address",
		Hint: "ReadFrom returns n and the sender's address; reply with WriteTo(reply, addr) on the same conn, " +
			"and build the reply from buf[:n], not from the whole buffer.",
		Run: checkOneRequest,
	},
	{
		ID: "two-clients", Points: 2,
		Title: "two clients taking turns each get only their own replies",
		Hint:  "Reply to the address that ReadFrom returned for this datagram, not to one you saved earlier.",
		Run:   checkTwoClients,
	},
	{
		ID: "back-to-back", Points: 2,
		Title: "20 datagrams sent at once get 20 replies, one for each",
		Hint: "One ReadFrom returns exactly one datagram. Loop: read, reply, read again. " +
			"If you hand work to goroutines, give each its own copy of the data: the next ReadFrom overwrites buf.",
		Run: checkBackToBack,
	},
	{
		ID: "big-datagram", Points: 2,
		Title: "a 60,000-byte datagram comes back whole",
		Hint: "A datagram longer than the read buffer is cut short without any error. " +
			"Make the buffer 65,535 bytes, larger than any UDP payload.",
		Run: checkBigDatagram,
	},
	{
		ID: "empty-and-binary", Points: 2,
		Title: "an empty datagram gets \"Hello, !\"; bytes that are not UTF-8, spaces and newlines come back unchanged",
		Hint: "A zero-length datagram is a datagram: do not skip n == 0. Copy the bytes as they are; " +
			"do not convert them through runes, trim them or clean them up.",
		Run: checkEmptyAndBinary,
	},
	{
		ID: "keeps-serving", Points: 2,
		Title: "a datagram whose reply cannot be sent does not stop the server",
		Hint: "Two causes. If your server replied to the 65,507-byte datagram at all, its read buffer is too small " +
			"and cut the datagram short: make it 65,535 bytes. If it stopped answering, it returned when WriteTo failed " +
			"(the reply to 65,507 bytes is too large to send): drop that reply and keep looping.",
		Run: checkKeepsServing,
	},
	{
		ID: "stop", Points: 2,
		Title: "cancelling ctx makes Serve return ctx.Err() within 1s, with no goroutine left behind and its socket still open",
		Hint: "A blocked ReadFrom does not watch ctx. Use context.AfterFunc(ctx, ...) to set a read deadline " +
			"in the past, and when ReadFrom fails, return ctx.Err() if ctx is done. Do not close conn: the caller owns it.",
		Run: checkStop,
	},
	{
		ID: "closed-socket", Points: 1,
		Title: "when its socket is closed under it, Serve returns the read's error instead of looping, and leaves no goroutine behind",
		Hint: "Only a read error caused by ctx means \"stop quietly\". Any other read error (net.ErrClosed, say) " +
			"will happen again on the next read: return it, wrapped with %w if you add context.",
		Run: checkClosedSocket,
	},
	{
		ID: "ipv6", Points: 1,
		Title: "Listen and Serve work over IPv6 loopback [::1] too, with a 65,519-byte datagram coming back whole",
		Hint: "Nothing in your code should assume IPv4: listen on network \"udp\" (not \"udp4\"), " +
			"and reply to the net.Addr that ReadFrom returns, as it is. IPv6 datagrams can carry up to 65,527 bytes, " +
			"20 more than IPv4's: a 65,535-byte buffer holds any of them.",
		Run: func(c *harness.C, impl Impl) {
			p := c.NewPeer("harness", "udp6") // skips the check where there is no IPv6 loopback
			conn := listen(c, impl, "[::1]:0")
			if got := harness.AddrPort(conn.LocalAddr()); got.Addr() != harness.Loopback("udp6") || got.Port() == 0 {
				c.Fatalf(`Listen("[::1]:0") bound %v, want [::1] with a port the kernel chose`, conn.LocalAddr())
			}
			srv := serveOn(c, impl, conn)
			c.Name(srv.addr, "your server")
			exchange(c, p, srv.addr, "Michael")
			// IPv6 carries 20 bytes more than IPv4: a buffer of 65,507
			// bytes (IPv4's largest payload) cuts this one short.
			exchange(c, p, srv.addr, string(pattern(65519)))
		},
	},
}}

func checkListen(c *harness.C, impl Impl) {
	conn := listen(c, impl, "127.0.0.1:0")
	if conn == nil {
		c.Fatalf(`Listen("127.0.0.1:0") returned a nil connection and no error`)
	}
	la := conn.LocalAddr()
	if la == nil || la.Network() != "udp" {
		c.Fatalf(`Listen("127.0.0.1:0") returned a socket on %v, want a UDP socket`, la)
	}
	got := harness.AddrPort(la)
	if got.Addr() != harness.Loopback("udp4") || got.Port() == 0 {
		c.Fatalf(`Listen("127.0.0.1:0") bound %v, want 127.0.0.1 with a port the kernel chose (not 0)`, la)
	}
	// The socket must really receive there.
	p := c.NewPeer("harness", "udp4")
	p.Send(got, []byte("ping"))
	conn.SetReadDeadline(time.Now().Add(harness.Patience))
	buf := make([]byte, 16)
	n, from, err := conn.ReadFrom(buf)
	if err != nil {
		c.Fatalf("the socket from Listen did not receive the datagram sent to %v: %v", got, err)
	}
	if string(buf[:n]) != "ping" || harness.AddrPort(from) != p.Addr() {
		c.Fatalf("the socket from Listen read %q from %v, want \"ping\" from %v", buf[:n], from, p.Addr())
	}
}

func checkPortInUse(c *harness.C, impl Impl) {
	// Take a TCP port from the kernel, then ask Listen for the same number
	// on UDP. Another program may hold that UDP port by chance; then try
	// another number.
	var addr string
	var first net.PacketConn
	for try := 0; first == nil; try++ {
		tcp, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			c.Fatalf("harness could not listen on TCP: %v", err)
		}
		c.Cleanup(func() { tcp.Close() })
		addr = tcp.Addr().String()
		conn, err := callListen(c, impl, addr)
		if err != nil {
			if try < 5 && harness.IsAddrInUse(err) && udpTaken(addr) {
				continue // not the learner's fault: somebody else has that UDP port
			}
			c.Fatalf("Listen(%q) returned error: %v\n(a TCP socket holds that port number, but UDP and TCP ports are separate)", addr, err)
		}
		first = conn
	}
	if got := harness.AddrPort(first.LocalAddr()).String(); got != addr {
		c.Fatalf("Listen(%q) bound %v, want exactly %v", addr, got, addr)
	}
	second, err := callListen(c, impl, addr)
	if err == nil {
		c.Fatalf("Listen(%q) succeeded while another UDP socket was bound there (it returned %v); "+
			"want an error wrapping syscall.EADDRINUSE", addr, second.LocalAddr())
	}
	if !harness.IsAddrInUse(err) {
		c.Fatalf("Listen(%q) on a bound address returned %q, which does not wrap syscall.EADDRINUSE "+
			"(errors.Is(err, syscall.EADDRINUSE) is false)", addr, err)
	}
	if typ := harness.TypedNil(second); typ != "" {
		c.Fatalf("Listen(%q) returned an error and a nil %s inside a non-nil net.PacketConn: the caller's "+
			"conn != nil is true. `c, err := net.ListenUDP(...); return c, err` does this; write "+
			"`if err != nil { return nil, err }`", addr, typ)
	}
	if second != nil {
		c.Fatalf("Listen(%q) returned an error and a non-nil connection; return nil with the error", addr)
	}
}

// udpTaken reports whether a UDP socket other than ours holds addr.
func udpTaken(addr string) bool {
	probe, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return true
	}
	probe.Close()
	return false
}

func checkOneRequest(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	exchange(c, c.NewPeer("harness", "udp4"), srv.addr, "Michael")
}

func checkTwoClients(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	a, b := c.NewPeer("client A", "udp4"), c.NewPeer("client B", "udp4")
	// Taking turns: any reply that goes to the wrong client shows up as
	// the next datagram that client reads, in place of its own.
	exchange(c, a, srv.addr, "Michael")
	exchange(c, b, srv.addr, "Tracy")
	exchange(c, a, srv.addr, "Sarah")
	exchange(c, b, srv.addr, "Bob")
	exchange(c, a, srv.addr, "last A")
	exchange(c, b, srv.addr, "last B")
}

func checkBackToBack(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	p := c.NewPeer("harness", "udp4")
	var want, got []string
	var msgs [][]byte
	for i := range 20 {
		msg := fmt.Sprintf("msg-%02d", i)
		want = append(want, "Hello, "+msg+"!")
		msgs = append(msgs, []byte(msg))
	}
	p.SendAll(srv.addr, msgs)
	for range 20 {
		d, ok := p.Recv(harness.Patience)
		if !ok {
			c.Fatalf("sent 20 datagrams, got %d replies within %v; want 20", len(got), harness.Patience)
		}
		if d.From != srv.addr {
			c.Fatalf("a reply came from %s, want every reply from your server %v", c.Who(d.From), srv.addr)
		}
		got = append(got, string(d.Data))
	}
	// A server may answer in any order (one goroutine per datagram, say),
	// so compare the replies as a set.
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		c.Fatalf("replies to msg-00 ... msg-19 (sorted) differ (-want +got):\n%s", diff)
	}
	// Nothing more may follow: one reply per datagram.
	exchange(c, p, srv.addr, "last")
}

func checkBigDatagram(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	p := c.NewPeer("harness", "udp4")
	exchange(c, p, srv.addr, string(pattern(60000)))
}

// pattern returns n bytes of a-z, repeating, so that a reply cut short or
// shifted shows where.
func pattern(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	return data
}

func checkEmptyAndBinary(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	p := c.NewPeer("harness", "udp4")
	exchange(c, p, srv.addr, "")
	exchange(c, p, srv.addr, "\xff\xfe\x00caf\xc3(\x80")
	// Data is kept as it is: a newline or a space is part of the name.
	exchange(c, p, srv.addr, "  Tracy \n")
	exchange(c, p, srv.addr, "quit\r\n")
}

func checkKeepsServing(c *harness.C, impl Impl) {
	srv := startServer(c, impl, "udp4")
	p := c.NewPeer("harness", "udp4")
	// The largest IPv4 UDP payload: its reply is 8 bytes too large to send.
	p.Send(srv.addr, bytes.Repeat([]byte("x"), 65507))
	c.Step("(the reply to that would be 65,515 bytes, more than IPv4 can carry, so sending it fails)")
	p.Send(srv.addr, []byte("Michael"))
	d, ok := p.Recv(harness.Patience)
	if ok && !bytes.Equal(d.Data, []byte("Hello, Michael!")) && len(d.Data) > 1000 {
		// No reply to 65,507 bytes fits in an IPv4 datagram: this one was
		// made from a datagram read cut short.
		c.Fatalf("your server replied to the 65,507-byte datagram with %d bytes: it read the datagram cut short "+
			"(the read buffer is smaller than the datagram). No correct reply to it can be sent.", len(d.Data))
	}
	if !ok {
		c.Fatalf("expected reply %q from %s within %v; got nothing", "Hello, Michael!", c.Who(srv.addr), harness.Patience)
	}
	if d.From != srv.addr || !bytes.Equal(d.Data, []byte("Hello, Michael!")) {
		c.Fatalf("expected reply %q from %s; got %s from %s", "Hello, Michael!", c.Who(srv.addr), harness.Quote(d.Data), c.Who(d.From))
	}
}

func checkClosedSocket(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Serve)
	before := harness.Goroutines(pkg)
	srv := startServer(c, impl, "udp4")
	exchange(c, c.NewPeer("harness", "udp4"), srv.addr, "Michael")
	c.Step("harness closes the socket Serve reads from (its context is still live)")
	c.Timed(c.Dur(StopBound) / 4)
	srv.run.Expect()
	srv.conn.Close()
	err, ok := srv.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Serve did not return within %v after its socket was closed: a read error that is not a "+
			"timeout from ctx will not go away, so Serve must return it, not loop", c.Dur(StopBound))
	}
	if !errors.Is(err, net.ErrClosed) {
		c.Fatalf("after its socket was closed, Serve returned %v; want the read's error (it wraps net.ErrClosed)", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned when its socket was closed, but left %d goroutine(s) running, the first:\n%s\n"+
			"(a goroutine that waits for ctx to be done never ends if Serve returns for another reason: "+
			"use context.AfterFunc and call its stop function when Serve returns)",
			len(left), harness.FirstLines(left[0], 8))
	}
}

func checkStop(c *harness.C, impl Impl) {
	pkg := harness.PackageOf(impl.Serve)
	before := harness.Goroutines(pkg)
	srv := startServer(c, impl, "udp4")
	p := c.NewPeer("harness", "udp4")
	exchange(c, p, srv.addr, "Michael")
	// From now on nothing may wake Serve's read but the context: not even
	// a stray datagram from another program on this host.
	c.OnlyFrom(srv.conn, p.Addr())
	// Cancel once Serve is back in its read, not between two datagrams.
	harness.UntilReading(pkg, c.Patience())

	c.Step("harness cancels Serve's context")
	c.Timed(c.Dur(StopBound) / 4)
	srv.run.Expect()
	srv.cancel()
	err, ok := srv.run.Wait(c.Dur(StopBound))
	if !ok {
		c.Slow("Serve did not return within %v after its context was cancelled", c.Dur(StopBound))
	}
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("after its context was cancelled, Serve returned %v; want ctx.Err() (context.Canceled), "+
			"so the caller knows why it stopped", err)
	}
	if left := harness.LeftBehind(pkg, before, c.Dur(StopBound)); len(left) > 0 {
		c.Fatalf("Serve returned but left %d goroutine(s) running, the first:\n%s",
			len(left), harness.FirstLines(left[0], 8))
	}
	// The caller owns conn: Serve must leave it open.
	if held, known := harness.LearnerHolds(srv.conn); known && !held {
		c.Fatalf("after Serve returned, its socket was closed: Serve must not close conn, the caller owns it " +
			"and may serve it again (remove the conn.Close from Serve)")
	}
}

// server is a learner's Serve running on a socket the harness bound.
type server struct {
	conn   net.PacketConn
	addr   netip.AddrPort
	cancel context.CancelFunc
	run    *harness.Running
}

// startServer binds a loopback socket, runs impl.Serve on it and stops it
// when the check ends. If Serve returns while the check still expects
// replies, the check is aborted with Serve's error, so a stub fails at once.
func startServer(c *harness.C, impl Impl, network string) *server {
	return serveOn(c, impl, c.Listen(network))
}

// serveOn runs impl.Serve on conn as startServer does.
func serveOn(c *harness.C, impl Impl, conn net.PacketConn) *server {
	s := &server{conn: conn, addr: harness.AddrPort(conn.LocalAddr())}
	c.Name(s.addr, "your server")
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.run = c.Go("Serve", func() error { return impl.Serve(ctx, conn) })
	c.Cleanup(func() {
		s.run.Expect()
		cancel()
		conn.Close() // wakes a Serve that ignores ctx, so the next check starts clean
	})
	return s
}

// exchange sends msg from p to the server and expects "Hello, <msg>!" back.
func exchange(c *harness.C, p *harness.Peer, srv netip.AddrPort, msg string) {
	p.Send(srv, []byte(msg))
	p.Expect(srv, []byte("Hello, "+msg+"!"), "reply")
}

// listen calls impl.Listen(addr), fails the check on an error and closes the
// connection when the check ends.
func listen(c *harness.C, impl Impl, addr string) net.PacketConn {
	conn, err := callListen(c, impl, addr)
	if err != nil {
		c.Fatalf("Listen(%q) returned error: %v", addr, err)
	}
	return conn
}

// callListen calls impl.Listen(addr) with a time bound and closes what it
// returns when the check ends.
func callListen(c *harness.C, impl Impl, addr string) (conn net.PacketConn, err error) {
	c.Call(fmt.Sprintf("Listen(%q)", addr), harness.Patience, func() { conn, err = impl.Listen(addr) })
	if conn != nil {
		c.Cleanup(func() { conn.Close() })
	}
	return conn, err
}
