package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"udpbook/harness/registry"
)

// For every lesson: the reference matches itself and its disguise in full;
// the stub, and the stub with the reference's one-line functions, stay far
// below the threshold.
func TestCopiedShare(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	for _, l := range registry.Lessons() {
		ref, err := goFiles(filepath.Join(root, l.SolutionDir()))
		require.NoError(t, err)
		stub, err := goFiles(filepath.Join(root, l.Dir()))
		require.NoError(t, err)
		refD, stubD := fingerprint(ref), fingerprint(stub)
		if got := copiedShare(refD, refD, stubD); got != 1 {
			t.Errorf("lesson %s: the reference matches %.2f of itself, want 1", l.Number, got)
		}
		if got := copiedShare(refD, fingerprint(disguise(t, filepath.Join(root, l.SolutionDir()))), stubD); got != 1 {
			t.Errorf("lesson %s: the disguised reference matches %.2f, want 1", l.Number, got)
		}
		if got := copiedShare(refD, stubD, stubD); got != 0 {
			t.Errorf("lesson %s: the stub matches %.2f of the reference, want 0", l.Number, got)
		}
	}
}

// harness/lesson05/alt, a second implementation of lesson 05 designed
// apart from the reference, passes every check and must not be flagged as
// the reference.
func TestIndependentImplementationIsNotCopied(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	l := lesson(t, "05")
	alt, err := goFiles(filepath.Join(root, "harness", "lesson05", "alt"))
	require.NoError(t, err)
	if len(alt) == 0 {
		t.Skip("no harness/lesson05/alt in this workbook")
	}
	ref, err := goFiles(filepath.Join(root, l.SolutionDir()))
	require.NoError(t, err)
	stub, err := goFiles(filepath.Join(root, l.Dir()))
	require.NoError(t, err)
	share := copiedShare(fingerprint(ref), fingerprint(alt), fingerprint(stub))
	t.Logf("harness/lesson05/alt has %.1f%% of the reference's own code", 100*share)
	if share >= copyShare {
		t.Fatalf("an implementation written apart is flagged: %.2f of the reference", share)
	}
	g := &Grader{Root: root}
	g.From = t.TempDir()
	dst := filepath.Join(g.From, filepath.FromSlash(l.Dir()))
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for name, b := range alt {
		require.NoError(t, os.WriteFile(filepath.Join(dst, name), b, 0o644))
	}
	// Copied into a lesson, the second implementation is flagged as what
	// it is, not as the reference.
	c := g.copied(l)
	require.NotNil(t, c)
	require.Equal(t, "harness/lesson05/alt", c.From)
	require.True(t, c.Identical)
}

// Layout, comments, names, string literals, import aliases and the order
// of declarations do not change a declaration's fingerprint; its code
// does.
func TestFingerprintNormalises(t *testing.T) {
	a := map[string][]byte{"a.go": []byte(`package p

import "net"

// Listen listens.
func Listen(addr string) (net.PacketConn, error) {
	return net.ListenPacket("udp", addr) // the whole of it
}

var limit = 10
`)}
	b := map[string][]byte{"b.go": []byte(`package q
import n "net"
var top = 10
func Bind(a string) (n.PacketConn, error) { return n.ListenPacket("udp4", a,
) }
`)}
	c := map[string][]byte{"c.go": []byte(`package q
import "net"
func Bind(a string) (net.PacketConn, error) { return net.ListenUDP("udp", nil) }
var top = 11
`)}
	require.Equal(t, 1.0, copiedShare(fingerprint(a), fingerprint(b), decls{}))
	require.Equal(t, 0.0, copiedShare(fingerprint(a), fingerprint(c), decls{}))
}
