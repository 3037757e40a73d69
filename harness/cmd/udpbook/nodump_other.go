//go:build !linux

package main

// noDump does nothing here: only Linux is known to need it.
func noDump() error { return nil }
