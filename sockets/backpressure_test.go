package sockets

import (
	"bytes"
	"net"
	"testing"

	"github.com/sockplay/sockplay/internal/testkit"
)

// counterSource writes an endless, checkable stream: byte i is i % 251.
func counterSource(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 251*64)
	for i := range buf {
		buf[i] = byte(i % 251)
	}
	done := make(chan struct{})
	conn := make(chan net.Conn, 1)
	go func() {
		defer close(done)
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		conn <- c
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	// The writer may be blocked on a reader that stopped reading: closing
	// its connection is what ends it.
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-conn:
			c.Close()
			<-done
		case <-done:
		}
	})
	return ln.Addr().String()
}

// TestAutorecvBackpressure: a viewer that does not read stops autorecv
// (the data waits in the kernel) before the event log has to drop
// anything; once it reads, autorecv goes on, and the bytes across all
// events are the source's stream with nothing lost.
func TestAutorecvBackpressure(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"lag limit in events", Config{MaxLagEvents: 20}},
		// The default lag limits (4096 events, 16 MiB) hold more than a
		// 1 MiB log: the pause must come first all the same.
		{"a log smaller than the lag limits", Config{MaxLogBytes: 1 << 20}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newTestManager(t, c.cfg).Create()
			v := s.Attach(0)
			defer v.Detach()
			id := connected(t, s, counterSource(t))
			mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(100)}))
			awaitState(t, s, "autorecv paused", func(st State) bool { return st.Sockets[0].Paused })
			if st := s.State(); st.FirstSeq != 1 {
				t.Fatalf("the log dropped events up to seq %d before autorecv paused", st.FirstSeq-1)
			}
			if c.cfg.MaxLagEvents > 0 && s.LastSeq() > 3+int64(c.cfg.MaxLagEvents)+2 {
				t.Fatalf("%d events logged although the viewer read none (lag limit %d)", s.LastSeq(), c.cfg.MaxLagEvents)
			}

			// Every byte of the stream arrives, checked, with no event missing.
			r := &streamReader{t: t, s: s, sock: id, viewer: v}
			r.read(200_000)
		})
	}
}

// pacedSession is a session of 3*lag events nobody has read, under a lag
// limit of lag events, and a way to ask whether autorecv would wait.
func pacedSession(t *testing.T, lag int) (*Session, func(resuming bool) bool) {
	s, _ := newTestManager(t, Config{MaxLagEvents: lag}).Create()
	for range 3 * lag {
		s.append(Event{Op: "recv", Auto: true, OK: true}, false)
	}
	return s, func(resuming bool) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.log.Behind(resuming, 0)
	}
}

// TestOwnerSetsThePace: autorecv waits for the owner's tab, however far a
// watcher has read; with no owner's tab open, the furthest reader sets it.
func TestOwnerSetsThePace(t *testing.T) {
	const lag = 20
	s, behind := pacedSession(t, lag)
	watcher := mustWatch(t, s, 0)
	defer watcher.Detach()
	if !behind(false) {
		t.Fatal("nobody has read anything, yet autorecv would go on")
	}
	watcher.Advance(s.LastSeq())
	if behind(false) {
		t.Fatal("with no owner's tab, the watcher that keeps up should set the pace")
	}
	owner := s.Attach(0)
	defer owner.Detach()
	if !behind(false) {
		t.Fatal("the owner has read nothing, yet autorecv would go on: the watcher set the pace")
	}
	owner.Advance(s.LastSeq() - lag + 1)
	if behind(false) {
		t.Fatal("the owner is within the lag limit, yet autorecv would wait")
	}
}

