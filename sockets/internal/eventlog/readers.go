package eventlog

// Cursor is one reader of the log that sets, or may set, the pace of
// the loops filling it (a WebSocket, say): how far it has read.
type Cursor struct {
	seq     int64
	watcher bool
}

// readers are the log's cursors and what they have read.
type readers struct {
	cursors  map[*Cursor]struct{}
	watchers int   // cursors that are watchers
	consumed int64 // the furthest a reader without a cursor has read
	room     chan struct{}
}

func (r *readers) init() {
	r.cursors = map[*Cursor]struct{}{}
	r.room = make(chan struct{})
}

// Attach adds a reader that has read up to since: the owner's (a tab of
// the session) or a watcher's. Watchers never set the pace while an
// owner's reader is attached: a slow student must not slow the class.
func (l *Log[E]) Attach(since int64, watcher bool) *Cursor {
	c := &Cursor{seq: since, watcher: watcher}
	l.cursors[c] = struct{}{}
	if watcher {
		l.watchers++
	}
	// A tab that comes back with everything read can change who sets
	// the pace: a loop paused on a stalled tab must look again.
	l.wakeLoops()
	return c
}

// Advance records that c has read up to seq.
func (l *Log[E]) Advance(c *Cursor, seq int64) {
	c.seq = seq
	l.wakeLoops()
}

// Detach removes c, keeping what it read as read; it reports false if c
// was not attached.
func (l *Log[E]) Detach(c *Cursor) bool {
	if _, ok := l.cursors[c]; !ok {
		return false
	}
	delete(l.cursors, c)
	if c.watcher {
		l.watchers--
	}
	l.Consumed(c.seq)
	return true
}

// Consumed records that a reader without a cursor (GET .../events) has
// read up to seq.
func (l *Log[E]) Consumed(seq int64) {
	l.consumed = max(l.consumed, seq)
	l.wakeLoops()
}

// Readers is how many cursors are attached; Watchers how many of them
// are watchers.
func (l *Log[E]) Readers() int  { return len(l.cursors) }
func (l *Log[E]) Watchers() int { return l.watchers }

// Room is closed when a reader next reads on or attaches: a loop that
// Behind told to wait waits on it.
func (l *Log[E]) Room() <-chan struct{} { return l.room }

func (l *Log[E]) wakeLoops() {
	close(l.room)
	l.room = make(chan struct{})
}

// Behind reports whether readers have fallen so far behind that a loop
// about to add an event of weight next should wait and leave its data in
// the kernel. The owner's readers set the pace when one is attached;
// otherwise the most advanced reader does. A loop that is waiting already
// asks with resuming set, and goes on only once readers are within half
// the limits: resuming at the limit itself would pause and wake it again
// at every event.
func (l *Log[E]) Behind(resuming bool, next int64) bool {
	read, owners := l.consumed, int64(-1)
	for c := range l.cursors {
		read = max(read, c.seq)
		if !c.watcher {
			owners = max(owners, c.seq)
		}
	}
	if owners >= 0 {
		read = owners
	}
	last := l.Last()
	if read >= last {
		return false
	}
	events, bytes := int64(l.opts.MaxLagEvents), l.opts.MaxLagBytes
	if resuming {
		events, bytes = events/2, bytes/2
	}
	// The coming event counts too: once it is in, what readers have not
	// read must still fit, or the log would drop some of it.
	return last-read > events || l.weightUpTo(last)-l.weightUpTo(read)+next > bytes
}
