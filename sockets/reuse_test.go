package sockets

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// streamReader reads a session's log as the WebSocket writer does (borrowed
// reads, given back at once) and checks every recv of sock against
// counterSource's stream, and that no event is missing. It tells the
// session how far it has read through viewer, or without one as a reader
// of GET .../events does.
type streamReader struct {
	t      *testing.T
	s      *Session
	sock   string
	viewer *Viewer
	cursor int64
	offset int // stream bytes checked so far
	// the last recv read: its seq, and where its bytes are in the stream
	lastSeq    int64
	lastOffset int
}

// check fails the test unless data is the stream's bytes at offset.
func (r *streamReader) check(data []byte, offset int, what string) {
	r.t.Helper()
	for i, b := range data {
		if b != byte((offset+i)%251) {
			r.t.Fatalf("%s: byte %d of the stream is %d, want %d: its memory was reused under it", what, offset+i, b, (offset+i)%251)
		}
	}
}

// read reads and checks at least n more bytes of the stream.
func (r *streamReader) read(n int) {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for goal := r.offset + n; r.offset < goal; {
		changed := r.s.Changed()
		b := r.s.Borrow(r.cursor, 256, 4<<20)
		evs := b.Events()
		for _, ev := range evs {
			if ev.Seq != r.cursor+1 {
				r.t.Fatalf("event %d follows %d: the log dropped events a reader had not read", ev.Seq, r.cursor)
			}
			r.cursor = ev.Seq
			if ev.Op == "recv" && ev.Sock == r.sock && ev.OK {
				r.check(ev.Result.Data, r.offset, "a recv read as it came")
				r.lastSeq, r.lastOffset = ev.Seq, r.offset
				r.offset += len(ev.Result.Data)
			}
		}
		b.Release()
		if r.viewer != nil {
			r.viewer.Advance(r.cursor)
		} else {
			r.s.Consumed(r.cursor)
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-changed:
		case <-deadline:
			r.t.Fatalf("not %d bytes within 10 s: stuck at %d bytes of the stream", n, r.offset)
		}
	}
}

// recvAt is the recv of sock at seq, as read from the log by read.
func recvAt(t *testing.T, evs []Event, sock string) []byte {
	t.Helper()
	if len(evs) != 1 || evs[0].Op != "recv" || evs[0].Sock != sock || !evs[0].OK {
		t.Fatalf("want one recv of %s, got %+v", sock, evs)
	}
	return evs[0].Result.Data
}

func (s *Session) reused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Reused()
}

// TestArenaReuse: autorecv recvs into its old arenas once the log has
// dropped their events, so a long fast stream needs no fresh memory; and
// never while a reader may still read their bytes: a borrowed read until
// it is given back, a read with EventsAfter ever.
func TestArenaReuse(t *testing.T) {
	const logBytes = 2 << 20 // a stream passes it many times over
	s, _ := newTestManager(t, Config{MaxLogBytes: logBytes}).Create()
	id := connected(t, s, counterSource(t))
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(65536)}))
	r := &streamReader{t: t, s: s, sock: id}

	r.read(8 * logBytes)
	if s.reused() == 0 {
		t.Fatalf("no arena used again after %d bytes through a log of %d", r.offset, logBytes)
	}

	// A borrowed read keeps its bytes while the log drops its events and
	// autorecv goes on, and lets them go once given back. It holds up
	// only its own arenas: the others are used again meanwhile.
	b := s.Borrow(r.lastSeq-1, 1, 0)
	evs := b.Events()
	pinned, at := recvAt(t, evs, id), r.lastOffset
	want := bytes.Clone(pinned)
	held := s.reused()
	r.read(8 * logBytes)
	if s.reused() == held {
		t.Fatal("no arena used again while one recv was borrowed: one slow reader holds up all reuse")
	}
	if st := s.State(); st.FirstSeq <= evs[0].Seq {
		t.Fatalf("the borrowed event %d is still in the log (first %d): the test proves nothing", evs[0].Seq, st.FirstSeq)
	}
	// Through the event again, not the slice taken before: its Result
	// comes with its arena and must not be reused either.
	if got := evs[0].Result; !bytes.Equal(got.Data, want) || *got.N != len(want) {
		r.check(got.Data, at, "a borrowed recv")
		t.Fatalf("a borrowed recv changed: n %d, %d bytes, want %d", *got.N, len(got.Data), len(want))
	}
	before := s.reused()
	b.Release()
	b.Release() // twice is once
	r.read(8 * logBytes)
	if s.reused() == before {
		t.Fatal("no arena used again after the borrowed read was given back")
	}

	// Events read with EventsAfter are the reader's for good.
	keptEvs := s.EventsAfter(r.lastSeq-1, 1)
	kept, at := recvAt(t, keptEvs, id), r.lastOffset
	r.read(8 * logBytes)
	if got := keptEvs[0].Result; *got.N != len(kept) || len(got.Data) != len(kept) {
		t.Fatalf("a recv read with EventsAfter changed: n %d, %d bytes, want %d", *got.N, len(got.Data), len(kept))
	}
	r.check(keptEvs[0].Result.Data, at, "a recv read with EventsAfter")

	// Once autorecv stops, the session holds no spare arenas.
	mustOK(t, s, op("autorecv", id, Args{On: bp(false)}))
	awaitState(t, s, "autorecv ended, its arenas given up", func(State) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		live, spare := s.log.ArenasLive()
		return live == 0 && spare == 0
	})
}

