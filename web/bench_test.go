package web

import (
	"hash/crc32"
	"net"
	"testing"
)

// pattern is what the bulk source writes, over and over; the client checks
// every byte it gets against it.
var pattern = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}()

// oneClient accepts one connection on loopback and hands it to write,
// which writes until it returns false or a write fails; then it closes.
func oneClient(tb testing.TB, write func(c net.Conn) bool) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		for write(c) {
		}
	}()
	return ln.Addr().String()
}

// patternCRC extends crc over n bytes of the repeated pattern from offset.
func patternCRC(crc uint32, offset, n int) uint32 {
	for n > 0 {
		o := offset % len(pattern)
		k := min(n, len(pattern)-o)
		crc = crc32.Update(crc, crc32.IEEETable, pattern[o:o+k])
		offset += k
		n -= k
	}
	return crc
}

// finiteSource accepts one connection on loopback, writes data and closes.
func finiteSource(tb testing.TB, data []byte) string {
	return oneClient(tb, func(c net.Conn) bool {
		_, _ = c.Write(data)
		return false
	})
}
