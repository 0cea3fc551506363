package sockets

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
)

// Session owns its sockets, an append-only event log numbered by seq, and
// the set of calls still pending. Viewers do not get pushed to: they keep
// a cursor into the log and wait on Changed, so a slow viewer costs the
// session nothing and can never make it lose or reorder an event.
type Session struct {
	id     string
	cfg    Config
	logger *slog.Logger
	start  time.Time
	wg     sync.WaitGroup // op goroutines and auto loops
	// admitMu makes counting the connects in progress and becoming one
	// of them one step (-max-pending-connects).
	admitMu sync.Mutex

	mu      sync.Mutex
	log     *eventLog // and its readers' cursors
	lastT   int64     // the newest event's T
	changed chan struct{}
	// changedTaken: someone has changed and waits for it to close.
	changedTaken bool
	held         heldBack // autorecv's events not woken for (the wake rule)
	version      uint64   // counts state changes, not events
	sockets      map[string]*Socket
	nextSock     int
	nextCall     int64
	pending      map[int64]Pending
	waiters      map[int64]chan Event
	closed       bool
	done         chan struct{}
	lastActive   time.Time
	endReason    string
	snap         *State           // the last SharedState, for its version
	wakers       map[int]struct{} // eventfds of the selects waiting
	focus        *Focus           // the owner's, for State

	fds          *fdBudget    // the descriptors all sessions share
	opsRate      *tokenBucket // nil: unlimited
	sendRate     *tokenBucket
	watchToken   string        // its watch link's secret; set by the Manager under its lock
	dir          string        // for AF_UNIX paths, made on first use
	statsRunning bool          // the kernel-stats poller is running
	closing      chan struct{} // closed when Close begins
	// readers is how many viewers and streams (HoldLog) read the log:
	// an ended session's log stays in the budget across sessions until
	// the last is done, for they keep its events in memory as long.
	readers int
}

// Pending is a call that has been submitted and has not produced its event
// yet: a blocking recv, a connect in progress, or an op queued behind one.
type Pending struct {
	Call   int64   `json:"call"`
	Sock   string  `json:"sock,omitempty"`
	Op     string  `json:"op"`
	Args   *Args   `json:"args,omitempty"`
	Start  int64   `json:"start"`
	Origin *Origin `json:"origin,omitempty"`
}

// SocketInfo is one socket's state as viewers show it.
type SocketInfo struct {
	ID         string   `json:"id"`
	Family     string   `json:"family"`
	Type       string   `json:"type"`
	State      string   `json:"state"`
	Local      string   `json:"local,omitempty"`
	Peer       string   `json:"peer,omitempty"`
	Mode       string   `json:"mode"`
	Timeout    *float64 `json:"timeout,omitempty"`
	AutoRecv   int      `json:"autorecv,omitempty"`
	AutoAccept bool     `json:"autoaccept,omitempty"`
	// Paused is set while autorecv waits for viewers to catch up, leaving
	// the data in the kernel.
	Paused bool   `json:"paused,omitempty"`
	Shut   string `json:"shut,omitempty"`
	EOF    bool   `json:"eof,omitempty"`
	// Link is the socket in this session at the other end of this one.
	Link string `json:"link,omitempty"`
	// Backlog is what listen() was given.
	Backlog int            `json:"backlog,omitempty"`
	Opts    map[string]any `json:"opts,omitempty"`
	// Stats is the kernel's view, read when the snapshot was taken.
	Stats *KStats `json:"stats,omitempty"`
}