// TestTwoLoopsDropNothingUnread: two autorecv loops filling one small log
// at once still pause before it drops an event a reader has not read.
// Each loop's room check must count what the other is about to add.
func TestTwoLoopsDropNothingUnread(t *testing.T) {
	s, _ := newTestManager(t, Config{MaxLogBytes: 2 << 20}).Create()
	a := connected(t, s, counterSource(t))
	b := connected(t, s, counterSource(t))
	mustOK(t, s, op("autorecv", a, Args{Bufsize: ip(65536)}))
	mustOK(t, s, op("autorecv", b, Args{Bufsize: ip(65536)}))
	r := &streamReader{t: t, s: s, sock: a}
	r.read(64 << 20) // fails at the first event dropped unread
}

// TestRecvWaitingForRoomShowsPaused: a recv that returns while readers
// are too far behind waits for them with its bytes in hand; meanwhile the
// socket shows as paused, and the event keeps the time its recv returned
// rather than the time readers came back.
func TestRecvWaitingForRoomShowsPaused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, _ := newTestManager(t, Config{MaxLagEvents: 4}).Create()
	id := connected(t, s, ln.Addr().String())
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	v := s.Attach(s.LastSeq()) // the owner's tab, which reads nothing for now
	defer v.Detach()
	inRecv := make(chan struct{}, 1)
	hook := func() {
		select {
		case inRecv <- struct{}{}:
		default:
		}
	}
	beforeRecv.Store(&hook)
	defer beforeRecv.Store(nil)
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(16)}))
	select {
	case <-inRecv: // past its room check, about to wait in recv
	case <-time.After(10 * time.Second):
		t.Fatal("autorecv never got to its recv")
	}
	// Ops are not held back: they put the tab more than 4 events behind
	// while the loop waits in its recv.
	for range 6 {
		mustOK(t, s, op("gettimeout", id, Args{}))
	}
	if _, err := peer.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	awaitState(t, s, "the recv waiting for room shown as paused", func(st State) bool { return st.Sockets[0].Paused })
	for _, ev := range s.EventsAfter(0, 0) {
		if ev.Op == "recv" {
			t.Fatalf("the recv is in the log while readers are too far behind: %+v", ev)
		}
	}
	marker := mustOK(t, s, op("gettimeout", id, Args{}))
	v.Advance(s.LastSeq())
	var recv Event
	awaitState(t, s, "the recv logged", func(State) bool {
		for _, ev := range s.EventsAfter(marker.Seq, 0) {
			if ev.Op == "recv" {
				recv = ev
				return true
			}
		}
		return false
	})
	if string(recv.Result.Data) != "hi" {
		t.Fatalf("recv got %q, want \"hi\"", recv.Result.Data)
	}
	if recv.T > marker.T {
		t.Errorf("the recv is stamped %d µs, after the op logged while it waited (%d µs): its time is when readers came back, not when it returned", recv.T, marker.T)
	}
	awaitState(t, s, "no longer paused", func(st State) bool { return !st.Sockets[0].Paused })
}
