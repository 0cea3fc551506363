package web

import (
	"context"
	"net"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
)

// pacedSource writes chunk bytes every tick until stopped: with
// autorecv(16), 160 bytes a millisecond is 10,000 events a second.
func pacedSource(b *testing.B, chunk int, tick time.Duration, stop <-chan struct{}) string {
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
	}
	t := time.NewTicker(tick)
	return oneClient(b, func(c net.Conn) bool {
		select {
		case <-stop:
			t.Stop()
			return false
		case <-t.C:
			_, err := c.Write(buf)
			return err == nil
		}
	})
}

func mustDo(tb testing.TB, s *sockets.Session, op sockets.Op) sockets.Event {
	tb.Helper()
	ev, err := s.Do(context.Background(), op)
	if err != nil || !ev.OK {
		tb.Fatalf("%s: %v %v", op.Op, err, ev.Error)
	}
	return ev
}

// fillSession gives s at least n events, from autorecv(16) on a fast
// source, as a long-running session would have.
func fillSession(b *testing.B, s *sockets.Session, n int64) {
	b.Helper()
	stop := make(chan struct{})
	defer close(stop)
	src := pacedSource(b, 16*1024, time.Millisecond, stop)
	id := mustDo(b, s, sockets.Op{Op: "socket"}).Result.Sock
	mustDo(b, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: src}})
	sixteen := 16
	mustDo(b, s, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: &sixteen}})
	awaitSession(b, s, "the session filled", func(s *sockets.Session) bool { return s.LastSeq() >= n })
	off := false
	mustDo(b, s, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{On: &off}})
	mustDo(b, s, sockets.Op{Op: "close", Sock: id})
}

const perfObservers = `(() => {
	window.__longest = 0; window.__gap = 0;
	new PerformanceObserver(l => { for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({type: "longtask"});
	let last = performance.now();
	const f = now => { window.__gap = Math.max(window.__gap, now - last); last = now; requestAnimationFrame(f); };
	requestAnimationFrame(f);
	return 0;
})()`

// BenchmarkBrowserLog measures the page with a big session, in headless
// Chromium: the time to open a session of 100,000 events until they are
// all in the log and drawn, and the longest main-thread task and frame gap
// while 10,000 events a second stream in for 5 seconds.
func BenchmarkBrowserLog(b *testing.B) {
	m := sockets.NewManager(sockets.Config{MaxLagEvents: 1 << 30, MaxLagBytes: 1 << 40, MaxLogBytes: 256 << 20, StatsInterval: -1})
	defer m.Close()
	srv := httptest.NewServer(New(Config{Sessions: m}))
	defer srv.Close()
	big, _ := m.Create()
	const n = 100_000
	fillSession(b, big, n)
	total := big.LastSeq()

	var renders []float64
	var longest, gaps []float64
	var rates []float64
	for i := 0; i < b.N; i++ {
		br := newBrowser(b)
		// Start Chromium first: its start-up is not the page's.
		br.do(b, "start the browser", chromedp.Navigate(srv.URL+"/healthz"))
		start := time.Now()
		br.do(b, "open the big session", chromedp.Navigate(srv.URL+"/s/"+big.ID()))
		br.waitFor(b, "every event in the log", `window.sockplayLog && window.sockplayLog.events.length >= `+itoa(total)+` && document.querySelectorAll("#log-body .ev").length > 0`)
		renders = append(renders, float64(time.Since(start).Milliseconds()))

		// A live stream of 10,000 events a second into a fresh session.
		live, _ := m.Create()
		br.do(b, "open a live session", chromedp.Navigate(srv.URL+"/s/"+live.ID()))
		br.waitFor(b, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](perfObservers)); err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		src := pacedSource(b, 192, time.Millisecond, stop)
		id := mustDo(b, live, sockets.Op{Op: "socket"}).Result.Sock
		mustDo(b, live, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: src}})
		sixteen := 16
		first := live.LastSeq()
		mustDo(b, live, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: &sixteen}})
		t0 := time.Now()
		time.Sleep(5 * time.Second) // the load runs for a fixed time: this is the measurement
		close(stop)
		got := live.LastSeq() - first
		rates = append(rates, float64(got)/time.Since(t0).Seconds())
		br.waitFor(b, "the page caught up", `window.sockplayLog.events.length >= `+itoa(live.LastSeq()))
		lt, err := chromedp.Run(br.ctx, chromedp.Evaluate[float64](`window.__longest`))
		if err != nil {
			b.Fatal(err)
		}
		gap, _ := chromedp.Run(br.ctx, chromedp.Evaluate[float64](`window.__gap`))
		longest = append(longest, lt)
		gaps = append(gaps, gap)
		m.End(live.ID())
	}
	b.ReportMetric(median(renders), "render_100k_ms")
	b.ReportMetric(median(longest), "longest_task_ms")
	b.ReportMetric(median(gaps), "max_frame_gap_ms")
	b.ReportMetric(median(rates), "streamed_events/s")
	b.Logf("%d events; render ms %v; longest task ms %v; frame gap ms %v; events/s %v", total, renders, longest, gaps, rates)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