// State is a snapshot of a session for viewers: its sockets, what is
// pending, and the last seq in the log.
type State struct {
	ID      string `json:"id,omitempty"`
	LastSeq int64  `json:"last_seq"`
	// FirstSeq is the oldest event still in memory; older ones were
	// dropped past the event-log limit.
	FirstSeq int64        `json:"first_seq"`
	Version  uint64       `json:"version"`
	Now      int64        `json:"now"` // the session clock when this was taken, µs
	Sockets  []SocketInfo `json:"sockets"`
	Pending  []Pending    `json:"pending"`
	Ended    bool         `json:"ended,omitempty"`
	// EndReason says why an ended session ended ("idle for 1h0m0s").
	EndReason string `json:"end_reason,omitempty"`
	// Watchers is how many watch-link viewers are connected.
	Watchers int `json:"watchers"`
	// Focus is where the owner looks, as its last focus op said:
	// watchers follow it.
	Focus *Focus `json:"focus,omitempty"`
}

func newSession(id string, cfg Config, fds *fdBudget, logs *eventlog.Budget) *Session {
	now := time.Now()
	s := &Session{
		id:         id,
		cfg:        cfg,
		logger:     cfg.Logger.With("session", id),
		fds:        fds,
		closing:    make(chan struct{}),
		start:      now,
		changed:    make(chan struct{}),
		sockets:    map[string]*Socket{},
		pending:    map[int64]Pending{},
		waiters:    map[int64]chan Event{},
		done:       make(chan struct{}),
		lastActive: now,
		opsRate:    newTokenBucket(cfg.MaxOpsPerSec, cfg.Clock()),
		sendRate:   newTokenBucket(cfg.MaxSendBytesPerSec, cfg.Clock()),
	}
	s.log = newEventLog(cfg, logs, &s.mu)
	return s
}

// ID is the session's id, as used in URLs.
func (s *Session) ID() string { return s.id }

// HoldLog marks a reader of the log that is not a Viewer (a stream of
// its events) until release is called (once): until then, once the
// session has ended, its log still counts against the budget across
// sessions, as the memory it is.
func (s *Session) HoldLog() (release func()) {
	s.mu.Lock()
	s.readers++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.readers--
			s.leaveIfUnreadLocked()
		})
	}
}

// leaveIfUnreadLocked takes an ended session's log out of the budget
// across sessions once no reader holds it: what its last readers read is
// theirs to finish, and counted while they do. s.mu is held.
func (s *Session) leaveIfUnreadLocked() {
	select {
	case <-s.done:
		if s.readers == 0 {
			s.log.Leave()
		}
	default:
	}
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// now is microseconds since the session started, on the monotonic clock.
func (s *Session) now() int64 { return time.Since(s.start).Microseconds() }

// Changed returns a channel closed at the next change (event or state).
// Take it before reading, then wait on it: nothing can slip in between.
func (s *Session) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedTaken = true
	return s.changed
}

// notifyLocked wakes every viewer, and marks the state changed when it
// did; s.mu must be held.
func (s *Session) notifyLocked(stateChanged bool) {
	if stateChanged {
		s.version++
	}
	s.held = heldBack{}
	if s.changedTaken {
		// Only a channel someone has is worth closing; making a new one
		// on every event would be an allocation for each.
		close(s.changed)
		s.changed = make(chan struct{})
		s.changedTaken = false
	}
}

// LastSeq is the seq of the newest event, 0 if none.
func (s *Session) LastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Last()
}

// EventsAfter returns up to max events (0: all) with seq > after, in
// seq order, for the caller to keep: the memory of their bytes is never
// used again. If events after it have been dropped from memory (see
// Config.MaxLogBytes), the first one returned has a seq beyond after+1.
func (s *Session) EventsAfter(after int64, max int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Keep(after, max)
}

// Borrow is EventsAfter for a reader that is quick with the events: it
// also stops (after at least one event) once their weight passes maxBytes
// (0: no limit), so that a viewer sending a few big recvs a message need
// not copy thousands; and the events, their JSON and their bytes are the
// reader's only until it releases the batch: after that autorecv may recv
// into their memory again, once the log has dropped them.
func (s *Session) Borrow(after int64, max int, maxBytes int64) Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Borrow(after, max, maxBytes)
}

