package sockets

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mustWatch attaches a watcher to s, failing the test if it is refused.
func mustWatch(t testing.TB, s *Session, since int64) *Viewer {
	t.Helper()
	v, err := s.AttachWatcher(since)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// await polls cond until it holds, failing the test after 10 s. It is
// for what happens on a goroutine the test cannot wait on (the budget's
// trimmer).
func await(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// create makes a session of m, failing the test if it cannot.
func create(t testing.TB, m *Manager) *Session {
	t.Helper()
	s, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServerFDBudget: past -max-fds, a socket() or an accept of any
// session fails with ENFILE even where the session has room of its own
// (-max-sockets, EMFILE), an accept leaves the connection in the queue,
// and a descriptor closed anywhere is room for everyone again.
func TestServerFDBudget(t *testing.T) {
	m := newTestManager(t, Config{MaxFDs: 4, MaxSockets: 3})
	a, b := create(t, m), create(t, m)
	// b listens, and a client (not the engine's) is queued on it.
	ln := newSock(t, b, "inet", "stream")
	mustOK(t, b, op("bind", ln, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, b, op("listen", ln, Args{Backlog: ip(4)}))
	client, err := net.Dial("tcp", stateOf(t, b, ln).Local)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// a takes the rest: 3 sockets, its own limit.
	var mine []string
	for range 3 {
		mine = append(mine, newSock(t, a, "inet", "dgram"))
	}
	wantErr(t, do(t, a, op("socket", "", Args{})), "OSError", "EMFILE")
	ev := do(t, b, op("socket", "", Args{}))
	wantErr(t, ev, "OSError", "ENFILE")
	if ev.Error.Num != 23 || !strings.Contains(ev.Error.Msg, "-max-fds") {
		t.Fatalf("socket() past -max-fds: %+v, want [Errno 23] naming the flag", ev.Error)
	}
	acc := do(t, b, op("accept", ln, Args{}))
	wantErr(t, acc, "OSError", "ENFILE")
	if q := stateOf(t, b, ln).Stats; q == nil || q.AcceptQ == nil || *q.AcceptQ != 1 {
		t.Fatalf("the refused accept took the connection from the queue: %+v", q)
	}
	// A select is a descriptor too (its waker).
	wantErr(t, do(t, b, op("select", "", Args{Timeout: seconds(0)})), "OSError", "ENFILE")
	mustOK(t, a, op("close", mine[0], Args{}))
	acc = mustOK(t, b, op("accept", ln, Args{}))
	mustOK(t, a, op("close", mine[1], Args{}))
	mustOK(t, b, op("socket", "", Args{}))
	if got := m.fds.used.Load(); got != 4 {
		t.Fatalf("%d descriptors counted, with 4 open", got)
	}
	m.End(a.ID())
	m.End(b.ID())
	if got := m.fds.used.Load(); got != 0 {
		t.Fatalf("%d descriptors counted once every session ended", got)
	}
}

// TestSessionsCannotExhaustDescriptors: with the process's descriptor
// limit far below -max-sessions × -max-sockets (as 1000 × 64 is against
// a limit of 20,000), sessions opening sockets until refused are refused
// by sockplay's own budget, and the process can still open descriptors
// of its own (an HTTP connection, a log file): the kernel's EMFILE never
// reaches anyone.
func TestSessionsCannotExhaustDescriptors(t *testing.T) {
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &was); err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	low := was
	low.Cur = uint64(len(open)) + 1200
	if low.Cur > was.Max {
		t.Skipf("the hard limit %d is too low to test with", was.Max)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &was) })
	m := newTestManager(t, Config{MaxSockets: 64})
	var refusal *Error
	for refusal == nil {
		s := create(t, m)
		for range 64 {
			ev := do(t, s, op("socket", "", Args{Type: "dgram"}))
			if !ev.OK {
				refusal = ev.Error
				break
			}
		}
	}
	if refusal.Errno != "ENFILE" || !strings.Contains(refusal.Msg, "-max-fds") {
		t.Fatalf("sessions opening sockets until refused were refused with %+v, not sockplay's budget", refusal)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("the server could not listen once the sessions were full: %v", err)
	}
	ln.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatalf("the server could not open a file once the sessions were full: %v", err)
	}
	f.Close()
}

