package echoserver

import "testing"

// The student's test file passes without testing anything.
func TestEchoServer(t *testing.T) {}
