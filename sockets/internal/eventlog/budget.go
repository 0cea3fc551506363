package eventlog

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// Budget bounds the weight of many logs together (every session's): past
// it the oldest events of the largest logs leave, as they leave one log
// past its own MaxBytes, and their readers learn of the gap the same way.
// A log joins it through Options.Budget and leaves it with Leave.
//
// A log's Append holds its owner's lock, and taking another owner's lock
// there could deadlock with that one doing the same; so Append only counts
// and wakes Run, which trims holding one owner's lock at a time. An Append
// that finds the total past the bound by more than an eighth trims its own
// log there and then, so that no burst can outrun Run by more than that.
type Budget struct {
	max   int64
	total atomic.Int64
	kick  chan struct{}

	mu   sync.Mutex
	logs map[*share]struct{}
}

// share is one log's part in a budget.
type share struct {
	b *Budget
	// bytes is the log's weight, kept here too so that Run can read it
	// without the log's lock.
	bytes atomic.Int64
	owner sync.Locker
	// shed drops the log's oldest events until n bytes of weight have
	// gone or one event is left, and says how much went; owner is held.
	shed func(n int64) int64
}

// NewBudget returns a budget of max bytes of weight; run its Run.
func NewBudget(max int64) *Budget {
	return &Budget{max: max, kick: make(chan struct{}, 1), logs: map[*share]struct{}{}}
}

// Max is the bound; Total the weight of the events of every log in it.
func (b *Budget) Max() int64   { return b.max }
func (b *Budget) Total() int64 { return b.total.Load() }

// slack is how far past the bound the total may go before an Append
// trims its own log rather than wait for Run.
func (b *Budget) slack() int64 { return b.max / 8 }

// Run trims the largest logs whenever the total passes the bound, until
// stop is closed.
func (b *Budget) Run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-b.kick:
			b.trim()
		}
	}
}

// add counts n more bytes of a log's weight (n < 0: fewer), and wakes Run
// once the total is past the bound.
func (sh *share) add(n int64) {
	sh.bytes.Add(n)
	if sh.b.total.Add(n) > sh.b.max && n > 0 {
		select {
		case sh.b.kick <- struct{}{}:
		default: // Run is awake already
		}
	}
}

// trim brings the total down to within the bound, less a sixteenth (so
// that a stream through full logs wakes Run once per sixteenth of the
// budget, not once per event), by cutting the largest logs down to one
// level: their oldest events go, and the smaller logs keep all of theirs.
func (b *Budget) trim() {
	target := b.max - b.max/16
	for {
		over := b.total.Load() - target
		if over <= 0 {
			return
		}
		b.mu.Lock()
		logs := make([]*share, 0, len(b.logs))
		for sh := range b.logs {
			logs = append(logs, sh)
		}
		b.mu.Unlock()
		sizes := make(map[*share]int64, len(logs))
		for _, sh := range logs {
			sizes[sh] = sh.bytes.Load()
		}
		slices.SortFunc(logs, func(x, y *share) int { return cmp.Compare(sizes[y], sizes[x]) })
		level := waterLevel(logs, sizes, over)
		var dropped int64
		for _, sh := range logs {
			if sizes[sh] <= level {
				break
			}
			sh.owner.Lock()
			if sh.shed != nil { // it may have left meanwhile
				dropped += sh.shed(sh.bytes.Load() - level)
			}
			sh.owner.Unlock()
		}
		if dropped == 0 {
			return // every log over the level is down to its newest event
		}
	}
}

// waterLevel is the size the largest logs (sorted, largest first) are
// cut down to so that over bytes go in all.
func waterLevel(logs []*share, sizes map[*share]int64, over int64) int64 {
	var sum int64
	for k, sh := range logs {
		sum += sizes[sh]
		var below int64 // the next log's size: the level can go no lower without cutting it too
		if k+1 < len(logs) {
			below = sizes[logs[k+1]]
		}
		if n := int64(k + 1); sum-n*below >= over {
			return (sum - over) / n
		}
	}
	return 0
}

// join makes l's events count against b.
func (l *Log[E]) join(b *Budget, owner sync.Locker) {
	sh := &share{b: b, owner: owner, shed: l.shed}
	b.mu.Lock()
	b.logs[sh] = struct{}{}
	b.mu.Unlock()
	l.share = sh
}

// Leave takes the log out of its budget (the session has ended: what its
// last readers still read of it is theirs to finish); the log keeps its
// events and its own MaxBytes. Twice is once.
func (l *Log[E]) Leave() {
	sh := l.share
	if sh == nil {
		return
	}
	l.share = nil
	sh.b.mu.Lock()
	delete(sh.b.logs, sh)
	sh.b.mu.Unlock()
	sh.shed = nil
	sh.add(-sh.bytes.Load())
}

// shed drops the oldest events until n bytes of weight have gone or one
// event is left, and says how much went.
func (l *Log[E]) shed(n int64) int64 {
	before := l.bytes
	for before-l.bytes < n && l.n > 1 {
		l.dropOldest()
	}
	return before - l.bytes
}
