package main

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as the grader's judge, which the
// grader starts by running its own executable again, and as a judge or a
// learner of TestJudgeAndLearner. The grader's tests get a temporary
// folder of their own, so that the grader's shared copies in the machine's
// temporary folder are never theirs (nor theirs another's).
func TestMain(m *testing.M) {
	judging()
	if role := os.Getenv(testRoleEnv); role != "" {
		os.Exit(playRole(role))
	}
	dir, err := os.MkdirTemp("", "udpbook-grader-test-")
	if err == nil && os.Chmod(dir, 0o711) == nil {
		os.Setenv("TMPDIR", dir)
	}
	code := m.Run()
	if err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
