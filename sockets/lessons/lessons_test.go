package lessons

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
)

func startLabs(t *testing.T) (*labs.Server, Labs) {
	t.Helper()
	l, err := labs.Start(labs.Config{Host: "127.0.0.1", DripPause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
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
