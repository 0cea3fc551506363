package sockets

// A fast stream's recvs land one after another in one big buffer, an
// arena, rather than each in a buffer of its own. A writer can then send
// the bytes of a run of them as one slice, straight from the arena,
// instead of copying every recv into its message: at a gigabyte a second
// that copy was a sixth of the server's CPU. Each event still has its own
// bytes (Result.B64, capped so that an append can never reach the next
// event's). When the log has dropped all of an arena's events and no
// reader can still be reading them, its loop recvs into it again (see
// eventLog.retire): a stream through a full log then needs no new memory.

// An arena holds at most arenaRecvs full recvs and maxArena bytes (or one
// recv, if bufsize is bigger): what a socket's loop keeps while its stream
// pauses stays within 16 buffers of the size the user asked for, and a
// bigger arena would gain nothing (a message is about a megabyte).
const (
	arenaRecvs = 16
	maxArena   = 1 << 20
)

// A short recv of at most smallCopy bytes is copied into a block of
// smallBlock shared with the loop's next short recvs, so that an
// interactive stream's events are not an allocation each. A block lives
// as long as any of them is in the log, which is little to keep; a
// bigger short recv gets a buffer of its own (its copy costs more than
// its allocation).
const (
	smallCopy  = 4 << 10
	smallBlock = 32 << 10
)

// arena is one block of autorecv's memory. Once the log has dropped every
// event with bytes in it, and no reader still holds those bytes, its loop
// can recv into it again (see eventLog.retire): at a gigabyte a second,
// fresh memory for every megabyte (zeroed by the allocator, then freed by
// the GC) was a fifth of the server's CPU.
type arena struct {
	buf []byte
	// seqs of the first and the newest logged events with bytes in buf;
	// 0 before one
	first, last int64
	open        bool // its loop may still recv into it
	// kept: a reader took its bytes with no promise to give them back
	// (Session.EventsAfter): only the GC may free it.
	kept bool
	// results are the Results of the recvs in buf, in order: they live
	// and die (or are used again) with the bytes they point to.
	results []recvResult
}

// recvArena hands out autorecv's buffers for one loop.
type recvArena struct {
	bufsize int
	cur     *arena // the current arena; cur.buf[off:] is free
	off     int
	full    bool   // the last recv filled its room
	small   []byte // room for the next short recvs' copies (see keep)
	count   int    // recvs in cur so far
	slab    resultSlab
	// swap seals old (the loop is done with it) and returns an arena of
	// size bytes (nil when size is 0). It is the session's, which keeps
	// the arenas that can be used again; nil makes a new one each time.
	swap func(old *arena, size int) *arena
}

func newRecvArena(bufsize int, swap func(old *arena, size int) *arena) *recvArena {
	return &recvArena{bufsize: bufsize, swap: swap}
}

// room is what is left of the current arena.
func (a *recvArena) room() int {
	if a.cur == nil {
		return 0
	}
	return len(a.cur.buf) - a.off
}

// nextSize is the size of the next arena: a stream that fills every recv
// gets bigger arenas, up to the caps above; a trickle of short recvs stays
// at one bufsize, as a buffer per recv would.
func (a *recvArena) nextSize() int {
	if !a.full || a.cur == nil {
		return a.bufsize
	}
	return max(a.bufsize, min(2*len(a.cur.buf), arenaRecvs*a.bufsize, maxArena))
}

// nextExtra is the most the next recv's event can be charged beyond its
// bytes: all of a new arena, if the next recv opens one.
func (a *recvArena) nextExtra() int {
	if a.room() < a.bufsize {
		return a.nextSize()
	}
	return 0
}

// next returns room for one recv of bufsize bytes.
func (a *recvArena) next() []byte {
	if a.room() < a.bufsize {
		size := a.nextSize()
		if a.swap != nil {
			a.cur = a.swap(a.cur, size)
		} else {
			a.cur = &arena{buf: make([]byte, size), open: true}
		}
		a.off, a.count = 0, 0
		// Recvs of at least 3/4 bufsize: at most this many fit.
		if most := size/(a.bufsize-a.bufsize/4) + 1; len(a.cur.results) < most {
			a.cur.results = make([]recvResult, most)
		}
	}
	return a.cur.buf[a.off : a.off+a.bufsize]
}

// close tells the session that the loop is done with its arena.
func (a *recvArena) close() {
	if a.swap != nil && a.cur != nil {
		a.swap(a.cur, 0)
	}
	a.cur = nil
}

// keep is told that the recv into next's room got n bytes, and returns
// them as the event's bytes, with the arena they are in (nil when the
// bytes are a copy of their own), that arena from there on, and the
// memory the event holds beyond its bytes, which the log must count.
func (a *recvArena) keep(n int) (data, rest []byte, blk *arena, extra int) {
	a.full = n == a.bufsize
	buf := a.cur.buf
	if n == 0 || n < a.bufsize-a.bufsize/4 {
		// A short recv gets a copy of its own and its room is used again:
		// an arena holds only nearly full recvs, so that a few small
		// events never keep a big arena alive.
		if n > smallCopy {
			data = make([]byte, n)
		} else {
			// Small copies share a block: an allocation per short recv
			// would be one per event of an interactive stream.
			if len(a.small) < n {
				a.small = make([]byte, smallBlock)
			}
			data, a.small = a.small[:n:n], a.small[n:]
		}
		copy(data, buf[a.off:a.off+n])
		return data, nil, nil, 0
	}
	end := a.off + n
	data, rest = buf[a.off:end:end], buf[a.off:]
	if a.off == 0 {
		// The first event of an arena is charged for all of it: if the
		// loop ends now, it alone keeps the arena alive.
		extra = len(buf) - n
	}
	a.off = end
	return data, rest, a.cur, extra
}

// result returns the Result for the recv keep was just told of, n bytes
// kept in blk (nil: a copy), and the cache for its JSON. A recv in an
// arena gets them from the arena; a small copy from a slab; a big copy
// its own.
func (a *recvArena) result(n int, blk *arena) (*Result, *encoding) {
	if blk == nil || a.count >= len(blk.results) {
		return a.slab.next(n)
	}
	x := &blk.results[a.count]
	a.count++
	// The arena may be one used before: nothing of its old events is left
	// anywhere (see eventLog.retire), and everything is set anew.
	x.n = n
	x.r = Result{N: &x.n}
	x.enc.b.Store(nil)
	return &x.r, &x.enc
}

// AppendPayloads appends the bytes of evs' results to dst, in order, as
// few slices as memory allows: the bytes of recvs that follow one another
// in an autorecv arena come back as one slice. The slices are shared with
// the log: never write to them.
func AppendPayloads(dst [][]byte, evs []Event) [][]byte {
	for i := range evs {
		ev := &evs[i]
		d := ev.Result.payload()
		if len(d) == 0 {
			continue
		}
		if k := len(dst) - 1; k >= 0 && follows(dst[k], ev.arena) {
			dst[k] = dst[k][:len(dst[k])+len(d)]
			continue
		}
		if ev.arena != nil {
			d = ev.arena[:len(d)] // its capacity runs to the arena's end
		}
		dst = append(dst, d)
	}
	return dst
}

// follows reports whether rest (an event's arena from its bytes on) begins
// right where p ends: the same array, p's spare capacity exactly rest.
func follows(p, rest []byte) bool {
	if len(rest) == 0 || cap(p)-len(p) != cap(rest) {
		return false
	}
	return &p[:cap(p)][cap(p)-1] == &rest[:cap(rest)][cap(rest)-1]
}
