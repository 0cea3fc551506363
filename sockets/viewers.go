package sockets

import (
	"errors"
	"time"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
)

// Viewer is one reader of a session's log (a WebSocket, say). Its cursor
// is how far it has got; autorecv waits while the owner's most advanced
// tab is far behind (with no owner's tab, the most advanced reader), so a
// stalled tab cannot stop the others and no watcher sets the pace.
type Viewer struct {
	s *Session
	c *eventlog.Cursor
}

// Attach registers the owner's viewer (a tab of the session) that has
// seen the events up to since. Opening one counts as using the session.
func (s *Session) Attach(since int64) *Viewer {
	v, _ := s.attach(since, false)
	return v
}

// ErrTooManyWatchers is AttachWatcher's answer past Config.MaxWatchers.
var ErrTooManyWatchers = errors.New("this session has as many watchers as it may have (-max-watchers); try again when one has left")

// AttachWatcher registers a read-only watcher (a watch link), unless the
// session has Config.MaxWatchers already. Watchers never set the pace of
// autorecv while an owner's tab is open: a slow student must not slow the
// class.
func (s *Session) AttachWatcher(since int64) (*Viewer, error) { return s.attach(since, true) }

func (s *Session) attach(since int64, watcher bool) (*Viewer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if watcher && s.cfg.MaxWatchers > 0 && s.log.Watchers() >= s.cfg.MaxWatchers {
		s.refused("max-watchers")
		return nil, ErrTooManyWatchers
	}
	v := &Viewer{s: s, c: s.log.Attach(since, watcher)}
	s.readers++
	s.lastActive = time.Now()
	if watcher {
		s.notifyLocked(true) // the owner sees the count
	}
	s.startStatsLocked()
	return v, nil
}

// Advance records that the viewer has received the events up to seq.
func (v *Viewer) Advance(seq int64) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.log.Advance(v.c, seq)
}

// Detach removes the viewer.
func (v *Viewer) Detach() {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	watcher := s.log.Watchers()
	detached := s.log.Detach(v.c)
	if detached {
		s.readers--
		s.leaveIfUnreadLocked()
	}
	if detached && s.log.Watchers() != watcher {
		s.notifyLocked(true)
	}
}

// Consumed records that a reader without a Viewer (GET .../events) has
// read the log up to seq.
func (s *Session) Consumed(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Consumed(seq)
}
