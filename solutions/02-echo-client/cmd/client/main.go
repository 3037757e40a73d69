// Command client runs lesson 02's echo client: it sends Michael, Tracy and
// Sarah to an echo server and prints the replies.
//
//	go run ./lessons/02-echo-client/cmd/client -addr 127.0.0.1:9999
//
// Start lesson 01's server in another terminal first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	echoclient "udpbook/solutions/02-echo-client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "address of the echo server")
	timeout := flag.Duration("timeout", time.Second, "how long to wait for each reply")
	attempts := flag.Int("attempts", 3, "how many times to send each name")
	flag.Parse()
	names := flag.Args()
	if len(names) == 0 {
		names = []string{"Michael", "Tracy", "Sarah"}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	replies, err := echoclient.Greet(ctx, *addr, names, echoclient.Options{Timeout: *timeout, Attempts: *attempts})
	for _, r := range replies {
		fmt.Println(r)
	}
	if err != nil {
		log.Fatal(err)
	}
}
