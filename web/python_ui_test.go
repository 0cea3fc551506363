package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// pyIdle is JS that is true when Python runs nothing.
const pyIdle = `sockplay.python.state().ready && sockplay.python.state().busy === null`

// transcriptHas is JS that is true when the console's transcript holds s.
func transcriptHas(s string) string {
	return fmt.Sprintf(`document.getElementById("py-transcript").textContent.includes(%s)`, strconv.Quote(s))
}

// typeLine types line into the console's box and presses Enter.
func (p *pyPage) typeLine(t testing.TB, line string) {
	t.Helper()
	p.do(t, "type "+strconv.Quote(line), chromedp.Focus(chromedp.CSS("#py-line")), chromedp.KeyEvent(line+"\r"))
}

// consoleLine types a line at the console and waits until Python has
// run it.
func (p *pyPage) consoleLine(t testing.TB, line string) {
	t.Helper()
	p.waitFor(t, "Python idle", pyIdle)
	p.typeLine(t, line)
	p.waitFor(t, "the line in the transcript", transcriptHas(line))
	p.waitFor(t, "Python idle", pyIdle)
}

// TestPythonConsole: the console's >>> prompt runs a line at a time, keeps
// its variables (a socket among them) from line to line and across a
// program, continues a statement with "...", recalls lines with the
// arrow keys, shows tracebacks without the shim's frames, and Stop ends a
// line blocked in recv and starts it afresh.
func TestPythonConsole(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	echo := pyAddr(e.labAddr(t, "echo", "tcp"))

	p.consoleLine(t, "import socket")
	p.consoleLine(t, "s = socket.create_connection("+echo+")")
	p.consoleLine(t, `s.sendall(b"kept between lines")`)
	p.consoleLine(t, "s.recv(100)")
	p.waitFor(t, "the echo", transcriptHas("b'kept between lines'\n"))

	// The three calls are on the one socket the first line made.
	var sock string
	for _, ev := range p.e.events(t, p.session) {
		if ev.Origin == nil || ev.Origin.File != "<console>" {
			continue
		}
		switch ev.Op {
		case "connect":
			sock = ev.Sock
		case "sendall", "recv":
			if ev.Sock != sock || sock == "" {
				t.Fatalf("%s on %s, want the console's socket %q", ev.Op, ev.Sock, sock)
			}
		}
	}

	// A statement over several lines: "..." until an empty line ends it.
	p.typeLine(t, "for i in range(2):")
	p.waitFor(t, `the "..." prompt`, `document.getElementById("py-ps").textContent === "..."`)
	p.typeLine(t, `    print("line", i)`)
	p.consoleLine(t, "")
	p.waitFor(t, "the loop's output", transcriptHas(">>> for i in range(2):\n...     print(\"line\", i)\n... \nline 0\nline 1\n"))
	if ps := eval[string](t, p.browser, "the prompt", `document.getElementById("py-ps").textContent`); ps != ">>>" {
		t.Fatalf("prompt %q after the statement, want >>>", ps)
	}
	p.do(t, "up, up", chromedp.Focus(chromedp.CSS("#py-line")), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp))
	if v := eval[string](t, p.browser, "the box", `document.getElementById("py-line").value`); v != "for i in range(2):" {
		t.Fatalf("two lines up the history: %q", v)
	}
	p.do(t, "down", chromedp.KeyEvent(kb.ArrowDown))
	if v := eval[string](t, p.browser, "the box", `document.getElementById("py-line").value`); v != `    print("line", i)` {
		t.Fatalf("one line down: %q", v)
	}
	p.do(t, "clear the box", chromedp.Evaluate[chromedp.Void](`document.getElementById("py-line").value = ""`))

	// An error is the console's traceback, as CPython shows it.
	p.consoleLine(t, "s.recv(-1)")
	p.waitFor(t, "the traceback", transcriptHas("ValueError: negative buffersize in recv\n"))
	if tr := eval[string](t, p.browser, "the transcript", `document.getElementById("py-transcript").textContent`); !strings.Contains(tr, `File "<console>", line 1, in <module>`) || strings.Contains(tr, "/lib/sockplay/") {
		t.Fatalf("the traceback:\n%s", tr)
	}

	// A program runs and ends; the console's socket is still open.
	if out := p.ok(t, `print("a program")`, ""); out != "a program\n" {
		t.Fatalf("the program printed %q", out)
	}
	p.consoleLine(t, "s.getpeername() == "+echo)
	p.waitFor(t, "True", transcriptHas(">>> s.getpeername() == "+echo+"\nTrue\n"))

	// Stop ends a line that blocks, closes its socket, and the console
	// starts afresh.
	p.typeLine(t, "s.recv(100)")
	p.awaitPending(t, "recv", sock)
	p.do(t, "Stop", clickStill("#py-stop"))
	p.e.awaitEvent(t, p.session, func(ev sockets.Event) bool { return ev.Op == "close" && ev.Sock == sock })
	p.waitFor(t, "the stop in the transcript", transcriptHas("the console line was stopped"))
	p.consoleLine(t, "s")
	p.waitFor(t, "a NameError", transcriptHas("NameError: name 's' is not defined"))
	p.noErrors(t)
}