// TestPausedLoopResumesAtHalf: a paused autorecv goes on only once its
// reader is within half the lag limit, not as soon as it is one event
// under it (which paused and woke the loop on every recv).
func TestPausedLoopResumesAtHalf(t *testing.T) {
	const lag = 20
	s, behind := pacedSession(t, lag)
	owner := s.Attach(0)
	defer owner.Detach()
	for _, c := range []struct {
		read                int64
		running, resumesNow bool
	}{
		{s.LastSeq() - lag - 1, false, false},
		{s.LastSeq() - lag, true, false},
		{s.LastSeq() - lag/2 - 1, true, false},
		{s.LastSeq() - lag/2, true, true},
	} {
		owner.Advance(c.read)
		if running := !behind(false); running != c.running {
			t.Errorf("read up to %d of %d: a running loop goes on = %v, want %v", c.read, s.LastSeq(), running, c.running)
		}
		if resumes := !behind(true); resumes != c.resumesNow {
			t.Errorf("read up to %d of %d: a paused loop resumes = %v, want %v", c.read, s.LastSeq(), resumes, c.resumesNow)
		}
	}
}

func TestEventLogLimit(t *testing.T) {
	m := newTestManager(t, Config{MaxLogBytes: 8 << 10})
	s, _ := m.Create()
	l := testkit.Labs(t)
	id := connected(t, s, l.Addr("echo"))
	payload := bytes.Repeat([]byte("x"), 500)
	for i := 0; i < 100; i++ {
		mustOK(t, s, op("send", id, Args{Data: B64Data(payload)}))
	}
	st := s.State()
	if st.LastSeq != 102 {
		t.Fatalf("last seq %d", st.LastSeq)
	}
	if st.FirstSeq <= 1 || st.FirstSeq > 102 {
		t.Fatalf("first seq %d: nothing was dropped past an 8 KiB limit", st.FirstSeq)
	}
	evs := s.EventsAfter(0, 0)
	if evs[0].Seq != st.FirstSeq || evs[len(evs)-1].Seq != 102 || int64(len(evs)) != 102-st.FirstSeq+1 {
		t.Fatalf("kept seqs %d..%d (%d)", evs[0].Seq, evs[len(evs)-1].Seq, len(evs))
	}
}

// TestNextRecvCountsInTheLag: autorecv counts the event its next recv
// will add before it reads: a big recv must not push out of a small log
// an event its reader has not read yet.
func TestNextRecvCountsInTheLag(t *testing.T) {
	s, _ := newTestManager(t, Config{MaxLogBytes: 32 << 10, StatsInterval: -1}).Create()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			conns <- c
		}
	}()
	id := connected(t, s, ln.Addr().String())
	src := <-conns
	defer src.Close()
	v := s.Attach(0)
	defer v.Detach()
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(65536)}))
	read := s.LastSeq() // the reader is caught up
	v.Advance(read)
	if _, err := src.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	first := awaitState(t, s, "the first recv", func(st State) bool { return st.LastSeq > read }).LastSeq
	// Unread: one small event. The next recv could add ~200 KB, far past
	// a 32 KiB log: autorecv must wait for the reader instead.
	if _, err := src.Write(make([]byte, 60000)); err != nil {
		t.Fatal(err)
	}
	awaitState(t, s, "autorecv paused", func(st State) bool { return st.Sockets[0].Paused })
	if st := s.State(); st.FirstSeq > read+1 {
		t.Fatalf("the reader has read up to %d, but the log now starts at %d", read, st.FirstSeq)
	}
	v.Advance(first)
	st := awaitState(t, s, "the big recv", func(st State) bool { return st.LastSeq > first })
	if st.FirstSeq > first+1 {
		t.Fatalf("the reader has read up to %d, but the log now starts at %d", first, st.FirstSeq)
	}
}

// TestAttachWakesPausedLoop: a loop paused on a stalled tab goes on as
// soon as a tab that has read everything attaches (the owner's tabs set
// the pace, and the furthest one counts).
func TestAttachWakesPausedLoop(t *testing.T) {
	s, _ := newTestManager(t, Config{MaxLagEvents: 20, StatsInterval: -1}).Create()
	stalled := s.Attach(0)
	defer stalled.Detach()
	id := connected(t, s, counterSource(t))
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(100)}))
	awaitState(t, s, "autorecv paused", func(st State) bool { return st.Sockets[0].Paused })
	last := s.LastSeq()
	back := s.Attach(last)
	defer back.Detach()
	awaitState(t, s, "autorecv going on", func(st State) bool { return st.LastSeq > last })
}
