package lesson06

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// shareProbes are the sockets a program that shares the group port may
// bind there: one that sets only SO_REUSEADDR (as Linux programs often do),
// one that sets only SO_REUSEPORT (as BSD and macOS programs must). Each can
// bind only if every socket on the port set the same option.
var shareProbes = []struct {
	name string
	opt  int
}{
	{"SO_REUSEADDR", unix.SO_REUSEADDR},
	{"SO_REUSEPORT", unix.SO_REUSEPORT},
}

// bindSharing binds a UDP socket to the wildcard address and port with only
// the option opt set.
func bindSharing(network string, port uint16, opt int) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1) }); cerr != nil {
			return cerr
		}
		return err
	}}
	return lc.ListenPacket(context.Background(), network, fmt.Sprintf(":%d", port))
}

// shareableByUs reports whether Linux lets this process share port with
// SO_REUSEPORT: it allows that only between sockets of one user, and the
// learner's code may run as another (the grader's sandbox). It reads the
// owners of the sockets on port from /proc/net/udp.
func shareableByUs(port uint16) bool {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return false
	}
	defer f.Close()
	me := strconv.Itoa(os.Geteuid())
	suffix := fmt.Sprintf(":%04X", port)
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !strings.HasSuffix(fields[1], suffix) {
			continue
		}
		if fields[7] != me {
			return false
		}
		found = true
	}
	return found && sc.Err() == nil
}
