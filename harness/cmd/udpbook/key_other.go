//go:build !unix

package main

import (
	"os/exec"

	"udpbook/harness"
)

// passKey hands key to the test binary through its environment: this
// system cannot pass descriptors. The harness removes it from there before
// the learner's code starts.
func passKey(cmd *exec.Cmd, key []byte) (func(), error) {
	cmd.Env = append(cmd.Env, harness.KeyEnv+"="+string(key))
	return func() {}, nil
}
