package sockets

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
)

func newTestManager(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m := NewManager(cfg)
	t.Cleanup(m.Close)
	return m
}

func newTestSession(t *testing.T) *Session {
	t.Helper()
	s, err := newTestManager(t, Config{}).Create()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do runs op and returns its event, failing the test if none comes.
func do(t testing.TB, s *Session, op Op) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Do(ctx, op)
	if err != nil {
		t.Fatalf("%s: no event: %v", op.Op, err)
	}
	return ev
}

// mustOK runs op and fails unless it succeeded.
func mustOK(t testing.TB, s *Session, op Op) Event {
	t.Helper()
	ev := do(t, s, op)
	if !ev.OK {
		t.Fatalf("%s %s: %v", op.Op, op.Sock, ev.Error)
	}
	return ev
}

func wantErr(t *testing.T, ev Event, exc, errno string) {
	t.Helper()
	if ev.OK || ev.Error == nil {
		t.Fatalf("%s: want %s, got ok %+v", ev.Op, exc, ev.Result)
	}
	if ev.Error.Exc != exc || ev.Error.Errno != errno {
		t.Fatalf("%s: want %s %s, got %s %s (%s)", ev.Op, exc, errno, ev.Error.Exc, ev.Error.Errno, ev.Error.Msg)
	}
}

func op(name, sock string, a Args) Op { return Op{Op: name, Sock: sock, Args: a} }
func text(s string) *Data             { return &Data{Text: &s} }
func strp(s string) *string           { return &s }
func ip(n int) *int                   { return &n }
func bp(b bool) *bool                 { return &b }
func seconds(f float64) Timeout       { return Timeout{Set: true, Seconds: f} }

// connected returns a new TCP socket connected to addr.
func connected(t testing.TB, s *Session, addr string) string {
	t.Helper()
	id := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("connect", id, Args{Addr: addr}))
	return id
}

func TestPartialReads(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	ev := mustOK(t, s, op("sendall", id, Args{Data: text("hello world")}))
	if *ev.Result.N != 11 {
		t.Fatalf("sendall n = %d", *ev.Result.N)
	}
	var got []string
	for total := 0; total < 11; {
		ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(4)}))
		got = append(got, string(ev.Result.Data))
		total += *ev.Result.N
	}
	if strings.Join(got, "|") != "hell|o wo|rld" {
		t.Fatalf("recv(4) pieces = %q, want hell, o wo, rld", got)
	}
}

func TestRecvTimeout(t *testing.T) {
	s := newTestSession(t)
	id := connected(t, s, testkit.SilentServer(t))
	mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(0.2)}))
	ev := do(t, s, op("recv", id, Args{Bufsize: ip(4)}))
	wantErr(t, ev, "TimeoutError", "")
	if ev.Error.Msg != "timed out" {
		t.Errorf("msg = %q", ev.Error.Msg)
	}
	if d := ev.T - ev.Start; d < 200_000 {
		t.Errorf("timed out after %dµs, before the 0.2 s timeout", d)
	}
}

func TestConnectRefused(t *testing.T) {
	s := newTestSession(t)
	id := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	ev := do(t, s, op("connect", id, Args{Addr: testkit.ClosedPort(t)}))
	wantErr(t, ev, "ConnectionRefusedError", "ECONNREFUSED")
	if ev.Error.Num != 111 || ev.Error.Msg != "Connection refused" {
		t.Errorf("error = %+v", ev.Error)
	}
}

func TestNonBlockingConnect(t *testing.T) {
	s := newTestSession(t)
	id := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("setblocking", id, Args{Flag: bp(false)}))
	ev := do(t, s, op("connect", id, Args{Addr: testkit.SilentServer(t)}))
	wantErr(t, ev, "BlockingIOError", "EINPROGRESS")
}

func TestEOFAfterHalfClose(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	mustOK(t, s, op("sendall", id, Args{Data: text("bye")}))
	mustOK(t, s, op("shutdown", id, Args{How: new(How(1))}))
	var all string
	for {
		ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(64)}))
		if *ev.Result.N == 0 {
			if !ev.Result.EOF {
				t.Fatal("n = 0 without eof")
			}
			break
		}
		all += string(ev.Result.Data)
	}
	if all != "bye" {
		t.Fatalf("echoed %q before EOF", all)
	}
	if st := s.State(); st.Sockets[0].Shut != "SHUT_WR" || !st.Sockets[0].EOF {
		t.Errorf("state = %+v", st.Sockets[0])
	}
}

