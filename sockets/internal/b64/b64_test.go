package b64

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// base64Ways runs f with each way AppendEncode can go on this machine:
// with the vector encoder, if the CPU has one, and without.
func base64Ways(f func(way string)) {
	have := haveAVX2
	defer func() { haveAVX2 = have }()
	if have {
		f("AVX2")
	}
	haveAVX2 = false
	f("Go")
}

func TestAppendEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 4096)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	base64Ways(func(way string) {
		for n := range 300 {
			for _, off := range []int{0, 1, 5, 31} {
				for _, room := range []int{0, 3, 1000} {
					dst := make([]byte, 2, 2+room)
					in := src[off : off+n]
					got := AppendEncode(dst, in)
					if want := "\x00\x00" + base64.StdEncoding.EncodeToString(in); string(got) != want {
						t.Fatalf("%s, %d bytes at %d: got %q, want %q", way, n, off, got, want)
					}
				}
			}
		}
		// Every 6-bit value in every position of a block.
		all := make([]byte, 3*64*8)
		for i := range all {
			all[i] = byte(i * 37 / 3)
		}
		for i := 0; i+3 <= len(all); i += 3 {
			v := i / 3 % 64
			all[i], all[i+1], all[i+2] = byte(v<<2|v>>4), byte(v<<4|v>>2), byte(v<<6|v)
		}
		if got, want := AppendEncode(nil, all), base64.StdEncoding.EncodeToString(all); string(got) != want {
			t.Fatalf("%s: every value: got %q, want %q", way, got, want)
		}
	})
}

// FuzzAppendEncode holds AppendEncode to the standard encoder, each way.
func FuzzAppendEncode(f *testing.F) {
	f.Add([]byte("hello"), 0)
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x7f}, 40), 5)
	f.Fuzz(func(t *testing.T, src []byte, room int) {
		base64Ways(func(way string) {
			dst := make([]byte, 1, 1+max(0, room%64))
			if got, want := AppendEncode(dst, src)[1:], base64.StdEncoding.EncodeToString(src); string(got) != want {
				t.Fatalf("%s, %x: got %q, want %q", way, src, got, want)
			}
		})
	})
}

// BenchmarkAppendEncode compares AppendEncode with the standard encoder:
//
//	go test ./sockets/internal/b64 -bench .
func BenchmarkAppendEncode(b *testing.B) {
	data := make([]byte, 65536)
	for _, way := range []struct {
		name string
		enc  func(dst, src []byte) []byte
	}{{"AppendEncode", AppendEncode}, {"stdlib", base64.StdEncoding.AppendEncode}} {
		b.Run(way.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out []byte
			for range b.N {
				out = way.enc(out[:0], data)
			}
		})
	}
}
