package sockets

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets/policy"
)

// recordingMeter keeps what the engine told it.
type recordingMeter struct {
	mu       sync.Mutex
	ops      map[string][2]int // op → [ok, failed]
	took     map[string]time.Duration
	events   int
	received int
	sent     int
	refused  []string
	started  int
	ended    map[EndCause]int
	// ends gets each end's cause too, for a test to await it.
	ends chan EndCause
}

func newRecordingMeter() *recordingMeter {
	return &recordingMeter{ops: map[string][2]int{}, took: map[string]time.Duration{}, ended: map[EndCause]int{}, ends: make(chan EndCause, 16)}
}

func (m *recordingMeter) Op(op int, ok bool, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := OpNames()[op]
	n := m.ops[name]
	if ok {
		n[0]++
	} else {
		n[1]++
	}
	m.ops[name] = n
	m.took[name] = max(m.took[name], took)
}

func (m *recordingMeter) Event(received, sent int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events++
	m.received += received
	m.sent += sent
}

func (m *recordingMeter) Refused(limit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refused = append(m.refused, limit)
}

func (m *recordingMeter) SessionStarted() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started++
}

func (m *recordingMeter) SessionEnded(c EndCause) {
	m.mu.Lock()
	m.ended[c]++
	m.mu.Unlock()
	select {
	case m.ends <- c:
	default:
	}
}

func (m *recordingMeter) snapshot() recordingMeter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return recordingMeter{ops: clone(m.ops), took: clone(m.took), events: m.events, received: m.received, sent: m.sent,
		refused: slices.Clone(m.refused), started: m.started, ended: clone(m.ended)}
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestMeterCounts: every call is counted once by its op and outcome, with
// how long it took; every event once, with the socket bytes it carried;
// and a refusal by the limit's flag.
func TestMeterCounts(t *testing.T) {
	mt := newRecordingMeter()
	s, err := newTestManager(t, Config{Meter: mt, MaxSockets: 2}).Create()
	if err != nil {
		t.Fatal(err)
	}
	echo := testkit.EchoServer(t)
	id := connected(t, s, echo)
	mustOK(t, s, op("sendall", id, Args{Data: text("hello world")}))
	got := 0
	for got < 11 {
		got += *mustOK(t, s, op("recv", id, Args{Bufsize: ip(4)})).Result.N
	}
	mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(0.05)}))
	wantErr(t, do(t, s, op("recv", id, Args{Bufsize: ip(4)})), "TimeoutError", "")
	mustOK(t, s, op("socket", "", Args{}))
	wantErr(t, do(t, s, op("socket", "", Args{})), "OSError", "EMFILE") // -max-sockets 2
	do(t, s, op("nosuchop", "", Args{}))

	r := mt.snapshot()
	if r.ops["socket"] != [2]int{2, 1} || r.ops["connect"] != [2]int{1, 0} || r.ops["sendall"] != [2]int{1, 0} {
		t.Errorf("ops counted: %v", r.ops)
	}
	if n := r.ops["recv"]; n[1] != 1 || n[0] < 3 {
		t.Errorf("recvs counted %v: want 3 or more ok (11 bytes by 4) and 1 timed out", n)
	}
	if r.took["recv"] < 50*time.Millisecond {
		t.Errorf("the recv that timed out after 50 ms took %v by the meter", r.took["recv"])
	}
	if want := int(s.LastSeq()); r.events != want {
		t.Errorf("events counted %d, the log has %d", r.events, want)
	}
	if r.received != 11 || r.sent != 11 {
		t.Errorf("bytes carried: received %d, sent %d; want 11 each", r.received, r.sent)
	}
	if !slices.Equal(r.refused, []string{"max-sockets"}) {
		t.Errorf("refusals %v, want [max-sockets]", r.refused)
	}
}

// TestMeterCountsAutoAndPolicy: an autorecv loop's recvs are events with
// their bytes (not calls), and an egress refusal is counted by its rule.
func TestMeterCountsAutoAndPolicy(t *testing.T) {
	mt := newRecordingMeter()
	m := newTestManager(t, Config{Meter: mt, Policy: &policy.Policy{Mode: policy.ModeAny, DenyPorts: policy.Ports(policy.PortRange{Lo: 1, Hi: 1023})}})
	s, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	id := connected(t, s, testkit.EchoServer(t))
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(3)}))
	mustOK(t, s, op("sendall", id, Args{Data: text("0123456789")}))
	timeout := time.After(10 * time.Second)
	for {
		// Taken before looking, so that no change slips in between.
		changed := s.Changed()
		if mt.snapshot().received >= 10 {
			break
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("autorecv's bytes never all counted: %+v", mt.snapshot())
		}
	}
	other := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	wantErr(t, do(t, s, op("connect", other, Args{Addr: "127.0.0.1:25"})), "PermissionError", "EACCES")
	r := mt.snapshot()
	if r.ops["autorecv"] != [2]int{1, 0} || r.ops["recv"] != [2]int{} {
		t.Errorf("ops %v: autorecv is one call, its recvs none", r.ops)
	}
	if r.received != 10 {
		t.Errorf("received %d bytes by the meter, want 10", r.received)
	}
	if !slices.Equal(r.refused, []string{policy.RuleDenyPorts}) {
		t.Errorf("refusals %v, want [%s]", r.refused, policy.RuleDenyPorts)
	}
}

