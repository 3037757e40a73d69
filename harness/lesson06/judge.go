package lesson06

import (
	"context"
	"net"
	"net/netip"

	"udpbook/harness/remote"
)

func init() { remote.RegisterProxy(func(o *remote.Object) Member { return &remoteMember{o} }) }

// Judge runs every check of the suite, in the grader's judge process,
// against the learner's code that a driver process serves on cl.
func Judge(cl *remote.Client) error { return Suite.Judge(remote.Proxy[Impl](cl), cl.Hooks()) }

// remoteMember is a Member the learner's Listen returned in the driver.
// SendConn gives a socket of the judge's that shares the member's.
type remoteMember struct{ o *remote.Object }

func (r *remoteMember) Port() uint16 { return uint16(r.o.Invoke("Port")[0].Uint()) }

func (r *remoteMember) Addr() netip.AddrPort {
	a, _ := r.o.Invoke("Addr")[0].Interface().(netip.AddrPort)
	return a
}

func (r *remoteMember) SendConn() *net.UDPConn {
	c, _ := r.o.Invoke("SendConn")[0].Interface().(*net.UDPConn)
	return c
}

func (r *remoteMember) JoinGroup(group netip.Addr) error {
	return remote.Err(r.o.Invoke("JoinGroup", group)[0])
}

func (r *remoteMember) LeaveGroup(group netip.Addr) error {
	return remote.Err(r.o.Invoke("LeaveGroup", group)[0])
}

func (r *remoteMember) Send(to netip.AddrPort, data []byte) error {
	return remote.Err(r.o.Invoke("Send", to, data)[0])
}

func (r *remoteMember) Serve(ctx context.Context, handle func(from, to netip.AddrPort, data []byte)) error {
	return remote.Err(r.o.Invoke("Serve", ctx, handle)[0])
}

func (r *remoteMember) Close() error { return remote.Err(r.o.Invoke("Close")[0]) }
