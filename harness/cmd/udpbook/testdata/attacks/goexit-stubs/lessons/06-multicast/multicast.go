// Listen returns a member whose every method ends the caller's goroutine
// with runtime.Goexit instead of returning.
package multicast

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
)

const (
	Notify      = "Notify"
	Acknowledge = "Acknowledge"
)

const TTL = 1

var (
	ErrAlreadyJoined = errors.New("already a member of the group")
	ErrNotJoined     = errors.New("not a member of the group")
)

type Member struct {
}

func Listen(network string, port uint16) (*Member, error) { return &Member{}, nil }

func (m *Member) Port() uint16 { runtime.Goexit(); panic("unreachable") }

func (m *Member) Addr() netip.AddrPort { runtime.Goexit(); panic("unreachable") }

func (m *Member) SendConn() *net.UDPConn { runtime.Goexit(); panic("unreachable") }

func (m *Member) JoinGroup(group netip.Addr) error { runtime.Goexit(); panic("unreachable") }

func (m *Member) LeaveGroup(group netip.Addr) error { runtime.Goexit(); panic("unreachable") }

func (m *Member) Send(to netip.AddrPort, data []byte) error { runtime.Goexit(); panic("unreachable") }

func (m *Member) Serve(ctx context.Context, handle func(from, to netip.AddrPort, data []byte)) error {
	runtime.Goexit()
	panic("unreachable")
}

func (m *Member) Close() error { runtime.Goexit(); panic("unreachable") }
