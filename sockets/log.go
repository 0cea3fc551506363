package sockets

import (
	"sync/atomic"
	"time"
)

// eventLog is a session's event log: append-only and numbered from 1. It
// holds at most maxBytes of events in memory; past that the oldest leave
// first, and readers learn of the gap from the seq numbers (never a silent
// skip: a reader's next event has a seq beyond the one it expected).
// Events are kept in chunks of logChunk (every chunk but the last is
// full), so a log of millions of events never copies itself to grow. The caller holds the session's lock.
type eventLog struct {
	chunks   [][]Event // each of cap logChunk; the first event held is chunks[0][off]
	off      int
	n        int   // events held
	first    int64 // seq of the first event held
	bytes    int64 // size of the events held
	total    int64 // size of every event ever appended
	maxBytes int64

	// Autorecv's arenas that can be used again, and what stops them.
	spare []*arena // at most spareArenas, newest last
	live  int      // arenas some loop still recvs into
	pins  []pin    // the borrowed reads not yet given back
	reuse int      // arenas handed out again, for tests and profiles

	encs []encoding // the next events' encodings, handed out in order
}

// spareArenas bounds the arenas kept for reuse. A stream needs one at a
// time (the log drops an old arena about as often as its loop opens a new
// one); more would only be memory a session holds for nothing.
// The spare arenas are not counted in the log's memory: at most 2 MiB a
// session, and only while one of its loops runs.
const spareArenas = 2

// pin is a borrowed read: the seqs of its first and last events, whose
// bytes its reader may still be reading.
type pin struct{ first, last int64 }

const logChunk = 1024

// eventOverhead approximates an event's memory beyond its payload: the
// Event, its Args and Result, and its JSON once a viewer has encoded it
// (an autorecv(16) event measured 850 bytes with its JSON, 550 without).
const eventOverhead = 768

// eventSize is the log's estimate of an event's memory with data bytes of
// payload and extra bytes it keeps alive: its JSON, when made, is about as
// big again as its data in base64.
func eventSize(data, extra int) int64 {
	return eventOverhead + 3*int64(data) + int64(extra)
}

func newEventLog(maxBytes int64) *eventLog {
	return &eventLog{first: 1, maxBytes: maxBytes}
}

func (l *eventLog) last() int64 { return l.first + int64(l.n) - 1 }

// lastT is the time of the newest event, 0 if none.
func (l *eventLog) lastT() int64 {
	if l.n == 0 {
		return 0
	}
	return l.at(l.n - 1).T
}

// at is the i-th event held (0 is the oldest).
func (l *eventLog) at(i int) *Event {
	j := l.off + i
	return &l.chunks[j/logChunk][j%logChunk]
}

// encoding is an event's JSON, made once by whichever viewer needs it
// first and shared by the copies of the event (they share the pointer).
// Encoding lazily keeps it off the goroutine that produced the event
// (an autorecv loop), and doing it once saves it for every other viewer.
type encoding struct{ b atomic.Pointer[[]byte] }

// JSON is the event encoded without reply: the bytes every viewer gets.
func (ev Event) JSON() []byte {
	if ev.enc != nil {
		if b := ev.enc.b.Load(); b != nil {
			return *b
		}
	}
	ev.Reply = nil
	b := marshalEvent(&ev)
	if ev.enc != nil {
		ev.enc.b.Store(&b)
	}
	return b
}

