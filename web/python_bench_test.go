package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// watchJS is a JS function that runs fn() while it watches the page's
// main thread: the longest gap in a timer loop meanwhile (the longest
// task, within a timer's 4 ms) and the long tasks (50 ms or more) the
// browser saw; it resolves with {ms, value, maxGap, longs}.
const watchJS = `async (fn) => {
	const longs = [];
	const obs = new PerformanceObserver((l) => longs.push(...l.getEntries().map((e) => Math.round(e.duration))));
	obs.observe({ type: "longtask" });
	let maxGap = 0, last = performance.now(), going = true;
	const tick = () => {
		const now = performance.now();
		maxGap = Math.max(maxGap, now - last);
		last = now;
		if (going) setTimeout(tick, 0);
	};
	setTimeout(tick, 0);
	const t0 = performance.now();
	const value = await fn();
	const ms = performance.now() - t0;
	going = false;
	obs.disconnect();
	return { ms, value, maxGap, longs };
}`

// loadJS waits until Python is ready in the page (which may have
// started it already), watching the main thread meanwhile; ms is counted
// from the page's navigation.
const loadJS = `(` + watchJS + `)(() => sockplay.python.ready()).then((r) => JSON.stringify({ ...r, ms: performance.now(), steps: r.value.ms, boot: r.value.boot || "fresh" }))`

// snapshotJS waits until the page's Python has said what became of its
// memory snapshot ("saved", "failed: why", or "booted" if it started
// from one), so that a reload after it finds what a returning user's
// browser has; a page without snapshots says "none" after 10 s.
const snapshotJS = `new Promise((resolve) => {
	const t0 = performance.now();
	const f = () => {
		const s = sockplay.python.state().snapshot;
		if (s && s !== "making") resolve(s);
		else if (performance.now() - t0 > 10000) resolve("none");
		else setTimeout(f, 20);
	};
	f();
})`

// idleJS watches the page's main thread for two seconds, Python aside:
// what the page itself costs.
const idleJS = `(` + watchJS + `)(() => new Promise((r) => setTimeout(r, 2000))).then((r) => JSON.stringify(r))`

// consoleJS clicks into the console's box, types a line and resolves
// once its answer shows, watching the main thread meanwhile.
const consoleJS = `(` + watchJS + `)(() => new Promise((resolve) => {
	const box = document.getElementById("py-line");
	box.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
	box.focus();
	// A line of its own: the transcript shows the session's earlier ones.
	const n = Math.floor(Math.random() * 1e9);
	box.value = "6 * " + n;
	document.getElementById("py-prompt").requestSubmit();
	const out = document.getElementById("py-transcript");
	const seen = () => out.textContent.includes(">>> 6 * " + n + "\n" + 6 * n + "\n") ? resolve(performance.now()) : setTimeout(seen, 5);
	seen();
})).then((r) => JSON.stringify(r))`

type loadFigures struct {
	MS     float64            `json:"ms"`
	Value  json.RawMessage    `json:"value"`
	Steps  map[string]float64 `json:"steps"`
	Boot   string             `json:"boot"`
	MaxGap float64            `json:"maxGap"`
	Longs  []float64          `json:"longs"`
}

