package sockets

// Census is what the manager holds at one moment, for metrics: read when
// they are scraped, not counted as things happen.
type Census struct {
	Sessions int
	// Watchers are the watch-link viewers connected, of every session.
	Watchers int
	// Sockets counts the sessions' sockets by family, type and state
	// (closed ones included, as the page shows them until the session
	// ends).
	Sockets map[SocketKind]int
	// FDs and MaxFDs are the descriptors the sessions hold and may hold
	// together (Config.MaxFDs).
	FDs, MaxFDs int64
	// LogBytes and MaxLogBytes are the memory of the event logs together
	// and its budget (Config.MaxTotalLogBytes; 0: none, and LogBytes is
	// the live sessions' logs added up).
	LogBytes, MaxLogBytes int64
}

// SocketKind is a socket's family ("inet", "inet6", "unix"), type
// ("stream", "dgram") and state ("listening", "connected", "closed", ...)
// as SocketInfo names them.
type SocketKind struct{ Family, Type, State string }

// Census counts what the manager holds now. It takes each session's and
// each socket's lock in turn, briefly: it is for a scrape every few
// seconds, not for a hot path.
func (m *Manager) Census() Census {
	m.mu.Lock()
	all := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.mu.Unlock()
	c := Census{Sessions: len(all), Sockets: map[SocketKind]int{}, FDs: m.fds.used.Load(), MaxFDs: m.fds.max}
	var logs int64
	for _, s := range all {
		s.mu.Lock()
		c.Watchers += s.log.Watchers()
		logs += s.log.Bytes()
		s.mu.Unlock()
		for _, k := range s.socketList() {
			k.mu.Lock()
			c.Sockets[SocketKind{familyNames[k.family], typeNames[k.stype], k.state}]++
			k.mu.Unlock()
		}
	}
	c.LogBytes = logs
	if m.logs != nil {
		// The budget's count, which goes on counting an ended session's
		// log while a reader holds it.
		c.LogBytes, c.MaxLogBytes = m.logs.Total(), m.logs.Max()
	}
	return c
}
