package lessons

import (
	"sync"

	"github.com/sockplay/sockplay/sockets"
)

// Tracker keeps each session's progress in each lesson, and forgets a
// session's once the session ends. Its zero value is ready to use.
type Tracker struct {
	mu   sync.Mutex
	runs map[string]map[string]*Progress // session id → lesson id → progress
}

// Progress is session s's progress in lesson id, started at its first
// step the first time it is asked for; ok is false if there is no such
// lesson. The same session and lesson always give the same Progress
// until the session ends.
func (t *Tracker) Progress(s *sockets.Session, id string) (p *Progress, ok bool) {
	if _, ok := Get(id); !ok {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.runs == nil {
		t.runs = map[string]map[string]*Progress{}
	}
	bySession, ok := t.runs[s.ID()]
	if !ok {
		bySession = map[string]*Progress{}
		t.runs[s.ID()] = bySession
		// One goroutine per session that has used a lesson: it holds
		// nothing but the session, and ends with it.
		go t.forget(s)
	}
	p, ok = bySession[id]
	if !ok {
		p = NewProgress(id)
		bySession[id] = p
	}
	return p, true
}

// forget drops s's progress once s ends.
func (t *Tracker) forget(s *sockets.Session) {
	<-s.Done()
	t.mu.Lock()
	delete(t.runs, s.ID())
	t.mu.Unlock()
}
