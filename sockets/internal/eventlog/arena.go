package eventlog

import (
	"sync"
	"unsafe"
)

// A fast stream's recvs land one after another in one big buffer, an
// arena, rather than each in a buffer of its own. A writer can then send
// the bytes of a run of them as one slice, straight from the arena,
// instead of copying every recv into its message, which at a gigabyte a
// second costs a sixth of the server's CPU. Each event still has its own
// bytes (capped, so that an append can never reach the next event's).
// When the log has dropped all of an arena's events and no reader can
// still be reading them, its loop recvs into it again (see retire): a
// stream through a full log then needs no new memory: fresh memory for
// every megabyte (zeroed by the allocator, then freed by the GC) costs a
// fifth of the server's CPU.

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
// as long as any of them is in the log, which is little to keep; a bigger
// short recv gets a buffer of its own (its copy costs more than its
// allocation).
const (
	smallCopy  = 4 << 10
	smallBlock = 32 << 10
)

// slabLen is how many small recvs' values a slab holds: one allocation
// for many events. A slab lives as long as any of its events is in the
// log, and with it their bytes: small ones only.
const slabLen = 32

// spareArenas bounds the arenas kept for reuse. A stream needs one at a
// time (the log drops an old arena about as often as its loop opens a new
// one); more would only be memory a session holds for nothing. Spare
// arenas are not counted in the log's weight: at most 2 MiB a session,
// and only while one of its loops runs.
const spareArenas = 2

// arena is one block of autorecv's memory.
type arena struct {
	buf []byte
	// seqs of the first and the newest logged events with bytes in buf;
	// 0 before one
	first, last int64
	open        bool // its loop may still recv into it
	// kept: a reader took its bytes for good (Keep): only the GC may
	// free it.
	kept bool
	// side is the values of the recvs in buf, in order: the first of
	// sideLen slot[T] of its loop's Recvs, held as a pointer so that
	// keeping it costs no allocation of its own. They live and die, or
	// are used again, with the bytes they point to.
	side    any
	sideLen int
}

// arenaPool is the log's side of the arenas: the spare ones, and what
// stops an arena from being used again.
type arenaPool struct {
	spare  []*arena // at most spareArenas, newest last
	live   int      // arenas some loop still recvs into
	reused int
	pins   pinSet
}

// pinSet is the borrowed reads not yet released. It has a lock of its own:
// a batch is released by whichever goroutine read it.
type pinSet struct {
	mu   sync.Mutex
	next uint64
	held map[uint64]pin
}

// pin is a borrowed read: the seqs of its first and last events, whose
// bytes its reader may still be reading.
type pin struct{ first, last int64 }

// ticket is a borrowed read's claim on its pin.
type ticket struct {
	set *pinSet
	id  uint64
}

func (p *arenaPool) pin(first, last int64) ticket {
	s := &p.pins
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[uint64]pin{}
	}
	s.next++
	s.held[s.next] = pin{first, last}
	return ticket{s, s.next}
}

// release ends a borrowed read; twice is once.
func (t ticket) release() {
	if t.set == nil {
		return
	}
	t.set.mu.Lock()
	delete(t.set.held, t.id)
	t.set.mu.Unlock()
}

// swap seals old, the arena a loop is done with, and returns one of size
// bytes for it (none when size is 0), a spare one if there is one. first
// is the oldest seq the log holds.
func (p *arenaPool) swap(old *arena, size int, first int64) *arena {
	var b *arena
	if size > 0 {
		b = p.spareArena(size)
		p.live++
	}
	if old != nil {
		old.open = false
		p.live--
		if old.last < first {
			p.retire(old) // none of its events is left (or there never was one)
		}
	}
	if p.live == 0 {
		p.spare = nil // no loop to use them
	}
	return b
}

// spareArena returns a spare arena of size bytes, or a new one.
func (p *arenaPool) spareArena(size int) *arena {
	for len(p.spare) > 0 {
		b := p.spare[len(p.spare)-1]
		p.spare[len(p.spare)-1] = nil
		p.spare = p.spare[:len(p.spare)-1]
		if len(b.buf) == size {
			// Not zeroed: a recv writes the room before anyone reads it,
			// and an event's bytes never reach past what its recv wrote.
			p.reused++
			return &arena{buf: b.buf, side: b.side, sideLen: b.sideLen, open: true}
		}
	}
	return &arena{buf: make([]byte, size), open: true}
}

// retire is told that no event in the log has bytes in b any more. b is
// kept for reuse only if nothing else may read it: its loop is done with
// it, no reader kept its bytes, and no borrowed read holds one of its
// events (b's events are all between its first and last; a read that
// holds none of them is no reason to wait).
func (p *arenaPool) retire(b *arena) {
	if b.open || b.kept || p.live == 0 || len(p.spare) == spareArenas {
		return
	}
	p.pins.mu.Lock()
	defer p.pins.mu.Unlock()
	for _, q := range p.pins.held {
		if b.first <= q.last && b.last >= q.first {
			return
		}
	}
	p.spare = append(p.spare, b)
}

