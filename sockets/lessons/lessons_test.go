package lessons

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
)

// startLabs starts the labs, and says where each is as the lessons ask.
func startLabs(t *testing.T) (*labs.Server, Labs) {
	l := testkit.Labs(t)
	return l, l.AddrOf
}

func TestLessonsLoad(t *testing.T) {
	ls, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 {
		t.Fatal("no lessons")
	}
	seen := map[string]bool{}
	for _, l := range ls {
		if seen[l.ID] {
			t.Errorf("two lessons with id %q", l.ID)
		}
		seen[l.ID] = true
		for i, st := range l.Steps {
			if st.Say == "" {
				t.Errorf("%s step %d says nothing", l.ID, i+1)
			}
		}
	}
}

// TestLessonsRun runs every lesson start to end against the labs: every
// step must run, and every expectation hold.
func TestLessonsRun(t *testing.T) {
	srv, find := startLabs(t)
	ls, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		t.Run(l.ID, func(t *testing.T) {
			for _, need := range l.Needs {
				name, proto, _ := strings.Cut(need, "/")
				if _, ok := srv.Find(name, proto); !ok {
					t.Fatalf("the lesson needs lab %s, which does not exist", need)
				}
			}
			m := sockets.NewManager(sockets.Config{UnixDir: t.TempDir()})
			defer m.Close()
			s, _ := m.Create()
			v := s.Attach(0) // someone watches, as the page does: kernel stats run
			defer v.Detach()
			p := NewProgress(l.ID)
			for i := range l.Steps {
				r := p.Step(context.Background(), s, find)
				for _, ev := range s.EventsAfter(0, 0) {
					v.Advance(ev.Seq)
				}
				if r.Problem != "" || r.Differs != "" || !r.Done {
					t.Fatalf("step %d (%s): problem %q, differs %q, op %s, event %+v", i+1, l.Steps[i].Say, r.Problem, r.Differs, r.Op, r.Event)
				}
				if r.Event != nil && !r.Event.OK && (l.Steps[i].Expect == nil || l.Steps[i].Expect.Exc == "") {
					t.Fatalf("step %d (%s) failed without the lesson expecting it: %v", i+1, l.Steps[i].Say, r.Event.Error)
				}
			}
			if r := p.Step(context.Background(), s, find); !strings.Contains(r.Problem, "over") {
				t.Errorf("after the last step: %+v", r)
			}
		})
	}
}

// A lesson against a lab that is off says so, and can be skipped or reset.
func TestLessonWithoutLabs(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	defer m.Close()
	s, _ := m.Create()
	none := func(string, string) (string, bool) { return "", false }
	p := NewProgress("tcp-echo")
	if r := p.Step(context.Background(), s, none); r.Problem != "" {
		t.Fatalf("socket() needs no lab: %+v", r)
	}
	r := p.Step(context.Background(), s, none)
	if !strings.Contains(r.Problem, "echo lab") || !strings.Contains(r.Problem, "not running") || r.Done {
		t.Fatalf("connect to a missing lab: %+v", r)
	}
	if p.Next != 1 {
		t.Fatalf("the step must stay to be run again, next = %d", p.Next)
	}
	p.Skip()
	if p.Next != 2 {
		t.Fatalf("skip: next = %d", p.Next)
	}
	// The send now fails in the session (not connected): reported, passed.
	r = p.Step(context.Background(), s, none)
	if r.Event == nil || r.Event.OK || r.Differs == "" || !r.Done {
		t.Fatalf("a failing step: %+v", r)
	}
	p.Reset()
	if p.Next != 0 || len(p.Names) != 0 {
		t.Fatalf("reset: %+v", p)
	}
}

// A Tracker gives each session its own progress in each lesson, the same
// one each time, and forgets a session's once it ends.
func TestTracker(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	defer m.Close()
	a, _ := m.Create()
	b, _ := m.Create()
	var tr Tracker
	if _, ok := tr.Progress(a, "nope"); ok {
		t.Fatal("progress in a lesson that does not exist")
	}
	pa, ok := tr.Progress(a, "tcp-echo")
	if !ok || pa.Lesson != "tcp-echo" || pa.Next != 0 {
		t.Fatalf("a new progress: %+v %v", pa, ok)
	}
	pa.Skip()
	for _, tc := range []struct {
		name   string
		s      *sockets.Session
		lesson string
		next   int
		same   bool
	}{
		{"the same session and lesson", a, "tcp-echo", 1, true},
		{"another lesson", a, "partial-reads", 0, false},
		{"another session", b, "tcp-echo", 0, false},
	} {
		p, ok := tr.Progress(tc.s, tc.lesson)
		if !ok || (p == pa) != tc.same || p.Next != tc.next {
			t.Errorf("%s: same %v, next %d; want same %v, next %d", tc.name, p == pa, p.Next, tc.same, tc.next)
		}
	}
	tracked := func(s *sockets.Session) bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		_, ok := tr.runs[s.ID()]
		return ok
	}
	a.Close()
	// Nothing is sent when the Tracker forgets: poll its own bookkeeping.
	deadline := time.Now().Add(5 * time.Second)
	for tracked(a) {
		if time.Now().After(deadline) {
			t.Fatal("an ended session's progress is still kept")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !tracked(b) {
		t.Fatal("a live session's progress was forgotten with another's")
	}
}

// A step's text names a socket as ${name}, shown as its id in the
// session: only a socket an earlier step made (or, in look, read once
// the step ran, the step's own).
func TestLessonTextNames(t *testing.T) {
	sock := json.RawMessage(`{"op": "socket"}`)
	closeC := json.RawMessage(`{"op": "close", "sock": "${c}"}`)
	for _, tc := range []struct {
		name  string
		steps []Step
		err   string
	}{
		{"an earlier step's socket", []Step{{Say: "make one", Op: sock, As: "c"}, {Say: "close ${c}", Op: closeC}}, ""},
		{"its own socket, in look", []Step{{Say: "make one", Look: "${c} is new", Op: sock, As: "c"}}, ""},
		{"its own socket, in say", []Step{{Say: "make ${c}", Op: sock, As: "c"}}, "step 1 says ${c} before a step makes it"},
		{"a later step's socket", []Step{{Say: "look at ${d}", Op: sock, As: "c"}, {Say: "make d", Op: sock, As: "d"}}, "step 1 says ${d} before"},
		{"a socket no step makes", []Step{{Say: "make one", Look: "see ${x}", Op: sock, As: "c"}}, "step 1's look ${x} before"},
		{"an address", []Step{{Say: "make one", Op: sock, As: "c"}, {Say: "at ${addr:c}", Op: closeC}}, "names sockets only"},
	} {
		l := Lesson{ID: "t", Title: "t", Steps: tc.steps}
		err := l.check()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
