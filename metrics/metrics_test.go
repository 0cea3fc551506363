package metrics

import (
	"context"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

func do(t testing.TB, s *sockets.Session, op sockets.Op) sockets.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Do(ctx, op)
	if err != nil {
		t.Fatalf("%s: %v", op.Op, err)
	}
	return ev
}

func intp(n int) *int { return &n }

func text(s string) *sockets.Data { return &sockets.Data{Text: &s} }

// metered is a manager with m as its Meter, whose census m reads.
func metered(t testing.TB, m *Metrics, cfg sockets.Config) *sockets.Manager {
	t.Helper()
	cfg.Meter = m
	mgr := sockets.NewManager(cfg)
	t.Cleanup(mgr.Close)
	m.Read(Sources{Census: mgr.Census, Ready: func() bool { return true }, Conns: func() int { return 7 }})
	return mgr
}

// TestMetricsCountWhatWasDone: a scrape parses with Prometheus' text
// parser, and its series say what the test did.
func TestMetricsCountWhatWasDone(t *testing.T) {
	m := New(nil)
	mgr := metered(t, m, sockets.Config{MaxSockets: 3, MaxFDs: 50})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	s, err := mgr.Create()
	if err != nil {
		t.Fatal(err)
	}
	gone, err := mgr.Create()
	if err != nil {
		t.Fatal(err)
	}
	mgr.EndSession(gone.ID(), "by its owner")
	id := do(t, s, sockets.Op{Op: "socket"}).Result.Sock
	do(t, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: testkit.EchoServer(t)}})
	do(t, s, sockets.Op{Op: "sendall", Sock: id, Args: sockets.Args{Data: text("hello")}})
	got := 0
	for got < 5 {
		ev := do(t, s, sockets.Op{Op: "recv", Sock: id, Args: sockets.Args{Bufsize: intp(2)}})
		got += *ev.Result.N
	}
	do(t, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: testkit.ClosedPort(t)}}) // EISCONN
	do(t, s, sockets.Op{Op: "socket"})
	do(t, s, sockets.Op{Op: "socket"})
	if ev := do(t, s, sockets.Op{Op: "socket"}); ev.OK {
		t.Fatal("a fourth socket under -max-sockets 3")
	}

	sm := testkit.Scrape(t, srv.URL, "")
	recvs := float64((5 + 1) / 2)
	for _, c := range []struct {
		v    float64
		name string
		lbl  []string
	}{
		{3, "sockplay_ops_total", []string{"op", "socket", "outcome", "ok"}},
		{1, "sockplay_ops_total", []string{"op", "socket", "outcome", "error"}},
		{1, "sockplay_ops_total", []string{"op", "connect", "outcome", "ok"}},
		{1, "sockplay_ops_total", []string{"op", "connect", "outcome", "error"}},
		{recvs, "sockplay_ops_total", []string{"op", "recv", "outcome", "ok"}},
		{recvs, "sockplay_op_duration_seconds_count", []string{"op", "recv"}},
		{float64(s.LastSeq()), "sockplay_events_total", nil},
		{5, "sockplay_socket_bytes_total", []string{"direction", "received"}},
		{5, "sockplay_socket_bytes_total", []string{"direction", "sent"}},
		{2, "sockplay_sessions_created_total", nil},
		{1, "sockplay_sessions_ended_total", []string{"reason", "owner"}},
		{0, "sockplay_sessions_ended_total", []string{"reason", "drain"}},
		{1, "sockplay_sessions_open", nil},
		{1, "sockplay_refusals_total", []string{"limit", "max-sockets"}},
		{1, "sockplay_sockets", []string{"family", "inet", "type", "stream", "state", "connected"}},
		{3, "sockplay_fds_used", nil},
		{50, "sockplay_fds_max", nil},
		{1, "sockplay_ready", nil},
		{7, "sockplay_http_connections_open", nil},
		{0, "sockplay_watchers", nil},
	} {
		if v, ok := sm.Get(c.name, c.lbl...); !ok || v != c.v {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.lbl, v, ok, c.v)
		}
	}
	if _, ok := sm.Get("go_goroutines"); !ok {
		t.Error("no Go runtime series")
	}
	if v := sm.Value("sockplay_op_duration_seconds_sum", "op", "recv"); v <= 0 {
		t.Errorf("the recvs took %v s in all", v)
	}
}

