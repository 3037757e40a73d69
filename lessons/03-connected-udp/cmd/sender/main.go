// Command sender sends "hello, i am <time>" to a UDP peer every few
// seconds from a connected socket, and says so when a send is refused: the
// tutorial's periodic sender, built on lesson 03's SendEvery.
//
//	go run ./lessons/03-connected-udp/cmd/sender -addr 127.0.0.1:9999 -every 1s
//
// Start it with nothing listening and it reports refusals; start lesson 01's
// echo server on that address in another terminal and the messages get
// through. It does not read the server's replies. Ctrl-C stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	connected "udpbook/lessons/03-connected-udp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address of the peer")
	every := flag.Duration("every", 5*time.Second, "time between messages")
	flag.Parse()

	// Ctrl-C cancels ctx, and SendEvery returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	client, err := connected.Dial(ctx, *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Printf("Connected %s -> %s.\n", client.LocalAddr(), client.RemoteAddr())

	msg := func() []byte {
		m := fmt.Sprintf("hello, i am %s", time.Now().Format(time.TimeOnly))
		fmt.Printf("Sending %q\n", m)
		return []byte(m)
	}
	refused := func(err error) { fmt.Printf("Send failed: %v\n", err) }
	if err := client.SendEvery(ctx, *every, msg, refused); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	fmt.Println("Stopped.")
}
