package harness

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"udpbook/harness/internal/learner"
)

// These are the tests of the kit itself: the pieces every lesson's suite
// is built from. A check that misreads a peer, a relay or a leak would
// mislead every lesson at once.

func TestPeerTracesAndExpects(t *testing.T) {
	res := RunCheck("peer", CheckBound, func(c *C) {
		a, b := c.NewPeer("client A", "udp4"), c.NewPeer("client B", "udp4")
		a.Send(b.Addr(), []byte("hello"))
		b.Expect(a.Addr(), []byte("hello"), "greeting")
		a.Send(b.Addr(), []byte("bye"))
		b.Expect(a.Addr(), []byte("hello"), "greeting") // fails: the trace must say what came
	})
	require.Equal(t, Fail, res.Status)
	for _, want := range []string{`client A 127.0.0.1:`, `-> client B 127.0.0.1:`, `"hello"`, `"bye"`, `want "hello"`} {
		require.Contains(t, res.Message, want)
	}
	// The trace is numbered in order.
	require.Less(t, strings.Index(res.Message, "1. "), strings.Index(res.Message, "2. "))
}

func TestPeerRecvTimesOutWithoutFailing(t *testing.T) {
	res := RunCheck("quiet", CheckBound, func(c *C) {
		p := c.NewPeer("harness", "udp4")
		if _, ok := p.Recv(20 * time.Millisecond); ok {
			c.Fatalf("Recv returned a datagram nobody sent")
		}
	})
	require.Equal(t, Pass, res.Status, res.Message)
}

func TestDrainReturnsExactlyWhatWasSent(t *testing.T) {
	type got struct{ data []string }
	ch := make(chan got, 1)
	res := RunCheck("drain", CheckBound, func(c *C) {
		a, b := c.NewPeer("a", "udp4"), c.NewPeer("b", "udp4")
		var sent []string
		for _, m := range []string{"one", "two", "", "three"} {
			a.Send(b.Addr(), []byte(m))
			sent = append(sent, m)
		}
		var data []string
		for _, d := range b.Drain() {
			data = append(data, string(d.Data))
		}
		ch <- got{data}
		if len(b.Drain()) != 0 {
			c.Fatalf("a second Drain found datagrams")
		}
	})
	require.Equal(t, Pass, res.Status, res.Message)
	if diff := cmp.Diff([]string{"one", "two", "", "three"}, (<-ch).data); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
}

func TestRelayDropsDuplicatesDelaysAndHolds(t *testing.T) {
	got := make(chan []string, 1)
	res := RunCheck("relay", CheckBound, func(c *C) {
		server, client := c.NewPeer("server", "udp4"), c.NewPeer("client", "udp4")
		r := c.NewRelay("udp4", server.Addr(),
			Rule{Dir: ToServer, Nth: 1, Action: Drop},
			Rule{Dir: ToServer, Nth: 2, Action: Duplicate},
			Rule{Dir: ToServer, Nth: 3, Action: Hold},
			Rule{Dir: ToServer, Nth: 5, Action: Delay, Delay: 50 * time.Millisecond},
		)
		for _, m := range []string{"1", "2", "3", "4", "5", "6"} {
			client.Send(r.Addr(), []byte(m))
		}
		var data []string
		for range 6 { // 2, 2, 4, 3, 6, 5
			d, ok := server.Recv(Patience)
			if !ok {
				c.Fatalf("the relay delivered %q, then nothing", data)
			}
			if d.From == r.Addr() {
				c.Fatalf("the relay forwarded from its front socket")
			}
			data = append(data, string(d.Data))
		}
		got <- data
		// Replies go back to the client, from the relay's front address.
		server.Send(AddrPort(r.back.LocalAddr()), []byte("reply"))
		client.Expect(r.Addr(), []byte("reply"), "reply")
	})
	require.Equal(t, Pass, res.Status, res.Message)
	if diff := cmp.Diff([]string{"2", "2", "4", "3", "6", "5"}, <-got); diff != "" {
		t.Errorf("what the server got through the relay (-want +got):\n%s", diff)
	}
}

