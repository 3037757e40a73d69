package connected

import (
	"context"
	"net"
	"runtime"
	"time"
)

// Dial returns a client, and every method of the client ends its caller's
// goroutine instead of returning.
type Client struct{ conn *net.UDPConn }

func Dial(ctx context.Context, addr string) (*Client, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		runtime.Goexit()
	}
	return &Client{conn}, nil
}

func (c *Client) LocalAddr() net.Addr  { runtime.Goexit(); return nil }
func (c *Client) RemoteAddr() net.Addr { runtime.Goexit(); return nil }
func (c *Client) Close() error         { runtime.Goexit(); return nil }
func (c *Client) Request(msg []byte, wait time.Duration) ([]byte, error) {
	runtime.Goexit()
	return nil, nil
}
func (c *Client) SendEvery(ctx context.Context, interval time.Duration, msg func() []byte, refused func(error)) error {
	runtime.Goexit()
	return nil
}
