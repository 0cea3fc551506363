package web

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Drain is whether this node takes new sessions. It is ready until Start;
// from then on it drains, for good: /readyz answers 503 (so that an
// orchestrator or a proxy sends new sessions elsewhere), new sessions are
// refused with code draining, and every page is told by when its session
// will end. The sessions go on meanwhile; ending those left at the
// deadline is the server's (it owns the engine's manager).
type Drain struct {
	// Timeout is how long a drain lasts when Start is not told:
	// -drain-timeout.
	Timeout time.Duration

	mu       sync.Mutex
	deadline time.Time // zero while ready
	changed  chan struct{}
}

// NewDrain is a ready node whose drains last timeout unless told.
func NewDrain(timeout time.Duration) *Drain {
	return &Drain{Timeout: timeout, changed: make(chan struct{})}
}

// Start begins the drain, its sessions to end within within from now, or
// brings an earlier drain's deadline forward to that (never later: an
// orchestrator's grace period, once promised, is kept). It returns the
// deadline.
func (d *Drain) Start(within time.Duration) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := time.Now().Add(max(within, 0))
	if d.deadline.IsZero() || at.Before(d.deadline) {
		d.deadline = at
		close(d.changed)
		d.changed = make(chan struct{})
	}
	return d.deadline
}

// State is the drain's deadline (zero while the node is ready) and a
// channel closed when that changes (the drain begins, or its deadline
// comes forward).
func (d *Drain) State() (deadline time.Time, changed <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deadline, d.changed
}

// Draining reports whether the drain has begun.
func (d *Drain) Draining() bool {
	deadline, _ := d.State()
	return !deadline.IsZero()
}

// readiness is what /readyz answers.
type readiness struct {
	Status   string `json:"status"` // "ready" or "draining"
	Node     string `json:"node,omitempty"`
	Deadline string `json:"deadline,omitempty"` // RFC 3339: when the sessions left end
}

// readyz says whether this node takes new sessions: 200 while it does,
// 503 once it drains. Unlike /healthz (alive or not), it is what an
// orchestrator and a proxy route new sessions by.
func (h *handler) readyz(w http.ResponseWriter, _ *http.Request) {
	deadline, _ := h.cfg.Drain.State()
	if deadline.IsZero() {
		writeJSON(w, http.StatusOK, readiness{Status: "ready", Node: h.cfg.Node})
		return
	}
	// Its status is the word of the refusal a new session then gets.
	writeJSON(w, http.StatusServiceUnavailable, readiness{Status: string(codeDraining), Node: h.cfg.Node, Deadline: deadline.UTC().Format(time.RFC3339)})
}

// refuseWhileDraining answers a request for a new session with 503
// draining while the node drains, and reports whether it did.
func (h *handler) refuseWhileDraining(w http.ResponseWriter) bool {
	if !h.cfg.Drain.Draining() {
		return false
	}
	h.cfg.Meter.Refused(string(codeDraining))
	writeError(w, codeDraining, h.nodeText()+" is being drained and makes no new sessions: open sockplay again to be sent to another node")
	return true
}

// nodeText names this node in messages.
func (h *handler) nodeText() string {
	if h.cfg.Node == "" {
		return "this sockplay"
	}
	return "this sockplay node (" + h.cfg.Node + ")"
}

// drainNotice is what a page is told when its node drains.
func (h *handler) drainNotice(deadline time.Time) controlMsg {
	return controlMsg{Type: string(codeDraining), Deadline: deadline.UnixMilli(),
		Msg: fmt.Sprintf("%s is being drained for maintenance: this session ends by %s at the latest; export it to keep it", h.nodeText(), deadline.UTC().Format("15:04:05 UTC"))}
}

// drained is the answer to an admin's drain.
type drained struct {
	Draining bool   `json:"draining"`
	Node     string `json:"node,omitempty"`
	Deadline string `json:"deadline"`
}

// startDrain is POST /api/admin/drain: the node drains (as on SIGTERM,
// but it keeps running once its sessions are gone, unready, until it is
// stopped). ?timeout=DURATION gives the sessions left that long at most
// (default -drain-timeout); a second call may bring the deadline forward,
// never put it back.
func (h *handler) startDrain(w http.ResponseWriter, r *http.Request) {
	within := h.cfg.Drain.Timeout
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, codeBadRequest, "timeout must be a duration such as 30s or 10m, not "+v)
			return
		}
		within = d
	}
	deadline := h.cfg.Drain.Start(within)
	h.log.Warn("drain asked for over the API", "node", h.cfg.Node, "deadline", deadline, "client", h.cfg.Access.client(r))
	writeJSON(w, http.StatusAccepted, drained{Draining: true, Node: h.cfg.Node, Deadline: deadline.UTC().Format(time.RFC3339)})
}
