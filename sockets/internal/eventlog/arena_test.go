package eventlog

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// recvInto plays one recv of n bytes (each byte its index in the stream)
// as autorecv does, appends its event, and returns it with what the log
// keeps of it.
func recvInto(l *Log[ev], r *Recvs[int, ev], n int, stream *int) entry[ev] {
	room := r.Next()
	for i := range n {
		room[i] = byte(*stream + i)
	}
	*stream += n
	data, v, h := r.Keep(n)
	*v = n
	l.Append(ev{Op: "recv", Data: data}, h)
	e, m := l.at(l.n - 1)
	return entry[ev]{*e, *m}
}

// batchOf is a batch of entries, in the order given.
func batchOf(l *Log[ev], es ...entry[ev]) Batch[ev] {
	b := Batch[ev]{opts: &l.opts}
	for _, e := range es {
		b.evs, b.mem = append(b.evs, e.ev), append(b.mem, e.m)
	}
	return b
}

func TestRecvs(t *testing.T) {
	for _, c := range []struct {
		name    string
		bufsize int
		recvs   []int
		pieces  int // slices Payloads gives for all of them
		arenas  int // distinct arenas the kept bytes are in
	}{
		{"a full stream shares arenas that grow", 1000, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000}, 3, 3},
		{"a trickle of short recvs each gets a copy", 1000, []int{4, 4, 4}, 3, 0},
		{"short recvs after a full stream get copies", 1000, []int{1000, 1000, 1000, 4, 4, 4}, 5, 2},
		{"nearly full recvs share arenas", 1000, []int{1000, 750, 1000, 800}, 3, 3},
		{"an EOF has no bytes", 16, []int{16, 0}, 1, 1},
		{"a recv the size of the cap", maxArena, []int{maxArena, maxArena}, 2, 2},
		{"no more than 16 recvs an arena", 10, slices.Repeat([]int{10}, 62), 7, 7}, // 1, 2, 4, 8, 16, 16, 16
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLog(Options[ev]{})
			var mu sync.Mutex
			r := NewRecvs[int](l, &mu, c.bufsize)
			var kept []entry[ev]
			var stream int
			for _, n := range c.recvs {
				kept = append(kept, recvInto(l, r, n, &stream))
			}
			var want []byte
			arenas := map[*byte]bool{}
			for i, e := range kept {
				data, m := e.ev.Data, e.m
				if len(data) != c.recvs[i] || cap(data) != c.recvs[i] {
					t.Fatalf("recv %d: %d bytes, capacity %d, want %d both", i, len(data), cap(data), c.recvs[i])
				}
				want = append(want, data...)
				if m.rest != nil {
					end := &m.rest[:cap(m.rest)][cap(m.rest)-1]
					if charged := m.weight - Weight(0, 0) - 2*int64(len(data)); !arenas[end] && charged < int64(cap(m.rest)) {
						t.Errorf("recv %d opens an arena of %d bytes but is charged for %d of them: if its loop ends, the log undercounts", i, cap(m.rest), charged)
					}
					arenas[end] = true
					if most := max(c.bufsize, min(arenaRecvs*c.bufsize, maxArena)); cap(m.rest) > most {
						t.Errorf("recv %d is in an arena of %d bytes or more, past the cap of %d", i, cap(m.rest), most)
					}
				}
			}
			b := l.Borrow(0, 0, 0)
			defer b.Release()
			pieces := b.Payloads(nil, 0, b.Len())
			if got := bytes.Join(pieces, nil); !bytes.Equal(got, want) {
				t.Fatalf("the pieces are not the events' bytes in order")
			}
			if len(pieces) != c.pieces || len(arenas) != c.arenas {
				t.Errorf("%d pieces in %d arenas, want %d in %d", len(pieces), len(arenas), c.pieces, c.arenas)
			}
			for i := range want {
				if want[i] != byte(i) {
					t.Fatalf("byte %d is %d: a later recv overwrote an earlier one's bytes", i, want[i])
				}
			}
		})
	}
}

