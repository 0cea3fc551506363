package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/web"
)

// drainedReason is what the pages of the sessions that outlive a drain
// are told, as their session's end.
func drainedReason(node string) string {
	which := "this sockplay"
	if node != "" {
		which = "node " + node
	}
	return which + " was drained for maintenance (-drain-timeout); open sockplay again for a new session"
}

// endAtDeadline ends the sessions that outlive a drain of d: once its
// deadline has passed, every session left ends, told reason. It returns
// when stop is closed. A session whose creation was under way as the
// drain began may come after that: it is ended too, a moment later.
func endAtDeadline(stop <-chan struct{}, d *web.Drain, mgr *sockets.Manager, reason string, log *slog.Logger) {
	deadline, changed := d.State()
	// One timer, set for each deadline (Go's timers drop a stale tick
	// on Reset).
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		var at <-chan time.Time
		if !deadline.IsZero() {
			t.Reset(time.Until(deadline))
			at = t.C
		}
		select {
		case <-stop:
			return
		case <-changed:
			deadline, changed = d.State()
			t.Stop()
		case <-at:
			if n := mgr.EndAll(reason); n > 0 {
				log.Info("drain: the sessions left ended at its deadline", "sessions", n)
			}
			// Looked at again in a second, for the latecomers.
			deadline = time.Now().Add(time.Second)
		}
	}
}

// drainPoll is how often a drain looks whether the node's sessions are
// all gone. They end by many paths (their owners, idleness, the
// deadline), none of which a drain is told of.
const drainPoll = 100 * time.Millisecond

// awaitNoSessions waits until the manager has no session left, or ctx is
// done (false).
func awaitNoSessions(ctx context.Context, mgr *sockets.Manager) bool {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for mgr.Len() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
