// Package eventlog is a session's append-only event log and the memory
// behind it: events numbered from 1 and held within a byte budget (the
// oldest leave first, and readers learn of the gap from the numbers); each
// event's JSON, made once and shared by every reader; autorecv's arenas
// and slabs, used again once nobody can read what is in them; and the
// readers' cursors, which set the pace of the loops that fill the log.
//
// It knows nothing of sessions or sockets: an event is a value of any
// type E, and what the log must know of one (its seq, its JSON, the bytes
// it holds) it is told.
//
// Reading is borrowing or keeping. A Batch is a borrowed read: its
// events' bytes and JSON are the reader's until it calls Release, after
// which autorecv may recv into that memory again. Keep copies events out
// for good, and the log never reuses their memory.
//
// A Log is not safe for concurrent use: its owner serialises every call
// (the session holds its lock), except Batch's methods, which any
// goroutine may call.
package eventlog

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Options are what a Log is told of its events.
type Options[E any] struct {
	// MaxBytes bounds the memory of the events held (see Mem); past it
	// the oldest leave. 0: no bound.
	MaxBytes int64
	// MaxLagEvents and MaxLagBytes say how far readers may fall behind
	// before Behind says a loop should wait.
	MaxLagEvents int
	MaxLagBytes  int64
	// Number is told each event's seq as it joins the log.
	Number func(e *E, seq int64)
	// Encode appends e's JSON to dst: what every reader gets.
	Encode func(dst []byte, e *E) []byte
	// Payload is e's payload: the bytes a reader may write out as they
	// are (see Batch.Payloads).
	Payload func(e *E) []byte
	// Budget, if set, bounds this log's memory together with the other
	// logs in it; Owner is the lock the log's owner holds around every
	// call of the log's, which the budget takes to trim it.
	Budget *Budget
	Owner  sync.Locker
}

// Log is the event log. See the package doc.
type Log[E any] struct {
	opts Options[E]

	chunks []chunk[E] // every chunk but the last is full
	off    int        // the first event held is chunks[0].evs[off]
	n      int        // events held
	first  int64      // seq of the first event held
	bytes  int64      // memory of the events held, JSON made included (see Mem)
	total  int64      // weight of every event ever appended
	json   jsonMeter  // the JSON readers made, not yet in bytes

	encs []encoding // JSON caches for the next events, handed out in order

	arenas arenaPool
	readers
	share *share // its part in Options.Budget; nil: none
}

// chunk holds up to chunkLen events, each with what the log keeps of it,
// so that a log of millions of events never copies itself to grow.
type chunk[E any] []entry[E]

type entry[E any] struct {
	ev E
	m  held
}

const chunkLen = 1024

// held is what the log keeps of an event besides the event itself.
type held struct {
	// For a recv in one of autorecv's arenas: the arena from the
	// recv's first byte to its end, which lets Payloads see that the
	// next event's bytes follow these in memory; and the arena.
	rest   []byte
	blk    *arena
	enc    *encoding // its JSON cache
	weight int64
	cum    int64 // the log's total weight up to and including this event
	mem    int64 // its memory (Mem), its JSON aside
}

// jsonMeter is how a reader, which holds no lock of the log's, tells it
// of the JSON it made for an event (see Batch.JSON), and learns which
// events the log has let go.
type jsonMeter struct {
	made  atomic.Int64 // bytes of JSON made since the log last took them in
	first atomic.Int64 // the log's first seq
}

// jsonCost is the memory of a JSON cache once made: its bytes and the
// slice the cache points to.
func jsonCost(js []byte) int64 { return int64(cap(js)) + int64(unsafe.Sizeof(js)) }

// Holding is what an event holds beyond its own fields, as Append is told
// it: how many bytes (its payload, a send's data), the size of the values
// it points to, and for a recv that Recvs.Keep made, the arena they are
// in and its JSON cache.
type Holding struct {
	bytes int
	own   int // the values the event points to, its bytes aside
	rest  []byte
	blk   *arena
	extra int // the arena's bytes it keeps alive besides its own
	arena int // the arena's memory, for the recv that opened it
	enc   *encoding
}

// Bytes is the Holding of an event that holds n bytes of its own
// (payload, data) and values of own bytes (its result, its arguments).
func Bytes(n, own int) Holding { return Holding{bytes: n, own: own} }

// overhead is what an event counts against readers' lag beyond its bytes.
const overhead = 768

