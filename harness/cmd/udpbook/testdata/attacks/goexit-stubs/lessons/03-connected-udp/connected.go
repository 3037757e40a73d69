// Dial returns a client whose every method ends the caller's goroutine
// with runtime.Goexit instead of returning.
package connected

import (
	"context"
	"net"
	"runtime"
	"time"
)

type Client struct {
	conn *net.UDPConn
}

func Dial(ctx context.Context, addr string) (*Client, error) { return &Client{}, nil }

func (c *Client) LocalAddr() net.Addr { runtime.Goexit(); panic("unreachable") }

func (c *Client) RemoteAddr() net.Addr { runtime.Goexit(); panic("unreachable") }

func (c *Client) Close() error { runtime.Goexit(); panic("unreachable") }

func (c *Client) Request(msg []byte, wait time.Duration) ([]byte, error) {
	runtime.Goexit()
	panic("unreachable")
}

func (c *Client) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	runtime.Goexit()
	panic("unreachable")
}
