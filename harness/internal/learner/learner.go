// Package learner stands in for a learner's package in the tests of the
// harness's kit: the kit leaves its own frames out of the panics it
// reports, so the code that panics must live in another package.
package learner

import "net"

// Boom panics with "boom".
func Boom() { panic("boom") }

// Read reads one datagram from conn, blocking until one comes or conn is
// closed.
func Read(conn net.PacketConn) {
	buf := make([]byte, 16)
	conn.ReadFrom(buf)
}
