// Command relay stands between lesson 07's sender and receiver and makes
// loopback a bad network: it loses, duplicates, reorders, delays and
// paces datagrams, at random but the same way for the same -seed. It is
// the grader's own relay (harness.ChaosRelay) behind flags, and needs no
// root: nothing but two UDP sockets.
//
//	go run ./solutions/07-reliable/cmd/relay -listen 127.0.0.1:9001 -to 127.0.0.1:9000 -loss 0.1 -delay 10ms
//
// Senders send to -listen as if it were the receiver. Loopback only.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"udpbook/harness"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "the address senders send to, on loopback")
	to := flag.String("to", "127.0.0.1:9000", "the receiver's address, on loopback")
	var ch harness.Chaos
	flag.Float64Var(&ch.Loss, "loss", 0, "probability of losing a datagram, each way (0.1 is 10%)")
	flag.Float64Var(&ch.Dup, "dup", 0, "probability of delivering a datagram twice")
	flag.Float64Var(&ch.Reorder, "reorder", 0, "probability of holding a datagram back so that later ones overtake it")
	flag.DurationVar(&ch.Delay, "delay", 0, "one-way delay added to every datagram")
	flag.DurationVar(&ch.Jitter, "jitter", 0, "random extra delay, from 0 to this")
	flag.IntVar(&ch.Rate, "rate", 0, "bottleneck rate in bytes a second (0: no limit)")
	flag.Uint64Var(&ch.Seed, "seed", uint64(time.Now().UnixNano()%1000), "seed of the random choices")
	flag.Parse()

	front := bind(*listen)
	back := bind("127.0.0.1:0")
	server, err := netip.ParseAddrPort(*to)
	if err != nil || !server.Addr().IsLoopback() {
		log.Fatalf("-to %s: want a loopback address and port", *to)
	}
	r := harness.StartChaos(front, back, server, ch)
	fmt.Printf("relay on %s -> %s with %s\n", front.LocalAddr(), server, ch)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-tick.C:
			if s := r.String(); s != last {
				fmt.Println(s)
				last = s
			}
		case <-sig:
			r.Close()
			if s := r.String(); s != last {
				fmt.Println(s)
			}
			return
		}
	}
}

func bind(addr string) *net.UDPConn {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		log.Fatalf("%s: want a loopback address and port, such as 127.0.0.1:9001", addr)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		log.Fatal(err)
	}
	return conn
}
