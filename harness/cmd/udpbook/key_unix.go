//go:build unix

package main

import (
	"os"

	"udpbook/harness"
)

// passKey hands key to the test binary on descriptor 3, which the harness
// reads and closes before the learner's code starts. The returned function
// closes the parent's end.
func passKey(m *Member, key []byte) (func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(key); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	m.Files = append([]*os.File{r}, m.Files...)
	m.Env = append(m.Env, harness.KeyEnv+"=fd3")
	return func() { r.Close() }, nil
}