// awaitPending waits until the session has a pending op on sock.
func (p *pyPage) awaitPending(t testing.TB, op, sock string) {
	t.Helper()
	s, _ := p.e.mgr.Get(p.session)
	awaitSession(t, s, "a pending "+op, func(s *sockets.Session) bool {
		for _, c := range s.State().Pending {
			if c.Op == op && c.Sock == sock {
				return true
			}
		}
		return false
	})
}

// stepState is where a Step is: the line Python says it waits at, and
// what runs.
type stepState struct {
	Waiting int    `json:"waiting"`
	Busy    string `json:"busy"`
}

const stepStateJS = `JSON.stringify({
	waiting: (sockplay.python.state().waitingAt || {line: 0}).line,
	busy: sockplay.python.state().busy || "",
})`

func (p *pyPage) step(t testing.TB) stepState {
	t.Helper()
	var s stepState
	if err := json.Unmarshal([]byte(eval[string](t, p.browser, "the step", stepStateJS)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// socketCalls are the session's events other than Python's records,
// kernel stats and where the owner looks (focus): the calls.
func (e *testEnv) socketCalls(t testing.TB, id string) []sockets.Event {
	t.Helper()
	var out []sockets.Event
	for _, ev := range e.events(t, id) {
		if ev.Op != "python" && ev.Op != "stats" && ev.Op != "focus" {
			out = append(out, ev)
		}
	}
	return out
}

// TestPythonStep: Step runs the program to its first socket call and
// highlights its line; each press makes exactly that call, at that line,
// and stops before the next; Run goes on to the end. A watcher's page,
// open all along, follows the line; one opened after sees the code and
// the transcript.
func TestPythonStep(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	watch := watchLinkOf(t, e.srv.URL, p.session)
	w := p.newTab(t)
	w.do(t, "open the watch link", chromedp.Navigate(e.srv.URL+watch.URL))
	w.waitFor(t, "live", `document.getElementById("conn").textContent === "live, watching"`)
	if eval[bool](t, w, "controls", `!!document.getElementById("py-run") || !!document.getElementById("py-line")`) {
		t.Fatal("the watcher's page has the code pane's controls")
	}

	src := eval[string](t, p.browser, "the code", `document.getElementById("py-source").value`)
	if !strings.Contains(src, "s.sendall(b\"Hello, world\")") {
		t.Fatalf("the code pane opens with %q, want the echo client", src)
	}
	before := len(e.socketCalls(t, p.session))
	p.do(t, "Step", clickStill("#py-step"))
	var lines []int
	for {
		p.waitFor(t, "a call waiting, or the end", `sockplay.python.state().waitingAt !== null || `+pyIdle)
		st := p.step(t)
		if st.Busy == "" {
			break
		}
		p.waitFor(t, "the line it waits at highlighted", fmt.Sprintf(`(document.querySelector("#py-gutter .ln.current") || {dataset: {}}).dataset.line === "%d"`, st.Waiting))
		if n := len(e.socketCalls(t, p.session)); n != before+len(lines) {
			t.Fatalf("waiting at line %d: %d calls made, want %d", st.Waiting, n-before, len(lines))
		}
		// The watcher's page shows the same line.
		w.waitFor(t, "the watcher's current line", fmt.Sprintf(`(document.querySelector("#py-gutter .ln.current") || {dataset: {}}).dataset.line === "%d"`, st.Waiting))
		if len(lines) == 2 {
			w.screenshot(t, "python-watcher-step.png")
		}
		lines = append(lines, st.Waiting)
		p.do(t, "Step", clickStill("#py-step"))
		p.waitFor(t, "the call", fmt.Sprintf(`sockplay.python.state().waitingAt === null || sockplay.python.state().waitingAt.line !== %d || %s`, st.Waiting, pyIdle))
		if len(lines) == 20 {
			t.Fatal("more than 20 steps")
		}
	}
	calls := e.socketCalls(t, p.session)[before:]
	var made []string
	for i, ev := range calls {
		made = append(made, fmt.Sprintf("%s@%d", ev.Op, ev.Origin.Line))
		if i >= len(lines) || ev.Origin.Line != lines[i] {
			t.Fatalf("calls made %v, one a step at the lines highlighted %v", made, lines)
		}
	}
	if len(calls) != len(lines) {
		t.Fatalf("calls made %v, one a step at the lines highlighted %v", made, lines)
	}
	if got := strings.Join(made, " "); got != "socket@11 connect@12 sendall@13 recv@14 close@11" {
		t.Fatalf("the echo client's steps: %s", got)
	}
	p.waitFor(t, "the output", transcriptHas("Received b'Hello, world'"))

	// Step, then Run: the rest runs without stopping.
	p.do(t, "Step", clickStill("#py-step"))
	p.waitFor(t, "the first call waiting", `sockplay.python.state().waitingAt !== null`)
	p.do(t, "Run on", clickStill("#py-run"))
	p.waitFor(t, "the end", pyIdle+` && document.getElementById("py-status").textContent === "ended"`)

	w.waitFor(t, "the output on the watcher's page", transcriptHas("── echo-client.py ended ──\n── echo-client.py ──\nReceived b'Hello, world'\n── echo-client.py ended ──"))
	// A watcher who comes late sees the same code and transcript.
	late := p.newTab(t)
	late.do(t, "open the watch link", chromedp.Navigate(e.srv.URL+watch.URL))
	for _, b := range []*browser{w, late} {
		b.waitFor(t, "the program's code", fmt.Sprintf(`document.getElementById("py-source").value === %s`, strconv.Quote(src)))
		b.waitFor(t, "the transcript", transcriptHas("Received b'Hello, world'\n── echo-client.py ended ──"))
		b.waitFor(t, "ended", `document.getElementById("py-status").textContent === "ended"`)
		b.waitFor(t, "the lines that made calls", `[...document.querySelectorAll("#py-gutter .ln.calls")].map(d => d.dataset.line).join(",") === "11,12,13,14"`)
		b.noErrors(t)
	}
	p.noErrors(t)
}

// TestPythonUIRunsExamples runs each example as a user would, at
// 1280×800: pick it, press Run (and type its input), see what it printed
// in the console (what CPython prints on the host) and its calls in the
// log, each with its line; a log row leads to its line, and a line to its
// events. A screenshot of each is kept.
func TestPythonUIRunsExamples(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	p := &pyPage{browser: b, e: e}
	p.session = pageSession(t, b)
	p.eval(t, `sockplay.python.ready().then(() => "")`)
	dir := shotsDir(t)
	for _, ex := range static.Examples() {
		t.Run(ex.Name, func(t *testing.T) {
			want := normalPorts(hostPython(t, ex.Name, ex.WithLabs(e.labs.AddrOf), examplesStdin[ex.Name]))
			calls := len(e.socketCalls(t, p.session))
			p.do(t, "pick the example",
				chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.getElementById("py-example"); s.value = %q; s.dispatchEvent(new Event("change")); })()`, ex.Name)))
			// The status is the picked program's, not the one run before.
			if st := eval[string](t, b, "the status", `document.getElementById("py-status").textContent`); st != "ready" {
				t.Errorf("picked, the status says %q", st)
			}
			p.do(t, "run it", clickStill("#py-run"))
			if in, ok := examplesStdin[ex.Name]; ok {
				p.waitFor(t, "input() asks", `document.getElementById("py-ps").textContent === "input()"`)
				p.typeLine(t, strings.TrimSuffix(in, "\n"))
			}
			p.waitFor(t, "the end", `document.getElementById("py-status").textContent.startsWith("ended")`)
			status := eval[string](t, b, "the status", `document.getElementById("py-status").textContent`)
			if status != "ended" {
				t.Fatalf("status %q", status)
			}
			// The transcript: the run's banner, what it printed (and the
			// input it read, which a terminal echoes), its end.
			out := want
			if in, ok := examplesStdin[ex.Name]; ok {
				prompt, rest, _ := strings.Cut(want, ": ")
				out = prompt + ": " + in + rest
			}
			p.awaitTranscript(t, "── "+ex.Name+" ──\n"+out+"── "+ex.Name+" ended ──\n")
			n := 0
			for _, ev := range e.socketCalls(t, p.session)[calls:] {
				if ev.Origin != nil && ev.Origin.File == ex.Name {
					n++
				}
			}
			b.waitFor(t, "its calls in the log", fmt.Sprintf(`window.sockplayLog.events.filter(e => e.origin && e.origin.file === %q).length >= %d`, ex.Name, n))
			p.eval(t, `(document.querySelector(".log").scrollIntoView({block: "end"}), new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r("")))))`)
			// The rows in view say the line they were made at.
			b.waitFor(t, "rows with their lines", `[...document.querySelectorAll("#log-body .ev .origin")].length > 0`)
			b.viewShot(t, dir, "python-"+strings.TrimSuffix(ex.Name, ".py")+".png")

			// A row leads to its line; a line to its events.
			row := eval[string](t, b, "a row of this run", fmt.Sprintf(`(() => { const o = [...document.querySelectorAll("#log-body .ev .origin")].filter(o => o.title.startsWith(%q)).pop(); o.closest(".ev").click(); return o.textContent; })()`, ex.Name+" line"))
			line := strings.TrimPrefix(row, "L")
			b.waitFor(t, "the line selected", fmt.Sprintf(`(document.querySelector(".py-mark.selected") || {dataset: {}}).dataset.line === %q`, line))
			b.do(t, "click the line's number", clickStill(`#py-gutter .ln[data-line="`+line+`"]`))
			b.waitFor(t, "only its events", fmt.Sprintf(`[...document.querySelectorAll("#log-body .ev")].length > 0 && [...document.querySelectorAll("#log-body .ev .origin")].every(o => (o.title + ",").startsWith(%q)) && [...document.querySelectorAll("#log-body .ev")].length === document.querySelectorAll("#log-body .ev .origin").length`, ex.Name+" line "+line+","))
			b.do(t, "show every event again", clickStill(".where-chip"))
			b.waitFor(t, "the chip gone", `document.querySelector(".where-chip").hidden`)
		})
	}
	b.noErrors(t)
}

