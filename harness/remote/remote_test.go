//go:build unix

package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// impl is a lesson-like API for the tests.
type impl struct {
	Listen   func(addr string) (net.PacketConn, error)
	Wait     func(ctx context.Context, conn net.PacketConn) error
	Goexit   func() error
	Panic    func() error
	Each     func(n int, f func(i int) int) (int, error)
	Collect  func(in <-chan string, out chan<- string) error
	Sentinel func() error

	ErrMine error
}

var errMine = errors.New("mine")

func learner() impl {
	return impl{
		Listen: func(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) },
		Wait: func(ctx context.Context, conn net.PacketConn) error {
			_, _, err := conn.ReadFrom(make([]byte, 16)) // ends when the caller closes its socket
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		},
		Goexit: func() error { runtime.Goexit(); return nil },
		Panic:  func() error { return errors.New(strings.Repeat("x", -1)) }, // panics in strings.Repeat
		Each: func(n int, f func(int) int) (int, error) {
			sum := 0
			for i := range n {
				sum += f(i)
			}
			return sum, nil
		},
		Collect: func(in <-chan string, out chan<- string) error {
			defer close(out)
			for s := range in {
				out <- strings.ToUpper(s)
			}
			return nil
		},
		Sentinel: func() error { return errors.Join(errors.New("wrapped"), errMine) },
		ErrMine:  errMine,
	}
}

// pair serves learner() on one end of a control socket, as a driver does,
// and returns a Client on the other end.
func pair(t *testing.T) *Client {
	cl, stop := Loopback(t, learner())
	t.Cleanup(stop)
	return cl
}

func TestCallsErrorsAndSockets(t *testing.T) {
	cl := pair(t)
	p := Proxy[impl](cl)
	if cl.Package() == "" {
		t.Errorf("the driver did not say which package is the learner's")
	}

	conn, err := p.Listen("127.0.0.1:0")
	require.NoError(t, err)
	la, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok || la.Port == 0 {
		t.Fatalf("LocalAddr of the learner's conn: %v", conn.LocalAddr())
	}
	// The same port again: the errno crosses.
	_, err = p.Listen(la.String())
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second Listen: %v; want EADDRINUSE with its text", err)
	}
	// A datagram to the learner's socket, read through the proxy.
	sender, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer sender.Close()
	_, err = sender.WriteTo([]byte("ping"), la)
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 16)
	n, from, err := conn.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || from.String() != sender.LocalAddr().String() {
		t.Errorf("ReadFrom through the proxy: %q from %v, %v", buf[:n], from, err)
	}
	conn.SetReadDeadline(time.Now())
	if _, _, err := conn.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ReadFrom past its deadline: %v; want os.ErrDeadlineExceeded", err)
	}
	require.NoError(t, conn.Close())

	// A socket of the judge's, passed by descriptor: closing it here
	// closes it under the learner's code.
	own, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- callErr(func() error { return p.Wait(context.Background(), own) }) }()
	time.Sleep(20 * time.Millisecond)
	own.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Wait after the judge closed its socket: %v; want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("closing the judge's socket did not close the driver's")
	}

	// A context cancelled here is cancelled there.
	own2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- callErr(func() error { return p.Wait(ctx, own2) }) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	time.Sleep(20 * time.Millisecond)
	own2.Close() // the learner's read watches no context: wake it
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Wait after cancel: %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Wait did not return after its context was cancelled")
	}

	// The Impl's sentinel errors match as the learner's did.
	if err := p.Sentinel(); !errors.Is(err, p.ErrMine) || p.ErrMine.Error() != "mine" {
		t.Errorf("Sentinel: %v; want an error matching ErrMine (%v)", err, p.ErrMine)
	}
}

func TestCallbacksAndChannels(t *testing.T) {
	p := Proxy[impl](pair(t))
	sum, err := p.Each(4, func(i int) int { return i * 10 })
	if sum != 60 || err != nil {
		t.Errorf("Each with a callback: %d, %v; want 60, nil", sum, err)
	}
	in, out := make(chan string), make(chan string)
	done := make(chan error, 1)
	go func() { done <- callErr(func() error { return p.Collect(in, out) }) }()
	for _, s := range []string{"a", "b"} {
		in <- s
		if got := <-out; got != strings.ToUpper(s) {
			t.Errorf("got %q for %q", got, s)
		}
	}
	close(in)
	if _, ok := <-out; ok {
		t.Errorf("out was not closed after in was")
	}
	if err := <-done; err != nil {
		t.Errorf("Collect: %v", err)
	}
}

func TestCallsThatDoNotReturnFail(t *testing.T) {
	p := Proxy[impl](pair(t))
	for name, call := range map[string]func() error{"Goexit": p.Goexit, "Panic": p.Panic} {
		var got any
		func() {
			defer func() { got = recover() }()
			call()
		}()
		f, ok := got.(*Failure)
		if !ok {
			t.Errorf("%s: the proxy returned (or panicked with %v); want a *Failure", name, got)
			continue
		}
		want := map[string]string{"Goexit": "runtime.Goexit", "Panic": "negative Repeat count"}[name]
		if !strings.Contains(f.String(), want) {
			t.Errorf("%s: %q does not say %q", name, f, want)
		}
		if name == "Panic" && !strings.Contains(f.String(), "strings.Repeat") {
			t.Errorf("the panic's text lacks the driver's frames: %q", f)
		}
	}
}

// callErr calls f, turning a proxy's panic into an error, so that a
// failing test does not take the test binary down.
func callErr(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
