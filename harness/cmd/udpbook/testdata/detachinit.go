package echoserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// A learner's code that starts processes that hold sockets, one in a
// session of its own, and then never lets the test start: only the
// grader's time-out ends it. TOKEN is replaced by the test.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "-detached-child=TOKEN" {
		net.ListenPacket("udp", "127.0.0.1:0")
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	exe, _ := os.Executable()
	for _, session := range []bool{false, true} {
		cmd := exec.Command(exe, "-detached-child=TOKEN")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: session}
		cmd.Start()
	}
	for {
	}
}

func Listen(addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
