// Package echoserver is a correct lesson 01 written apart from the
// reference solution: the grader must give it full marks and must not flag
// it as copied.
package echoserver

import (
	"context"
	"net"
	"time"
)

// Listen binds a UDP socket to addr.
func Listen(addr string) (net.PacketConn, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Serve answers every datagram on conn with "Hello, <data>!" until ctx is
// cancelled, and returns any other read error.
func Serve(ctx context.Context, conn net.PacketConn) error {
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			conn.SetReadDeadline(time.Unix(1, 0)) // wakes the read below
		case <-finished:
		}
	}()
	packet := make([]byte, 1<<16)
	for {
		size, peer, err := conn.ReadFrom(packet)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		greeting := "Hello, " + string(packet[:size]) + "!"
		conn.WriteTo([]byte(greeting), peer)
	}
}
