// Command server runs lesson 01's echo server: it binds a UDP socket and
// answers every datagram with "Hello, <data>!".
//
//	go run ./lessons/01-echo-server/cmd/server -addr 127.0.0.1:9999
//
// Try it from a second terminal with lesson 02's client, or with netcat:
//
//	nc -u 127.0.0.1 9999
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"

	echoserver "udpbook/lessons/01-echo-server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address to bind (port 0 picks a free port)")
	flag.Parse()

	conn, err := echoserver.Listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Printf("Bound UDP on %s...\n", conn.LocalAddr())

	// Ctrl-C cancels ctx, and Serve returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := echoserver.Serve(ctx, logged{conn}); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	fmt.Println("Stopped.")
}

// logged is a net.PacketConn that prints who each datagram came from, and
// any reply that could not be sent. Serve does not know it is there: it
// only sees a net.PacketConn.
type logged struct{ net.PacketConn }

func (c logged) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.PacketConn.ReadFrom(p)
	if err == nil {
		fmt.Printf("Received from %s.\n", from)
	}
	return n, from, err
}

func (c logged) WriteTo(p []byte, to net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(p, to)
	if err != nil {
		fmt.Printf("Could not reply to %s: %v\n", to, err)
	}
	return n, err
}
