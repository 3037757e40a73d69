package lesson07

import "udpbook/harness/remote"

// Judge runs every check of the suite, in the grader's judge process,
// against the learner's code that a driver process serves on cl.
func Judge(cl *remote.Client) error { return Suite.Judge(remote.Proxy[Impl](cl), cl.Hooks()) }
