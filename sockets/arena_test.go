package sockets

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// fill plays one recv of n bytes (each byte its index in the stream) into
// a, as runAutoLoop does, and returns its event.
func fill(a *recvArena, n int, stream *int) Event {
	room := a.next()
	for i := range n {
		room[i] = byte(*stream + i)
	}
	*stream += n
	data, rest, blk, extra := a.keep(n)
	return Event{Op: "recv", OK: true, Result: &Result{N: intp(n), B64: data}, arena: rest, blk: blk, extra: extra}
}

func TestRecvArena(t *testing.T) {
	for _, c := range []struct {
		name    string
		bufsize int
		recvs   []int
		pieces  int // slices AppendPayloads gives for all of them
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
			a := newRecvArena(c.bufsize, nil)
			var evs []Event
			var stream int
			for _, n := range c.recvs {
				evs = append(evs, fill(a, n, &stream))
			}
			var want []byte
			arenas := map[*byte]bool{}
			for i, ev := range evs {
				if len(ev.Result.B64) != c.recvs[i] || cap(ev.Result.B64) != c.recvs[i] {
					t.Fatalf("recv %d: %d bytes, capacity %d, want %d both", i, len(ev.Result.B64), cap(ev.Result.B64), c.recvs[i])
				}
				want = append(want, ev.Result.B64...)
				if ev.arena != nil {
					end := &ev.arena[:cap(ev.arena)][cap(ev.arena)-1]
					if !arenas[end] && len(ev.Result.B64)+ev.extra < cap(ev.arena) {
						t.Errorf("recv %d opens an arena of %d bytes but is charged for %d of them: if its loop ends, the log undercounts", i, cap(ev.arena), len(ev.Result.B64)+ev.extra)
					}
					arenas[end] = true
					if most := max(c.bufsize, min(arenaRecvs*c.bufsize, maxArena)); cap(ev.arena) > most {
						t.Errorf("recv %d is in an arena of %d bytes or more, past the cap of %d", i, cap(ev.arena), most)
					}
				}
			}
			pieces := AppendPayloads(nil, evs)
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

// TestAppendPayloadsNeverJoinsStrangers: bytes that sit side by side in
// one array but are not one arena's recvs in order are never joined.
func TestAppendPayloadsNeverJoinsStrangers(t *testing.T) {
	a := newRecvArena(100, nil)
	var stream int
	fill(a, 100, &stream) // the first arena is one recv's worth; the next two
	first := fill(a, 100, &stream)
	second := fill(a, 100, &stream)
	copied := Event{Result: &Result{B64: []byte("x")}}
	for _, c := range []struct {
		name string
		evs  []Event
		want int
	}{
		{"in order", []Event{first, second}, 1},
		{"out of order", []Event{second, first}, 2},
		{"a copy between them", []Event{first, copied, second}, 3},
		{"the same event twice", []Event{first, first}, 2},
	} {
		if got := len(AppendPayloads(nil, c.evs)); got != c.want {
			t.Errorf("%s: %d pieces, want %d", c.name, got, c.want)
		}
	}
}

// TestRecvArenaRandom: random bufsizes and recvs (full, short, empty), each
// scribbling over all of its room as a recv may: every event keeps its own
// bytes, and any window of events joins to exactly their bytes.
func TestRecvArenaRandom(t *testing.T) {
	next := rand.New(rand.NewPCG(99, 0)).IntN // the same cases every run
	for iter := 0; iter < 300; iter++ {
		bufsize := 1 + next(5000)
		if next(40) == 0 {
			bufsize = maxArena/2 + next(maxArena)
		}
		a := newRecvArena(bufsize, nil)
		var evs []Event
		var want [][]byte
		stream := 0
		for i := 0; i < 1+next(60); i++ {
			room := a.next()
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
			data, rest, _, _ := a.keep(n)
			evs = append(evs, Event{Result: &Result{N: intp(n), B64: data}, arena: rest})
			want = append(want, append([]byte(nil), data...))
			if cap(data) != n {
				t.Fatalf("cap %d n %d", cap(data), n)
			}
		}
		for k := range evs {
			if string(evs[k].Result.B64) != string(want[k]) {
				t.Fatalf("iter %d: event %d's bytes overwritten by a later recv", iter, k)
			}
		}
		for w := 0; w < 20; w++ {
			i := next(len(evs))
			j := i + next(len(evs)-i+1)
			var exp []byte
			for _, b := range want[i:j] {
				exp = append(exp, b...)
			}
			var got []byte
			for _, p := range AppendPayloads(nil, evs[i:j]) {
				got = append(got, p...)
			}
			if string(got) != string(exp) {
				t.Fatalf("iter %d: window %d:%d joined wrong", iter, i, j)
			}
		}
	}
}
