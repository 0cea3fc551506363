package sockets

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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
	s.refused("max-ops-per-sec")
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
		s.refused("max-send-mb-per-sec")
		return &Error{Exc: "OSError", Msg: fmt.Sprintf("%s() of %d bytes: this session may send at most %d bytes a second (-max-send-mb-per-sec)", op, n, limit)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sendRate.take(float64(n), s.cfg.Clock()) {
		return nil
	}
	s.refused("max-send-mb-per-sec")
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
	socks := s.socketsLocked()
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
	s.refused("max-pending-connects")
	return &Error{Exc: "OSError", Msg: fmt.Sprintf("%d connects are already in progress in this session, the most it may have (-max-pending-connects)", len(connecting))}
}

// fdBudget is the descriptors every session's sockets and selects may
// hold together (Config.MaxFDs), and those the server holds for them
// (Manager.HoldFD: a lab's end of a session's connection): with it no session, and no number of
// them, can take the process to its RLIMIT_NOFILE, where every accept
// and open of the server's own (its HTTP connections, the labs, a log
// file) would fail with EMFILE too.
type fdBudget struct {
	max  int64
	used atomic.Int64
}

// take spends one descriptor, or reports false when none is left.
func (b *fdBudget) take() bool {
	for {
		n := b.used.Load()
		if n >= b.max {
			return false
		}
		if b.used.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// give returns a descriptor take spent.
func (b *fdBudget) give() { b.used.Add(-1) }

// full reports whether take would fail now.
func (b *fdBudget) full() bool { return b.used.Load() >= b.max }

// errServerFull is a socket() or accept past Config.MaxFDs. It is ENFILE,
// "Too many open files in system", not the EMFILE of -max-sockets: the
// session has not used up its own allowance, the machine it shares has,
// which is what ENFILE says to a Python program; closing one of its own
// sockets would not be the cure, waiting for other sessions' is.
func errServerFull(max int64) *Error {
	return &Error{Errno: "ENFILE", Num: int(unix.ENFILE), Exc: "OSError",
		Msg: fmt.Sprintf("Too many open files in system: the sessions of this sockplay hold the %d descriptors it allows them (-max-fds); try again when some have closed", max)}
}

// FDReserve is how many of the process's descriptors DefaultFDs keeps for
// the server itself, out of a limit of nofile: its HTTP connections and
// WebSockets, the lab servers, the runtime's poller, log files. A
// quarter, and never fewer than 256.
func FDReserve(nofile uint64) uint64 { return max(256, nofile/4) }

// DefaultFDs is the Config.MaxFDs for a process that may have nofile
// descriptors open: all of them less FDReserve, and at least one.
func DefaultFDs(nofile uint64) int {
	if nofile <= FDReserve(nofile) {
		return 1
	}
	return int(min(nofile-FDReserve(nofile), 1<<31-1))
}

// processFDs is the process's soft RLIMIT_NOFILE (the server raises it to
// its hard limit first), or 1024 if it cannot be read.
func processFDs() uint64 {
	var l unix.Rlimit
	switch err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); {
	case err != nil:
		return 1024
	case l.Cur == unix.RLIM_INFINITY:
		return 1 << 20 // the kernel's own cap (fs.nr_open) by default
	}
	return l.Cur
}