// BenchmarkPython measures Python in the page in headless Chromium:
//
//	SOCKPLAY_REQUIRE_BROWSER=1 go test ./web -run '^$' -bench BenchmarkPython -benchtime 1x
//
// load: from the navigation until Python is ready (the page starts it
// once it is idle), cold (a fresh browser profile) and cached (the page
// reloaded once the first Python's memory snapshot is saved); the
// longest main-thread gap and long tasks meanwhile; the browser's memory
// before the page and with it and Python.
// console: until the console has run a line typed in its box, cold and
// cached, from the click and from the navigation.
// tasks: the page's main thread, traced, while the page opens, while
// Python loads cold once it is live, while a program makes calls as fast
// as it can, and while the code pane's examples run one after another:
// its longest task in wall-clock and in CPU time.
// calls: round trips from Python of getsockname and of sendall+recv
// against the echo lab (median and p99), a tight recv(1) loop on one
// thread and on 8, and for comparison the same op from the page's main
// thread over a WebSocket and a postMessage round trip to a worker (what
// forwarding the worker's ops through the page would add).
func BenchmarkPython(b *testing.B) {
	e := newLabsEnv(b, sockets.Config{})
	b.Run("load", func(b *testing.B) {
		for range b.N {
			br := newBrowser(b)
			p := &pyPage{browser: br, e: e}
			rss0 := browserRSS(b, br)
			br.do(b, "open the page", chromedp.Navigate(e.srv.URL+"/"))
			br.waitFor(b, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
			cold := load(b, br, loadJS)
			rss1 := browserRSS(b, br)
			b.ReportMetric(cold.MS, "cold-ms")
			b.ReportMetric(cold.MaxGap, "cold-longest-task-ms")
			b.ReportMetric(float64(len(cold.Longs)), "cold-long-tasks")
			b.ReportMetric(float64(rss1-rss0)/(1<<20), "page-and-python-MiB")
			snap := p.eval(b, snapshotJS)
			b.Logf("cold: ready %.0f ms after the navigation (%s boot, steps %v), longest main-thread task %.0f ms, long tasks %v; Chromium RSS %d → %d MiB; snapshot: %s", cold.MS, cold.Boot, cold.Steps, cold.MaxGap, cold.Longs, rss0>>20, rss1>>20, snap)
			idle := load(b, br, idleJS)
			b.ReportMetric(idle.MaxGap, "idle-longest-task-ms")
			for i := range 2 {
				br.do(b, "reload", chromedp.Reload())
				br.waitFor(b, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
				cached := load(b, br, loadJS)
				b.Logf("cached %d: ready %.0f ms after the navigation (%s boot, steps %v), longest main-thread task %.0f ms, long tasks %v", i+1, cached.MS, cached.Boot, cached.Steps, cached.MaxGap, cached.Longs)
				if i == 1 {
					b.ReportMetric(cached.MS, "cached-ms")
					b.ReportMetric(cached.MaxGap, "cached-longest-task-ms")
					b.ReportMetric(float64(len(cached.Longs)), "cached-long-tasks")
				}
				p.eval(b, snapshotJS)
			}
			heap := p.ok(b, "import pyodide_js\nprint(pyodide_js._module.HEAP8.length)", "")
			if n, err := strconv.Atoi(strings.TrimSpace(heap)); err == nil {
				b.ReportMetric(float64(n)/(1<<20), "wasm-heap-MiB")
			}
		}
	})
	// console: from the first use of the console (a click in its box,
	// which starts Python) until it has run a line typed there and shown
	// what it printed, cold (a fresh browser profile) and cached (the page
	// reloaded), watching the main thread meanwhile.
	b.Run("console", func(b *testing.B) {
		for range b.N {
			br := newBrowser(b)
			for i := range 3 {
				if i == 0 {
					br.do(b, "open the page", chromedp.Navigate(e.srv.URL+"/"))
				} else {
					br.do(b, "reload", chromedp.Reload())
				}
				br.waitFor(b, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
				f := load(b, br, consoleJS)
				var nav float64 // ms since the page's navigation
				_ = json.Unmarshal(f.Value, &nav)
				switch i {
				case 0:
					b.ReportMetric(f.MS, "console-cold-ms")
					b.ReportMetric(nav, "console-cold-from-navigation-ms")
					b.ReportMetric(f.MaxGap, "console-cold-longest-task-ms")
				case 2:
					// A reloaded page of a session that used Python starts
					// it at once: from the navigation, then.
					b.ReportMetric(f.MS, "console-cached-ms")
					b.ReportMetric(nav, "console-cached-from-navigation-ms")
					b.ReportMetric(f.MaxGap, "console-cached-longest-task-ms")
				}
				boot := (&pyPage{browser: br}).eval(b, `sockplay.python.ready().then((r) => r.boot || "fresh")`)
				b.Logf("console %d: %.0f ms from the click, %.0f ms from the navigation (%s boot); longest main-thread task %.0f ms, long tasks %v", i, f.MS, nav, boot, f.MaxGap, f.Longs)
				(&pyPage{browser: br}).eval(b, snapshotJS)
			}
		}
	})
	// tasks: the page's main thread, traced, while the page opens (until
	// its WebSocket is live), while Python loads cold after that (a fresh
	// profile), and while a program makes calls as fast as it can
	// (getsockname and echo round trips, recv(1) on one thread and on 8).
	b.Run("tasks", func(b *testing.B) {
		echo := pyAddr(e.labAddr(b, "echo", "tcp"))
		for range b.N {
			br := newBrowser(b)
			br.do(b, "open a blank page", chromedp.Navigate("about:blank"))
			opening := traceMainThread(b, br, func() {
				br.do(b, "open the page", chromedp.Navigate(e.srv.URL+"/"))
				br.waitFor(b, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
			})
			loading := traceMainThread(b, br, func() {
				(&pyPage{browser: br}).eval(b, `sockplay.python.ready().then(() => "ready")`)
			})
			src, _ := json.Marshal(strings.ReplaceAll(strings.ReplaceAll(callsPy, "ECHO", echo), "N = 2000", "N = 1000"))
			running := traceMainThread(b, br, func() {
				(&pyPage{browser: br}).eval(b, `sockplay.python.run(`+string(src)+`).then((r) => r.exception ? Promise.reject(new Error(r.stderr)) : "ran")`)
			})
			// The tutorials' programs, one after another, as a class runs
			// them: calls at the pace of their own code, not a stress.
			examples := traceMainThread(b, br, func() {
				for _, ex := range static.Examples() {
					src, _ := json.Marshal(ex.WithLabs(e.labs.AddrOf))
					in, _ := json.Marshal(examplesStdin[ex.Name])
					(&pyPage{browser: br}).eval(b, fmt.Sprintf(`sockplay.python.run(%s, {stdin: %s, filename: %q}).then((r) => r.exception ? Promise.reject(new Error(r.stderr)) : "ran")`, src, in, ex.Name))
				}
			})
			for _, x := range []struct {
				name string
				m    mainTasks
			}{{"opening", opening}, {"loading", loading}, {"running", running}, {"examples", examples}} {
				b.ReportMetric(x.m.WallMS, x.name+"-longest-task-wall-ms")
				b.ReportMetric(x.m.CPUMS, x.name+"-longest-task-cpu-ms")
				b.ReportMetric(float64(x.m.CPU50), x.name+"-tasks-over-50ms-cpu")
				b.Logf("%s: longest main-thread task %.0f ms (wall), %.0f ms (CPU); %d tasks of 50 ms or more wall-clock, %d of CPU", x.name, x.m.WallMS, x.m.CPUMS, x.m.Wall50, x.m.CPU50)
			}
		}
	})
	b.Run("calls", func(b *testing.B) {
		p := openPython(b, e)
		echo := pyAddr(e.labAddr(b, "echo", "tcp"))
		for range b.N {
			prog := strings.ReplaceAll(callsPy, "ECHO", echo)
			src, _ := json.Marshal(prog)
			watched := load(b, p.browser, `(`+watchJS+`)(() => sockplay.python.run(`+string(src)+`)).then((r) => JSON.stringify(r))`)
			var res pyResult
			if err := json.Unmarshal(watched.Value, &res); err != nil || res.Exception != nil {
				b.Fatalf("the program: %s (%v)", watched.Value, err)
			}
			out := res.Stdout
			b.ReportMetric(watched.MaxGap, "running-longest-task-ms")
			b.ReportMetric(float64(len(watched.Longs)), "running-long-tasks")
			var f struct {
				Getsockname, Echo []float64
				Recv1, Recv1x8    float64
			}
			if err := json.Unmarshal([]byte(out), &f); err != nil {
				b.Fatalf("%q: %v", out, err)
			}
			b.ReportMetric(f.Getsockname[0], "getsockname-p50-µs")
			b.ReportMetric(f.Getsockname[1], "getsockname-p99-µs")
			b.ReportMetric(f.Echo[0], "echo-p50-µs")
			b.ReportMetric(f.Echo[1], "echo-p99-µs")
			b.ReportMetric(f.Recv1, "recv1-calls/s")
			b.ReportMetric(f.Recv1x8, "recv1-8threads-calls/s")

			js := p.eval(b, fmt.Sprintf(`(async () => {
				const pct = (xs) => { xs.sort((a, b) => a - b); return [Math.round(xs[xs.length >> 1] * 1000), Math.round(xs[Math.floor(xs.length * 0.99)] * 1000)]; };
				const ws = new WebSocket(location.origin.replace("http", "ws") + "/api/sessions/%s/ws?since=" + (await (await fetch("/api/sessions/%s")).json()).last_seq);
				await new Promise((r) => (ws.onopen = r));
				let id = 0, answer;
				ws.onmessage = (m) => { if (m.data.startsWith('{"reply":')) answer(JSON.parse(m.data)); };
				const op = (o) => new Promise((r) => { answer = r; ws.send(JSON.stringify({ id: ++id, ...o })); });
				const sock = (await op({ op: "socket" })).result.sock;
				const rt = [];
				for (let i = 0; i < 2000; i++) { const t = performance.now(); await op({ op: "getsockname", sock }); rt.push(performance.now() - t); }
				await op({ op: "close", sock });
				ws.close();
				const w = new Worker(URL.createObjectURL(new Blob(["onmessage = (e) => postMessage(e.data)"], { type: "text/javascript" })));
				const pm = [];
				for (let i = 0; i < 2000; i++) { const t = performance.now(); await new Promise((r) => { w.onmessage = r; w.postMessage('{"reply":1,"seq":1,"op":"getsockname","ok":true,"result":{"local":"127.0.0.1:5000"}}'); }); pm.push(performance.now() - t); }
				w.terminate();
				return JSON.stringify({ page: pct(rt), postMessage: pct(pm) });
			})()`, p.session, p.session))
			var jf struct{ Page, PostMessage []float64 }
			if err := json.Unmarshal([]byte(js), &jf); err != nil {
				b.Fatalf("%q: %v", js, err)
			}
			g50, g99 := goRoundTrips(b, e, p.session, 2000)
			b.ReportMetric(g50, "go-ws-getsockname-p50-µs")
			b.ReportMetric(g99, "go-ws-getsockname-p99-µs")
			b.ReportMetric(jf.Page[0], "page-ws-getsockname-p50-µs")
			b.ReportMetric(jf.Page[1], "page-ws-getsockname-p99-µs")
			b.ReportMetric(jf.PostMessage[0], "postMessage-rt-p50-µs")
			b.ReportMetric(jf.PostMessage[1], "postMessage-rt-p99-µs")
			b.Logf("python %s; page %s; long tasks while running %v", out, js, watched.Longs)
		}
	})
}

// callsPy is the calls' program: round trips of getsockname and of
// sendall+recv against the echo lab (at ECHO), a recv(1) loop on one
// thread and on 8; it prints their figures as JSON.
const callsPy = `import json, socket, threading, time
N = 2000
def pct(xs):
    xs = sorted(xs)
    return [round(xs[len(xs) // 2] * 1e6), round(xs[int(len(xs) * 0.99)] * 1e6)]
s = socket.create_connection(ECHO)
g = []
for _ in range(N):
    t = time.perf_counter()
    s.getsockname()
    g.append(time.perf_counter() - t)
e = []
for _ in range(N):
    t = time.perf_counter()
    s.sendall(b"x" * 32)
    n = 0
    while n < 32:
        n += len(s.recv(32 - n))
    e.append(time.perf_counter() - t)
M = 5000
s.sendall(b"y" * M)
t = time.perf_counter()
for _ in range(M):
    s.recv(1)
one = M / (time.perf_counter() - t)
s.close()
def reader(c, m):
    for _ in range(m):
        c.recv(1)
conns = [socket.create_connection(ECHO) for _ in range(8)]
for c in conns:
    c.sendall(b"z" * 1000)
ts = [threading.Thread(target=reader, args=(c, 1000)) for c in conns]
t = time.perf_counter()
for th in ts: th.start()
for th in ts: th.join()
eight = 8000 / (time.perf_counter() - t)
for c in conns: c.close()
print(json.dumps({"getsockname": pct(g), "echo": pct(e), "recv1": round(one), "recv1x8": round(eight)}))
`

// BenchmarkPythonDefaultLimits: the file lab's 262,144 bytes read with
// recv(1024) in a loop, and a recv(1) loop, under the server's default
// -max-ops-per-sec (1000).
func BenchmarkPythonDefaultLimits(b *testing.B) {
	e := newLabsEnv(b, sockets.Config{MaxOpsPerSec: 1000})
	p := openPython(b, e)
	for range b.N {
		out := p.ok(b, `import json, socket, time
t = time.perf_counter()
with socket.create_connection(`+pyAddr(e.labAddr(b, "file", "tcp"))+`) as f:
    n = 0
    while chunk := f.recv(1024):
        n += len(chunk)
file_ms = (time.perf_counter() - t) * 1000
with socket.create_connection(`+pyAddr(e.labAddr(b, "echo", "tcp"))+`) as s:
    s.sendall(b"x" * 3000)
    t = time.perf_counter()
    for _ in range(3000):
        s.recv(1)
    recv1 = 3000 / (time.perf_counter() - t)
print(json.dumps([n, round(file_ms), round(recv1)]))
`, "")
		var f []float64
		if err := json.Unmarshal([]byte(out), &f); err != nil || len(f) != 3 || f[0] != 262144 {
			b.Fatalf("%q: %v", out, err)
		}
		b.ReportMetric(f[1], "file-lab-recv1024-ms")
		b.ReportMetric(f[2], "recv1-calls/s")
	}
}

func load(b *testing.B, br *browser, js string) loadFigures {
	b.Helper()
	out := (&pyPage{browser: br}).eval(b, js)
	var f loadFigures
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		b.Fatalf("%q: %v", out, err)
	}
	return f
}

// browserRSS is the resident memory of Chromium's processes (the browser
// and its children, the page's renderer, where the worker runs, among
// them), from /proc.
func browserRSS(b *testing.B, br *browser) int64 {
	b.Helper()
	c := chromedp.FromContext(br.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		b.Skip("no Chromium process to measure")
	}
	root := c.Browser.Process().Pid
	parent := map[int]int{}
	rss := map[int]int64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(d, "/")[2])
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "PPid:" {
				parent[pid], _ = strconv.Atoi(f[1])
			}
			if len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				rss[pid] = kb << 10
			}
		}
	}
	var total int64
	for pid, n := range rss {
		for p := pid; p != 0; p = parent[p] {
			if p == root {
				total += n
				break
			}
		}
	}
	return total
}

