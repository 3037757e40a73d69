package main

import "syscall"

// noDump makes this process non-dumpable: other processes of the same user
// (the learner's code among them) can then no longer read its memory,
// descriptors or environment through /proc, nor trace it. Only a process
// with CAP_SYS_PTRACE (root, say) still can.
func noDump() error {
	const prSetDumpable = 4
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); e != 0 {
		return e
	}
	return nil
}