func TestGoReportsWhereTheLearnersCodePanicked(t *testing.T) {
	res := RunCheck("panic", CheckBound, func(c *C) {
		p := c.NewPeer("harness", "udp4")
		c.Go("Serve", func() error { learner.Boom(); return nil })
		p.Expect(p.Addr(), []byte("never"), "reply")
	})
	require.Equal(t, Fail, res.Status)
	require.Contains(t, res.Message, "Serve panicked: boom")
	require.Contains(t, res.Message, "learner.Boom")
	require.Contains(t, res.Message, "learner/learner.go:")
	require.Less(t, res.Duration, Patience/2, "the panic must end the check's waits at once")
}

func TestGoAbortsWhenTheCallReturnsEarly(t *testing.T) {
	res := RunCheck("early", CheckBound, func(c *C) {
		p := c.NewPeer("harness", "udp4")
		c.Go("Serve", func() error { return errors.New("Serve is not written yet") })
		p.Expect(p.Addr(), []byte("never"), "reply")
	})
	require.Equal(t, Fail, res.Status)
	require.Contains(t, res.Message, "Serve returned while it should still be running: Serve is not written yet")
	require.Less(t, res.Duration, Patience/2)
}

func TestGoWaitsForAnExpectedReturn(t *testing.T) {
	res := RunCheck("expected", CheckBound, func(c *C) {
		stop := make(chan struct{})
		r := c.Go("Serve", func() error { <-stop; return net.ErrClosed })
		if _, done := r.Wait(10 * time.Millisecond); done {
			c.Fatalf("Wait returned before the call did")
		}
		r.Expect()
		close(stop)
		err, done := r.Wait(Patience)
		if !done || !errors.Is(err, net.ErrClosed) {
			c.Fatalf("Wait = %v, %v; want net.ErrClosed, true", err, done)
		}
	})
	require.Equal(t, Pass, res.Status, res.Message)
}

func TestRequireSkipsWhereACapabilityIsMissing(t *testing.T) {
	missing := NewCapability("nothing", "a capability no host has", func() error { return errors.New("not here") })
	res := RunCheck("require", CheckBound, func(c *C) {
		c.Require(missing)
		c.Fatalf("Require went on without the capability")
	})
	require.Equal(t, Skip, res.Status)
	require.Equal(t, "a capability no host has", res.Missing)
	require.Contains(t, res.Message, "not here")
}

func TestWithoutEnvTurnsACapabilityOff(t *testing.T) {
	t.Setenv(WithoutEnv, "other,forced")
	forced := NewCapability("forced", "a capability", func() error { return nil })
	require.Contains(t, forced.Missing(), WithoutEnv+"=other,forced")
	kept := NewCapability("kept", "a capability", func() error { return nil })
	require.Empty(t, kept.Missing())
}

func TestLeftBehindFindsALeakedGoroutine(t *testing.T) {
	pkg := PackageOf(leak)
	before := Goroutines(pkg)
	stop := make(chan struct{})
	defer close(stop)
	leak(stop)
	left := LeftBehind(pkg, before, 50*time.Millisecond)
	require.Len(t, left, 1)
	require.Contains(t, left[0], "harness.leak")
	// A goroutine on its way out is not a leak.
	done := make(chan struct{})
	go func() { <-done }()
	before = Goroutines(pkg)
	release := make(chan struct{})
	leak(release)
	close(release)
	require.Empty(t, LeftBehind(pkg, before, Patience))
	close(done)
}

func leak(stop chan struct{}) { go func() { <-stop }() }

func TestLearnerHoldsSeesAClose(t *testing.T) {
	conn, err := ListenLoopback("udp4")
	require.NoError(t, err)
	held, known := LearnerHolds(conn)
	require.True(t, known)
	require.True(t, held)
	conn.Close()
	held, known = LearnerHolds(conn)
	require.True(t, known)
	require.False(t, held)
}

// toy is a two-check suite for the tests of SelfTest.Problems.
type toy struct{ Serve func() error }