// TestPythonWatcherScreenshot keeps a screenshot of a watcher's page
// following a run that has a server, a client and threads.
func TestPythonWatcherScreenshot(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	watch := watchLinkOf(t, e.srv.URL, p.session)
	w := newBrowser(t)
	w.do(t, "open the watch link", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+watch.URL))
	w.waitFor(t, "live", `document.getElementById("conn").textContent === "live, watching"`)
	for _, ex := range static.Examples() {
		if ex.Name == "thread-per-client.py" {
			src, _ := json.Marshal(ex.WithLabs(e.labs.AddrOf))
			if out := p.eval(t, fmt.Sprintf(`sockplay.python.run(%s, {filename: %q}).then(r => JSON.stringify(r.exception))`, src, ex.Name)); out != "null" {
				t.Fatalf("the example raised %s", out)
			}
		}
	}
	w.waitFor(t, "the run's end", transcriptHas("thread-per-client.py ended"))
	w.eval(t, `(document.querySelector(".log").scrollIntoView({block: "end"}), new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r("")))))`)
	w.viewShot(t, shotsDir(t), "python-watcher.png")
	// A watcher's page runs no Python: it never makes the worker.
	if n := w.eval(t, workerFetchesJS); n != "0" {
		t.Errorf("the watch page fetched the Python worker %s times, want none", n)
	}
	w.noErrors(t)
}

