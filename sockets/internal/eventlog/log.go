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

// Options are what a Log is told of its events.
type Options[E any] struct {
	// MaxBytes bounds the events held, by their Weight; past it the
	// oldest leave. 0: no bound.
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
}

// Log is the event log. See the package doc.
type Log[E any] struct {
	opts Options[E]

	chunks []chunk[E] // every chunk but the last is full
	off    int        // the first event held is chunks[0].evs[off]
	n      int        // events held
	first  int64      // seq of the first event held
	bytes  int64      // weight of the events held
	total  int64      // weight of every event ever appended

	encs []encoding // JSON caches for the next events, handed out in order

	arenas arenaPool
	readers
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
}

// Holding is what an event holds beyond its own fields, as Append is told
// it: how many bytes (its payload, a send's data), and for a recv that
// Recvs.Keep made, the arena they are in and its JSON cache.
type Holding struct {
	bytes int
	rest  []byte
	blk   *arena
	extra int // the arena's bytes it keeps alive besides its own
	enc   *encoding
}

// Bytes is the Holding of an event that holds n bytes of its own.
func Bytes(n int) Holding { return Holding{bytes: n} }

// overhead approximates an event's memory beyond its bytes: the event,
// what it points to, and its JSON once a reader has encoded it (an
// autorecv(16) event measured 850 bytes with its JSON, 550 without).
const overhead = 768

// Weight is the log's estimate of the memory of an event with payload
// and other bytes and extra bytes of an arena it keeps alive: its JSON,
// when made, is about as big again as its bytes in base64.
func Weight(bytes, extra int) int64 {
	return overhead + 3*int64(bytes) + int64(extra)
}

// New returns an empty log.
func New[E any](o Options[E]) *Log[E] {
	l := &Log[E]{opts: o, first: 1}
	l.readers.init()
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
	switch {
	case h.enc != nil:
		// Autorecv's, with its memory.
	case h.bytes > smallCopy:
		h.enc = &encoding{} // a slab would keep a dropped event's big JSON alive
	default:
		if len(l.encs) == 0 {
			// A slab at a time: an allocation per event would be one on
			// autorecv's hot path.
			l.encs = make([]encoding, 64)
		}
		h.enc = &l.encs[0]
		l.encs = l.encs[1:]
	}
	w := h.Weight()
	l.total += w
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == chunkLen {
		// A chunk starts small and grows by append up to chunkLen: most
		// sessions are short, and an idle one must not hold a full chunk
		// (a thousand sessions would be 200 MB).
		l.chunks = append(l.chunks, make(chunk[E], 0, 4))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, entry[E]{ev: ev, m: held{rest: h.rest, blk: h.blk, enc: h.enc, weight: w, cum: l.total}})
	// Numbered in place: handing the function a pointer to ev would
	// move ev to the heap, an allocation per event.
	l.opts.Number(&(*c)[len(*c)-1].ev, seq)
	l.n++
	l.bytes += w
	if b := h.blk; b != nil {
		if b.first == 0 {
			b.first = seq
		}
		b.last = seq
	}
	for l.opts.MaxBytes > 0 && l.bytes > l.opts.MaxBytes && l.n > 1 {
		l.dropOldest()
	}
	return seq
}

// dropOldest lets the oldest event go.
func (l *Log[E]) dropOldest() {
	ev, m := l.at(0)
	l.bytes -= m.weight
	m.enc.b.Store(nil) // its slab may outlive it
	if b := m.blk; b != nil && b.last == l.first {
		l.arenas.retire(b) // its last event leaves the log
	}
	var zero E
	*ev, *m = zero, held{} // let its memory go
	l.off++
	l.n--
	l.first++
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
	return Batch[E]{evs: evs, mem: mem, opts: &l.opts, pin: l.arenas.pin(l.first+int64(i), l.first+int64(end-1))}
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