func TestProblemsFindsEveryGap(t *testing.T) {
	dir := t.TempDir()
	src := "package toy\n\nfunc Serve() error { return nil }\n\nfunc Close() error { return nil }\n\n" +
		"type T struct{}\n\nfunc (*T) Send() {}\n\nfunc helper() {}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "toy.go"), []byte(src), 0o644))
	noop := func(*C, toy) {}
	suite := &Suite[toy]{Checks: []Check[toy]{
		{ID: "serve", Title: "serves", Points: 1, Hint: "serve", Run: noop},
		{ID: "close", Title: "closes", Points: 1, Hint: "close", Run: noop},
		{ID: "pointless", Title: "", Points: 0, Hint: "", Run: noop},
	}}
	st := SelfTest[toy]{
		Suite:  suite,
		Lesson: dir,
		Promises: []Promise{
			{ID: "serves", Source: "Serve", Text: "Serve serves", Checks: []string{"serve"}},
			{ID: "closes", Source: "T.Send", Text: "Send sends", Checks: []string{"close", "nowhere"}},
			{ID: "orphan", Source: "chapter", Text: "a rule", Checks: nil},
		},
		Broken: []Broken[toy]{
			{Name: "serves nothing", Fails: "serve", Promise: "serves"},
			{Name: "wrong check", Fails: "pointless", Promise: "serves"},
			{Name: "unknown promise", Fails: "close", Promise: "nope"},
		},
	}
	want := []string{
		`check "pointless" needs points, a title and a hint`,
		`promise "closes" names check "nowhere", which the suite does not have`,
		`promise "orphan" (a rule) has no check`,
		`broken implementation "wrong check" must fail check "pointless", which promise "serves" does not name as one of its checks ["serve"]`,
		`broken implementation "unknown promise" names promise "nope", which is not in the table`,
		`promise "closes" (Send sends) has no broken implementation that breaks it`,
		`promise "orphan" (a rule) has no broken implementation that breaks it`,
		`Close has no promise: list what its doc comment promises`,
	}
	got := st.Problems()
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Problems (-want +got):\n%s", diff)
	}
}

func TestLearnerHoldsSeesAFileClosed(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	held, known := LearnerHolds(r)
	require.True(t, known && held)
	r.Close()
	held, known = LearnerHolds(r)
	require.True(t, known)
	require.False(t, held)
}

func TestGoPanicDecidesTheCheckWhateverItDoesNext(t *testing.T) {
	res := RunCheck("panic-first", CheckBound, func(c *C) {
		r := c.Go("Greet", func() error { learner.Boom(); return nil })
		r.Wait(Patience)
		c.Fatalf("Greet returned the wrong replies") // what the check would say of the zero results
	})
	require.Equal(t, Fail, res.Status)
	require.Contains(t, res.Message, "Greet panicked: boom")
	require.NotContains(t, res.Message, "wrong replies")
}

