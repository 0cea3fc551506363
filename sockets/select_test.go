package sockets

import (
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
)

// TestSelectWaits: a select with no timeout is pending until a socket is
// ready; a close of one of its sockets ends it with EBADF, as select(2) on
// a closed fd, and the session's end ends it too.
func TestSelectWaits(t *testing.T) {
	for _, end := range []string{"data", "close", "session end"} {
		t.Run(end, func(t *testing.T) {
			s := newTestSession(t)
			a := connected(t, s, testkit.EchoServer(t))
			b := connected(t, s, testkit.SilentServer(t))
			sel := s.Submit(op("select", "", Args{More: &More{RList: []string{b, a}}}), Submitter{})
			awaitPending(t, s, 1)
			var ev Event
			switch end {
			case "data":
				mustOK(t, s, op("sendall", a, Args{Data: text("hi")}))
				ev = <-sel
				if !ev.OK || len(ev.Result.RList) != 1 || ev.Result.RList[0] != a {
					t.Fatalf("select gave %+v %+v, want %s readable", ev.Result, ev.Error, a)
				}
				return
			case "close":
				mustOK(t, s, op("close", b, Args{}))
				ev = <-sel
			case "session end":
				done := make(chan struct{})
				go func() { s.Close(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the session's end waits for a pending select")
				}
				if ev = <-sel; ev.OK || ev.Error.Msg != errSessionEnded().Msg {
					t.Fatalf("the select ended with %+v %+v", ev.Result, ev.Error)
				}
				return
			}
			wantErr(t, ev, "OSError", "EBADF")
		})
	}
}

// TestSelectRefuses: what select.select refuses before it waits.
func TestSelectRefuses(t *testing.T) {
	s := newTestSession(t)
	id := newSock(t, s, "inet", "stream")
	gone := newSock(t, s, "inet", "stream")
	mustOK(t, s, op("close", gone, Args{}))
	for _, c := range []struct {
		args Args
		exc  string
	}{
		{Args{More: &More{RList: []string{"s9"}}}, "NameError"},
		{Args{Timeout: seconds(-1), More: &More{RList: []string{id}}}, "ValueError"},
		{Args{More: &More{WList: []string{id, gone}}}, "ValueError"},
		{Args{Bufsize: ip(1), More: &More{RList: []string{id}}}, "TypeError"},
	} {
		ev := do(t, s, op("select", "", c.args))
		if ev.OK || ev.Error.Exc != c.exc {
			t.Errorf("select(%+v): %+v, want %s", c.args, ev.Error, c.exc)
		}
	}
}

// TestSelectOnNothingEnds: a select on no socket waits on its timeout
// alone, and the session's end still ends it: otherwise End, the idle
// expiry of every other session and the server's shutdown would wait for
// it. Raced from its start, as it may end before its waker is there.
func TestSelectOnNothingEnds(t *testing.T) {
	m := newTestManager(t, Config{})
	for range 50 {
		s, _ := m.Create()
		sel := s.Submit(op("select", "", Args{Timeout: seconds(3600)}), Submitter{})
		done := make(chan struct{})
		go func() { m.End(s.ID()); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the session's end waits for a select on no socket")
		}
		if ev := <-sel; ev.OK || ev.Error.Msg != errSessionEnded().Msg {
			t.Fatalf("the select ended with %+v %+v", ev.Result, ev.Error)
		}
	}
}
