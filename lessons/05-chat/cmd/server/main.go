// Command server runs lesson 05's chat server: it binds a UDP socket,
// keeps a room of members and broadcasts every message to all of them.
//
//	go run ./lessons/05-chat/cmd/server -addr 127.0.0.1:9999
//
// Join it from other terminals with the client (cmd/client), or with
// anything that speaks the protocol: netcat, a few lines of Python.
package main

import (
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
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address to bind (port 0 picks a free port)")
	expiry := flag.Duration("expiry", chat.DefaultExpiry, "drop a member not heard from for this long")
	maxMembers := flag.Int("max-members", chat.DefaultMaxMembers, "most members in the room")
	maxMessage := flag.Int("max-message", chat.DefaultMaxMessage, "longest message, in bytes")
	flag.Parse()

	conn, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Printf("Chat server on %s...\n", conn.LocalAddr())

	cfg := chat.Config{
		Expiry:     *expiry,
		MaxMembers: *maxMembers,
		MaxMessage: *maxMessage,
		Logger:     log.New(os.Stdout, "", log.Ltime),
	}
	// Ctrl-C cancels ctx, and Serve returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := chat.Serve(ctx, conn, cfg); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	fmt.Println("Stopped.")
}
