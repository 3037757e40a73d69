package lesson05

// For the self-tests: the dual-stack capability and socket, which the
// broken implementations that only a dual-stack socket catches need.
var (
	DualStack       = dualStack
	ListenDualStack = listenDualStack
)
