// Command client joins lesson 05's chat room: it sends each line you type
// as a message and prints every message the room broadcasts. Type quit (or
// end the input with Ctrl-D) to leave.
//
//	go run ./solutions/05-chat/cmd/client -addr 127.0.0.1:9999
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	chat "udpbook/solutions/05-chat"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "the chat server's UDP address")
	interval := flag.Duration("interval", chat.DefaultInterval, "time between heartbeats")
	timeout := flag.Duration("timeout", chat.DefaultTimeout, "call the server down after this long without a word from it")
	flag.Parse()

	// Lines from standard input go to send; "quit" or the end of the
	// input closes send, and Join leaves.
	send := make(chan string)
	go func() {
		defer close(send)
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			line := strings.TrimSpace(lines.Text())
			if line == chat.Quit {
				return
			}
			if line != "" {
				send <- line
			}
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	recv := make(chan string)
	joined := make(chan error, 1)
	go func() {
		joined <- chat.Join(ctx, *addr, chat.Config{Interval: *interval, Timeout: *timeout}, send, recv)
	}()
	// Join has sent its first heartbeat, but nothing has come back yet:
	// the server's first broadcast, or "server is down", tells which.
	fmt.Printf("Joining the chat at %s. Type a message, or quit to leave.\n", *addr)
	// Join closes recv when it returns, which ends this loop.
	for msg := range recv {
		fmt.Println(msg)
	}
	err := <-joined
	switch {
	case errors.Is(err, chat.ErrServerDown):
		fmt.Println(err) // "server is down: " and the reason
		os.Exit(1)
	case err != nil && ctx.Err() == nil:
		log.Fatal(err)
	}
	fmt.Println("Bye.")
}
