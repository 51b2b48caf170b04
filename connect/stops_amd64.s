//go:build amd64 && !purego

#include "textflag.h"

DATA stopconst<>+0(SB)/8, $0x2222222222222222
DATA stopconst<>+8(SB)/8, $0x2222222222222222
DATA stopconst<>+16(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA stopconst<>+24(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA stopconst<>+32(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA stopconst<>+40(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL stopconst<>(SB), RODATA|NOPTR, $48

// STOP16 leaves in R the 16-bit mask of the stop bytes of the 16 bytes at
// off(SI): x == '"', x == '\\', or max(x, 0x1f) == 0x1f (x < 0x20).
#define STOP16(off, R) \
	MOVOU off(SI), X0 \
	MOVO X0, X4 \
	PCMPEQB X1, X4 \
	MOVO X0, X5 \
	PCMPEQB X2, X5 \
	PMAXUB X3, X0 \
	PCMPEQB X3, X0 \
	POR X5, X4 \
	POR X0, X4 \
	PMOVMSKB X4, R

// func stopBlocks(b []byte, stops []uint64)
// len(b) is a multiple of 64 and len(stops) == len(b)/64.
TEXT ·stopBlocks(SB), NOSPLIT, $0-48
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVQ stops_base+24(FP), DI
	MOVOU stopconst<>+0(SB), X1
	MOVOU stopconst<>+16(SB), X2
	MOVOU stopconst<>+32(SB), X3
	SHRQ $6, CX
	JZ done

loop:
	STOP16(0, AX)
	STOP16(16, BX)
	STOP16(32, DX)
	STOP16(48, R8)
	SHLQ $16, BX
	ORQ BX, AX
	SHLQ $32, DX
	ORQ DX, AX
	SHLQ $48, R8
	ORQ R8, AX
	MOVQ AX, (DI)
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ loop

done:
	RET
