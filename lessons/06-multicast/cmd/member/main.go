// Command member runs one member of lesson 06's multicast group on the
// loopback interface: it joins the group, sends "Notify" to it, prints every
// datagram it receives, and answers the other members' Notify with an
// Acknowledge. Each line you type is sent to the group.
//
//	go run ./lessons/06-multicast/cmd/member -group 239.255.6.6:8001
//
// Start it in two or more terminals with the same -group: they share the
// port. Ctrl-C leaves the group and stops.
//
// Everything stays on this host: the member joins and sends on the loopback
// interface only, whatever group you give it.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"

	multicast "udpbook/lessons/06-multicast"
)

func main() {
	group := flag.String("group", "239.255.6.6:8001",
		"multicast group and port to join: 239.x.y.z:port, or [ff01::...]:port for IPv6; port 0 picks a free one")
	flag.Parse()

	g, err := netip.ParseAddrPort(*group)
	if err != nil || !g.Addr().IsMulticast() {
		log.Fatalf("-group %q is not a multicast address and port", *group)
	}
	network := "udp4"
	if g.Addr().Is6() {
		network = "udp6"
	}
	m, err := multicast.Listen(network, g.Port())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	g = netip.AddrPortFrom(g.Addr(), m.Port()) // the port the kernel chose, for port 0
	if err := m.JoinGroup(g.Addr()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Joined %v on the loopback interface; my own address is %v.\n", g, m.Addr())

	// Ctrl-C cancels ctx, and Serve returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// Each line typed is sent to the group.
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if err := m.Send(g, sc.Bytes()); err != nil {
				log.Print(err)
			}
		}
	}()

	if err := m.Send(g, []byte(multicast.Notify)); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Sent %q to %v.\n", multicast.Notify, g)
	err = m.Serve(ctx, func(from, to netip.AddrPort, data []byte) {
		fmt.Printf("Received %q from %v, sent to %v.\n", data, from, to)
	})
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	if err := m.LeaveGroup(g.Addr()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Left %v.\n", g.Addr())
}
