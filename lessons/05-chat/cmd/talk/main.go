// Command talk is one side of lesson 05's two-person chat: it binds its own
// port, sends each line you type to the other side, and prints what the
// other side sends, both at any time. Run it twice, each told the other's
// address:
//
//	go run ./lessons/05-chat/cmd/talk -addr 127.0.0.1:9001 -peer 127.0.0.1:9002
//	go run ./lessons/05-chat/cmd/talk -addr 127.0.0.1:9002 -peer 127.0.0.1:9001
//
// End the input with Ctrl-D, or press Ctrl-C, to stop.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"

	chat "udpbook/lessons/05-chat"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "this side's UDP address")
	peer := flag.String("peer", "127.0.0.1:9002", "the other side's UDP address")
	flag.Parse()

	conn, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Printf("Talking from %s to %s. Type away.\n", conn.LocalAddr(), *peer)

	send := make(chan string)
	go func() {
		defer close(send)
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			send <- lines.Text()
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	recv := make(chan string)
	talked := make(chan error, 1)
	go func() { talked <- chat.Talk(ctx, conn, *peer, send, recv) }()
	// Talk closes recv when it returns, which ends this loop.
	for msg := range recv {
		fmt.Printf("%s> %s\n", *peer, msg)
	}
	if err := <-talked; err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	fmt.Println("Bye.")
}
