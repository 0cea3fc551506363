package sockets

import (
	"time"

	"golang.org/x/sys/unix"
)

// KStats is the kernel's view of one socket: what makes "the data is in
// the kernel until you call recv" visible.
type KStats struct {
	// RecvQ is SIOCINQ: bytes received and not yet read (for a datagram
	// socket, the size of the next datagram). SendQ is SIOCOUTQ: bytes
	// sent and not yet acknowledged by the peer.
	RecvQ int `json:"recvq"`
	SendQ int `json:"sendq"`
	// RcvBuf and SndBuf are SO_RCVBUF and SO_SNDBUF, the queues' limits.
	RcvBuf int `json:"rcvbuf"`
	SndBuf int `json:"sndbuf"`
	// From TCP_INFO, for TCP sockets.
	TCPState string `json:"tcp_state,omitempty"`
	RTT      int    `json:"rtt_us,omitempty"`
	Cwnd     int    `json:"cwnd,omitempty"`
	Retrans  int    `json:"retrans,omitempty"`
	// For a listener: connections waiting to be accepted, and the backlog
	// the kernel applies.
	AcceptQ *int `json:"acceptq,omitempty"`
	Backlog *int `json:"backlog,omitempty"`
}

var tcpStates = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}

// same reports whether two readings differ in anything but the round-trip
// time, which jitters on every segment and alone is not news.
func (a KStats) same(b KStats) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if !eq(a.AcceptQ, b.AcceptQ) || !eq(a.Backlog, b.Backlog) {
		return false
	}
	a.RTT, b.RTT = 0, 0
	a.AcceptQ, a.Backlog, b.AcceptQ, b.Backlog = nil, nil, nil, nil
	return a == b
}

// kstats reads the socket's kernel stats; ok is false once it is closed.
func (k *Socket) kstats() (KStats, bool) {
	var st KStats
	err := k.control(func(fd int) error {
		st.RecvQ, _ = unix.IoctlGetInt(fd, unix.SIOCINQ)
		st.SendQ, _ = unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		st.RcvBuf, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		st.SndBuf, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if k.family == unix.AF_UNIX || k.stype != unix.SOCK_STREAM {
			return nil
		}
		ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return nil
		}
		if int(ti.State) < len(tcpStates) {
			st.TCPState = tcpStates[ti.State]
		}
		if st.TCPState == "LISTEN" {
			// For a listener Linux reports the accept queue in
			// tcpi_unacked and the backlog in tcpi_sacked.
			q, b := int(ti.Unacked), int(ti.Sacked)
			st.AcceptQ, st.Backlog = &q, &b
			st.RecvQ = 0
			return nil
		}
		st.RTT = int(ti.Rtt)
		st.Cwnd = int(ti.Snd_cwnd)
		st.Retrans = int(ti.Total_retrans)
		return nil
	})
	return st, err == nil
}

// startStatsLocked starts the kernel-stats poller if it is not running;
// s.mu is held. It runs only while someone watches.
func (s *Session) startStatsLocked() {
	if s.statsRunning || s.closed || s.cfg.StatsInterval < 0 {
		return
	}
	s.statsRunning = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.statsLoop()
	}()
}

// statsLoop reads every open socket's kernel stats at StatsInterval and
// logs a "stats" event for each socket whose stats changed, until nobody
// watches or the session ends.
func (s *Session) statsLoop() {
	t := time.NewTicker(s.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.closing:
			s.mu.Lock()
			s.statsRunning = false
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if s.closed || s.log.Readers() == 0 {
			s.statsRunning = false
			s.mu.Unlock()
			return
		}
		socks := s.socketsLocked()
		s.mu.Unlock()
		for _, k := range socks {
			if !k.closed.Load() {
				s.logStats(k)
			}
		}
	}
}

// logStats appends a stats event for k if its stats changed.
func (s *Session) logStats(k *Socket) {
	st, ok := k.kstats()
	if !ok {
		return
	}
	k.mu.Lock()
	if k.stats != nil && st.same(*k.stats) {
		k.mu.Unlock()
		return
	}
	k.stats = &st
	k.mu.Unlock()
	now := s.now()
	// Not a state change: the event carries the stats, and a snapshot
	// reads them afresh anyway. Counting it would make every viewer
	// rebuild a snapshot ten times a second per socket.
	s.append(Event{Start: now, Sock: k.id, Op: "stats", Auto: true, OK: true, Result: &Result{Stats: &st}}, false)
}
