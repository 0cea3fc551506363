package b64

import "golang.org/x/sys/cpu"

// haveAVX2 says whether encodeBlocks may use AVX2 (a variable, so that
// the tests can try the other way too).
var haveAVX2 = cpu.X86.HasAVX2

// encodeAVX2 is in base64_amd64.s.
//
//go:noescape
func encodeAVX2(dst, src []byte) int

// encodeBlocks encodes the start of src in base64 into dst, in blocks of
// 24 bytes with AVX2 where the CPU has it, and returns how many bytes of
// src it encoded (dst then holds 4/3 as many characters).
func encodeBlocks(dst, src []byte) int {
	if !haveAVX2 {
		return 0
	}
	return encodeAVX2(dst, src)
}