// Version counts changes; viewers compare it to know when to resend State.
func (s *Session) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// SharedState is State taken once per version and shared by every viewer
// that asks for that version: a snapshot reads each socket's kernel stats,
// and 200 watchers of one session must cost one, not 200. Its slices are
// shared: callers must not change them. Between versions its LastSeq and
// kernel stats may be behind; stats events carry those.
func (s *Session) SharedState() State {
	s.mu.Lock()
	if snap := s.snap; snap != nil && snap.Version == s.version {
		s.mu.Unlock()
		return *snap
	}
	s.mu.Unlock()
	st := s.State()
	s.mu.Lock()
	if s.snap == nil || st.Version >= s.snap.Version {
		s.snap = &st
	}
	s.mu.Unlock()
	return st
}

// socketList is the session's sockets now, for work on each of them
// done without the session's lock.
func (s *Session) socketList() []*Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socketsLocked()
}

// socketsLocked is socketList for a caller that holds the session's lock
// for more than the sockets.
func (s *Session) socketsLocked() []*Socket {
	return slices.Collect(maps.Values(s.sockets))
}

// State snapshots the session.
func (s *Session) State() State {
	s.mu.Lock()
	st := State{ID: s.id, LastSeq: s.log.Last(), FirstSeq: s.log.First(), Version: s.version, Ended: s.closed, Now: s.now(),
		EndReason: s.endReason, Watchers: s.log.Watchers(), Focus: s.focus}
	socks := s.socketsLocked()
	st.Pending = make([]Pending, 0, len(s.pending))
	for _, p := range s.pending {
		st.Pending = append(st.Pending, p)
	}
	s.mu.Unlock()
	sort.Slice(st.Pending, func(i, j int) bool { return st.Pending[i].Call < st.Pending[j].Call })
	sort.Slice(socks, func(i, j int) bool { return sockNum(socks[i].id) < sockNum(socks[j].id) })
	st.Sockets = make([]SocketInfo, 0, len(socks))
	ends := map[[2]string]string{} // (local, peer) -> socket
	inodes := map[uint32]string{}  // AF_UNIX: inode -> socket
	peers := map[int]uint32{}      // AF_UNIX: index in st.Sockets -> its peer's inode
	for _, k := range socks {
		in := k.info()
		if in.State != "closed" {
			if ks, ok := k.kstats(); ok {
				in.Stats = &ks
			}
			switch {
			case k.family == unix.AF_UNIX:
				if self, peer, ok := k.unixInodes(); ok {
					inodes[self] = in.ID
					if peer != 0 {
						peers[len(st.Sockets)] = peer
					}
				}
			case in.Peer != "":
				ends[[2]string{in.Local, in.Peer}] = in.ID
			}
		}
		st.Sockets = append(st.Sockets, in)
	}
	// Two inet sockets of this session are the two ends of one TCP
	// connection when each one's local address is the other's peer; two
	// AF_UNIX ones, when the kernel says each is the other's peer.
	for i, in := range st.Sockets {
		if peer, ok := peers[i]; ok {
			st.Sockets[i].Link = inodes[peer]
		} else if in.Peer != "" && in.State != "closed" && in.Type == "stream" && in.Family != "unix" {
			st.Sockets[i].Link = ends[[2]string{in.Peer, in.Local}]
		}
	}
	return st
}

func sockNum(id string) int {
	n, _ := strconv.Atoi(id[1:])
	return n
}

func (k *Socket) info() SocketInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	in := SocketInfo{ID: k.id, Family: familyNames[k.family], Type: typeNames[k.stype], State: k.state,
		Local: k.local, Peer: k.peer, Shut: k.shut, EOF: k.eof}
	in.Mode, in.Timeout = modeOf(k.timeout)
	if k.auto != nil {
		in.Paused = k.autoPaused
		if k.auto.kind == "autoaccept" {
			in.AutoAccept = true
		} else {
			in.AutoRecv = k.auto.bufsize
		}
	}
	in.Backlog = k.backlog
	if len(k.opts) > 0 {
		in.Opts = make(map[string]any, len(k.opts))
		for n, v := range k.opts {
			in.Opts[n] = v
		}
	}
	return in
}