// chaosRun sends n numbered datagrams through a chaos relay, one at a
// time (each after the one before has passed the relay), and returns the
// numbers that arrived, in arrival order, and the relay's stats.
func chaosRun(t *testing.T, ch Chaos, n, size int) ([]int, ChaosStats, time.Duration) {
	t.Helper()
	server, err := ListenLoopback("udp4")
	require.NoError(t, err)
	defer server.Close()
	front, err := ListenLoopback("udp4")
	require.NoError(t, err)
	back, err := ListenLoopback("udp4")
	require.NoError(t, err)
	r := StartChaos(front, back, AddrPort(server.LocalAddr()), ch)
	defer r.Close()
	client, err := ListenLoopback("udp4")
	require.NoError(t, err)
	defer client.Close()
	start := time.Now()
	for i := range n {
		b := make([]byte, size)
		b[0], b[1] = byte(i>>8), byte(i)
		_, err := client.WriteToUDPAddrPort(b, r.Addr())
		require.NoError(t, err)
		// Wait until the relay has taken it, so that the n-th datagram
		// is the n-th the relay sees.
		for deadline := time.Now().Add(time.Second); ; {
			st := r.Stats(ToServer)
			if st.Passed+st.Dropped+st.QueueDrops-st.Duplicated >= i+1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	var got []int
	buf := make([]byte, 2048)
	for {
		server.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		k, _, err := server.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		require.Equal(t, size, k)
		got = append(got, int(buf[0])<<8|int(buf[1]))
	}
	return got, r.Stats(ToServer), time.Since(start)
}

func TestChaosRelayPassesEverythingWithoutChaos(t *testing.T) {
	got, st, _ := chaosRun(t, Chaos{}, 50, 10)
	want := make([]int, 50)
	for i := range want {
		want[i] = i
	}
	require.Equal(t, want, got)
	require.Equal(t, ChaosStats{Passed: 50, Bytes: 500}, st)
}

func TestChaosRelayReplaysItsSeed(t *testing.T) {
	ch := Chaos{Loss: 0.3, Dup: 0.1, Seed: 7}
	a, sa, _ := chaosRun(t, ch, 200, 10)
	b, sb, _ := chaosRun(t, ch, 200, 10)
	require.Equal(t, sa, sb, "the same seed must make the same choices")
	slices.Sort(a)
	slices.Sort(b)
	require.Equal(t, a, b)
	require.InDelta(t, 60, sa.Dropped, 25, "about 30%% of 200 lost")
	require.InDelta(t, 14, sa.Duplicated, 12, "about 10%% of the rest duplicated")
	ch.Seed = 8
	_, sc, _ := chaosRun(t, ch, 200, 10)
	require.NotEqual(t, sa, sc, "another seed, other choices")
}

func TestChaosRelayReordersAndDelays(t *testing.T) {
	got, st, took := chaosRun(t, Chaos{Reorder: 0.5, ReorderBy: 20 * time.Millisecond, Delay: 30 * time.Millisecond, Seed: 3}, 40, 10)
	require.Len(t, got, 40)
	require.False(t, slices.IsSorted(got), "half held back by 20 ms: later ones overtake them")
	require.Positive(t, st.Reordered)
	require.GreaterOrEqual(t, took, 30*time.Millisecond)
}

func TestChaosRelayLimitsTheRate(t *testing.T) {
	// 40 datagrams of 1,000 bytes at 200,000 bytes a second leave over
	// 200 ms, whatever the sender's pace.
	server, err := ListenLoopback("udp4")
	require.NoError(t, err)
	defer server.Close()
	front, _ := ListenLoopback("udp4")
	back, _ := ListenLoopback("udp4")
	r := StartChaos(front, back, AddrPort(server.LocalAddr()), Chaos{Rate: 200_000, Burst: 1000})
	defer r.Close()
	client, _ := ListenLoopback("udp4")
	defer client.Close()
	start := time.Now()
	for range 40 {
		client.WriteToUDPAddrPort(make([]byte, 1000), r.Addr())
	}
	buf := make([]byte, 2048)
	var last time.Time
	for n := 0; n < 40; n++ {
		server.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _, err := server.ReadFromUDPAddrPort(buf)
		require.NoError(t, err, "datagram %d", n)
		last = time.Now()
	}
	require.GreaterOrEqual(t, last.Sub(start), 190*time.Millisecond, "40,000 bytes at 200,000 bytes/s")
	// A queue longer than QueueLimit drops: 300 datagrams at once would
	// wait 1.5 s; the default limit is 200 ms.
	for range 300 {
		client.WriteToUDPAddrPort(make([]byte, 1000), r.Addr())
	}
	time.Sleep(100 * time.Millisecond)
	require.Positive(t, r.Stats(ToServer).QueueDrops)
}

func TestOnlyFromShutsOutStrangers(t *testing.T) {
	res := RunCheck("only-from", CheckBound, func(c *C) {
		for _, network := range []string{"udp4", "udp6"} {
			server, friend, stranger := c.NewPeer("server", network), c.NewPeer("friend", network), c.NewPeer("stranger", network)
			c.OnlyFrom(server.Conn(), friend.Addr())
			stranger.Send(server.Addr(), []byte("stray"))
			friend.Send(server.Addr(), []byte("hello"))
			server.Expect(friend.Addr(), []byte("hello"), "datagram")
			// Replies still go anywhere.
			server.Send(stranger.Addr(), []byte("reply"))
			stranger.Expect(server.Addr(), []byte("reply"), "reply")
		}
	})
	if res.Status == Skip {
		t.Skip(res.Message)
	}
	require.Equal(t, Pass, res.Status, res.Message)
}

func TestUntilReadingFindsABlockedRead(t *testing.T) {
	conn, err := ListenLoopback("udp4")
	require.NoError(t, err)
	pkg := PackageOf(learner.Boom)
	require.False(t, UntilReading(pkg, 10*time.Millisecond), "nothing of package learner reads yet")
	done := make(chan struct{})
	go func() {
		defer close(done)
		learner.Read(conn)
	}()
	require.True(t, UntilReading(pkg, Patience))
	conn.Close()
	<-done
}
