#include "textflag.h"

// func peek(addr uintptr) uintptr
TEXT ·peek(SB), NOSPLIT, $0-16
	MOVQ addr+0(FP), AX
	MOVQ (AX), AX
	MOVQ AX, ret+8(FP)
	RET
