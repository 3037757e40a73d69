//go:build unix

// Command launcher plays a service manager for one UDP socket: it creates
// and binds the socket itself with raw system calls, then starts a program
// with the socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID set to the
// program's pid. That is socket activation, as systemd does it.
//
//	go build -o /tmp/adopt-server ./lessons/04-adopted-socket/cmd/server
//	go run ./lessons/04-adopted-socket/cmd/launcher -addr 127.0.0.1:9999 /tmp/adopt-server
//
// Start a built program, not `go run`: the go command would start the
// program as its own child, whose pid is not the one in LISTEN_PID.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// stageEnv marks the launcher's second stage (see execProgram).
const stageEnv = "UDPBOOK_LAUNCHER_EXEC"

func main() {
	log.SetFlags(0)
	if os.Getenv(stageEnv) != "" {
		execProgram(os.Args[1:])
	}
	addr := flag.String("addr", "127.0.0.1:9999", "UDP address to bind for the program")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: launcher [-addr host:port] program [args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}

	sock, err := bindUDP(*addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("launcher: bound UDP socket on %s\n", *addr)

	// Start a copy of this program, holding the socket as descriptor 3,
	// that turns itself into the program (see execProgram).
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self, flag.Args()...)
	cmd.Env = append(os.Environ(), stageEnv+"=1", "LISTEN_FDS=1")
	cmd.ExtraFiles = []*os.File{sock} // the first extra file is descriptor 3
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The program gets a process group of its own, so that Ctrl-C reaches
	// it once, from the launcher, and not also from the terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Signals arrive from now on, to be passed on once the program runs.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	sock.Close() // the program has it now
	fmt.Printf("launcher: started %s as pid %d, with the socket as descriptor 3\n", flag.Arg(0), cmd.Process.Pid)

	// Pass every signal on, as a service manager does, and end as the
	// program ends: with its exit status, or 128 plus the signal that
	// ended it, as a shell reports it.
	go func() {
		for sig := range sigs {
			cmd.Process.Signal(sig)
		}
	}()
	err = cmd.Wait()
	fmt.Printf("launcher: %s exited: %v\n", flag.Arg(0), cmdStatus(err))
	os.Exit(exitStatus(cmd.ProcessState))
}

// exitStatus is the status a shell would report for the program.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// bindUDP creates a UDP socket and binds it to addr with raw system calls,
// the way a service manager written in C does.
func bindUDP(addr string) (*os.File, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	domain, sa := unix.AF_INET6, unix.Sockaddr(&unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())})
	if ap.Addr().Is4() {
		domain, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	unix.CloseOnExec(fd) // the program gets its own copy, as descriptor 3
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	return os.NewFile(uintptr(fd), "udp "+addr), nil
}

// execProgram runs in the launcher's child, which already holds the socket
// as descriptor 3. It does what a service manager does between fork and
// exec: it sets LISTEN_PID to its own pid, then replaces itself with the
// program. Exec keeps the pid, and every descriptor not marked
// close-on-exec, so the program finds descriptor 3 and a LISTEN_PID that
// names it. (Go cannot run code between fork and exec, hence the two
// stages.)
func execProgram(args []string) {
	os.Unsetenv(stageEnv)
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	path, err := exec.LookPath(args[0])
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(syscall.Exec(path, args, os.Environ()))
}

func cmdStatus(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}