// TestUnixDirIsPrivate: a session's AF_UNIX directory is in a directory
// of the manager's that only this user may read, however open the parent
// (/tmp is everyone's), and its name says nothing of the session's id.
func TestUnixDirIsPrivate(t *testing.T) {
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o1777); err != nil { // as /tmp is
		t.Fatal(err)
	}
	m := newTestManager(t, Config{UnixDir: shared})
	s := create(t, m)
	id := newSock(t, s, "unix", "stream")
	mustOK(t, s, op("bind", id, Args{Addr: "demo.sock"}))
	dir := s.dir
	parent := filepath.Dir(dir)
	if parent == shared {
		t.Fatalf("the session's directory %s is straight in the shared %s", dir, shared)
	}
	for _, d := range []string{dir, parent} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, perm)
		}
	}
	for _, name := range []string{filepath.Base(dir), filepath.Base(parent)} {
		// Any 4 characters of the id (20 of its bits) in a name is too
		// much of it.
		for i := 0; i+4 <= len(s.ID()); i++ {
			if strings.Contains(strings.ToLower(name), s.ID()[i:i+4]) {
				t.Errorf("directory name %q holds %q of the id %s", name, s.ID()[i:i+4], s.ID())
			}
		}
	}
	m.Close()
	if _, err := os.Stat(parent); !os.IsNotExist(err) {
		t.Fatalf("the manager's directory outlived it: %v", err)
	}
}

// TestWatcherCap: past -max-watchers a session refuses another watcher,
// never its owner's tabs, and has room again once one leaves.
func TestWatcherCap(t *testing.T) {
	s := create(t, newTestManager(t, Config{MaxWatchers: 2}))
	a, b := mustWatch(t, s, 0), mustWatch(t, s, 0)
	if _, err := s.AttachWatcher(0); err != ErrTooManyWatchers {
		t.Fatalf("third watcher under -max-watchers 2: %v", err)
	}
	s.Attach(0).Detach() // an owner's tab is no watcher
	a.Detach()
	mustWatch(t, s, 0).Detach()
	b.Detach()
	if n := s.State().Watchers; n != 0 {
		t.Fatalf("%d watchers once all left", n)
	}
}

// TestEventLogsBudget: past -max-event-logs-mb the oldest events of the
// largest session's log leave memory while a smaller session keeps all of
// its own, a reader of the large one is told of the gap, and an ended
// session's log no longer counts.
func TestEventLogsBudget(t *testing.T) {
	const budget = 4 << 20
	m := newTestManager(t, Config{MaxTotalLogBytes: budget, MaxLogBytes: budget, StatsInterval: -1})
	big, small := create(t, m), create(t, m)
	send := func(s *Session, n int) {
		t.Helper()
		id := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
		to := stateOf(t, s, id).Local
		data := text(strings.Repeat("x", 4096))
		for range n {
			mustOK(t, s, op("sendto", id, Args{Addr: to, Data: data}))
		}
	}
	send(small, 100) // about 0.5 MiB
	send(big, 800)   // about 4 MiB: with small's, past the budget
	await(t, "within the budget", func() bool { return m.logs.Total() <= budget })
	if st := small.State(); st.FirstSeq != 1 {
		t.Fatalf("the small session lost events %d to %d; only the large one should", 1, st.FirstSeq-1)
	}
	first := big.State().FirstSeq
	if first == 1 {
		t.Fatal("the large session kept every event, past the budget")
	}
	if evs := big.EventsAfter(0, 1); len(evs) != 1 || evs[0].Seq != first {
		t.Fatalf("a reader from the start gets %+v first, want seq %d: the gap", evs, first)
	}
	before := m.logs.Total()
	m.End(big.ID())
	if after := m.logs.Total(); after >= before/2 {
		t.Fatalf("%d bytes counted once the large session ended, %d before", after, before)
	}
}

// TestEndedLogCountsWhileRead: an ended session's log stays in memory as
// long as a reader still reads it (a viewer, a stream of its events), and
// so counts against the budget across sessions until the last is done;
// a client that ends session after session while reading each slowly
// would otherwise hold any number of logs, none of them counted.
func TestEndedLogCountsWhileRead(t *testing.T) {
	m := newTestManager(t, Config{MaxTotalLogBytes: 64 << 20, StatsInterval: -1})
	for _, c := range []struct {
		name string
		hold func(s *Session) (release func())
	}{
		{"a stream", func(s *Session) func() { return s.HoldLog() }},
		{"a viewer", func(s *Session) func() { return mustWatch(t, s, 0).Detach }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := create(t, m)
			id := newSock(t, s, "inet", "dgram")
			mustOK(t, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
			to := stateOf(t, s, id).Local
			for range 100 {
				mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text(strings.Repeat("x", 4096))}))
			}
			release := c.hold(s)
			before := m.logs.Total()
			m.End(s.ID())
			if after := m.logs.Total(); after < before {
				t.Fatalf("%d bytes counted once the session ended with a reader still at its log, %d before", after, before)
			}
			release()
			if after := m.logs.Total(); after != 0 {
				t.Fatalf("%d bytes counted once its last reader is done", after)
			}
		})
	}
}
