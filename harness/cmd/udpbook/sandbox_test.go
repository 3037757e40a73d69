package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"udpbook/harness"
	"udpbook/harness/registry"
)

// TestMain gives the grader's tests a temporary folder of their own.
// Graders share their copies of the workbook's files in the system's
// temporary folder; on a machine where other copies of the workbook are
// being tested at the same time, one of their tests that plants a
// tampered copy there (as a learner's code could without the sandbox)
// would otherwise change what these tests build. The folder is
// traversable by all, like /tmp, for the sandbox's user.
// testRoleEnv makes this test binary play a judge or a learner of a
// lesson in two processes (TestJudgeAndLearner).
const testRoleEnv = "UDPBOOK_TEST_ROLE"

// playRole plays a judge or a learner. The learner serves one datagram on
// loopback, says on descriptor 3 where, and what processes it sees, then
// waits to be killed. The judge, once it has said it is ready, reads where
// from its descriptor 3, sends a datagram there, and says what came back
// and what processes it sees; it writes a line to the report.
func playRole(role string) int {
	pids := func() int {
		n := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
				n++
			}
		}
		return n
	}
	switch role {
	case "learner":
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return 1
		}
		to := os.NewFile(3, "to the judge")
		fmt.Fprintln(to, conn.LocalAddr())
		to.Close()
		fmt.Printf("learner sees %d processes\n", pids())
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 64)
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		conn.WriteTo(append([]byte("pong:"), buf[:n]...), from)
		select {}
	case "judge":
		var fd int
		fmt.Sscanf(os.Getenv(JudgeReadyEnv), "fd%d", &fd)
		os.NewFile(uintptr(fd), "ready").Close()
		addr, err := bufio.NewReader(os.NewFile(3, "from the learner")).ReadString('\n')
		if err != nil {
			fmt.Println("judge: no address:", err)
			return 1
		}
		conn, err := net.Dial("udp", strings.TrimSpace(addr))
		if err != nil {
			fmt.Println("judge:", err)
			return 1
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		conn.Write([]byte("ping"))
		buf := make([]byte, 64)
		n, err := conn.Read(buf)
		if err != nil {
			fmt.Println("judge:", err)
			return 1
		}
		fmt.Printf("judge got %s and sees %d processes\n", buf[:n], pids())
		f, err := os.OpenFile(os.Getenv(harness.ReportEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Println("judge:", err)
			return 1
		}
		fmt.Fprintln(f, "judge was here")
		f.Close()
		return 0
	}
	return 2
}

// plant grades lesson 01 with g, its echoserver.go replaced by the
// testdata file name after every key of repl is replaced by its value.
func plant(t *testing.T, g *Grader, name string, repl map[string]string) LessonResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	src := string(b)
	for k, v := range repl {
		src = strings.ReplaceAll(src, k, v)
	}
	file := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	g.Overlay = map[string]string{"lessons/01-echo-server/echoserver.go": file}
	return g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
}

// uniqueToken returns a string no other process on the machine has in its
// command line.
func uniqueToken(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "udpbook" + hex.EncodeToString(b)
}

// checkMessage returns the message of the check with the given ID.
func checkMessage(r LessonResult, id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Message
		}
	}
	return ""
}

// table prints r as the grader does, without colour.
func table(r LessonResult) string {
	var b bytes.Buffer
	printTable(&b, []LessonResult{r}, palette{})
	return b.String()
}

func TestSandboxOffGradesAndSaysSo(t *testing.T) {
	t.Setenv(SandboxEnv, "off")
	dir := t.TempDir()
	report := filepath.Join(dir, "results.json")
	var out, errs bytes.Buffer
	code := run([]string{"check", "-race=off", "-no-progress", "-solutions", "-json", report, "01"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit code %d for the solution with the sandbox off, want 0:\n%s%s", code, out.String(), errs.String())
	}
	const why = "turned off with " + SandboxEnv + "=off"
	if n := strings.Count(out.String(), "sandbox off: "+why); n != 1 {
		t.Errorf("the output says %d times that the sandbox is off, want once:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "01 echo server   11/11") {
		t.Errorf("the solution is not graded full with the sandbox off:\n%s", out.String())
	}
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	var rep JSONReport
	require.NoError(t, json.Unmarshal(b, &rep))
	if rep.Sandbox.On || rep.Sandbox.Why != why || rep.Score != rep.MaxScore || rep.Score == 0 {
		t.Errorf("JSON report: sandbox %+v, score %d/%d; want off, %q, full marks", rep.Sandbox, rep.Score, rep.MaxScore, why)
	}

	// The flag does the same, and a stub is still graded as one.
	t.Setenv(SandboxEnv, "")
	g := grader(t)
	g.Sandbox = SandboxOff
	if s := g.SandboxStatus(); s.On || s.Why != "turned off with -sandbox=off" {
		t.Errorf("-sandbox=off: status %+v", s)
	}
	r := g.Grade(context.Background(), []registry.Lesson{lesson(t, "01")})[0]
	if r.State != NotStarted {
		t.Errorf("the stub with -sandbox=off: state %q, want %q\n%s", r.State, NotStarted, r.Detail)
	}
	if code := run([]string{"check", "-sandbox=maybe", "01"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "want auto, on or off") {
		t.Errorf("-sandbox=maybe: exit %d, stderr %q", code, errs.String())
	}
}

// The Classroom workflow lifts Ubuntu's AppArmor restriction on user
// namespaces before any grading, and grades only in the sandbox.
func TestClassroomGradesInTheSandbox(t *testing.T) {
	var b bytes.Buffer
	writeClassroom(&b)
	wf := b.String()
	lift := strings.Index(wf, "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
	guard := strings.Index(wf, `if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]`)
	grade := strings.Index(wf, "udpbook-grader check")
	if lift < 0 || guard < 0 || guard > lift || grade < lift {
		t.Errorf("the workflow does not lift the restriction, guarded, before grading:\n%s", wf)
	}
	if n, m := strings.Count(wf, "udpbook-grader check -sandbox=on "), len(registry.Lessons()); n != m {
		t.Errorf("%d of %d lessons graded with -sandbox=on", n, m)
	}
}