// Weight is what an event with bytes of its own and extra bytes of an
// arena it keeps alive counts against readers' lag (Behind) and a
// Borrow's budget: more than its memory (Mem), by design, since it
// reckons with the JSON a reader may make of it, about as big again as
// its bytes in base64, so that loops pause before unread events could
// leave a full log. It is not what the log's memory is counted in.
func Weight(bytes, extra int) int64 {
	return overhead + 3*int64(bytes) + int64(extra)
}

// Mem is the memory the log counts for an event of h, as an entry of l:
// the entry in its chunk (the event and what the log keeps of it), the
// values it points to (its JSON cache's slot among them), and its bytes,
// or for a recv in an arena the arena (its bytes and its recvs' values)
// if it opened it. (Once the event that opened an arena has left, the
// rest of the arena is not counted until its last event leaves: at most
// an arena a loop, a megabyte.) JSON, once a reader makes it, is added
// then (see Batch.JSON). These are the real structures' sizes:
// BenchmarkLogMemory in package sockets sets them against the heap.
func (l *Log[E]) Mem(h Holding) int64 {
	b := h.bytes
	if h.blk != nil {
		// Its bytes are in the arena, which the event that opened it
		// counts whole: the others count none again.
		b = h.arena
	}
	return int64(unsafe.Sizeof(entry[E]{})) + int64(h.own) + int64(b)
}

// New returns an empty log.
func New[E any](o Options[E]) *Log[E] {
	l := &Log[E]{opts: o, first: 1}
	l.json.first.Store(1)
	l.readers.init()
	if o.Budget != nil {
		l.join(o.Budget, o.Owner)
	}
	return l
}

// Last is the seq of the newest event, 0 if none.
func (l *Log[E]) Last() int64 { return l.first + int64(l.n) - 1 }

// First is the seq of the oldest event still held (Last()+1 if none).
func (l *Log[E]) First() int64 { return l.first }

// Reused counts the arenas handed out again, for tests and profiles.
func (l *Log[E]) Reused() int { return l.arenas.reused }

// ArenasLive says how many arenas loops still recv into, and how many are
// spare, for tests.
func (l *Log[E]) ArenasLive() (live, spare int) { return l.arenas.live, len(l.arenas.spare) }

// at is the i-th event held (0 is the oldest) and what is kept of it.
func (l *Log[E]) at(i int) (*E, *held) {
	j := l.off + i
	e := &l.chunks[j/chunkLen][j%chunkLen]
	return &e.ev, &e.m
}

// Append numbers ev, keeps it with what it holds, and drops the oldest
// events past MaxBytes (never the newest one). It returns ev's seq.
func (l *Log[E]) Append(ev E, h Holding) int64 {
	seq := l.Last() + 1
	l.takeJSON()
	switch {
	case h.enc != nil:
		// Autorecv's, with its memory.
	case h.bytes > smallCopy:
		h.enc = &encoding{} // a slab would keep a dropped event's big JSON alive
		h.own += int(unsafe.Sizeof(encoding{}))
	default:
		h.own += int(unsafe.Sizeof(encoding{}))
		if len(l.encs) == 0 {
			// A slab at a time: an allocation per event would be one on
			// autorecv's hot path.
			l.encs = make([]encoding, 64)
		}
		h.enc = &l.encs[0]
		l.encs = l.encs[1:]
	}
	w, mem := h.Weight(), l.Mem(h)
	l.total += w
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == chunkLen {
		// A chunk starts small and grows by append up to chunkLen: most
		// sessions are short, and an idle one must not hold a full chunk
		// (a thousand sessions would be 200 MB).
		l.chunks = append(l.chunks, make(chunk[E], 0, 4))
	}
	c := &l.chunks[len(l.chunks)-1]
	if len(*c) == cap(*c) {
		// Doubled by hand: append's growth would overshoot chunkLen
		// (from 512 to 832 to 1232), a fifth more memory in every chunk.
		*c = append(make(chunk[E], 0, min(2*cap(*c), chunkLen)), *c...)
	}
	*c = append(*c, entry[E]{ev: ev, m: held{rest: h.rest, blk: h.blk, enc: h.enc, weight: w, cum: l.total, mem: mem}})
	// Numbered in place: handing the function a pointer to ev would
	// move ev to the heap, an allocation per event.
	l.opts.Number(&(*c)[len(*c)-1].ev, seq)
	l.n++
	l.count(mem)
	if b := h.blk; b != nil {
		if b.first == 0 {
			b.first = seq
		}
		b.last = seq
	}
	for l.opts.MaxBytes > 0 && l.bytes > l.opts.MaxBytes && l.n > 1 {
		l.dropOldest()
	}
	if sh := l.share; sh != nil {
		for sh.b.total.Load() > sh.b.max+sh.b.slack() && l.n > 1 {
			l.dropOldest()
		}
	}
	return seq
}

