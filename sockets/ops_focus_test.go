package sockets

import (
	"strings"
	"testing"
)

// TestFocus: where the owner looks is the session's state, for watchers,
// the last focus op's; one that is no focus is refused and changes
// nothing.
func TestFocus(t *testing.T) {
	s := newTestSession(t)
	if s.State().Focus != nil {
		t.Fatal("a new session has a focus")
	}
	at := Focus{Sock: "s2", View: "ruler", Lesson: "udp", Step: 3}
	before := s.Version()
	mustOK(t, s, op("focus", "", Args{More: &More{Focus: &at}}))
	if f := s.State().Focus; f == nil || *f != at || s.Version() == before {
		t.Fatalf("focus %+v (version %d, was %d)", f, s.Version(), before)
	}
	for _, bad := range []Args{{}, {More: &More{Focus: &Focus{Line: -1}}}, {More: &More{Focus: &Focus{View: strings.Repeat("v", 300)}}}} {
		if ev := do(t, s, op("focus", "", bad)); ev.OK {
			t.Errorf("focus %+v accepted", bad.More)
		}
	}
	if f := s.State().Focus; *f != at {
		t.Fatalf("a refused focus changed it to %+v", f)
	}
}
