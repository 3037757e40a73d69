// Command request sends each of its arguments to a UDP server from a
// connected socket and prints the replies: lesson 03's Request, run by hand.
//
//	go run ./lessons/03-connected-udp/cmd/request -addr 127.0.0.1:9999 Michael Tracy
//
// Start lesson 01's echo server first, in another terminal, to get
// greetings; without it, every request is refused at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	connected "udpbook/solutions/03-connected-udp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address of the server")
	wait := flag.Duration("wait", time.Second, "how long to wait for each reply")
	flag.Parse()
	msgs := flag.Args()
	if len(msgs) == 0 {
		msgs = []string{"Michael", "Tracy", "Sarah"}
	}

	client, err := connected.Dial(context.Background(), *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Printf("Connected %s -> %s.\n", client.LocalAddr(), client.RemoteAddr())

	failed := false
	for _, msg := range msgs {
		reply, err := client.Request([]byte(msg), *wait)
		if err != nil {
			fmt.Printf("%s: %v\n", msg, err)
			failed = true
			continue
		}
		fmt.Printf("%s\n", reply)
	}
	if failed {
		os.Exit(1)
	}
}
