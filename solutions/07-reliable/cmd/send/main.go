// Command send sends a file with lesson 07's Send, reliably, to a receiver
// (cmd/recv), directly or through the relay (cmd/relay), and prints the
// goodput.
//
//	go run ./solutions/07-reliable/cmd/send -to 127.0.0.1:9001 -file go.sum
//
// Loopback only: the address must be 127.0.0.1 or ::1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"time"

	reliable "udpbook/solutions/07-reliable"
)

func main() {
	to := flag.String("to", "127.0.0.1:9001", "the receiver's (or the relay's) address, on loopback")
	file := flag.String("file", "", "the file to send (default: standard input)")
	window := flag.Int("window", 64, "segments in flight (1 is stop-and-wait)")
	giveUp := flag.Duration("giveup", 5*time.Second, "give up after this long without progress")
	flag.Parse()

	if ap, err := netip.ParseAddrPort(*to); err != nil || !ap.Addr().IsLoopback() {
		log.Fatalf("-to %s: want a loopback address and port, such as 127.0.0.1:9001", *to)
	}
	var data []byte
	var err error
	if *file == "" {
		data, err = readAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		log.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("sending %d bytes from %s to %s, window %d...\n", len(data), conn.LocalAddr(), *to, *window)
	start := time.Now()
	err = reliable.Send(ctx, conn, *to, data, reliable.Config{Window: *window, GiveUp: *giveUp})
	took := time.Since(start)
	if err != nil {
		log.Fatalf("after %v: %v", took.Round(time.Millisecond), err)
	}
	fmt.Printf("sent %d bytes in %v: %.1f kB/s\n", len(data), took.Round(time.Millisecond),
		float64(len(data))/took.Seconds()/1000)
}

func readAll(f *os.File) ([]byte, error) {
	var b []byte
	buf := make([]byte, 64*1024)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
	}
}