// add numbers ev, keeps it, and drops the oldest events past the limit
// (never the newest one).
func (l *eventLog) add(ev Event) Event {
	ev.Seq = l.last() + 1
	switch {
	case ev.enc != nil:
		// Autorecv's: its arena's, its slab's or its own.
	case len(ev.Result.payload())+ev.Args.dataLen() > smallCopy:
		ev.enc = &encoding{} // a slab would keep a dropped event's big JSON alive
	default:
		if len(l.encs) == 0 {
			// A slab at a time: an allocation per event would be one
			// on autorecv's hot path.
			l.encs = make([]encoding, 64)
		}
		ev.enc = &l.encs[0]
		l.encs = l.encs[1:]
	}
	ev.size = eventSize(len(ev.Result.payload())+ev.Args.dataLen(), ev.extra)
	l.total += ev.size
	ev.cum = l.total
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == logChunk {
		// A chunk starts small and grows by append up to logChunk: most
		// sessions are short, and an idle one must not hold a full
		// chunk (a thousand sessions would be 200 MB).
		l.chunks = append(l.chunks, make([]Event, 0, 4))
	}
	k := len(l.chunks) - 1
	l.chunks[k] = append(l.chunks[k], ev)
	l.n++
	l.bytes += ev.size
	if b := ev.blk; b != nil {
		if b.first == 0 {
			b.first = ev.Seq
		}
		b.last = ev.Seq
	}
	for l.maxBytes > 0 && l.bytes > l.maxBytes && l.n > 1 {
		oldest := l.at(0)
		l.bytes -= oldest.size
		if oldest.enc != nil {
			oldest.enc.b.Store(nil) // its slab may outlive it
		}
		if b := oldest.blk; b != nil && b.last == oldest.Seq {
			l.retire(b) // its last event leaves the log
		}
		*oldest = Event{} // let its data go
		l.off++
		l.n--
		l.first++
		if l.off == logChunk {
			l.chunks[0] = nil
			l.chunks = l.chunks[1:]
			l.off = 0
		}
	}
	return ev
}

