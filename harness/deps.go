package harness

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/net/ipv4"
	_ "golang.org/x/sys/unix"
)