func TestNonBlockingRecv(t *testing.T) {
	s := newTestSession(t)
	id := connected(t, s, testkit.SilentServer(t))
	mustOK(t, s, op("setblocking", id, Args{Flag: bp(false)}))
	ev := do(t, s, op("recv", id, Args{Bufsize: ip(4)}))
	wantErr(t, ev, "BlockingIOError", "EAGAIN")
	if ev.Error.Num != 11 || ev.Error.Msg != "Resource temporarily unavailable" {
		t.Errorf("error = %+v", ev.Error)
	}
}

// awaitState waits, on the session's change signal, until cond holds.
func awaitState(t *testing.T, s *Session, what string, cond func(State) bool) State {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ch := s.Changed()
		if st := s.State(); cond(st) {
			return st
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestPendingRecvEndsOnClose(t *testing.T) {
	s := newTestSession(t)
	id := connected(t, s, testkit.SilentServer(t))
	ch := s.Submit(op("recv", id, Args{Bufsize: ip(4)}), Submitter{Reply: json.RawMessage(`"r1"`)})
	awaitState(t, s, "recv pending", func(st State) bool { return len(st.Pending) == 1 && st.Pending[0].Op == "recv" })
	mustOK(t, s, op("close", id, Args{}))
	ev := <-ch
	wantErr(t, ev, "OSError", "EBADF")
	if string(ev.Reply) != `"r1"` {
		t.Errorf("reply = %q", ev.Reply)
	}
	if st := s.State(); len(st.Pending) != 0 || st.Sockets[0].State != "closed" {
		t.Errorf("after close: %+v", st)
	}
}

func TestRecvWhilePendingSendsStillGo(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	recv := s.Submit(op("recv", id, Args{Bufsize: ip(64)}), Submitter{})
	awaitState(t, s, "recv pending", func(st State) bool { return len(st.Pending) == 1 })
	mustOK(t, s, op("send", id, Args{Data: text("ping")}))
	if ev := <-recv; !ev.OK || string(ev.Result.Data) != "ping" {
		t.Fatalf("pending recv got %+v %v", ev.Result, ev.Error)
	}
}

func TestAutoRecvDrip(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("drip"))
	mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(1024)}))
	var got strings.Builder
	var pieces int
	var after int64
	deadline := time.After(10 * time.Second)
	for {
		ch := s.Changed()
		for _, ev := range s.EventsAfter(after, 0) {
			after = ev.Seq
			if ev.Auto && ev.Op == "recv" {
				if !ev.OK {
					t.Fatalf("auto recv: %v", ev.Error)
				}
				got.Write(ev.Result.Data)
				pieces++
			}
		}
		if got.Len() >= len(labs.Greeting) {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("got %q so far", got.String())
		}
	}
	if got.String() != labs.Greeting {
		t.Fatalf("got %q", got.String())
	}
	if pieces < 2 {
		t.Errorf("the greeting came in %d recv; drip should split it", pieces)
	}
	if ev := do(t, s, op("recv", id, Args{Bufsize: ip(4)})); ev.OK || ev.Error.Exc != "RuntimeError" {
		t.Errorf("manual recv during autorecv: %+v", ev)
	}
	mustOK(t, s, op("autorecv", id, Args{On: bp(false)}))
	if st := s.State(); st.Sockets[0].AutoRecv != 0 {
		t.Errorf("autorecv still on: %+v", st.Sockets[0])
	}
}

func TestEventSeqAndOneEventPerOp(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	for i := 0; i < 20; i++ {
		mustOK(t, s, op("send", id, Args{Data: text("x")}))
	}
	evs := s.EventsAfter(0, 0)
	if len(evs) != 22 {
		t.Fatalf("%d events for 22 ops", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		if i > 0 && ev.T < evs[i-1].T {
			t.Fatalf("t went backwards at seq %d", ev.Seq)
		}
	}
	if got := s.EventsAfter(20, 0); len(got) != 2 || got[0].Seq != 21 {
		t.Fatalf("EventsAfter(20) = %d events", len(got))
	}
}

func TestSocketLimit(t *testing.T) {
	m := newTestManager(t, Config{MaxSockets: 2})
	s, _ := m.Create()
	a := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("socket", "", Args{Family: "inet6"}))
	ev := do(t, s, op("socket", "", Args{}))
	wantErr(t, ev, "OSError", "EMFILE")
	if !strings.Contains(ev.Error.Msg, "2 sockets") {
		t.Errorf("msg = %q", ev.Error.Msg)
	}
	mustOK(t, s, op("close", a, Args{}))
	mustOK(t, s, op("socket", "", Args{}))
}

