package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
)

// buildChanging are the environment variables that change what the go
// command builds, or how: the grader clears them for its own builds.
var buildChanging = map[string]bool{
	"GOFLAGS": true, "GOEXPERIMENT": true, "GOOS": true, "GOARCH": true,
	"GO386": true, "GOAMD64": true, "GOARM": true, "GOARM64": true, "GOMIPS": true,
	"GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true,
	"GOENV": true, "GOWORK": true,
}

// goCommand returns a go command for the grader's own builds, whose
// environment a learner's code cannot have changed: the Go environment
// file (where `go env -w` writes, and where a line such as
// GOFLAGS=-toolexec=... would poison every build) is not read, and the
// variables that change builds are cleared.
func goCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = buildEnv(os.Environ())
	return cmd
}

// buildEnv returns env without the variables that change builds, with
// GOENV=off and GOWORK=off.
func buildEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !buildChanging[name] {
			out = append(out, kv)
		}
	}
	return append(out, "GOENV=off", "GOWORK=off")
}
