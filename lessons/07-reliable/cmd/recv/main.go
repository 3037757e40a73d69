// Command recv receives one message with lesson 07's Receive and writes it
// to a file (or standard output), then prints how long it took.
//
//	go run ./lessons/07-reliable/cmd/recv -addr 127.0.0.1:9000 -o copy.txt
//
// Loopback only: the address must be 127.0.0.1 or ::1.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"time"

	reliable "udpbook/lessons/07-reliable"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "UDP address to bind, on loopback")
	out := flag.String("o", "", "where to write the message (default: standard output)")
	flag.Parse()

	if ap, err := netip.ParseAddrPort(*addr); err != nil || !ap.Addr().IsLoopback() {
		log.Fatalf("-addr %s: want a loopback address and port, such as 127.0.0.1:9000", *addr)
	}
	conn, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(os.Stderr, "receiving on %s...\n", conn.LocalAddr())
	start := time.Now()
	data, err := reliable.Receive(ctx, conn, reliable.Config{})
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(start)
	if *out == "" {
		os.Stdout.Write(data)
	} else if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "received %d bytes; Receive returned after %v, lingering included\n",
		len(data), took.Round(time.Millisecond))
}
