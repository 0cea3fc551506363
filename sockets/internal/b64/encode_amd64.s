#include "textflag.h"

// func encodeAVX2(dst, src []byte) int
//
// Standard base64 of src into dst, 24 bytes into 32 characters a step
// (W. Muła and D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2
// Instructions", 2018), for as long as 28 bytes are left to read (each
// lane loads 16 of which it uses 12). It returns the bytes of src it
// encoded, a multiple of 24; dst must have room for 4/3 of them.
TEXT ·encodeAVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	XORQ AX, AX
	VMOVDQU b64shuf<>(SB), Y8
	VMOVDQU b64mask1<>(SB), Y9
	VMOVDQU b64mul1<>(SB), Y10
	VMOVDQU b64mask2<>(SB), Y11
	VMOVDQU b64mul2<>(SB), Y12
	VMOVDQU b64c51<>(SB), Y13
	VMOVDQU b64c26<>(SB), Y14
	VMOVDQU b64c13<>(SB), Y15
	VMOVDQU b64lut<>(SB), Y7

loop:
	MOVQ CX, DX
	SUBQ AX, DX
	CMPQ DX, $28
	JLT  done

	// Lane 0 gets bytes 0-11 of the step, lane 1 bytes 12-23; each group
	// of three (a, b, c) becomes the four bytes b, a, c, b.
	VMOVDQU     (SI)(AX*1), X0
	VINSERTI128 $1, 12(SI)(AX*1), Y0, Y0
	VPSHUFB     Y8, Y0, Y0

	// The four 6-bit indices of each group, one a byte.
	VPAND    Y9, Y0, Y1
	VPMULHUW Y10, Y1, Y1
	VPAND    Y11, Y0, Y2
	VPMULLW  Y12, Y2, Y2
	VPOR     Y1, Y2, Y1

	// Index to character: add the offset of its range (A-Z, a-z, 0-9,
	// +, /), picked by a shuffle from the index, saturated down by 51
	// (and 13 for 0-25).
	VPSUBUSB Y13, Y1, Y3
	VPCMPGTB Y1, Y14, Y4
	VPAND    Y15, Y4, Y4
	VPOR     Y4, Y3, Y3
	VPSHUFB  Y3, Y7, Y3
	VPADDB   Y1, Y3, Y3

	VMOVDQU Y3, (DI)
	ADDQ    $32, DI
	ADDQ    $24, AX
	JMP     loop

done:
	VZEROUPPER
	MOVQ AX, ret+48(FP)
	RET

// Per lane: the groups' bytes b, a, c, b.
DATA b64shuf<>+0(SB)/8, $0x0405030401020001
DATA b64shuf<>+8(SB)/8, $0x0a0b090a07080607
DATA b64shuf<>+16(SB)/8, $0x0405030401020001
DATA b64shuf<>+24(SB)/8, $0x0a0b090a07080607
GLOBL b64shuf<>(SB), RODATA|NOPTR, $32

DATA b64mask1<>+0(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+8(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+16(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+24(SB)/8, $0x0fc0fc000fc0fc00
GLOBL b64mask1<>(SB), RODATA|NOPTR, $32

DATA b64mul1<>+0(SB)/8, $0x0400004004000040
DATA b64mul1<>+8(SB)/8, $0x0400004004000040
DATA b64mul1<>+16(SB)/8, $0x0400004004000040
DATA b64mul1<>+24(SB)/8, $0x0400004004000040
GLOBL b64mul1<>(SB), RODATA|NOPTR, $32

DATA b64mask2<>+0(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+8(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+16(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+24(SB)/8, $0x003f03f0003f03f0
GLOBL b64mask2<>(SB), RODATA|NOPTR, $32

DATA b64mul2<>+0(SB)/8, $0x0100001001000010
DATA b64mul2<>+8(SB)/8, $0x0100001001000010
DATA b64mul2<>+16(SB)/8, $0x0100001001000010
DATA b64mul2<>+24(SB)/8, $0x0100001001000010
GLOBL b64mul2<>(SB), RODATA|NOPTR, $32

DATA b64c51<>+0(SB)/8, $0x3333333333333333
DATA b64c51<>+8(SB)/8, $0x3333333333333333
DATA b64c51<>+16(SB)/8, $0x3333333333333333
DATA b64c51<>+24(SB)/8, $0x3333333333333333
GLOBL b64c51<>(SB), RODATA|NOPTR, $32

DATA b64c26<>+0(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+8(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+16(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+24(SB)/8, $0x1a1a1a1a1a1a1a1a
GLOBL b64c26<>(SB), RODATA|NOPTR, $32

DATA b64c13<>+0(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+8(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+16(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+24(SB)/8, $0x0d0d0d0d0d0d0d0d
GLOBL b64c13<>(SB), RODATA|NOPTR, $32

// Per lane, by range: 'a'-26, '0'-52 (ten times), '+'-62, '/'-63, 'A', 0, 0.
DATA b64lut<>+0(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+8(SB)/8, $0x000041f0edfcfcfc
DATA b64lut<>+16(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+24(SB)/8, $0x000041f0edfcfcfc
GLOBL b64lut<>(SB), RODATA|NOPTR, $32