func TestBadInput(t *testing.T) {
	s := newTestSession(t)
	fresh := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	closed := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("close", closed, Args{}))
	bad := "zz"
	badB64 := "!!!"
	cases := []struct {
		name       string
		op         Op
		exc, errno string
	}{
		{"unknown op", op("frobnicate", fresh, Args{}), "TypeError", ""},
		{"no sock", op("recv", "", Args{Bufsize: ip(4)}), "TypeError", ""},
		{"unknown sock", op("recv", "s99", Args{Bufsize: ip(4)}), "NameError", ""},
		{"bufsize missing", op("recv", fresh, Args{}), "TypeError", ""},
		{"bufsize negative", op("recv", fresh, Args{Bufsize: ip(-1)}), "ValueError", ""},
		{"connect no addr", op("connect", fresh, Args{}), "TypeError", ""},
		{"addr without port", op("connect", fresh, Args{Addr: "host"}), "TypeError", ""},
		{"port too big", op("connect", fresh, Args{Addr: "127.0.0.1:99999"}), "OverflowError", ""},
		{"port not a number", op("connect", fresh, Args{Addr: "127.0.0.1:http"}), "TypeError", ""},
		{"unclosed bracket", op("connect", fresh, Args{Addr: "[::1"}), "ValueError", ""},
		{"v6 literal on inet", op("connect", fresh, Args{Addr: "[::1]:80"}), "gaierror", "EAI_ADDRFAMILY"},
		{"invalid hex", op("send", fresh, Args{Data: &Data{Hex: &bad}}), "ValueError", ""},
		{"invalid b64", op("send", fresh, Args{Data: &Data{B64: &badB64}}), "ValueError", ""},
		{"two encodings", op("send", fresh, Args{Data: &Data{Text: &bad, Hex: &bad}}), "ValueError", ""},
		{"send no data", op("send", fresh, Args{}), "TypeError", ""},
		{"send unconnected", op("send", fresh, Args{Data: text("x")}), "BrokenPipeError", "EPIPE"},
		{"recv unconnected", op("recv", fresh, Args{Bufsize: ip(4)}), "OSError", "ENOTCONN"},
		{"getpeername unconnected", op("getpeername", fresh, Args{}), "OSError", "ENOTCONN"},
		{"recv closed", op("recv", closed, Args{Bufsize: ip(4)}), "OSError", "EBADF"},
		{"send closed", op("send", closed, Args{Data: text("x")}), "OSError", "EBADF"},
		{"connect closed", op("connect", closed, Args{Addr: "127.0.0.1:1"}), "OSError", "EBADF"},
		{"shutdown closed", op("shutdown", closed, Args{How: new(How(1))}), "OSError", "EBADF"},
		{"settimeout negative", op("settimeout", fresh, Args{Timeout: seconds(-1)}), "ValueError", ""},
		{"settimeout missing", op("settimeout", fresh, Args{}), "TypeError", ""},
		{"setblocking missing", op("setblocking", fresh, Args{}), "TypeError", ""},
		{"bad family", op("socket", "", Args{Family: "ipx"}), "ValueError", ""},
		{"autorecv bufsize 0", op("autorecv", fresh, Args{Bufsize: ip(0)}), "ValueError", ""},
		{"sendchunks no chunk", op("sendchunks", fresh, Args{Data: text("x")}), "ValueError", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, do(t, s, tc.op), tc.exc, tc.errno)
		})
	}
	// Closing twice is fine in Python, and so here.
	mustOK(t, s, op("close", closed, Args{}))
}

func TestRecvBufsizeEdges(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	// Nothing has been sent: recv(0) must not wait for data (CPython
	// returns b'' at once in every mode).
	ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(0)}))
	if *ev.Result.N != 0 || ev.Result.EOF || ev.Result.Note == "" {
		t.Errorf("recv(0) = %+v; want b'' that is not EOF, with a note", ev.Result)
	}
	mustOK(t, s, op("sendall", id, Args{Data: text("x")}))
	ev = mustOK(t, s, op("recv", id, Args{Bufsize: ip(1 << 30)}))
	if *ev.Args.Bufsize != MaxBufsize || *ev.Args.Requested != 1<<30 || !strings.Contains(ev.Result.Note, "capped") {
		t.Errorf("huge bufsize: args %+v result %+v", ev.Args, ev.Result)
	}
}

