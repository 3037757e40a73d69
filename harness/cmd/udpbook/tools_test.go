package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"udpbook/harness/pristine"
	"udpbook/harness/registry"
)

func TestResetRestoresTheStubAfterConfirmation(t *testing.T) {
	g := workbookCopy(t, map[string]string{"lessons/01-echo-server/echoserver.go": "package echoserver // my work\n"})
	stubPath := filepath.Join(g.Root, "lessons", "01-echo-server", "echoserver.go")
	var out bytes.Buffer
	if code := reset(g.Root, []string{"01"}, strings.NewReader("no\n"), &out); code != 1 {
		t.Fatalf("reset answered no: exit %d, want 1\n%s", code, out.String())
	}
	if b, _ := os.ReadFile(stubPath); string(b) != "package echoserver // my work\n" {
		t.Fatalf("reset without yes changed the file")
	}
	if !strings.Contains(out.String(), "lessons/01-echo-server/echoserver.go") {
		t.Fatalf("reset did not name the file it would replace:\n%s", out.String())
	}
	out.Reset()
	if code := reset(g.Root, []string{"01"}, strings.NewReader("yes\n"), &out); code != 0 {
		t.Fatalf("reset answered yes: exit %d\n%s", code, out.String())
	}
	want, _ := pristine.File("lessons/01-echo-server/echoserver.go")
	if b, _ := os.ReadFile(stubPath); !bytes.Equal(b, want) {
		t.Fatalf("reset did not restore the stub")
	}
	kept, _ := filepath.Glob(filepath.Join(g.Root, ".udpbook", "reset", "*", "lessons", "01-echo-server", "echoserver.go"))
	if len(kept) != 1 || !strings.Contains(out.String(), "Your version of each is kept in .udpbook/reset/") {
		t.Fatalf("reset kept %q of the work it replaced; want one copy, named in the output:\n%s", kept, out.String())
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != "package echoserver // my work\n" {
		t.Fatalf("the copy reset kept holds %q", b)
	}
	out.Reset()
	if code := reset(g.Root, []string{"--yes", "01"}, strings.NewReader(""), &out); code != 0 || !strings.Contains(out.String(), "nothing to reset") {
		t.Fatalf("second reset: exit %d\n%s", code, out.String())
	}
}

func TestToolsNameALessonThatDoesNotExist(t *testing.T) {
	var out bytes.Buffer
	if code := reset(t.TempDir(), []string{"8"}, strings.NewReader(""), &out); code != 2 ||
		!strings.Contains(out.String(), `no lesson "8": the lessons are 01,`) {
		t.Errorf("reset 8: exit %d, %q; want 2 and the lessons there are", code, out.String())
	}
	out.Reset()
	if code := hint(t.TempDir(), []string{"9"}, &out); code != 2 || !strings.Contains(out.String(), `no lesson "9"`) {
		t.Errorf("hint 9: exit %d, %q", code, out.String())
	}
}

func TestHintRevealsOneAtATimeAndNextFollowsProgress(t *testing.T) {
	root := t.TempDir()
	ls := registry.Lessons()
	l01, l02 := ls[0], ls[1]
	done := LessonResult{Lesson: l01, State: Done}
	for _, c := range l01.Checks {
		done.Checks = append(done.Checks, CheckResult{CheckInfo: c, Status: StatusPass})
	}
	half := LessonResult{Lesson: l02, State: InProgress}
	for i, c := range l02.Checks {
		status := StatusPass
		if i%2 == 1 {
			status = StatusFail
		}
		half.Checks = append(half.Checks, CheckResult{CheckInfo: c, Status: status})
	}
	if err := recordProgress(root, []LessonResult{done, half}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	nextCommand(root, &out)
	if !strings.Contains(out.String(), "Next: lesson 02") || !strings.Contains(out.String(), l02.Checks[1].ID) {
		t.Fatalf("next after lesson 01 is done:\n%s", out.String())
	}
	failing := (len(l02.Checks)) / 2
	for i := 1; i <= 2; i++ {
		out.Reset()
		if code := hint(root, []string{"02"}, &out); code != 0 {
			t.Fatalf("hint: exit %d\n%s", code, out.String())
		}
		wantHead := "Hint " + string(rune('0'+i)) + " of "
		wantCheck := l02.Checks[2*i-1]
		if !strings.Contains(out.String(), wantHead) || !strings.Contains(out.String(), wantCheck.Hint) {
			t.Fatalf("hint %d of %d: want the hint of check %q:\n%s", i, failing, wantCheck.ID, out.String())
		}
	}
	if p := readProgress(root)["02"]; p.Hints != 2 {
		t.Fatalf("progress file says %d hints shown, want 2", p.Hints)
	}
	out.Reset()
	hint(root, []string{"01"}, &out)
	if !strings.Contains(out.String(), "no hints needed") {
		t.Fatalf("hint for a finished lesson:\n%s", out.String())
	}
	out.Reset()
	list(root, &out)
	if !strings.Contains(out.String(), "done") || !strings.Contains(out.String(), "in progress") {
		t.Fatalf("list:\n%s", out.String())
	}
}

func TestWatchGradesTheLessonThatWasSaved(t *testing.T) {
	g := workbookCopy(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	graded := make(chan string, 10)
	done := make(chan int, 1)
	go func() {
		done <- watch(ctx, g.Root, 10*time.Millisecond, func(l registry.Lesson) { graded <- l.Number }, &bytes.Buffer{})
	}()
	if first := <-graded; first != "01" {
		t.Fatalf("watch graded lesson %s first, want the next lesson, 01", first)
	}
	// Save a file of lesson 02 with new content.
	name := filepath.Join(g.Root, "lessons", "02-echo-client", "echoclient.go")
	b, _ := os.ReadFile(name)
	if err := os.WriteFile(name, append(b, "\n// saved\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-graded:
		if n != "02" {
			t.Fatalf("after a save in lesson 02, watch graded lesson %s", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not grade within 10s of a save")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop within 10s of its context ending")
	}
}

// The committed Classroom workflow must be what `udpbook classroom`
// prints, so its points stay the grader's.
func TestClassroomWorkflowIsUpToDate(t *testing.T) {
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ClassroomWorkflow)))
	if err != nil {
		t.Fatal(err)
	}
	var fresh bytes.Buffer
	writeClassroom(&fresh)
	if fresh.String() != string(committed) {
		t.Fatalf("%s is out of date: run `go run ./harness/cmd/udpbook classroom > %s`", ClassroomWorkflow, ClassroomWorkflow)
	}
	for _, l := range registry.Lessons() {
		if want := fmt.Sprintf("max-score: %d", l.Points()); !strings.Contains(fresh.String(), want) {
			t.Errorf("the workflow lacks %q for lesson %s", want, l.Number)
		}
	}
}