// workerFetchesJS counts the page's fetches of the Python worker's script.
const workerFetchesJS = `String(performance.getEntriesByType("resource").filter((r) => r.name.endsWith("/static/py/worker.js")).length)`

// eval on a plain browser, for JS that resolves with a string.
func (b *browser) eval(t testing.TB, js string) string {
	t.Helper()
	return (&pyPage{browser: b}).eval(t, js)
}

// awaitTranscript polls until the transcript holds s, or fails after a
// while with what it holds.
func (p *pyPage) awaitTranscript(t testing.TB, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](transcriptHas(s))); err != nil {
		tr := eval[string](t, p.browser, "the transcript", `document.getElementById("py-transcript").textContent`)
		t.Fatalf("the transcript lacks %q:\n%s", s, tr)
	}
}

// TestPythonConsoleTypeAhead: lines typed at the console as soon as the
// page is there, while Python still loads, and while the line before
// still runs, each run in turn, as a terminal keeps what is typed ahead.
func TestPythonConsoleTypeAhead(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	b := newBrowser(t)
	b.do(t, "open the page", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#py-line")))
	p := &pyPage{browser: b, e: e}
	if eval[bool](t, p.browser, "Python's state", `sockplay.python.state().ready`) {
		t.Fatal("Python was ready before anything was typed: the test proves nothing")
	}
	for _, line := range []string{"import time", "time.sleep(0.3); print('one')", "print('two')", "print('three')"} {
		p.typeLine(t, line)
	}
	p.waitFor(t, "every line run", transcriptHas("one\n>>> print('two')\ntwo\n>>> print('three')\nthree\n"))
	p.noErrors(t)
}

// TestPythonStartsOnABusyPage: a page whose session never stops making
// events (calls made elsewhere as fast as a loop can) is never quiet,
// and its Python still starts unasked once the page has been live a
// while (pyui.js, LATEST_MS): the pane is not left without Python until
// it is used.
func TestPythonStartsOnABusyPage(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	id := e.newSession(t)
	sock := result(e.ok(t, id, `{"op":"socket"}`))["sock"].(string)
	stop := make(chan struct{})
	fed := make(chan int)
	go func() {
		n := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				fed <- n
				return
			case <-tick.C:
			}
			resp, err := http.Post(e.srv.URL+"/api/sessions/"+id+"/ops", "application/json", strings.NewReader(`{"op":"getsockname","sock":"`+sock+`"}`))
			if err == nil {
				resp.Body.Close()
				n++
			}
		}
	}()
	b := newBrowser(t)
	b.do(t, "open the session's page", chromedp.Navigate(e.srv.URL+"/s/"+id))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	start := time.Now()
	b.waitFor(t, "Python started, unasked, on a page that is never quiet", `sockplay.python.state().ready`)
	elapsed := time.Since(start)
	close(stop)
	// Quiet is no more than 20 events in 100 ms (pyui.js): 200 a second.
	if n := <-fed; float64(n)/elapsed.Seconds() < 250 {
		t.Fatalf("%d calls in %v: the page was not kept busy enough to test this", n, elapsed)
	}
	p := &pyPage{browser: b, e: e, session: id}
	if out := p.ok(t, "print(6 * 7)", ""); out != "42\n" {
		t.Fatalf("stdout %q", out)
	}
	// The page makes one worker, however busy it is when Python boots.
	if n := p.eval(t, workerFetchesJS); n != "1" {
		t.Errorf("the worker's script fetched %s times, want once", n)
	}
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
