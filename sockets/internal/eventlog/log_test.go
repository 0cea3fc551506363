package eventlog

import (
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
	"weak"
)

// ev is the event type the tests log.
type ev struct {
	Seq  int64  `json:"seq"`
	Op   string `json:"op"`
	Data []byte `json:"data,omitempty"`
}

func newLog(o Options[ev]) *Log[ev] {
	o.Number = func(e *ev, seq int64) { e.Seq = seq }
	o.Encode = func(dst []byte, e *ev) []byte {
		b, _ := json.Marshal(e)
		return append(dst, b...)
	}
	o.Payload = func(e *ev) []byte { return e.Data }
	return New(o)
}

// plainMem is the memory the log counts for an ev with no bytes: its
// entry and its JSON cache's slot.
const plainMem = int64(unsafe.Sizeof(entry[ev]{}) + unsafe.Sizeof(encoding{}))

// TestLogChunks: reads across chunk boundaries, with the oldest events
// leaving past the limit, give exactly the seqs asked for, borrowed or
// kept.
func TestLogChunks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		events   int
		maxBytes int64
	}{
		{"under one chunk", chunkLen - 1, 0},
		{"exactly one chunk", chunkLen, 0},
		{"several chunks", 3*chunkLen + 17, 0},
		{"trimmed to a chunk and a half", 5*chunkLen + 3, plainMem * (chunkLen + chunkLen/2)},
		{"trimmed to one event", 2*chunkLen + 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(Options[ev]{MaxBytes: tc.maxBytes})
			for i := 0; i < tc.events; i++ {
				if seq := l.Append(ev{Op: "recv"}, Holding{}); seq != int64(i+1) {
					t.Fatalf("event %d numbered %d", i+1, seq)
				}
			}
			if l.Last() != int64(tc.events) {
				t.Fatalf("last %d, want %d", l.Last(), tc.events)
			}
			held := int64(tc.events)
			if tc.maxBytes > 0 {
				held = max(1, tc.maxBytes/plainMem)
			}
			if got := l.Last() - l.First() + 1; got != held {
				t.Fatalf("holds %d events, want %d", got, held)
			}
			for _, since := range []int64{0, l.First() - 2, l.First() - 1, l.First(), chunkLen - 1, chunkLen, chunkLen + 1, l.Last() - 1, l.Last()} {
				for _, limit := range []int{0, 1, 7, chunkLen, 3 * chunkLen} {
					from := max(since+1, l.First())
					want := l.Last() - from + 1
					if limit > 0 && want > int64(limit) {
						want = int64(limit)
					}
					if since >= l.Last() {
						want = 0
					}
					b := l.Borrow(since, limit, 0)
					for name, evs := range map[string][]ev{"Borrow": b.Events(), "Keep": l.Keep(since, limit)} {
						if int64(len(evs)) != want {
							t.Fatalf("%s(%d, %d): %d events, want %d", name, since, limit, len(evs), want)
						}
						for k, e := range evs {
							if e.Seq != from+int64(k) {
								t.Fatalf("%s(%d, %d)[%d] is seq %d, want %d", name, since, limit, k, e.Seq, from+int64(k))
							}
						}
					}
					b.Release()
				}
			}
			if w := l.weightUpTo(l.Last()); w != l.total {
				t.Errorf("weightUpTo(last) %d, total %d", w, l.total)
			}
			if w := l.weightUpTo(l.First()); w != l.First()*overhead {
				t.Errorf("weightUpTo(first=%d) = %d", l.First(), w)
			}
		})
	}
}

// TestLogByteBudget: a borrowed read stops at its byte budget, and never
// returns nothing while there are events.
func TestLogByteBudget(t *testing.T) {
	l := newLog(Options[ev]{})
	for i := 0; i < 3*chunkLen; i++ {
		l.Append(ev{Op: "recv"}, Holding{}) // overhead bytes each
	}
	for _, tc := range []struct {
		since  int64
		budget int64
		want   int
	}{
		{0, 1, 1},
		{0, overhead, 1},
		{0, 10 * overhead, 10},
		{0, 10*overhead + overhead - 1, 10},
		{chunkLen - 3, 7 * overhead, 7},
		{3*chunkLen - 2, 100 * overhead, 2},
	} {
		b := l.Borrow(tc.since, 0, tc.budget)
		if b.Len() != tc.want || b.Events()[0].Seq != tc.since+1 {
			t.Errorf("Borrow(%d, 0, %d): %d events from seq %d, want %d from %d", tc.since, tc.budget, b.Len(), b.Events()[0].Seq, tc.want, tc.since+1)
		}
		b.Release()
	}
}

// TestLogStartsSmall: a short log holds a small chunk, not a full one (a
// thousand idle sessions each holding 1,024 events' room was 47 KiB a
// socket in BenchmarkIdleSessionMemory).
func TestLogStartsSmall(t *testing.T) {
	l := newLog(Options[ev]{})
	for range 3 {
		l.Append(ev{Op: "socket"}, Holding{})
	}
	if c := cap(l.chunks[0]); c >= chunkLen/8 {
		t.Fatalf("3 events hold room for %d", c)
	}
}

