//go:build !unix

package main

import "errors"

// lockFile is not written for this system: binaries are not cached here.
func lockFile(name string) (unlock func(), err error) {
	return nil, errors.New("file locks are not written for this system")
}
