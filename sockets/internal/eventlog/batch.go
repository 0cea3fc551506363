package eventlog

import "sync/atomic"

// Batch is a borrowed read of the log: a run of events in seq order, their
// JSON and their bytes, the reader's until Release. Release it as soon as
// it is written out: until then autorecv cannot recv into its events'
// memory again. After Release nothing of the batch may be read; events
// copied out of it before then are safe to keep only if they hold no
// bytes of their own. The zero Batch is empty.
type Batch[E any] struct {
	evs  []E
	mem  []held
	opts *Options[E]
	pin  ticket
	json *jsonMeter // its log's; nil: in no log
	seq0 int64      // the first event's seq
}

// Len is how many events the batch has.
func (b Batch[E]) Len() int { return len(b.evs) }

// Events are the batch's events. They are the batch's: never change them.
func (b Batch[E]) Events() []E { return b.evs }

// JSON is event i's JSON, made the first time a reader asks for it and
// then shared with every reader: never change it, nor append to it.
// Encoding lazily keeps it off the goroutine that made the event (an
// autorecv loop), and once saves it for every other reader. (Two readers
// asking at the same moment may both encode it; both get the one kept.)
// The log counts the JSON kept as its memory.
func (b Batch[E]) JSON(i int) []byte {
	enc := b.mem[i].enc
	if p := enc.b.Load(); p != nil {
		return *p
	}
	js := b.opts.Encode(nil, &b.evs[i])
	p := &js
	if !enc.b.CompareAndSwap(nil, p) {
		if q := enc.b.Load(); q != nil {
			return *q
		}
		return js // it left the log meanwhile: nothing is kept
	}
	if m := b.json; m != nil {
		m.made.Add(jsonCost(js))
		// If the event left the log just now, its JSON must not stay
		// (nothing would count it out again): whichever of the log and
		// this reader takes it out of the cache counts it out.
		if b.seq0+int64(i) < m.first.Load() && enc.b.CompareAndSwap(p, nil) {
			m.made.Add(-jsonCost(js))
		}
	}
	return js
}

// bigJSON is the payload past which an event's JSON is not kept by
// AppendJSON: the log would hold a second, base64 copy of a fast stream
// (allocated, zeroed and collected at a gigabyte a second) that no reader
// of the page's binary form reads, while a reader of JSON writes it into
// its own buffer in about the time a copy of a kept one would take.
const bigJSON = 4 << 10

// AppendJSON appends event i's JSON to dst: the shared one (see JSON) when
// it is made already or the event is small; a big event's is written
// straight into dst and not kept.
func (b Batch[E]) AppendJSON(dst []byte, i int) []byte {
	if p := b.mem[i].enc.b.Load(); p != nil {
		return append(dst, *p...)
	}
	if len(b.opts.Payload(&b.evs[i])) <= bigJSON {
		return append(dst, b.JSON(i)...)
	}
	return b.opts.Encode(dst, &b.evs[i])
}

// Payloads appends the payloads of events [i, j) to dst, in order, as few
// slices as memory allows: the bytes of recvs that follow one another in
// an arena come back as one slice. The slices are the log's: never write
// to them.
func (b Batch[E]) Payloads(dst [][]byte, i, j int) [][]byte {
	for k := i; k < j; k++ {
		m, d := &b.mem[k], b.opts.Payload(&b.evs[k])
		if len(d) == 0 {
			continue
		}
		if k := len(dst) - 1; k >= 0 && follows(dst[k], m.rest) {
			dst[k] = dst[k][:len(dst[k])+len(d)]
			continue
		}
		if m.rest != nil {
			d = m.rest[:len(d)] // its capacity runs to the arena's end
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

// Release gives the batch back; twice is once.
func (b Batch[E]) Release() { b.pin.release() }

// encoding is an event's JSON, made once and shared by every copy of the
// event (they share the pointer).
type encoding struct{ b atomic.Pointer[[]byte] }

// BatchOf is a batch of events that are in no log (a test's, say): its
// JSON is made as a log's would be, and releasing it is nothing.
func BatchOf[E any](o Options[E], evs []E) Batch[E] {
	mem := make([]held, len(evs))
	for i := range mem {
		mem[i].enc = &encoding{}
	}
	return Batch[E]{evs: evs, mem: mem, opts: &o}
}
