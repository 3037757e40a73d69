package pristine

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the copies and the manifest from the workbook's files")

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCopiesMatchTheWorkbook keeps the embedded copies in step with the
// files they copy. Run `make pristine` after changing a lesson or the
// harness.
func TestCopiesMatchTheWorkbook(t *testing.T) {
	if *update {
		if err := Build(root(t), "."); err != nil {
			t.Fatal(err)
		}
		t.Skip("copies rewritten; run the tests again without -update")
	}
	tmp := t.TempDir()
	if err := Build(root(t), tmp); err != nil {
		t.Fatal(err)
	}
	fresh, err := os.ReadFile(filepath.Join(tmp, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != Manifest() {
		t.Fatalf("the embedded copies differ from the workbook's files: run `make pristine`.\nfresh manifest:\n%s\nembedded:\n%s", fresh, Manifest())
	}
}

func TestManifestMatchesCopies(t *testing.T) {
	var m strings.Builder
	for _, p := range Paths() {
		b, _ := File(p)
		fmt.Fprintf(&m, "%s  %s\n", Digest(b), p)
	}
	if m.String() != Manifest() {
		t.Fatalf("MANIFEST does not describe the copies: run `make pristine`")
	}
}

func TestCheckFindsChangedMissingAndAddedFiles(t *testing.T) {
	// A copy of lesson 01 with its test file edited, and an extra test file.
	dir := t.TempDir()
	lesson := "lessons/01-echo-server"
	for _, p := range Paths() {
		if !strings.HasPrefix(p, lesson+"/") {
			continue
		}
		b, _ := File(p)
		dst := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		os.WriteFile(dst, b, 0o644)
	}
	problems, err := Check(dir, []string{lesson})
	if err != nil || len(problems) != 0 {
		t.Fatalf("unchanged copy: %v %v, want no problems", problems, err)
	}
	os.WriteFile(filepath.Join(dir, lesson, "echoserver_test.go"), []byte("package echoserver\n"), 0o644)
	os.WriteFile(filepath.Join(dir, lesson, "cheat_test.go"), []byte("package echoserver\n"), 0o644)
	problems, err = Check(dir, []string{lesson, "harness"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(problems)
	for _, want := range []string{"lessons/01-echo-server/cheat_test.go (added)", "lessons/01-echo-server/echoserver_test.go (changed)", "harness/check.go (missing)"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %s lack %q", got, want)
		}
	}
}