// Recvs is one autorecv loop's memory: room for each recv, in arenas it
// shares with the log, and a T for each recv's event (its result), which
// lives and dies, or is used again, with the recv's bytes. Only its loop
// calls it; it takes the log owner's lock itself when it must reach the
// log (once an arena, not once a recv).
type Recvs[T any, E any] struct {
	log     *Log[E]
	owner   sync.Locker
	bufsize int
	cur     *arena // the current arena; cur.buf[off:] is free
	off     int
	full    bool   // the last recv filled its room
	small   []byte // room for the next short recvs' copies
	count   int    // recvs in cur so far
	free    []slot[T]
}

// slot is a recv's value with its JSON cache.
type slot[T any] struct {
	v   T
	enc encoding
}

// slotSize is the memory of one slot: what a recv's event points to.
func slotSize[T any]() int { return int(unsafe.Sizeof(slot[T]{})) }

// NewRecvs starts the memory of a loop that recvs bufsize bytes at a
// time into l's arenas; owner is the lock l's owner holds around every
// call of l's.
func NewRecvs[T, E any](l *Log[E], owner sync.Locker, bufsize int) *Recvs[T, E] {
	return &Recvs[T, E]{log: l, owner: owner, bufsize: bufsize}
}

// room is what is left of the current arena.
func (r *Recvs[T, E]) room() int {
	if r.cur == nil {
		return 0
	}
	return len(r.cur.buf) - r.off
}

// nextSize is the size of the next arena: a stream that fills every recv
// gets bigger arenas, up to the caps above; a trickle of short recvs stays
// at one bufsize, as a buffer per recv would.
func (r *Recvs[T, E]) nextSize() int {
	if !r.full || r.cur == nil {
		return r.bufsize
	}
	return max(r.bufsize, min(2*len(r.cur.buf), arenaRecvs*r.bufsize, maxArena))
}

// NextWeight is the most the next recv's event can weigh in the log: its
// bytes, and all of a new arena if it opens one.
func (r *Recvs[T, E]) NextWeight() int64 {
	extra := 0
	if r.room() < r.bufsize {
		extra = r.nextSize()
	}
	return Weight(r.bufsize, extra)
}

// Next returns room for one recv of bufsize bytes.
func (r *Recvs[T, E]) Next() []byte {
	if r.room() < r.bufsize {
		size := r.nextSize()
		r.owner.Lock()
		r.cur = r.log.arenas.swap(r.cur, size, r.log.first)
		r.owner.Unlock()
		r.off, r.count = 0, 0
		// Recvs of at least 3/4 bufsize: at most this many fit.
		if most := size/(r.bufsize-r.bufsize/4) + 1; r.cur.sideLen < most {
			r.cur.side, r.cur.sideLen = &make([]slot[T], most)[0], most
		}
	}
	return r.cur.buf[r.off : r.off+r.bufsize]
}

// Close gives up the loop's arena.
func (r *Recvs[T, E]) Close() {
	if r.cur != nil {
		r.owner.Lock()
		r.log.arenas.swap(r.cur, 0, r.log.first)
		r.owner.Unlock()
	}
	r.cur = nil
}

// Keep is told that the recv into Next's room got n bytes. It returns
// them as the event's bytes, a zeroed T for the event's result, and what
// the event holds, for Append. An arena holds only nearly full recvs, so
// that a few small events never keep a big arena alive: a short recv
// gets a copy of its own and its room is used again.
func (r *Recvs[T, E]) Keep(n int) (data []byte, v *T, h Holding) {
	r.full = n == r.bufsize
	buf := r.cur.buf
	if n == 0 || n < r.bufsize-r.bufsize/4 {
		if n > smallCopy {
			data = make([]byte, n)
		} else {
			// Small copies share a block: an allocation per short recv
			// would be one per event of an interactive stream.
			if len(r.small) < n {
				r.small = make([]byte, smallBlock)
			}
			data, r.small = r.small[:n:n], r.small[n:]
		}
		copy(data, buf[r.off:r.off+n])
		x := r.slot(n)
		return data, &x.v, Holding{bytes: n, own: slotSize[T](), enc: &x.enc}
	}
	end := r.off + n
	data = buf[r.off:end:end]
	h = Holding{bytes: n, rest: buf[r.off:], blk: r.cur}
	if r.off == 0 {
		// The first event of an arena is charged for all of it (its
		// bytes and the values of its recvs): if the loop ends now, it
		// alone keeps the arena alive.
		h.extra = len(buf) - n
		h.arena = len(buf) + r.cur.sideLen*slotSize[T]() + int(unsafe.Sizeof(arena{}))
	}
	r.off = end
	var x *slot[T]
	if side := unsafe.Slice(r.cur.side.(*slot[T]), r.cur.sideLen); r.count < len(side) {
		// The arena may be one used before: nothing of its old events is
		// left anywhere (see retire), and everything is set anew.
		x = &side[r.count]
		r.count++
		var zero T
		x.v = zero
		x.enc.b.Store(nil)
	} else {
		x = r.slot(n)
		h.own = slotSize[T]()
	}
	h.enc = &x.enc
	return data, &x.v, h
}

// slot returns a fresh slot for a recv of n bytes kept outside an arena:
// from a slab, or of its own when big, as a slab would keep the bytes of
// up to 31 dropped events alive with it, and an allocation is nothing next
// to the bytes.
func (r *Recvs[T, E]) slot(n int) *slot[T] {
	if n > smallCopy {
		return &slot[T]{}
	}
	if len(r.free) == 0 {
		r.free = make([]slot[T], slabLen)
	}
	x := &r.free[0]
	r.free = r.free[1:]
	return x
}