// TestPayloadsNeverJoinStrangers: bytes that sit side by side in one
// array but are not one arena's recvs in order are never joined.
func TestPayloadsNeverJoinStrangers(t *testing.T) {
	l := newLog(Options[ev]{})
	var mu sync.Mutex
	r := NewRecvs[int](l, &mu, 100)
	var stream int
	recvInto(l, r, 100, &stream) // the first arena is one recv's worth; the next two
	first := recvInto(l, r, 100, &stream)
	second := recvInto(l, r, 100, &stream)
	copied := entry[ev]{ev: ev{Data: []byte("x")}}
	for _, c := range []struct {
		name string
		es   []entry[ev]
		want int
	}{
		{"in order", []entry[ev]{first, second}, 1},
		{"out of order", []entry[ev]{second, first}, 2},
		{"a copy between them", []entry[ev]{first, copied, second}, 3},
		{"the same event twice", []entry[ev]{first, first}, 2},
	} {
		b := batchOf(l, c.es...)
		if got := len(b.Payloads(nil, 0, b.Len())); got != c.want {
			t.Errorf("%s: %d pieces, want %d", c.name, got, c.want)
		}
	}
}

// TestRecvsRandom: random bufsizes and recvs (full, short, empty), each
// scribbling over all of its room as a recv may: every event keeps its own
// bytes, and any window of events joins to exactly their bytes.
func TestRecvsRandom(t *testing.T) {
	next := rand.New(rand.NewPCG(99, 0)).IntN // the same cases every run
	for iter := 0; iter < 300; iter++ {
		bufsize := 1 + next(5000)
		if next(40) == 0 {
			bufsize = maxArena/2 + next(maxArena)
		}
		l := newLog(Options[ev]{})
		var mu sync.Mutex
		r := NewRecvs[int](l, &mu, bufsize)
		var want [][]byte
		stream := 0
		for i := 0; i < 1+next(60); i++ {
			room := r.Next()
			if len(room) != bufsize {
				t.Fatalf("room %d", len(room))
			}
			for j := range room { // the worst a recv could do: scribble on all of its room
				room[j] = 0xEE
			}
			var n int
			switch next(4) {
			case 0:
				n = bufsize
			case 1:
				n = 0
			default:
				n = next(bufsize + 1)
			}
			for j := 0; j < n; j++ {
				room[j] = byte(stream + j)
			}
			stream += n
			data, _, h := r.Keep(n)
			l.Append(ev{Op: "recv", Data: data}, h)
			want = append(want, bytes.Clone(data))
			if cap(data) != n {
				t.Fatalf("cap %d n %d", cap(data), n)
			}
		}
		b := l.Borrow(0, 0, 0)
		for k, e := range b.Events() {
			if !bytes.Equal(e.Data, want[k]) {
				t.Fatalf("iter %d: event %d's bytes overwritten by a later recv", iter, k)
			}
		}
		for range 20 {
			i := next(b.Len())
			j := i + next(b.Len()-i+1)
			exp := bytes.Join(want[i:j], nil)
			if got := bytes.Join(b.Payloads(nil, i, j), nil); !bytes.Equal(got, exp) {
				t.Fatalf("iter %d: window %d:%d joined wrong", iter, i, j)
			}
		}
		b.Release()
	}
}

// TestArenaReuse: once the log has dropped an arena's events, its loop
// recvs into it again, unless a borrowed read holds one of them (until
// it is released) or a reader kept them (ever).
func TestArenaReuse(t *testing.T) {
	const bufsize = 64 << 10
	l := newLog(Options[ev]{MaxBytes: 8 * maxArena})
	var mu sync.Mutex
	r := NewRecvs[int](l, &mu, bufsize)
	stream := 0
	recvs := func(n int) {
		for range n {
			recvInto(l, r, bufsize, &stream)
		}
	}
	recvs(400)
	if l.Reused() == 0 {
		t.Fatal("no arena used again")
	}

	// A borrowed read holds up its own arena only.
	b := l.Borrow(l.Last()-1, 1, 0)
	held := b.Events()[0]
	want := bytes.Clone(held.Data)
	reused := l.Reused()
	recvs(400)
	if l.Reused() == reused {
		t.Fatal("no arena used again while one event was borrowed")
	}
	if l.First() <= held.Seq {
		t.Fatal("the borrowed event is still in the log: the test proves nothing")
	}
	if !bytes.Equal(held.Data, want) {
		t.Fatal("a borrowed event's bytes were recv'd into")
	}
	b.Release()
	b.Release() // twice is once

	kept := l.Keep(l.Last()-1, 1)[0]
	want = bytes.Clone(kept.Data)
	recvs(400)
	if !bytes.Equal(kept.Data, want) {
		t.Fatal("a kept event's bytes were recv'd into")
	}

	r.Close()
	if live, spare := l.ArenasLive(); live != 0 || spare != 0 {
		t.Fatalf("%d arenas live, %d spare once the loop closed", live, spare)
	}
}