// TestJSONIsShared: every reader of an event gets the same JSON, even
// readers asking at the same time, and once made it is not made again.
func TestJSONIsShared(t *testing.T) {
	var encoded atomic.Int64
	l := newLog(Options[ev]{})
	enc := l.opts.Encode
	l.opts.Encode = func(dst []byte, e *ev) []byte {
		encoded.Add(1)
		return enc(dst, e)
	}
	const n = 100
	for range n {
		l.Append(ev{Op: "send", Data: []byte("hi")}, Bytes(2, 0))
	}
	var wg sync.WaitGroup
	out := make([][][]byte, 4)
	for r := range out {
		b := l.Borrow(0, 0, 0)
		wg.Go(func() {
			defer b.Release()
			for i := range b.Len() {
				out[r] = append(out[r], b.JSON(i))
			}
		})
	}
	wg.Wait()
	for i := range out[0] {
		if want := `{"seq":` + itoa(i+1) + `,"op":"send","data":"aGk="}`; string(out[0][i]) != want {
			t.Fatalf("event %d: %s, want %s", i+1, out[0][i], want)
		}
		for r := range out {
			if &out[r][i][0] != &out[0][i][0] {
				t.Fatalf("reader %d got its own JSON of event %d", r, i+1)
			}
		}
	}
	before := encoded.Load()
	b := l.Borrow(0, 0, 0)
	for i := range b.Len() {
		b.JSON(i)
	}
	b.Release()
	if encoded.Load() != before {
		t.Fatalf("a later reader made %d events' JSON again", encoded.Load()-before)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestDroppedEventsLetGoOfTheirMemory: once an event leaves the log,
// nothing of the log's keeps its JSON alive, nor its bytes if they are
// big, though JSON caches and results come in slabs shared with newer
// events. (A small recv's bytes may stay with its slab, at most slabLen
// events' worth.)
func TestDroppedEventsLetGoOfTheirMemory(t *testing.T) {
	for _, size := range []int{100, 64 << 10} {
		l := newLog(Options[ev]{MaxBytes: 64 << 10})
		var mu sync.Mutex
		// bufsize 4 size: every recv is short, so it is copied, into a
		// slab's block when small and a buffer of its own when big.
		r := NewRecvs[[]byte](l, &mu, 4*size)
		var data, js []weak.Pointer[byte]
		const n = 200
		for range n {
			r.Next()
			b, v, h := r.Keep(size)
			*v = b
			l.Append(ev{Op: "recv", Data: b}, h)
			last := l.Borrow(l.Last()-1, 1, 0)
			j := last.JSON(0)
			last.Release()
			data = append(data, weak.Make(&b[0]))
			js = append(js, weak.Make(&j[0]))
		}
		if l.n == n {
			t.Fatalf("size %d: nothing was dropped", size)
		}
		runtime.GC()
		dropped, lingering := n-l.n, 0
		if size <= smallCopy {
			lingering = slabLen
		}
		for i := range dropped {
			if i >= dropped-lingering && js[i].Value() == nil {
				continue
			}
			if (size > smallCopy && data[i].Value() != nil) || js[i].Value() != nil {
				t.Fatalf("size %d: event %d of %d left the log, but its bytes (%v) or its JSON (%v) are still alive",
					size, i+1, n, data[i].Value() != nil, js[i].Value() != nil)
			}
		}
		runtime.KeepAlive(l)
		runtime.KeepAlive(r)
	}
}

// TestBehind: the owner's readers set the pace when one is attached,
// otherwise the most advanced reader; a waiting loop resumes only within
// half the limits; the coming event counts.
func TestBehind(t *testing.T) {
	l := newLog(Options[ev]{MaxLagEvents: 10, MaxLagBytes: 100 * overhead})
	for range 20 {
		l.Append(ev{Op: "recv"}, Holding{})
	}
	watcher := l.Attach(20, true)
	if l.Behind(false, 0) {
		t.Fatal("behind with a watcher that has read everything and no owner")
	}
	owner := l.Attach(5, false)
	if !l.Behind(false, 0) {
		t.Fatal("not behind with the owner 15 events back (limit 10)")
	}
	room := l.Room()
	l.Advance(owner, 12)
	select {
	case <-room:
	default:
		t.Fatal("a reader read on and Room was not closed")
	}
	if l.Behind(false, 0) {
		t.Fatal("behind with the owner 8 events back")
	}
	if !l.Behind(true, 0) {
		t.Fatal("a waiting loop resumes 8 events back, past half the limit")
	}
	if !l.Behind(false, 93*overhead) {
		t.Fatal("the coming event's weight is not counted")
	}
	l.Detach(owner)
	if l.Behind(false, 0) {
		t.Fatal("behind once the owner left, with the watcher at the end")
	}
	l.Detach(watcher)
	if l.Readers() != 0 || l.Watchers() != 0 {
		t.Fatalf("%d readers, %d watchers after both left", l.Readers(), l.Watchers())
	}
}

// TestAppendJSON: a reader gets the same bytes either way, after what is
// in its buffer; a small event's JSON is kept for the next reader, a big
// one's is not, unless it was made already.
func TestAppendJSON(t *testing.T) {
	l := newLog(Options[ev]{})
	for _, n := range []int{0, 1, bigJSON, bigJSON + 1, 65536} {
		l.Append(ev{Op: "recv", Data: make([]byte, n)}, Bytes(n, 0))
	}
	b := l.Borrow(0, 0, 0)
	defer b.Release()
	for i, e := range b.Events() {
		want, _ := json.Marshal(e)
		got := b.AppendJSON([]byte("x"), i)
		if string(got) != "x"+string(want) {
			t.Fatalf("%d bytes: %.80s", len(e.Data), got)
		}
		if kept := b.mem[i].enc.b.Load() != nil; kept != (len(e.Data) <= bigJSON) {
			t.Fatalf("%d bytes: kept %v", len(e.Data), kept)
		}
		b.JSON(i)
		if got := b.AppendJSON(nil, i); string(got) != string(want) {
			t.Fatalf("%d bytes, once its JSON was made: %.80s", len(e.Data), got)
		}
	}
}
