package sockets

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
	"github.com/sockplay/sockplay/sockets/policy"
)

// Config holds the engine's limits and dependencies.
type Config struct {
	// MaxSockets is how many sockets one session may have open at once.
	MaxSockets int
	// MaxSessions is how many sessions may be open at once; 0: no limit.
	MaxSessions int
	// MaxFDs is how many descriptors all sessions together may hold at
	// once: their sockets and their selects' wakers. Past it socket() and
	// accept fail with ENFILE. 0: DefaultFDs of the process's
	// RLIMIT_NOFILE, so that sessions can never take every descriptor.
	MaxFDs int
	// MaxWatchers is how many watch-link viewers one session may have
	// at once; 0: no limit.
	MaxWatchers int
	// MaxOpsPerSec bounds the ops a client may run in one session a
	// second (see Session.Admit); 0: no limit.
	MaxOpsPerSec int
	// MaxSendBytesPerSec bounds the bytes one session's sends may take a
	// second; 0: no limit.
	MaxSendBytesPerSec int
	// MaxPendingConnects bounds one session's connects in progress at
	// once (a scan of many closed ports, say); 0: no limit.
	MaxPendingConnects int
	// Clock is what the rate limits read the time from; nil means
	// time.Now (tests stop it, so that no limit depends on their speed).
	Clock func() time.Time
	// IdleTimeout ends a session unused for this long (no op, no page
	// opened, no event of its sockets), open pages or not; 0 keeps
	// sessions until the manager closes.
	IdleTimeout time.Duration
	// MaxLogBytes bounds one session's event log in memory; past it the
	// oldest events are dropped. 0: DefaultConfig's.
	MaxLogBytes int64
	// MaxTotalLogBytes bounds the event logs of all sessions together;
	// past it the oldest events of the largest logs are dropped. 0: no
	// bound beyond each session's.
	MaxTotalLogBytes int64
	// MaxLagEvents and MaxLagBytes say how far readers may fall behind
	// before autorecv pauses (data then waits in the kernel).
	MaxLagEvents int
	MaxLagBytes  int64
	// StatsInterval is how often kernel stats are read while someone
	// watches; 0: DefaultConfig's; negative turns the poller off.
	StatsInterval time.Duration
	// UnixDir is where sessions make their AF_UNIX directories; "" is the
	// system's temporary directory.
	UnixDir string
	// Resolver resolves host names for connect; nil means Go's resolver.
	Resolver Resolver
	Logger   *slog.Logger

	// Policy is checked on the resolved address of every connect, sendto
	// and bind of an AF_INET or AF_INET6 socket; nil allows everything.
	Policy *policy.Policy

	// Node, when set, begins every session id and watch token, as
	// "node.id", so that a proxy in front of many nodes can send each
	// request to the node its session lives on (see NodeOf).
	Node string
	// Meter is told what the engine does, for metrics; nil: nobody.
	Meter Meter
}

// Manager creates, finds and expires sessions.
type Manager struct {
	cfg Config

	fds  *fdBudget
	logs *eventlog.Budget // nil: no bound across sessions

	mu       sync.Mutex
	sessions map[string]*Session
	watched  map[string]*Session // by watch token
	closed   bool

	unixRoot string // the manager's directory for sessions' AF_UNIX ones; "" if none

	stop chan struct{}
	wg   sync.WaitGroup
}

// DefaultMaxLogBytes is the default event-log memory of one session: about
// 90 MiB of a bulk stream's bytes, or some 110,000 small events. More costs
// a stream more than it gives a class: every byte a session's loops recv
// lands in memory the log has not touched for a while, and a log four
// times this size made a fresh stream's recvs fault in new pages for its
// first quarter gigabyte (bulk throughput fell by about a tenth).
const DefaultMaxLogBytes = 96 << 20

// ErrClosed is returned by Create once the manager has been closed.
var ErrClosed = errors.New("sockplay is shutting down")

// NewManager returns a Manager; Close it to end every session.
func NewManager(cfg Config) *Manager {
	def := DefaultConfig()
	if cfg.MaxSockets <= 0 {
		cfg.MaxSockets = def.MaxSockets
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = def.MaxLogBytes
	}
	if cfg.MaxLagEvents <= 0 {
		cfg.MaxLagEvents = def.MaxLagEvents
	}
	if cfg.MaxLagBytes <= 0 {
		cfg.MaxLagBytes = def.MaxLagBytes
	}
	// Autorecv must pause while what its readers have not read still
	// fits in the log; past that the log would drop events a live
	// reader was about to get (a small -max-event-log-mb did).
	cfg.MaxLagBytes = min(cfg.MaxLagBytes, cfg.MaxLogBytes/2)
	if cfg.MaxTotalLogBytes > 0 {
		// Nor may the budget across sessions drop them, for a session
		// alone on the server.
		cfg.MaxLagBytes = min(cfg.MaxLagBytes, cfg.MaxTotalLogBytes/2)
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = def.StatsInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Meter == nil {
		cfg.Meter = noMeter{}
	}
	// Every session's AF_UNIX directory is made in one of the manager's
	// own, which only this user may list: in a shared /tmp the sessions'
	// directories, and the names of their sockets, would be anyone's to
	// read.
	unixRoot, err := privateDir(cfg.UnixDir)
	if err != nil {
		cfg.Logger.Warn("no private directory for AF_UNIX sockets: sessions make theirs in the parent", "dir", cfg.UnixDir, "err", err)
	} else {
		cfg.UnixDir = unixRoot
	}
	if cfg.MaxFDs <= 0 {
		cfg.MaxFDs = DefaultFDs(processFDs())
	}
	m := &Manager{cfg: cfg, sessions: map[string]*Session{}, watched: map[string]*Session{}, stop: make(chan struct{}),
		fds: &fdBudget{max: int64(cfg.MaxFDs)}, unixRoot: unixRoot}
	if cfg.MaxTotalLogBytes > 0 {
		m.logs = eventlog.NewBudget(cfg.MaxTotalLogBytes)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.logs.Run(m.stop)
		}()
	}
	if cfg.IdleTimeout > 0 {
		m.wg.Add(1)
		go m.expire()
	}
	return m
}