// TestSessionEndCauses: each way a session ends is counted by its cause,
// and EndAll ends every session with the reason its pages are told.
func TestSessionEndCauses(t *testing.T) {
	mt := newRecordingMeter()
	m := NewManager(Config{Meter: mt, MaxSessions: 5})
	mk := func() *Session {
		t.Helper()
		s, err := m.Create()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := mk()
	drained := []*Session{mk(), mk()}
	last := mk()
	drained = append(drained, mk())
	if _, err := m.Create(); err != ErrTooManySessions {
		t.Fatalf("a sixth session: %v", err)
	}
	if !m.EndSession(a.ID(), "by its owner") {
		t.Fatal("EndSession found no session")
	}
	m.End(last.ID())
	if n := m.EndAll("node drained"); n != 3 {
		t.Fatalf("EndAll ended %d sessions, want the 3 left", n)
	}
	for _, s := range drained {
		if st := s.State(); !st.Ended || st.EndReason != "node drained" {
			t.Errorf("a drained session's state: ended %v, reason %q", st.Ended, st.EndReason)
		}
	}
	mk()
	m.Close()
	r := mt.snapshot()
	want := map[EndCause]int{EndOwner: 2, EndDrain: 3, EndShutdown: 1}
	if r.started != 6 || !mapsEqual(r.ended, want) {
		t.Errorf("started %d, ended %v; want 6, %v", r.started, r.ended, want)
	}
	if !slices.Equal(r.refused, []string{"max-sessions"}) {
		t.Errorf("refusals %v", r.refused)
	}

	idle := newRecordingMeter()
	im := newTestManager(t, Config{Meter: idle, IdleTimeout: 20 * time.Millisecond})
	s, err := im.Create()
	if err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	select {
	case c := <-idle.ends:
		if c != EndIdle {
			t.Errorf("an idle session's end counted as %q", c)
		}
	case <-time.After(10 * time.Second):
		t.Error("an idle session's end was never counted")
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestNodeIDs: with a node, ids and watch tokens begin with its name,
// and NodeOf reads it back.
func TestNodeIDs(t *testing.T) {
	m := newTestManager(t, Config{Node: "school-3"})
	s, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := m.WatchToken(s.ID())
	for _, id := range []string{s.ID(), tok} {
		if !strings.HasPrefix(id, "school-3.") || NodeOf(id) != "school-3" {
			t.Errorf("%q: not the node's (NodeOf says %q)", id, NodeOf(id))
		}
	}
	if got, ok := m.Watched(tok); !ok || got != s {
		t.Error("the watch token does not find its session")
	}
	plain, _ := newTestManager(t, Config{}).Create()
	if NodeOf(plain.ID()) != "" || strings.Contains(plain.ID(), nodeSep) {
		t.Errorf("no node, and the id is %q", plain.ID())
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{{"sockplay-0", true}, {"a", true}, {"n1", true}, {"-a", false}, {"a-", false}, {"A", false}, {"a.b", false}, {"", false}, {strings.Repeat("a", 64), false}} {
		if err := CheckNode(c.name); (err == nil) != c.ok {
			t.Errorf("CheckNode(%q): %v", c.name, err)
		}
	}
}

// TestCensus: sessions, their sockets by kind, watchers and the budgets'
// use, as they are at the moment asked.
func TestCensus(t *testing.T) {
	m := newTestManager(t, Config{MaxFDs: 100, MaxTotalLogBytes: 64 << 20})
	s, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(); err != nil {
		t.Fatal(err)
	}
	ln := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("bind", ln, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, s, op("listen", ln, Args{}))
	u := mustOK(t, s, op("socket", "", Args{Family: "inet", Type: "dgram"})).Result.Sock
	closed := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("close", closed, Args{}))
	w, err := s.AttachWatcher(0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Detach()
	c := m.Census()
	want := map[SocketKind]int{{"inet", "stream", stateOf(t, s, ln).State}: 1, {"inet", "dgram", stateOf(t, s, u).State}: 1, {"inet", "stream", "closed"}: 1}
	if c.Sessions != 2 || c.Watchers != 1 || !mapsEqual(c.Sockets, want) {
		t.Errorf("census %+v; want 2 sessions, 1 watcher, sockets %v", c, want)
	}
	if c.FDs != 2 || c.MaxFDs != 100 || c.MaxLogBytes != 64<<20 || c.LogBytes <= 0 {
		t.Errorf("budgets in the census: fds %d/%d, logs %d/%d", c.FDs, c.MaxFDs, c.LogBytes, c.MaxLogBytes)
	}
}
