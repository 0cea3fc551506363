package labs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// fileLine is the width of every line of the file lab's content.
const fileLine = 64

// FileContent is what the file lab sends when its size is size: text lines
// of 64 bytes, each starting with its own offset in the file, cut at size
// bytes. Text rather than random bytes so that a partial or reordered
// transfer is visible in a recv at a glance: the numbers tell where the
// bytes belong.
func FileContent(size int) []byte {
	if size <= 0 {
		return nil
	}
	b := make([]byte, 0, size+fileLine)
	for off := 0; off < size; off += fileLine {
		b = fmt.Appendf(b, "%010d %-52.52s\n", off%1e10, "bytes into the sockplay file lab, 64 bytes a line ......")
	}
	return b[:size]
}

func fileSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
