//go:build !amd64

package b64

// haveAVX2 is false off amd64: appendBase64 does all the work.
var haveAVX2 = false

// encodeBlocks encodes nothing where there is no vector encoder.
func encodeBlocks(dst, src []byte) int { return 0 }