// dropOldest lets the oldest event go.
func (l *Log[E]) dropOldest() {
	ev, m := l.at(0)
	l.count(-m.mem)
	l.first++
	l.json.first.Store(l.first)
	// Its slab may outlive it. Whoever takes its JSON out counts it
	// out: here, or a reader that made it just as the event left.
	if p := m.enc.b.Swap(nil); p != nil {
		l.count(-jsonCost(*p))
	}
	if b := m.blk; b != nil && b.last == l.first-1 {
		l.arenas.retire(b) // its last event leaves the log
	}
	var zero E
	*ev, *m = zero, held{} // let its memory go
	l.off++
	l.n--
	if l.off == chunkLen {
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
		l.off = 0
	}
}

// span finds the events to read after seq: up to max of them (0: any
// number) and, when maxBytes > 0, no more than fit in maxBytes of weight
// (but at least one). If the ones right after seq were dropped, it starts
// at the oldest held. It returns their indexes, [i, end).
func (l *Log[E]) span(seq int64, max int, maxBytes int64) (i, end int) {
	i = int(max64(seq-l.first+1, 0))
	if i >= l.n {
		return 0, 0
	}
	end = l.n
	if max > 0 && i+max < end {
		end = i + max
	}
	if maxBytes > 0 {
		// cum grows with seq: find the last event within the budget.
		_, m := l.at(i)
		base := m.cum - m.weight
		lo, hi := i+1, end // the answer is in [lo, hi]
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if _, m := l.at(mid - 1); m.cum-base <= maxBytes {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		end = lo
	}
	return i, end
}

// copyOut appends events [i, end) and what is kept of each to evs and mem.
func (l *Log[E]) copyOut(i, end int, evs []E, mem []held) ([]E, []held) {
	for k := i; k < end; {
		j := l.off + k
		c := l.chunks[j/chunkLen]
		from := j % chunkLen
		take := min(len(c)-from, end-k)
		for _, e := range c[from : from+take] {
			evs = append(evs, e.ev)
			mem = append(mem, e.m)
		}
		k += take
	}
	return evs, mem
}

// Borrow reads up to max events after seq (0: any number), no more than
// fit in maxBytes of weight when maxBytes > 0 (but at least one). If the
// events right after seq were dropped, the batch starts at the oldest
// held: its first seq tells. The batch must be released.
func (l *Log[E]) Borrow(seq int64, max int, maxBytes int64) Batch[E] {
	i, end := l.span(seq, max, maxBytes)
	if i == end {
		return Batch[E]{}
	}
	evs, mem := l.copyOut(i, end, make([]E, 0, end-i), make([]held, 0, end-i))
	return Batch[E]{evs: evs, mem: mem, opts: &l.opts, pin: l.arenas.pin(l.first+int64(i), l.first+int64(end-1)),
		json: &l.json, seq0: l.first + int64(i)}
}

// Keep copies up to max events after seq (0: any number) for the caller
// to keep: the memory of their bytes is never used again.
func (l *Log[E]) Keep(seq int64, max int) []E {
	i, end := l.span(seq, max, 0)
	evs, mem := l.copyOut(i, end, make([]E, 0, end-i), make([]held, 0, end-i))
	for _, m := range mem {
		if m.blk != nil {
			m.blk.kept = true
		}
	}
	return evs
}

// weightUpTo is the weight of every event up to and including seq.
func (l *Log[E]) weightUpTo(seq int64) int64 {
	switch {
	case seq <= 0 || l.n == 0:
		return 0
	case seq < l.first:
		_, m := l.at(0)
		return m.cum - m.weight
	case seq > l.Last():
		return l.total
	}
	_, m := l.at(int(seq - l.first))
	return m.cum
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// Weight is the event's weight in the log: its bytes, and what it keeps
// of an arena.
func (h Holding) Weight() int64 { return Weight(h.bytes, h.extra) }

// Bytes is the memory of the events held, as Mem counts it, with the JSON
// readers have made of them.
func (l *Log[E]) Bytes() int64 {
	l.takeJSON()
	return l.bytes
}

// count adds n bytes to the log's memory (n < 0: takes them away), and to
// its budget's.
func (l *Log[E]) count(n int64) {
	l.bytes += n
	if l.share != nil {
		l.share.add(n)
	}
}

// takeJSON counts the JSON readers made since it last did.
func (l *Log[E]) takeJSON() {
	if n := l.json.made.Swap(0); n != 0 {
		l.count(n)
	}
}