func TestSendallTimeoutReportsCount(t *testing.T) {
	s := newTestSession(t)
	id := connected(t, s, testkit.SilentServer(t))
	mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(0.3)}))
	big := strings.Repeat("x", 16<<20)
	ev := do(t, s, op("sendall", id, Args{Data: text(big)}))
	wantErr(t, ev, "TimeoutError", "")
	if ev.Result == nil || *ev.Result.N <= 0 || *ev.Result.N >= len(big) {
		t.Fatalf("sendall timeout should report the partial count, got %+v", ev.Result)
	}
}

func TestSendchunks(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	ev := mustOK(t, s, op("sendchunks", id, Args{Data: text("hello world"), Chunk: ip(4), Delay: new(0.01)}))
	if *ev.Result.N != 11 {
		t.Fatalf("n = %d", *ev.Result.N)
	}
	var sizes []int
	for _, e := range s.EventsAfter(0, 0) {
		if e.Auto && e.Op == "send" {
			sizes = append(sizes, *e.Result.N)
		}
	}
	if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 3 {
		t.Fatalf("chunk sends = %v", sizes)
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("v6"))
			c.Close()
		}
	}()
	s := newTestSession(t)
	id := mustOK(t, s, op("socket", "", Args{Family: "inet6"})).Result.Sock
	ev := mustOK(t, s, op("connect", id, Args{Addr: ln.Addr().String()}))
	if !strings.HasPrefix(ev.Result.Peer, "[::1]:") {
		t.Errorf("peer = %q", ev.Result.Peer)
	}
	if ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(10)})); string(ev.Result.Data) != "v6" {
		t.Errorf("recv = %q", ev.Result.Data)
	}
}

func TestEventJSON(t *testing.T) {
	s := newTestSession(t)
	ev := mustOK(t, s, op("socket", "", Args{}))
	b, _ := json.Marshal(ev)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"seq", "t", "op", "ok", "result"} {
		if _, ok := m[k]; !ok {
			t.Errorf("event JSON lacks %q: %s", k, b)
		}
	}
	var o Op
	if err := json.Unmarshal([]byte(`{"op":"settimeout","sock":"s1","timeout":null}`), &o); err != nil || !o.Timeout.Set || !o.Timeout.None {
		t.Errorf("timeout null decodes as %+v (%v)", o.Timeout, err)
	}
	if err := json.Unmarshal([]byte(`{"op":"settimeout","sock":"s1","timeout":2.5}`), &o); err != nil || o.Timeout.None || o.Timeout.Seconds != 2.5 {
		t.Errorf("timeout 2.5 decodes as %+v (%v)", o.Timeout, err)
	}
	b, _ = json.Marshal(Op{Op: "settimeout", Sock: "s1", Args: Args{Timeout: Timeout{Set: true, None: true}}})
	if !strings.Contains(string(b), `"timeout":null`) {
		t.Errorf("None timeout encodes as %s", b)
	}
}

// TestNoLeaks closes sessions that have connected sockets, a pending recv
// and a running autorecv, and checks goroutines and fds are all returned.
func TestNoLeaks(t *testing.T) {
	l := testkit.Labs(t)
	m := newTestManager(t, Config{})
	// Warm up so lazily started runtime goroutines are not counted.
	s0, _ := m.Create()
	connected(t, s0, l.Addr("echo"))
	m.End(s0.ID())
	before := testkit.CountLeaks(t, true)
	for i := 0; i < 10; i++ {
		s, _ := m.Create()
		a := connected(t, s, l.Addr("echo"))
		b := connected(t, s, l.Addr("drip"))
		connected(t, s, l.Addr("echo"))
		mustOK(t, s, op("autorecv", b, Args{}))
		s.Submit(op("recv", a, Args{Bufsize: ip(10)}), Submitter{})
		awaitState(t, s, "recv pending", func(st State) bool { return len(st.Pending) == 1 })
		m.End(s.ID())
	}
	before.Check(t, 10*time.Second)
}

// TestSharedState: viewers asking for the same version share one snapshot;
// a change makes a new one.
func TestSharedState(t *testing.T) {
	s, _ := newTestManager(t, Config{StatsInterval: -1}).Create()
	newSock(t, s, "inet", "stream")
	a, b := s.SharedState(), s.SharedState()
	if &a.Sockets[0] != &b.Sockets[0] {
		t.Fatal("two viewers of one version took two snapshots")
	}
	newSock(t, s, "inet", "dgram")
	if c := s.SharedState(); c.Version == a.Version || len(c.Sockets) != 2 {
		t.Fatalf("after a change: version %d (was %d), %d sockets", c.Version, a.Version, len(c.Sockets))
	}
}
