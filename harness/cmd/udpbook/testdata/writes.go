package echoserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// A learner's code that writes where it should not: next to its working
// folder, into the folder above, into HOME, into the workbook (another
// lesson's folder, go.mod), into the real HOME and into a Go environment
// file. The test replaces the upper-case names with paths.
func Listen(addr string) (net.PacketConn, error) {
	home, _ := os.UserHomeDir()
	targets := []struct{ name, path, text string }{
		{"cwd", "planted-TOKEN.txt", "planted"},
		{"parent", filepath.Join("..", "planted-TOKEN.txt"), "planted"},
		{"home", filepath.Join(home, "planted-TOKEN.txt"), "planted"},
		{"lesson", "WORKBOOK/lessons/02-echo-client/planted_TOKEN.go", "package echoclient\n\nfunc init() { panic(\"planted\") }\n"},
		{"gomod", "WORKBOOK/go.mod", "\n// planted TOKEN\n"},
		{"realhome", "REALHOME/planted-TOKEN.txt", "planted"},
		{"goenv", "GOENVFILE", "GOFLAGS=-toolexec=/bin/false\n"},
	}
	var results []string
	for _, t := range targets {
		f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			_, err = f.WriteString(t.text)
			f.Close()
		}
		if err != nil {
			results = append(results, t.name+": refused")
		} else {
			results = append(results, t.name+": written")
		}
	}
	return nil, fmt.Errorf("writes: %s", strings.Join(results, ", "))
}

func Serve(ctx context.Context, conn net.PacketConn) error { return nil }
