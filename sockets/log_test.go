package sockets

import "testing"

// TestEventLogChunks: reads across chunk boundaries, with the oldest
// events leaving past the limit, give exactly the seqs asked for.
func TestEventLogChunks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		events   int
		maxBytes int64
	}{
		{"under one chunk", logChunk - 1, 0},
		{"exactly one chunk", logChunk, 0},
		{"several chunks", 3*logChunk + 17, 0},
		{"trimmed to a chunk and a half", 5*logChunk + 3, eventOverhead * (logChunk + logChunk/2)},
		{"trimmed to one event", 2*logChunk + 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newEventLog(tc.maxBytes)
			for i := 0; i < tc.events; i++ {
				if ev := l.add(Event{Op: "recv"}); ev.Seq != int64(i+1) {
					t.Fatalf("event %d numbered %d", i+1, ev.Seq)
				}
			}
			if l.last() != int64(tc.events) {
				t.Fatalf("last %d, want %d", l.last(), tc.events)
			}
			held := int64(tc.events)
			if tc.maxBytes > 0 {
				held = max(1, tc.maxBytes/eventOverhead)
			}
			if got := l.last() - l.first + 1; got != held {
				t.Fatalf("holds %d events, want %d", got, held)
			}
			for _, since := range []int64{0, l.first - 2, l.first - 1, l.first, logChunk - 1, logChunk, logChunk + 1, l.last() - 1, l.last()} {
				for _, limit := range []int{0, 1, 7, logChunk, 3 * logChunk} {
					evs := l.after(since, limit, 0, false)
					from := max(since+1, l.first)
					want := l.last() - from + 1
					if limit > 0 && want > int64(limit) {
						want = int64(limit)
					}
					if since >= l.last() {
						want = 0
					}
					if int64(len(evs)) != want {
						t.Fatalf("after(%d, %d): %d events, want %d", since, limit, len(evs), want)
					}
					for k, ev := range evs {
						if ev.Seq != from+int64(k) {
							t.Fatalf("after(%d, %d)[%d] is seq %d, want %d", since, limit, k, ev.Seq, from+int64(k))
						}
					}
				}
			}
			if c := l.cumAt(l.last()); c != l.total {
				t.Errorf("cumAt(last) %d, total %d", c, l.total)
			}
			if c := l.cumAt(l.first); c != int64(l.first)*eventOverhead {
				t.Errorf("cumAt(first=%d) = %d", l.first, c)
			}
		})
	}
}

// TestEventLogByteBudget: a read stops at its byte budget, and never
// returns nothing while there are events.
func TestEventLogByteBudget(t *testing.T) {
	l := newEventLog(0)
	for i := 0; i < 3*logChunk; i++ {
		l.add(Event{Op: "recv"}) // eventOverhead bytes each
	}
	for _, tc := range []struct {
		since  int64
		budget int64
		want   int
	}{
		{0, 1, 1},
		{0, eventOverhead, 1},
		{0, 10 * eventOverhead, 10},
		{0, 10*eventOverhead + eventOverhead - 1, 10},
		{logChunk - 3, 7 * eventOverhead, 7},
		{3*logChunk - 2, 100 * eventOverhead, 2},
	} {
		evs := l.after(tc.since, 0, tc.budget, false)
		if len(evs) != tc.want || evs[0].Seq != tc.since+1 {
			t.Errorf("after(%d, 0, %d): %d events from seq %d, want %d from %d", tc.since, tc.budget, len(evs), evs[0].Seq, tc.want, tc.since+1)
		}
	}
}

// TestEventLogStartsSmall: a short log holds a small chunk, not a full
// one (a thousand idle sessions each holding 1,024 events' room was 47
// KiB a socket in BenchmarkIdleSessionMemory).
func TestEventLogStartsSmall(t *testing.T) {
	l := newEventLog(0)
	for i := 0; i < 3; i++ {
		l.add(Event{Op: "socket"})
	}
	if c := cap(l.chunks[0]); c >= logChunk/8 {
		t.Fatalf("3 events hold room for %d", c)
	}
}
