package sockets

import (
	"errors"
	"fmt"
	"time"
)

// tokenBucket allows perSec a second on average, with bursts of up to one
// second's worth. The session's lock guards it.
type tokenBucket struct {
	perSec float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSec int, now time.Time) *tokenBucket {
	if perSec <= 0 {
		return nil // unlimited
	}
	return &tokenBucket{perSec: float64(perSec), tokens: float64(perSec), last: now}
}

// take spends n tokens if there are that many.
func (b *tokenBucket) take(n float64, now time.Time) bool {
	if b == nil {
		return true
	}
	b.tokens = min(b.perSec, b.tokens+now.Sub(b.last).Seconds()*b.perSec)
	b.last = now
	if n > b.tokens {
		return false
	}
	b.tokens -= n
	return true
}

// ErrTooManySessions is Create's answer past Config.MaxSessions.
var ErrTooManySessions = errors.New("too many sessions are open on this sockplay; try again when some have ended")

// Admit spends one of the session's ops a second (Config.MaxOpsPerSec):
// the web layer asks before it submits a client's op, and a refused op
// never runs and is not logged (a flood must not fill the log either).
func (s *Session) Admit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opsRate.take(1, s.cfg.Clock()) {
		return nil
	}
	return fmt.Errorf("too many ops: this session may run %d a second (-max-ops-per-sec)", s.cfg.MaxOpsPerSec)
}

// admitSend spends n of the session's send bytes a second
// (Config.MaxSendBytesPerSec), or says why not.
func (s *Session) admitSend(op string, n int) *Error {
	limit := s.cfg.MaxSendBytesPerSec
	if limit <= 0 {
		return nil
	}
	if n > limit {
		return &Error{Exc: "OSError", Msg: fmt.Sprintf("%s() of %d bytes: this session may send at most %d bytes a second (-max-send-mb-per-sec)", op, n, limit)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sendRate.take(float64(n), s.cfg.Clock()) {
		return nil
	}
	return &Error{Exc: "OSError", Msg: fmt.Sprintf("%s() of %d bytes: sending too fast; this session may send %d bytes a second (-max-send-mb-per-sec)", op, n, limit)}
}

// admitConnect refuses a connect while Config.MaxPendingConnects of the
// session's sockets are connecting: a blocking connect waiting, one queued,
// or a non-blocking one in progress (EINPROGRESS, its socket "connecting").
func (s *Session) admitConnect() *Error {
	limit := s.cfg.MaxPendingConnects
	if limit <= 0 {
		return nil
	}
	s.mu.Lock()
	connecting := map[string]bool{}
	for _, p := range s.pending {
		if p.Op == "connect" {
			connecting[p.Sock] = true
		}
	}
	socks := make([]*Socket, 0, len(s.sockets))
	for _, k := range s.sockets {
		socks = append(socks, k)
	}
	s.mu.Unlock()
	for _, k := range socks {
		k.mu.Lock()
		maybe := k.state == "connecting" && !connecting[k.id]
		k.mu.Unlock()
		if !maybe {
			continue
		}
		k.refresh() // a non-blocking connect may have completed since
		k.mu.Lock()
		if k.state == "connecting" {
			connecting[k.id] = true
		}
		k.mu.Unlock()
	}
	if len(connecting) < limit {
		return nil
	}
	return &Error{Exc: "OSError", Msg: fmt.Sprintf("%d connects are already in progress in this session, the most it may have (-max-pending-connects)", len(connecting))}
}
