package echoserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// A learner's code that leaves processes behind: a child in its process
// group, one in a session of its own, and an orphan whose parent exits.
// Each holds a UDP socket and sleeps. Their command lines carry a token
// the test looks for (TOKEN is replaced by the test).
const token = "TOKEN"

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "-detached-child=" + token:
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		fmt.Println("ready", conn.LocalAddr())
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	case "-detached-parent=" + token:
		// Start an orphan: a child in a new session, then exit.
		if ready(spawn(true)) {
			fmt.Println("ready")
		}
		os.Exit(0)
	}
}

func spawn(session bool) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-detached-child="+token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: session}
	return cmd
}

func ready(cmd *exec.Cmd) bool {
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return false
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	return strings.HasPrefix(line, "ready")
}

// started counts the processes that said they were ready. They are
// started before the tests, where no check's time bound applies.
var started = startAll()

func startAll() int {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-detached-") {
		return 0
	}
	exe, _ := os.Executable()
	n := 0
	for _, cmd := range []*exec.Cmd{spawn(false), spawn(true), exec.Command(exe, "-detached-parent="+token)} {
		if ready(cmd) {
			n++
		}
	}
	return n
}

func Listen(addr string) (net.PacketConn, error) {
	return nil, fmt.Errorf("detached processes ready: %d", started)
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
