package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// sentSpy records, in every document of a tab, each WebSocket the page
// opens and each request it fetches, in window.__sent: a replay must
// open none to a session.
const sentSpy = `(() => {
	window.__sent = [];
	const WS = window.WebSocket;
	window.WebSocket = function (...a) { window.__sent.push("ws " + a[0]); return new WS(...a); };
	const f = window.fetch;
	window.fetch = function (u, o) { window.__sent.push(((o && o.method) || "GET") + " " + u); return f.apply(this, arguments); };
})()`

// onNewDocument runs js first in every document the tab opens.
func onNewDocument(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	})
}

// exportFile downloads session id's export NDJSON into dir.
func (e *testEnv) exportFile(t testing.TB, id, dir string) (string, []byte) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/export.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %s %v", resp.Status, err)
	}
	path := filepath.Join(dir, "sockplay-"+id+".ndjson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// logSeqOpsOf is what logSeqOps(n) must give on a page of session s: its
// events up to seq n but those of Python's record (the code pane's, not
// the log's).
func logSeqOpsOf(s *sockets.Session, n int64) string {
	var b strings.Builder
	for _, ev := range s.EventsAfter(0, int(n)) {
		if ev.Op == "python" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", ev.Seq, ev.Op)
	}
	return b.String()
}

// viewsJS is JS that describes what every view shows of the events up to
// seq max, as text to compare between two pages: the log's rows (and in
// the Python view), the socket in use's ruler, the timeline's lanes and
// marks, netstat (without its kernel queue columns, which change while a
// live session is watched) and the code pane.
func viewsJS(max int64) string {
	return fmt.Sprintf(`JSON.stringify({
	rows: Object.fromEntries([...document.querySelectorAll("#log-body .ev")].filter(r => +r.dataset.seq <= %[1]d).map(r => [r.dataset.seq, r.innerText])),
	ruler: document.getElementById("view-ruler").innerText,
	views: document.getElementById("views-sock").textContent,
	lanes: [...document.querySelectorAll("#view-timeline .spt-lane")].map(g => g.dataset.sock).join(" "),
	marks: [...document.querySelectorAll("#view-timeline .spt-mark")].map(g => +g.dataset.seq).filter(s => s <= %[1]d).sort((a, b) => a - b).join(" "),
	netstat: [...document.querySelectorAll("#netstat-body tr")].map(tr => [...tr.cells].filter((_, i) => i !== 5 && i !== 6).map(c => c.innerText).join("|")).join("\n"),
	code: document.getElementById("py-source").value,
	file: document.getElementById("py-file").textContent,
	detail: document.getElementById("detail").hidden ? "" : document.getElementById("detail").innerText,
})`, max)
}

type viewsText struct {
	Rows    map[string]string `json:"rows"`
	Ruler   string            `json:"ruler"`
	Views   string            `json:"views"`
	Lanes   string            `json:"lanes"`
	Marks   string            `json:"marks"`
	Netstat string            `json:"netstat"`
	Code    string            `json:"code"`
	File    string            `json:"file"`
	Detail  string            `json:"detail"`
}

func viewsOf(t testing.TB, b *browser, max int64) viewsText {
	t.Helper()
	var v viewsText
	if err := json.Unmarshal([]byte(eval[string](t, b, "the views", viewsJS(max))), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// sameViews fails the test where two pages' views differ.
func sameViews(t testing.TB, what string, live, replay viewsText) {
	t.Helper()
	if len(replay.Rows) == 0 {
		t.Errorf("%s: the replay's log shows no rows", what)
	}
	for seq, row := range replay.Rows {
		if l, ok := live.Rows[seq]; ok && l != row {
			t.Errorf("%s: log row %s\nlive:   %q\nreplay: %q", what, seq, l, row)
		}
	}
	for _, f := range []struct{ name, live, replay string }{
		{"ruler", live.Ruler, replay.Ruler}, {"views label", live.Views, replay.Views}, {"timeline lanes", live.Lanes, replay.Lanes},
		{"timeline marks", live.Marks, replay.Marks}, {"netstat", live.Netstat, replay.Netstat}, {"code", live.Code, replay.Code},
		{"code file", live.File, replay.File}, {"detail", live.Detail, replay.Detail},
	} {
		if f.live != f.replay {
			t.Errorf("%s: the %s differs\nlive:   %q\nreplay: %q", what, f.name, f.live, f.replay)
		}
	}
}

// TestBrowserReplay makes a session with real sockets while its owner's
// page looks on (a TCP client of the echo lab, a UDP client of the upper
// lab, a server with the two ends of a connection, a refused connect, a
// program's record), exports it, and opens the file in a replay page at
// 1280×800: every view (log, Python view, ruler, timeline, netstat, the
// detail pane, the code pane) shows what the live page shows, the page
// opens no WebSocket and sends no op, and every way to run one is gone
// or refused. The same file from ?src= shows the same.
func TestBrowserReplay(t *testing.T) {
	e := newEnv(t)
	live := newBrowser(t)
	live.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	live.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	id := pageSession(t, live)
	s, _ := e.mgr.Get(id)

	src := "import socket\ns = socket.socket()\ns.connect(ECHO)\ns.sendall(b'hello world')\nprint(s.recv(4))\n"
	at := func(line int) string {
		return fmt.Sprintf(`,"origin":{"file":"demo.py","line":%d,"thread":"MainThread"}`, line)
	}
	e.ok(t, id, `{"op":"python","kind":"run","text":`+strconv.Quote(src)+at(0)+`}`)
	e.ok(t, id, `{"op":"socket"`+at(2)+`}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"`+at(3)+`}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hello world"}`+at(4)+`}`)
	e.ok(t, id, `{"op":"settimeout","sock":"s1","timeout":2}`)
	for range 3 {
		e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":4}`)
	}
	e.ok(t, id, `{"op":"python","kind":"stdout","text":"b'hell'\n"`+at(5)+`}`)
	e.ok(t, id, `{"op":"python","kind":"exit","text":""`+at(0)+`}`)
	e.ok(t, id, `{"op":"socket","type":"dgram"}`)
	e.ok(t, id, `{"op":"sendto","sock":"s2","addr":"`+e.labAddr(t, "upper", "udp")+`","data":{"text":"hello"}}`)
	e.ok(t, id, `{"op":"settimeout","sock":"s2","timeout":2}`)
	e.ok(t, id, `{"op":"recvfrom","sock":"s2","bufsize":100}`)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"bind","sock":"s3","addr":"127.0.0.1:0"}`)
	e.ok(t, id, `{"op":"listen","sock":"s3","backlog":4}`)
	e.ok(t, id, `{"op":"socket"}`)
	listener := ""
	for _, in := range s.State().Sockets {
		if in.ID == "s3" {
			listener = in.Local
		}
	}
	e.ok(t, id, `{"op":"connect","sock":"s4","addr":"`+listener+`"}`)
	e.ok(t, id, `{"op":"accept","sock":"s3"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s4","data":{"text":"ping\r\n"}}`)
	e.ok(t, id, `{"op":"settimeout","sock":"s5","timeout":2}`)
	e.ok(t, id, `{"op":"recv","sock":"s5","bufsize":64}`)
	e.ok(t, id, `{"op":"socket"}`)
	if code, _ := e.post(t, id, `{"op":"connect","sock":"s6","addr":"`+testkit.ClosedPort(t)+`"}`); code != 200 {
		t.Fatalf("a refused connect: %d", code)
	}
	e.ok(t, id, `{"op":"close","sock":"s6"}`)

	path, file := e.exportFile(t, id, t.TempDir())
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if !strings.HasPrefix(lines[0], `{"type":"hello"`) || !strings.Contains(lines[0], `"protocol":1`) || !strings.HasPrefix(lines[len(lines)-1], `{"type":"state"`) {
		t.Fatalf("the export's first and last lines: %s … %s", lines[0], lines[len(lines)-1])
	}
	exported := int64(len(lines) - 2) // every event between the hello and the state
	want := logSeqOpsOf(s, exported)
	live.waitFor(t, "the session on the live page", logSeqOps(exported)+` === `+strconv.Quote(want))

	// The replay, at 1280×800, in a tab that counts what it sends.
	r := live.newTab(t)
	r.do(t, "open a replay page", onNewDocument(sentSpy), focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/replay"))
	r.waitFor(t, "the replay bar", `document.getElementById("conn").textContent === "no file open"`)
	r.do(t, "pick the file", chromedp.SetUploadFiles(chromedp.CSS("#replay-file"), []string{path}))
	name := filepath.Base(path)
	r.waitFor(t, `"replay of `+name+`"`, fmt.Sprintf(`document.getElementById("replay-h").textContent === "replay of %s" && document.getElementById("conn").textContent === "replay"`, name))
	r.waitFor(t, "every event in the replay's log", logSeqOps(exported+1000)+` === `+strconv.Quote(want))
	r.waitFor(t, "the cards", `document.querySelectorAll(".sock-card").length === 6`)

	// The views of each socket, on both pages: the same.
	both := func(what string, js string) {
		t.Helper()
		for _, b := range []*browser{live, r} {
			if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js+"; true")); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	settle := func(b *browser, sock string) {
		t.Helper()
		b.waitFor(t, "the views on "+sock, fmt.Sprintf(`document.getElementById("views-sock").textContent === "· %s" && document.querySelector("#view-ruler").innerText.includes("%s")`, sock, sock))
	}
	for _, sock := range []string{"s1", "s2", "s4", "s5"} {
		both("choose "+sock, fmt.Sprintf(`document.getElementById("sock-%s").click()`, sock))
		settle(live, sock)
		settle(r, sock)
		sameViews(t, sock+"'s ruler", viewsOf(t, live, exported), viewsOf(t, r, exported))
	}
	// The detail pane (the data view) of the echo's first recv, and the
	// log's Python view.
	recv := eval[int](t, r, "the first recv", `window.sockplayLog.events.find(e => e.op === "recv").seq`)
	both("show the recv", fmt.Sprintf(`window.sockplayLog.select(%d, true)`, recv))
	both("the Python view", `document.getElementById("python-view").click()`)
	for _, b := range []*browser{live, r} {
		b.waitFor(t, "the recv's detail", `document.getElementById("detail-call").textContent.includes("recv")`)
		b.waitFor(t, "the Python view", `[...document.querySelectorAll("#log-body .ev")].some(r => r.innerText.includes(">>>"))`)
	}
	lv, rv := viewsOf(t, live, exported), viewsOf(t, r, exported)
	sameViews(t, "the detail and the Python view", lv, rv)
	if !strings.Contains(rv.Code, "s.connect(ECHO)") || !strings.Contains(rv.Detail, "hell") {
		t.Errorf("the replay's code pane %q, detail %q", rv.Code, rv.Detail)
	}
	both("the timeline", `document.getElementById("tab-timeline").click()`)
	for _, b := range []*browser{live, r} {
		// It opens on the recent calls, whose marks may stack as their
		// times fall: how many there are depends on the machine's pace,
		// the same in both pages, which sameViews holds equal.
		b.waitFor(t, "the timeline", `document.querySelectorAll("#view-timeline .spt-mark").length > 3`)
	}
	lv, rv = viewsOf(t, live, exported), viewsOf(t, r, exported)
	sameViews(t, "the timeline", lv, rv)
	if rv.Lanes == "" || rv.Marks == "" {
		t.Errorf("the replay's timeline: lanes %q, marks %q", rv.Lanes, rv.Marks)
	}
	r.viewShot(t, shotsDir(t), "replay-1280.png")

	// Nothing can be run: no control is drawn, a shortcut is refused, and
	// the page never opened a WebSocket nor sent anything.
	if c := controlsOf(t, r); !c.Watching || c.Setup != "none" || c.SetupRendered || c.Lesson != "none" || c.WatchButton {
		t.Errorf("the replay shows controls: %+v", c)
	} else {
		for i, d := range c.Rows {
			if d != "none" {
				t.Errorf("the replay shows row %d of a socket card (display %q)", i, d)
			}
		}
	}
	if eval[bool](t, r, "Python's controls", `!!document.getElementById("py-run") || !!document.getElementById("py-line") || !document.getElementById("py-source").readOnly`) {
		t.Error("the replay's code pane can run code")
	}
	r.do(t, "choose s1 and press r (recv) and x (close)", clickStill("#sock-s1"), chromedp.KeyEvent("r"), chromedp.KeyEvent("x"))
	r.waitFor(t, "the refusal", `document.getElementById("flash") && document.getElementById("flash").textContent.includes("replay of `+name+`")`)
	if got := r.eval(t, `window.sockplay.python.run("import socket; socket.socket()").then((r) => JSON.stringify(r), (e) => e.message)`); !strings.Contains(got, "session's page") {
		t.Errorf("the replay's Python run: %s", got)
	}
	sent := eval[string](t, r, "what the page sent", `window.__sent.join("\n")`)
	for _, l := range strings.Split(sent, "\n") {
		if l != "" && !strings.HasPrefix(l, "GET /static/") {
			t.Errorf("the replay page sent %q", l)
		}
	}
	if got := s.LastSeq(); got < exported {
		t.Fatalf("the session lost events: %d", got)
	}
	// The owner's page, still open, goes on saying where it looks (focus);
	// nothing else may have run.
	for _, ev := range s.EventsAfter(exported, 0) {
		if ev.Op != "stats" && ev.Op != "focus" {
			t.Errorf("an op ran after the export: %+v", ev)
		}
	}

	// The same file from a URL.
	u := live.newTab(t)
	u.do(t, "open the replay by URL", focusEmulation(), chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(e.srv.URL+"/replay?src="+"/api/sessions/"+id+"/export.ndjson"))
	u.waitFor(t, "the replay of the URL", `document.getElementById("replay-h").textContent === "replay of /api/sessions/`+id+`/export.ndjson"`)
	u.waitFor(t, "its events", logSeqOps(exported)+` === `+strconv.Quote(want))
	live.noErrors(t)
	r.noErrors(t)
	u.noErrors(t)
}

// TestBrowserReplayBadFiles: a file that is not an export, of another
// protocol version, an event stream without the export's hello, or cut
// short, is refused with an error that says which, and nothing of it is
// shown; the page throws nothing.
func TestBrowserReplayBadFiles(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hello world"}}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":64}`)
	dir := t.TempDir()
	_, good := e.exportFile(t, id, dir)
	lines := strings.SplitAfter(string(good), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last \n
	events := strings.Join(lines[1:len(lines)-1], "")
	// One tab, a fresh replay page for each file.
	b := newBrowser(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not-json.ndjson", "this is not JSON\n", "is not a sockplay export: line 1 is not JSON"},
		{"binary.ndjson", "\x00\x01\x02PNG", "it is not text"},
		{"empty.ndjson", "", "it is empty"},
		{"protocol2.ndjson", strings.Replace(string(good), `"protocol":1`, `"protocol":2`, 1), "it was written in protocol 2; this page reads protocol 1"},
		{"no-hello.ndjson", events, "it has no hello line: it is an event stream"},
		{"cut-mid-line.ndjson", string(good[:len(lines[0])+len(lines[1])+len(lines[2])/2]), "it is cut short: line 3, the last, stops in the middle"},
		{"cut-at-line.ndjson", strings.Join(lines[:len(lines)-1], ""), "it is cut short: it ends after line"},
		{"missing-event.ndjson", lines[0] + strings.Join(lines[2:], ""), "events 1–1 are missing"},
		{"bad-line.ndjson", lines[0] + lines[1] + "{oops\n" + strings.Join(lines[2:], ""), "line 3 is not JSON"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		b.do(t, "open a replay page", chromedp.Navigate(e.srv.URL+"/replay"))
		b.waitFor(t, "the replay bar", `document.getElementById("conn").textContent === "no file open"`)
		b.do(t, "pick "+tc.name, chromedp.SetUploadFiles(chromedp.CSS("#replay-file"), []string{path}))
		b.waitFor(t, tc.name+"'s error", `!document.getElementById("replay-error").hidden`)
		msg := eval[string](t, b, "the error", `document.getElementById("replay-error").textContent`)
		if !strings.HasPrefix(msg, tc.name+" cannot be replayed: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: the error says %q, want %q", tc.name, msg, tc.want)
		}
		if n := eval[int](t, b, "the log", `window.sockplayLog.events.length + document.querySelectorAll(".sock-card").length`); n != 0 {
			t.Errorf("%s: %d events and cards shown", tc.name, n)
		}
		if c := eval[string](t, b, "the status", `document.getElementById("conn").textContent`); c != "no file open" {
			t.Errorf("%s: the status says %q", tc.name, c)
		}
		b.noErrors(t)
	}
	// A good file still opens after them, in a page that refused one.
	b.do(t, "open a replay page", chromedp.Navigate(e.srv.URL+"/replay"))
	b.waitFor(t, "the replay bar", `document.getElementById("conn").textContent === "no file open"`)
	b.do(t, "pick a bad file", chromedp.SetUploadFiles(chromedp.CSS("#replay-file"), []string{filepath.Join(dir, "protocol2.ndjson")}))
	b.waitFor(t, "its error", `!document.getElementById("replay-error").hidden`)
	good2 := filepath.Join(dir, "good.ndjson")
	if err := os.WriteFile(good2, good, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(t, "pick the good one", chromedp.SetUploadFiles(chromedp.CSS("#replay-file"), []string{good2}))
	b.waitFor(t, "its events", `window.sockplayLog.events.length === 4 && document.getElementById("replay-error").hidden`)
	// A file dropped on the page opens too.
	b.do(t, "open a replay page", chromedp.Navigate(e.srv.URL+"/replay"))
	b.waitFor(t, "the replay bar", `document.getElementById("conn").textContent === "no file open"`)
	if !eval[bool](t, b, "drop the file", fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([%s], "dropped.ndjson"));
		const over = new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true});
		document.querySelector(".views").dispatchEvent(over);
		const drop = new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true});
		document.querySelector(".views").dispatchEvent(drop);
		return over.defaultPrevented && drop.defaultPrevented;
	})()`, strconv.Quote(string(good)))) {
		t.Error("the page left the drop to the browser, which would leave the page for the file")
	}
	b.waitFor(t, "the dropped file's events", `document.getElementById("replay-h").textContent === "replay of dropped.ndjson" && window.sockplayLog.events.length === 4`)
	// A URL that answers 404 says so.
	u := b.newTab(t)
	u.do(t, "open a replay of a missing session", chromedp.Navigate(e.srv.URL+"/replay?src=/api/sessions/nope/export.ndjson"))
	u.waitFor(t, "its error", `!document.getElementById("replay-error").hidden`)
	if msg := eval[string](t, u, "the error", `document.getElementById("replay-error").textContent`); !strings.Contains(msg, "404") || !strings.Contains(msg, "nope") {
		t.Errorf("a missing session's URL: %q", msg)
	}
	b.noErrors(t)
	for _, err := range u.pageErrors() {
		// The browser logs the 404 itself.
		if !strings.Contains(err, "status of 404") {
			t.Errorf("the page logged %q", err)
		}
	}
}

// BenchmarkBrowserReplay measures opening the export of a session of
// 100,000 events as a replay, from ?src=: the time until every event is
// in the log and drawn, and the longest main-thread task meanwhile; and
// the same for the session's own page, to compare.
func BenchmarkBrowserReplay(b *testing.B) {
	m := sockets.NewManager(sockets.Config{MaxLagEvents: 1 << 30, MaxLagBytes: 1 << 40, StatsInterval: -1})
	defer m.Close()
	srv := httptest.NewServer(New(Config{Sessions: m}))
	defer srv.Close()
	big, _ := m.Create()
	fillSession(b, big, 100_000)
	total := big.LastSeq()
	open := func(br *browser, path string) (ms, longest float64) {
		start := time.Now()
		br.do(b, "open "+path, chromedp.Navigate(srv.URL+path))
		br.waitFor(b, "every event in the log", `window.sockplayLog && window.sockplayLog.events.length >= `+itoa(total)+` && document.querySelectorAll("#log-body .ev").length > 0`)
		ms = float64(time.Since(start).Milliseconds())
		lt, err := chromedp.Run(br.ctx, chromedp.Evaluate[float64](`window.__longest`))
		if err != nil {
			b.Fatal(err)
		}
		return ms, lt
	}
	var opens, longest, liveOpens, liveLongest []float64
	for i := 0; i < b.N; i++ {
		br := newBrowser(b)
		br.do(b, "start the browser", chromedp.Navigate(srv.URL+"/healthz"))
		br.do(b, "watch for long tasks", onNewDocument(strings.TrimSuffix(strings.TrimPrefix(perfObservers, "(() => {"), "return 0;\n})()")))
		ms, lt := open(br, "/replay?src=/api/sessions/"+big.ID()+"/export.ndjson")
		opens, longest = append(opens, ms), append(longest, lt)
		ms, lt = open(br, "/s/"+big.ID())
		liveOpens, liveLongest = append(liveOpens, ms), append(liveLongest, lt)
	}
	b.ReportMetric(median(opens), "replay_100k_ms")
	b.ReportMetric(median(longest), "longest_task_ms")
	b.ReportMetric(median(liveOpens), "session_100k_ms")
	b.ReportMetric(median(liveLongest), "session_longest_task_ms")
	b.Logf("%d events; replay: open ms %v, longest task ms %v; the session's page: open ms %v, longest task ms %v", total, opens, longest, liveOpens, liveLongest)
}
