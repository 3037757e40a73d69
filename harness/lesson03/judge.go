package lesson03

import (
	"context"
	"net"
	"time"

	"udpbook/harness/remote"
)

func init() { remote.RegisterProxy(func(o *remote.Object) Client { return remoteClient{o} }) }

// Judge runs every check of the suite, in the grader's judge process,
// against the learner's code that a driver process serves on cl.
func Judge(cl *remote.Client) error { return Suite.Judge(remote.Proxy[Impl](cl), cl.Hooks()) }

// remoteClient is a Client the learner's Dial returned in the driver.
type remoteClient struct{ o *remote.Object }

func (r remoteClient) LocalAddr() net.Addr {
	a, _ := r.o.Invoke("LocalAddr")[0].Interface().(net.Addr)
	return a
}

func (r remoteClient) RemoteAddr() net.Addr {
	a, _ := r.o.Invoke("RemoteAddr")[0].Interface().(net.Addr)
	return a
}

func (r remoteClient) Close() error { return remote.Err(r.o.Invoke("Close")[0]) }

func (r remoteClient) Request(msg []byte, wait time.Duration) ([]byte, error) {
	out := r.o.Invoke("Request", msg, wait)
	return out[0].Bytes(), remote.Err(out[1])
}

func (r remoteClient) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	return remote.Err(r.o.Invoke("SendEvery", ctx, interval, msg, refused)[0])
}
