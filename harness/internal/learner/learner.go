// Package learner stands in for a learner's package in the tests of the
// harness's kit: the kit leaves its own frames out of the panics it
// reports, so the code that panics must live in another package.
package learner

// Boom panics with "boom".
func Boom() { panic("boom") }
