package lesson04

import "udpbook/harness/remote"

// Judge runs every check of the suite, in the grader's judge process,
// against the learner's code that a driver process serves on cl. The
// socket-activation checks start the driver's program as their child, so
// that child mode is chosen here, where no learner code runs.
func Judge(cl *remote.Client) error {
	impl := remote.Proxy[Impl](cl)
	impl.test, impl.perCheck = cl.Test, true
	childProgram = cl.Program
	return Suite.Judge(impl, cl.Hooks())
}
