package main

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as the grader's judge, which the
// grader starts by running its own executable again.
func TestMain(m *testing.M) {
	judging()
	os.Exit(m.Run())
}
