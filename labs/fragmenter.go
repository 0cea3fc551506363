package labs

import (
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// FragmenterMessage is what the fragmenter lab sends on every connection.
const FragmenterMessage = "This message left the fragmenter lab as many small writes of random " +
	"sizes with random pauses between them. TCP is a byte stream, not a " +
	"message stream: it keeps the bytes in order but not the boundaries " +
	"between sends, so one recv may return a few bytes or several writes " +
	"at once. A reader that wants the whole message must loop until it has " +
	"it all, here until the newline at the end or until EOF.\n"

// Fragment is one write of the fragmenter lab: Size bytes, written Pause
// after the previous write (the first Pause is always 0).
type Fragment struct {
	Size  int
	Pause time.Duration
}

// Fragments is how the fragmenter lab splits n bytes for a given seed. It
// uses a new math/rand/v2 PCG source seeded with (uint64(seed), 0) and, for
// each write in turn, draws the pause before it, Int64N(maxPause+1) (not
// drawn for the first write), then its size, 1+IntN(maxPiece), cut to
// what is left. Same arguments, same fragments, on every connection and
// every run. A maxPiece below 1 counts as 1, a negative maxPause as 0.
func Fragments(seed int64, n, maxPiece int, maxPause time.Duration) []Fragment {
	maxPiece = max(maxPiece, 1)
	maxPause = max(maxPause, 0)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	var fs []Fragment
	for off := 0; off < n; {
		var f Fragment
		if off > 0 {
			f.Pause = time.Duration(r.Int64N(int64(maxPause) + 1))
		}
		f.Size = min(1+r.IntN(maxPiece), n-off)
		fs = append(fs, f)
		off += f.Size
	}
	return fs
}

// serveFragmenter makes the lesson "one send is not one recv" repeatable:
// Go sets TCP_NODELAY, so every write leaves as its own segment, and the
// seeded pauses decide which of them the reader's recv calls merge.
func (s *Server) serveFragmenter(c net.Conn) {
	plan := Fragments(s.cfg.Seed, len(FragmenterMessage), s.cfg.FragmenterMaxPiece, s.cfg.FragmenterMaxPause)
	if !s.writeFragments(c, []byte(FragmenterMessage), plan) {
		return
	}
	s.finish(c)
}

// writeFragments writes b as plan says; it reports whether all of it went.
func (s *Server) writeFragments(w io.Writer, b []byte, plan []Fragment) bool {
	off := 0
	for _, f := range plan {
		if off+f.Size > len(b) || !s.pause(f.Pause) {
			return false
		}
		if _, err := w.Write(b[off : off+f.Size]); err != nil {
			return false
		}
		off += f.Size
	}
	return off == len(b)
}
