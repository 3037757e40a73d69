// Command server runs lesson 04's echo server on sockets a service manager
// hands it, or on one it binds itself when started by hand. It answers
// every datagram with "Hello, <data>!", as lesson 01's server does.
//
// Socket-activated, by this lesson's launcher or by systemd's (build the
// server first: `go run` would start it as a child of the go command,
// with another pid than LISTEN_PID names):
//
//	go build -o /tmp/adopt-server ./lessons/04-adopted-socket/cmd/server
//	go run ./lessons/04-adopted-socket/cmd/launcher -addr 127.0.0.1:9999 /tmp/adopt-server
//	systemd-socket-activate -d -l 127.0.0.1:9999 /tmp/adopt-server
//
// By hand, two of them sharing one port:
//
//	/tmp/adopt-server -addr 127.0.0.1:9999 -reuseport
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	adopt "udpbook/solutions/04-adopted-socket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address to bind when no socket is handed over (port 0 picks a free port)")
	reuse := flag.Bool("reuseport", false, "set SO_REUSEPORT, so that several servers can share the port")
	flag.Parse()
	log.SetFlags(0)

	conns, err := adopt.Listeners()
	if err != nil {
		log.Fatal(err)
	}
	if len(conns) > 0 {
		fmt.Printf("pid %d: socket-activated, adopted %d socket(s)\n", os.Getpid(), len(conns))
	} else {
		conn, err := adopt.Listen(context.Background(), *addr, adopt.Options{ReusePort: *reuse})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("pid %d: not socket-activated, bound a socket of my own\n", os.Getpid())
		conns = append(conns, conn)
	}

	// Ctrl-C (or a service manager's SIGTERM) cancels ctx.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var wg sync.WaitGroup
	for _, conn := range conns {
		fmt.Printf("Serving UDP on %s...\n", conn.LocalAddr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			serve(ctx, conn)
		}()
	}
	wg.Wait()
	fmt.Println("Stopped.")
}

// serve answers every datagram on conn with "Hello, <data>!" until ctx is
// done: lesson 01's echo service, which does not care who bound the socket.
func serve(ctx context.Context, conn net.PacketConn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		fmt.Printf("Received from %s on %s.\n", from, conn.LocalAddr())
		reply := append(append([]byte("Hello, "), buf[:n]...), '!')
		conn.WriteTo(reply, from)
	}
}