func modeOf(t time.Duration) (string, *float64) {
	switch {
	case t == blocking:
		return "blocking", nil
	case t == 0:
		z := 0.0
		return "non-blocking", &z
	default:
		f := t.Seconds()
		return "timeout", &f
	}
}

// idleSince is when the session was last used: an op submitted, a page
// opened, or an event of its sockets (autorecv getting data). An open page
// that nobody uses does not keep it forever; it is told when it ends.
func (s *Session) idleSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastActive
}

// Do submits op and waits for its event.
func (s *Session) Do(ctx context.Context, op Op) (Event, error) {
	ch := s.Submit(op, Submitter{})
	select {
	case ev := <-ch:
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Submit starts op and returns a channel that gets its event. Ops are
// ordered at submission: whatever Submit is called with first on a socket
// is queued first, whichever goroutine runs it.
func (s *Session) Submit(op Op, from Submitter) <-chan Event {
	reply := make(chan Event, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		reply <- Event{Op: op.Op, Sock: op.Sock, Error: errSessionEnded()}
		return reply
	}
	s.nextCall++
	c := &call{s: s, id: s.nextCall, op: op, from: from, start: s.now()}
	s.waiters[c.id] = reply
	s.lastActive = time.Now()
	s.mu.Unlock()
	c.dispatch()
	return reply
}

// append adds an event to the log, answers its caller and wakes viewers.
// Events of ops change state (pending ends, names change); auto events say
// so themselves.
func (s *Session) append(ev Event, stateChanged bool) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev.T = max(s.now(), ev.Start)
	ev, answered := s.logLocked(ev, holding(&ev))
	s.notifyLocked(stateChanged || answered)
	return ev
}

// logLocked puts ev in the log without waking viewers, and reports
// whether it answered a call (which changes the state). Its T must not be
// before the last event's.
func (s *Session) logLocked(ev Event, h eventlog.Holding) (Event, bool) {
	ev.Seq = s.log.Append(ev, h)
	s.lastT = ev.T
	s.cfg.Meter.Event(carried(&ev))
	if ev.Op != "stats" {
		s.lastActive = s.start.Add(time.Duration(ev.T) * time.Microsecond) // the clock just read
	}
	if ev.Call == 0 {
		return ev, false
	}
	delete(s.pending, ev.Call)
	if w, ok := s.waiters[ev.Call]; ok {
		w <- ev
		delete(s.waiters, ev.Call)
	}
	return ev, true
}

// touch tells viewers that state changed without a new event.
func (s *Session) touch() {
	s.mu.Lock()
	s.notifyLocked(true)
	s.mu.Unlock()
}

// goRun runs fn on a goroutine the session waits for when it closes, or
// reports false if the session has already closed. The check and the Add
// share s.mu with Close, so Close's Wait never races an Add.
func (s *Session) goRun(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// isClosing reports whether the session is ending or has ended.
func (s *Session) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// Close ends the session: every socket is closed, which ends every pending
// call, and Close waits until all of the session's goroutines are gone.
func (s *Session) Close() { s.End("") }

// End closes the session, telling its viewers why.
func (s *Session) End(reason string) {
	s.mu.Lock()
	if s.endReason == "" {
		s.endReason = reason
	}
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.closing)
	socks := s.socketsLocked()
	s.mu.Unlock()
	// A select on no socket (or on none that closes) waits on its waker
	// alone.
	s.wakeSelects()
	for _, k := range socks {
		k.close()
		k.stopAuto()
	}
	s.wg.Wait()
	s.mu.Lock()
	dir := s.dir
	close(s.done)
	s.leaveIfUnreadLocked()
	s.notifyLocked(true)
	s.mu.Unlock()
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			s.logger.Warn("removing the session's unix socket directory", "dir", dir, "err", err)
		}
	}
	s.logger.Info("session closed", "sockets", len(socks))
}