// goRoundTrips times n getsockname ops from a Go WebSocket client in
// session id: the server's share of a round trip, with no browser.
func goRoundTrips(b *testing.B, e *testEnv, id string, n int) (p50, p99 float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := e.events(b, id)
	url := strings.Replace(e.srv.URL, "http", "ws", 1) + "/api/sessions/" + id + "/ws?since=" + strconv.FormatInt(last[len(last)-1].Seq, 10)
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
	op := func(id int, body string) map[string]any {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"id":%d,%s`, id, body[1:]))); err != nil {
			b.Fatal(err)
		}
		prefix := fmt.Sprintf(`{"reply":%d,`, id)
		for {
			_, m, err := c.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(string(m), prefix) {
				var ev map[string]any
				_ = json.Unmarshal(m, &ev)
				return ev
			}
		}
	}
	sock := op(1, `{"op":"socket"}`)["result"].(map[string]any)["sock"].(string)
	rt := make([]float64, n)
	for i := range rt {
		t0 := time.Now()
		op(i+2, `{"op":"getsockname","sock":"`+sock+`"}`)
		rt[i] = float64(time.Since(t0).Microseconds())
	}
	op(n+2, `{"op":"close","sock":"`+sock+`"}`)
	sort.Float64s(rt)
	return rt[n/2], rt[n*99/100]
}

// mainTasks is what a Performance trace saw of the page's main thread:
// its longest task in wall-clock time (what the page's user waits) and
// in the thread's CPU time (the page's own work: on a machine whose
// cores are busy with other work the first exceeds the second by the
// time the thread waited for a core), and how many took 50 ms or more
// of each.
type mainTasks struct {
	WallMS, CPUMS float64
	Wall50, CPU50 int
}

// traceMainThread runs do while Chromium traces the browser, and returns
// what the page's main thread (its renderers' main threads) did.
func traceMainThread(b *testing.B, br *browser, do func()) mainTasks {
	b.Helper()
	type traceEvent struct {
		Name string          `json:"name"`
		Ph   string          `json:"ph"`
		Dur  float64         `json:"dur"`  // µs
		Tdur float64         `json:"tdur"` // µs of the thread's CPU
		Pid  int64           `json:"pid"`
		Tid  int64           `json:"tid"`
		Args json.RawMessage `json:"args"`
	}
	ctx, cancel := context.WithCancel(br.ctx)
	defer cancel()
	// One listener for both events: the trace's data arrives before its
	// end, and only Listen keeps that order across event types (the
	// Events iterators deliver each type from its own goroutine, so the
	// end could be seen while data was still queued, and the data lost).
	var (
		mu       sync.Mutex
		evs      []traceEvent
		complete = make(chan struct{})
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			for _, v := range ev.Value {
				var te traceEvent
				if b, err := json.Marshal(v); err == nil && json.Unmarshal(b, &te) == nil {
					evs = append(evs, te)
				}
			}
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(complete)
		}
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(br.ctx, tracing.Start, tracing.StartParams{TransferMode: "ReportEvents", TraceConfig: &tracing.TraceConfig{IncludedCategories: []string{"toplevel", "__metadata"}}}); err != nil {
		b.Fatal(err)
	}
	do()
	if _, err := chromedp.Call(br.ctx, tracing.End, struct{}{}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-complete:
	case <-time.After(time.Minute):
		b.Fatal("the trace did not complete")
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	type thread struct{ pid, tid int64 }
	main := map[thread]bool{}
	for _, e := range evs {
		if e.Ph == "M" && e.Name == "thread_name" && strings.Contains(string(e.Args), `"CrRendererMain"`) {
			main[thread{e.Pid, e.Tid}] = true
		}
	}
	if len(main) == 0 {
		b.Fatal("the trace has no renderer main thread")
	}
	var m mainTasks
	for _, e := range evs {
		if !main[thread{e.Pid, e.Tid}] || e.Ph != "X" || e.Name != "ThreadControllerImpl::RunTask" {
			continue
		}
		wall, cpu := e.Dur/1000, e.Tdur/1000
		m.WallMS, m.CPUMS = max(m.WallMS, wall), max(m.CPUMS, cpu)
		if wall >= 50 {
			m.Wall50++
		}
		if cpu >= 50 {
			m.CPU50++
		}
	}
	return m
}