// TestOpTableIsCounted: every op of the engine's table has its series,
// zero before any call: a dashboard finds each from the start.
func TestOpTableIsCounted(t *testing.T) {
	m := New(nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	sm := testkit.Scrape(t, srv.URL, "")
	for _, op := range sockets.OpNames() {
		for _, outcome := range []string{"ok", "error"} {
			if v, ok := sm.Get("sockplay_ops_total", "op", op, "outcome", outcome); !ok || v != 0 {
				t.Errorf("ops_total of %s %s: %v, %v", op, outcome, v, ok)
			}
		}
	}
}

// BenchmarkMeteredAutorecvAllocs is sockets' BenchmarkAutorecvAllocs
// with and without these metrics as the engine's Meter: what autorecv
// allocates per event, from the autorecv op until the loop pauses at the
// lag limit (5,000 events, nobody reading), while every event is counted
// or not. The Meter must add nothing.
//
//	go test ./metrics -run '^$' -bench MeteredAutorecvAllocs -benchtime 5x
func BenchmarkMeteredAutorecvAllocs(b *testing.B) {
	for _, bufsize := range []int{16, 65536} {
		for _, meter := range []string{"none", "prometheus"} {
			b.Run("bufsize="+strconv.Itoa(bufsize)+"/meter="+meter, func(b *testing.B) {
				var allocs, bytes float64
				for range b.N {
					cfg := sockets.Config{MaxLagEvents: 5000, MaxLagBytes: 1 << 30}
					var mgr *sockets.Manager
					if meter == "none" {
						mgr = sockets.NewManager(cfg)
						b.Cleanup(mgr.Close)
					} else {
						mgr = metered(b, New(nil), cfg)
					}
					s, err := mgr.Create()
					if err != nil {
						b.Fatal(err)
					}
					id := do(b, s, sockets.Op{Op: "socket"}).Result.Sock
					do(b, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: source(b)}})
					first := s.LastSeq()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					do(b, s, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: intp(bufsize)}})
					// The loop's events change no state; its pause is the
					// first change of the state after the op's own event.
					v := s.Version()
					deadline := time.After(10 * time.Second)
					wakes := 0
					for ; s.Version() == v; wakes++ {
						select {
						case <-s.Changed():
						case <-deadline:
							b.Fatal("autorecv never paused")
						}
					}
					runtime.ReadMemStats(&after)
					for _, k := range s.State().Sockets {
						if k.ID == id && !k.Paused {
							b.Fatalf("the state changed, and autorecv is not paused: %+v", k)
						}
					}
					events := float64(s.LastSeq() - first)
					// Less the channel each of the benchmark's own wake-ups
					// costs (a viewer pays that once a batch).
					allocs += float64(after.Mallocs-before.Mallocs-uint64(wakes)) / events
					bytes += float64(after.TotalAlloc-before.TotalAlloc) / events
					s.Close()
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(allocs/float64(b.N), "allocs/event")
				b.ReportMetric(bytes/float64(b.N), "B/event")
			})
		}
	}
}

// source is a loopback TCP server that writes to each client as fast as
// it can until the client goes.
func source(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16064)
				for {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMeterDoesNotAllocate: what the engine calls on its hot paths
// allocates nothing, a refusal by a limit already seen neither.
func TestMeterDoesNotAllocate(t *testing.T) {
	m := New(nil)
	recv := 0
	for i, name := range sockets.OpNames() {
		if name == "recv" {
			recv = i
		}
	}
	m.Refused("max-fds")
	for name, f := range map[string]func(){
		"Event":   func() { m.Event(16, 0) },
		"Op":      func() { m.Op(recv, true, 40*time.Microsecond) },
		"Refused": func() { m.Refused("max-fds") },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s allocates %v times a call", name, n)
		}
	}
}

// BenchmarkMeterEvent is the cost of counting one autorecv event and one
// call, as the engine does:
//
//	go test ./metrics -run '^$' -bench MeterEvent
func BenchmarkMeterEvent(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for range b.N {
		m.Event(16, 0)
	}
}

func BenchmarkMeterOp(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for range b.N {
		m.Op(3, true, 40*time.Microsecond)
	}
}