// Create starts a new session.
func (m *Manager) Create() (*Session, error) {
	id := m.newID()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if m.cfg.MaxSessions > 0 && len(m.sessions) >= m.cfg.MaxSessions {
		m.cfg.Meter.Refused("max-sessions")
		return nil, ErrTooManySessions
	}
	s := newSession(id, m.cfg, m.fds, m.logs)
	m.sessions[id] = s
	m.cfg.Meter.SessionStarted()
	m.cfg.Logger.Info("session created", "session", id)
	return s, nil
}

// Get finds a live session by id.
func (m *Manager) Get(id string) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	return s, ok
}

// Len is how many sessions are live.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// End closes one session and forgets it, as its owner ending it.
func (m *Manager) End(id string) { m.end(id, EndOwner, "") }

// EndSession ends session id as End does, telling its pages and watchers
// reason; it reports false if there is no such session.
func (m *Manager) EndSession(id, reason string) bool { return m.end(id, EndOwner, reason) }

// EndAll ends every session, telling each reason, as a node that has
// been drained does with those that outlived the drain; it reports how
// many it ended. New sessions may still be made: refusing them is the
// caller's (the web layer's, while the node drains).
func (m *Manager) EndAll(reason string) int {
	m.mu.Lock()
	ids := slices.Collect(maps.Keys(m.sessions))
	m.mu.Unlock()
	n := 0
	for _, id := range ids {
		if m.end(id, EndDrain, reason) {
			n++
		}
	}
	return n
}

func (m *Manager) end(id string, cause EndCause, reason string) bool {
	m.mu.Lock()
	s, ok := m.sessions[id]
	delete(m.sessions, id)
	if ok && s.watchToken != "" {
		delete(m.watched, s.watchToken)
	}
	m.mu.Unlock()
	if ok {
		// Counted first: whoever is told of the end finds it counted.
		m.cfg.Meter.SessionEnded(cause)
		s.End(reason)
	}
	return ok
}

// HoldFD spends one of the descriptors all sessions share
// (Config.MaxFDs) on one held by the server for a session, as a lab's
// end of a session's connection is: it reports false when none is left,
// and release gives it back (once).
func (m *Manager) HoldFD() (release func(), ok bool) {
	if !m.fds.take() {
		m.cfg.Meter.Refused("max-fds")
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(m.fds.give) }, true
}

// WatchToken returns the session's watch token, made on first use: the
// secret of its read-only watch link. It is not the session id, which
// lets its holder run ops.
func (m *Manager) WatchToken(id string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return "", false
	}
	if s.watchToken == "" {
		s.watchToken = m.newID()
		m.watched[s.watchToken] = s
	}
	return s.watchToken, true
}

// Watched finds a live session by its watch token.
func (m *Manager) Watched(token string) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.watched[token]
	return s, ok
}

// Close ends every session and stops the expiry loop.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	all := m.sessions
	m.sessions = map[string]*Session{}
	m.watched = map[string]*Session{}
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	for _, s := range all {
		m.cfg.Meter.SessionEnded(EndShutdown)
		s.End("sockplay is shutting down")
	}
	if m.unixRoot != "" {
		if err := os.RemoveAll(m.unixRoot); err != nil {
			m.cfg.Logger.Warn("removing the AF_UNIX directory", "dir", m.unixRoot, "err", err)
		}
	}
}

func (m *Manager) expire() {
	defer m.wg.Done()
	every := min(m.cfg.IdleTimeout/4, time.Minute)
	every = max(every, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.mu.Lock()
			var idle []string
			for id, s := range m.sessions {
				if now.Sub(s.idleSince()) > m.cfg.IdleTimeout {
					idle = append(idle, id)
				}
			}
			m.mu.Unlock()
			for _, id := range idle {
				m.cfg.Logger.Info("session expired", "session", id)
				m.end(id, EndIdle, fmt.Sprintf("unused for %v (-session-idle)", m.cfg.IdleTimeout))
			}
		}
	}
}

// newID is 80 random bits in lower-case base32: unguessable, URL-safe;
// after the node's name and a dot, when the manager has one.
func (m *Manager) newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	id := strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
	if m.cfg.Node != "" {
		return m.cfg.Node + nodeSep + id
	}
	return id
}

// privateDir makes a directory only this user may use in parent (the
// system's temporary directory if ""), with a short random name: a
// session's AF_UNIX paths must fit in the kernel's 108 bytes under it.
func privateDir(parent string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	for {
		var b [5]byte
		_, _ = rand.Read(b[:])
		dir := filepath.Join(parent, "sp"+strings.ToLower(base32.StdEncoding.EncodeToString(b[:])))
		switch err := os.Mkdir(dir, 0o700); {
		case err == nil:
			return dir, nil
		case !errors.Is(err, fs.ErrExist):
			return "", err
		}
	}
}
