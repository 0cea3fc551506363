package sockets

import (
	"strings"
	"testing"

	"github.com/sockplay/sockplay/internal/testkit"
)

// TestOpArgs: an argument an op does not take is a TypeError, named, and
// the op does not run; every op has its list.
func TestOpArgs(t *testing.T) {
	s := newTestSession(t)
	id := newSock(t, s, "inet", "dgram")
	zero := Timeout{Set: true}
	for _, tc := range []struct {
		op   Op
		want string // "" when accepted
	}{
		{op("recv", id, Args{Bufsize: ip(4), Timeout: zero}), "recv() got an unexpected argument 'timeout' (it takes bufsize; a socket's timeout is set with settimeout)"},
		{op("close", id, Args{Addr: "127.0.0.1:9"}), "close() got an unexpected argument 'addr' (it takes no arguments)"},
		{op("sendto", id, Args{Data: text("x"), Addr: "127.0.0.1:9", Chunk: ip(1)}), "sendto() got an unexpected argument 'chunk' (it takes addr, data)"},
		{op("gethostbyname", "", Args{Host: "localhost", Bufsize: ip(1)}), "gethostbyname() got an unexpected argument 'bufsize' (it takes host)"},
		{op("settimeout", id, Args{Timeout: zero}), ""},
	} {
		before := len(stateOf(t, s, id).Opts)
		ev := do(t, s, tc.op)
		if tc.want == "" {
			if !ev.OK {
				t.Errorf("%s: %v", tc.op.Op, ev.Error)
			}
			continue
		}
		if ev.OK || ev.Error.Exc != "TypeError" || !strings.Contains(ev.Error.Msg, tc.want) {
			t.Errorf("%s: got %+v, want TypeError %q", tc.op.Op, ev.Error, tc.want)
		}
		if st := stateOf(t, s, id); st.State == "closed" || len(st.Opts) != before {
			t.Errorf("%s ran although refused", tc.op.Op)
		}
	}
}

// TestOrigin: an op's origin comes back in its event, in the pending
// call meanwhile and in the events of its parts; one that is no name is
// a ValueError, and the op does not run.
func TestOrigin(t *testing.T) {
	s := newTestSession(t)
	at := &Origin{File: "main.py", Line: 7, Thread: "worker-1"}
	ev := do(t, s, Op{Op: "socket", Origin: at})
	if !ev.OK || ev.Origin == nil || *ev.Origin != *at {
		t.Fatalf("socket's event: %+v, origin %+v", ev.Error, ev.Origin)
	}
	id := ev.Result.Sock
	a := connected(t, s, testkit.SilentServer(t))
	recv := s.Submit(Op{Op: "recvall", Sock: a, Args: Args{Bufsize: ip(4)}, Origin: at}, Submitter{})
	if p := awaitState(t, s, "the recvall pending", func(st State) bool { return len(st.Pending) == 1 }).Pending[0]; p.Origin == nil || *p.Origin != *at {
		t.Fatalf("pending %+v", p)
	}
	mustOK(t, s, op("close", a, Args{}))
	<-recv
	for _, ev := range s.EventsAfter(0, 0) {
		if ev.Parent != 0 && (ev.Origin == nil || *ev.Origin != *at) {
			t.Fatalf("a part of recvall: origin %+v", ev.Origin)
		}
	}
	for _, o := range []*Origin{{File: strings.Repeat("x", 300)}, {Thread: strings.Repeat("t", 257)}, {Line: -1}} {
		ev := do(t, s, Op{Op: "close", Sock: id, Origin: o})
		if ev.OK || ev.Error.Exc != "ValueError" {
			t.Errorf("origin %+v: %+v", o, ev.Error)
		}
	}
	if st := stateOf(t, s, id); st.State == "closed" {
		t.Fatal("a close with a bad origin ran")
	}
}