// after returns up to max events with seq > seq, and when maxBytes > 0 no
// more than fit in maxBytes of estimated size (but at least one). If the
// ones right after seq were dropped, it starts at the oldest it still has.
// A borrowing caller promises to give the events back (unpin) and is
// pinned; otherwise the arenas the events' bytes are in are never reused.
func (l *eventLog) after(seq int64, max int, maxBytes int64, borrow bool) []Event {
	i := seq - l.first + 1
	if i < 0 {
		i = 0
	}
	n := int64(l.n)
	if i >= n {
		return nil
	}
	end := n
	if max > 0 && i+int64(max) < end {
		end = i + int64(max)
	}
	if maxBytes > 0 {
		// cum grows with seq: find the last event within the budget.
		base := l.at(int(i)).cum - l.at(int(i)).size
		lo, hi := i+1, end // the answer is in [lo, hi]
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if l.at(int(mid-1)).cum-base <= maxBytes {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		end = lo
	}
	out := make([]Event, 0, end-i)
	for int64(len(out)) < end-i {
		j := l.off + int(i) + len(out)
		chunk := l.chunks[j/logChunk]
		from := j % logChunk
		take := min(len(chunk)-from, int(end-i)-len(out))
		out = append(out, chunk[from:from+take]...)
	}
	switch {
	case borrow && len(out) > 0:
		l.pins = append(l.pins, pin{out[0].Seq, out[len(out)-1].Seq})
	case !borrow:
		for i := range out {
			if b := out[i].blk; b != nil {
				b.kept = true
			}
		}
	}
	return out
}

// unpin ends the borrowed read p.
func (l *eventLog) unpin(p pin) {
	for i, q := range l.pins {
		if q == p {
			l.pins[i] = l.pins[len(l.pins)-1]
			l.pins = l.pins[:len(l.pins)-1]
			return
		}
	}
}

// swapArena seals old, the arena a loop is done with, and returns one of
// size bytes for it (none when size is 0), a spare one if the log has it.
func (l *eventLog) swapArena(old *arena, size int) *arena {
	var b *arena
	if size > 0 {
		b = l.spareArena(size)
		l.live++
	}
	if old != nil {
		old.open = false
		l.live--
		if old.last < l.first {
			l.retire(old) // none of its events is left (or there never was one)
		}
	}
	if l.live == 0 {
		l.spare = nil // no loop to use them
	}
	return b
}

// spareArena returns a spare arena of size bytes, or a new one.
func (l *eventLog) spareArena(size int) *arena {
	for len(l.spare) > 0 {
		b := l.spare[len(l.spare)-1]
		l.spare[len(l.spare)-1] = nil
		l.spare = l.spare[:len(l.spare)-1]
		if len(b.buf) == size {
			// Not zeroed: a recv writes the room before anyone reads it,
			// and an event's bytes never reach past what its recv wrote.
			l.reuse++
			return &arena{buf: b.buf, results: b.results, open: true}
		}
	}
	return &arena{buf: make([]byte, size), open: true}
}

// retire is told that no event in the log has bytes in b any more. b is
// kept for reuse only if nothing else may read it: its loop is done with
// it, no reader took its bytes for good, and no borrowed read holds one
// of its events (b's events are all between its first and last; a read
// that holds none of them is no reason to wait).
func (l *eventLog) retire(b *arena) {
	if b.open || b.kept || l.live == 0 || len(l.spare) == spareArenas {
		return
	}
	for _, p := range l.pins {
		if b.first <= p.last && b.last >= p.first {
			return
		}
	}
	l.spare = append(l.spare, b)
}

// cumAt is the size of all events up to and including seq.
func (l *eventLog) cumAt(seq int64) int64 {
	switch {
	case seq <= 0 || l.n == 0:
		return 0
	case seq < l.first:
		return l.at(0).cum - l.at(0).size
	case seq > l.last():
		return l.total
	}
	return l.at(int(seq - l.first)).cum
}

func (r *Result) payload() []byte {
	if r == nil {
		return nil
	}
	return r.B64
}

func (a *Args) dataLen() int {
	if a == nil || a.Data == nil || a.Data.B64 == nil {
		return 0
	}
	return len(*a.Data.B64)
}

// Viewer is one reader of a session's log (a WebSocket, say). Its cursor
// is how far it has got; autorecv waits while the owner's most advanced
// tab is far behind (with no owner's tab, the most advanced reader), so a
// stalled tab cannot stop the others and no watcher sets the pace.
type Viewer struct {
	s       *Session
	cursor  int64
	watcher bool
}

// Attach registers the owner's viewer (a tab of the session) that has
// seen the events up to since. Opening one counts as using the session.
func (s *Session) Attach(since int64) *Viewer { return s.attach(since, false) }

// AttachWatcher registers a read-only watcher (a watch link). Watchers
// never set the pace of autorecv while an owner's tab is open: a slow
// student must not slow the class.
func (s *Session) AttachWatcher(since int64) *Viewer { return s.attach(since, true) }

func (s *Session) attach(since int64, watcher bool) *Viewer {
	v := &Viewer{s: s, cursor: since, watcher: watcher}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewers[v] = struct{}{}
	s.lastActive = time.Now()
	// A tab that comes back with everything read can change who sets
	// autorecv's pace: a loop paused on a stalled tab must look again.
	s.wakeLoopsLocked()
	if watcher {
		s.watchers++
		s.notifyLocked(true) // the owner sees the count
	}
	s.startStatsLocked()
	return v
}

// Advance records that the viewer has received the events up to seq.
func (v *Viewer) Advance(seq int64) {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v.cursor = seq
	s.consumedLocked(seq)
}

// Detach removes the viewer.
func (v *Viewer) Detach() {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.viewers[v]; !ok {
		return
	}
	delete(s.viewers, v)
	if v.watcher {
		s.watchers--
		s.notifyLocked(true)
	}
	s.consumedLocked(v.cursor)
}

// Consumed records that a reader without a Viewer (GET .../events) has
// read the log up to seq.
func (s *Session) Consumed(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consumedLocked(seq)
}

func (s *Session) consumedLocked(seq int64) {
	if seq > s.consumed {
		s.consumed = seq
	}
	s.wakeLoopsLocked()
}

// wakeLoopsLocked wakes every autorecv loop waiting for its readers, to
// look again.
func (s *Session) wakeLoopsLocked() {
	close(s.room)
	s.room = make(chan struct{})
}

// behindLocked reports whether readers have fallen so far behind the log
// that autorecv should stop reading and leave the data in the kernel.
// The owner's tabs set the pace when one is open; otherwise the most
// advanced reader does. next is the most the caller's next event can
// weigh in the log. A paused loop asks with resuming set, and goes on only
// once readers are within half the limits: resuming at the limit itself
// would pause and wake the loop again on every recv.
func (s *Session) behindLocked(resuming bool, next int64) bool {
	read, owners := s.consumed, int64(-1)
	for v := range s.viewers {
		read = max(read, v.cursor)
		if !v.watcher {
			owners = max(owners, v.cursor)
		}
	}
	if owners >= 0 {
		read = owners
	}
	last := s.log.last()
	if read >= last {
		return false
	}
	events, bytes := int64(s.cfg.MaxLagEvents), s.cfg.MaxLagBytes
	if resuming {
		events, bytes = events/2, bytes/2
	}
	// The event about to come counts too: once it is in, what readers
	// have not read must still fit, or the log would drop some of it.
	return last-read > events || s.log.cumAt(last)-s.log.cumAt(read)+next > bytes
}
