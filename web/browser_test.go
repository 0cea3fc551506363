package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// screenshotsEnv names a directory to keep the browser tests' screenshots
// in; by default they go to the test's temporary directory.
const screenshotsEnv = "SOCKPLAY_SCREENSHOTS"

// browser is a headless Chromium tab plus everything the page logged.
type browser struct {
	ctx context.Context
	log *testkit.PageLog
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	return watched(testkit.BrowserTab(t, 1400, 1100))
}

// watched is a browser tab at ctx that keeps the errors its page logs or
// throws, for noErrors.
func watched(ctx context.Context) *browser {
	return &browser{ctx: ctx, log: testkit.WatchPage(ctx)}
}

func (b *browser) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (page errors: %v)", what, err, b.pageErrors())
	}
}

// clickStill is testkit's: a click once its element stands still.
var clickStill = testkit.ClickStill

// waitFor polls a JavaScript condition until it is true.
func (b *browser) waitFor(t testing.TB, what, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v (page errors: %v)", what, err, b.pageErrors())
	}
}

// openPage opens a new session's page in a new browser and waits for its
// WebSocket to be live.
func openPage(t testing.TB, e *testEnv) *browser {
	t.Helper()
	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	return b
}

// focusEmulation makes a headless tab behave as the focused window: without
// it, focus() need not move document.activeElement, and keyboard tests that
// pass on one machine time out on another.
func focusEmulation() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
}

// noErrors fails the test if the page logged an error or threw.
func (b *browser) noErrors(t testing.TB) {
	t.Helper()
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Fatalf("the page logged errors: %v", errs)
	}
}

func (b *browser) pageErrors() []string { return b.log.Errors() }

// shotsDir is where the browser tests' screenshots go:
// SOCKPLAY_SCREENSHOTS, or the test's own directory.
func shotsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// viewShot saves what the window shows (not the whole page) as name.
func (b *browser) viewShot(t testing.TB, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// screenshot saves a full-page PNG and checks it is a real image.
func (b *browser) screenshot(t testing.TB, name string) string {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 800 || r.Dy() < 600 {
		t.Fatalf("screenshot is only %v", r)
	}
	path := filepath.Join(shotsDir(t), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// hasRow is JS that is true when the log has a recv row with these data.
func hasRow(data string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#log-body .ev.ev-recv .data .text")].some(td => td.textContent === %q)`, data)
}

// hasEvent is JS that is true when the log holds a recv that got these
// bytes, whether or not its row is in view.
func hasEvent(data string) string {
	return fmt.Sprintf(`window.sockplayLog.events.some(e => e.op === "recv" && e.ok && (e.result.bytes ? String.fromCharCode(...e.result.bytes) : atob(e.result.b64 || "")) === %q)`, data)
}

// TestBrowserEchoSession drives the page as a person would: one click for
// a socket connected to the echo lab, type "hello\n", send, recv, and see
// the echo as its own row; then the partial-read picture with recv(4).
func TestBrowserEchoSession(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open the page",
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`.lab-connect[data-lab="echo"]`)),
	)
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	b.do(t, "new socket connected to echo", clickStill(`.lab-connect[data-lab="echo"][data-proto="tcp"]`))
	b.waitFor(t, "s1 connected", `document.querySelector("#sock-s1 .sock-state")?.textContent.startsWith("connected")`)

	b.do(t, "send hello\\n",
		chromedp.SendKeys(chromedp.CSS("#sock-s1 .send-data"), `hello\n`),
		clickStill("#sock-s1 button.send"),
	)
	b.waitFor(t, "the send row", `[...document.querySelectorAll("#log-body .ev.ev-send .size")].some(td => td.textContent === "6")`)
	b.do(t, "recv", clickStill("#sock-s1 button.recv"))
	b.waitFor(t, "the echoed recv row", hasRow(`b'hello\n'`))

	// A bufsize that is no whole number is said on the page, never sent
	// (an empty number box would otherwise read as recv(0)): counted once
	// the next good calls are in, since a wrongly sent one would come late.
	recvs := `window.sockplayLog.events.filter(e => e.op === "recv").length`
	before, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](recvs))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ value, want string }{{"", "bufsize must be a whole number"}, {"2.5", `bufsize must be a whole number, not "2.5"`}} {
		b.do(t, "recv with bufsize "+c.value,
			chromedp.SetValue(chromedp.CSS("#sock-s1 .recv-bufsize"), c.value),
			clickStill("#sock-s1 button.recv"),
		)
		b.waitFor(t, c.want, fmt.Sprintf(`document.getElementById("flash")?.textContent === %q && document.querySelector("#sock-s1 .recv-bufsize").getAttribute("aria-invalid") === "true"`, c.want))
	}

	b.do(t, "sendall hello world, recv(4) three times",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .send-data"), "hello world"),
		clickStill("#sock-s1 button.sendall"),
		chromedp.SetValue(chromedp.CSS("#sock-s1 .recv-bufsize"), "4"),
	)
	b.waitFor(t, "the sendall row", `[...document.querySelectorAll("#log-body .ev.ev-sendall .size")].some(td => td.textContent === "11")`)
	for _, want := range []string{"b'hell'", "b'o wo'", "b'rld'"} {
		b.do(t, "recv(4)", clickStill("#sock-s1 button.recv"))
		b.waitFor(t, want, hasRow(want))
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](recvs)); err != nil || n != before+3 {
		t.Fatalf("%d recvs after the three recv(4), want %d (%v): a bad bufsize was sent", n, before+3, err)
	}
	// The recv is pressed once settimeout's answer is drawn in its row:
	// the card grows by it, and a press aimed before may land beside the
	// button, as a person's would.
	b.do(t, "settimeout(0.3)",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .timeout"), "0.3"),
		clickStill("#sock-s1 button.settimeout"),
	)
	b.waitFor(t, "settimeout's answer", `document.querySelector("#sock-s1 button.settimeout").closest(".row").querySelector(".answer")?.textContent.startsWith("settimeout(0.3)")`)
	b.do(t, "a recv that times out", clickStill("#sock-s1 button.recv"))
	b.waitFor(t, "the TimeoutError row", `[...document.querySelectorAll("#log-body .ev.ev-recv.err .result .human")].some(td => td.textContent === "TimeoutError: timed out")`)
	b.waitFor(t, "the failed call said where the eye is", `document.getElementById("flash")?.textContent === "TimeoutError: timed out"`)
	b.screenshot(t, "session.png")

	// The Python view: the calls as typed at the prompt, the results as
	// Python prints them.
	b.do(t, "Python view", clickStill("#python-view"))
	b.waitFor(t, "the Python view of recv(4)", `(() => {
		const tr = [...document.querySelectorAll("#log-body .ev.ev-recv")].find(tr => tr.querySelector(".data .text")?.textContent === "b'hell'");
		return tr && getComputedStyle(tr.querySelector(".call .py")).display !== "none" &&
			tr.querySelector(".call .py").textContent === ">>> s1.recv(4)" && tr.querySelector(".result .py").textContent === "b'hell'";
	})()`)
	b.screenshot(t, "python-view.png")
	b.do(t, "back to the plain view", clickStill("#python-view"))

	// Back to blocking: a recv with nothing to read is pending until the
	// echo of a later send arrives.
	b.do(t, "settimeout(None), recv",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .timeout"), "None"),
		clickStill("#sock-s1 button.settimeout"),
		clickStill("#sock-s1 button.recv"),
	)
	b.waitFor(t, "the pending recv", `document.querySelector("#sock-s1 .pending-call")?.textContent.startsWith("recv(4) … pending")`)
	b.do(t, "send x", chromedp.SetValue(chromedp.CSS("#sock-s1 .send-data"), "x"), clickStill("#sock-s1 button.send"))
	b.waitFor(t, "the pending recv returning b'x'", hasRow("b'x'")+` && !document.querySelector("#sock-s1 .pending-call")`)

	// A reload keeps the session: same socket, same history.
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`window.sockplayLog.events.filter(e => e.op !== "stats").length`))
	if err != nil {
		t.Fatal(err)
	}
	b.do(t, "reload", chromedp.Reload())
	b.waitFor(t, "the history after reload", fmt.Sprintf(`window.sockplayLog.events.filter(e => e.op !== "stats").length === %d && document.querySelector("#sock-s1 .sock-state")?.textContent.startsWith("connected")`, rows))
	b.waitFor(t, "the rows in seq order", `window.sockplayLog.events.every((e, i) => e.seq === i + 1)`)
	b.noErrors(t)
}

// TestBrowserBytes runs the page's byte helpers in the browser on a table
// of inputs: what a user types must become exactly these bytes, and a bad
// escape or bad hex must be refused with a message.
func TestBrowserBytes(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open a page", chromedp.Navigate(e.srv.URL+"/healthz"))
	js := `import("/static/bytes.js").then(m => {
		const hex = (s, f) => { try { return m.hexBytes(f(s)); } catch (e) { return "error: " + e.message; } };
		return JSON.stringify({
			esc: ["hello\\r\\n", "a\\tb", "\\x00\\xff", "\\\\", "é", "😀", "\\q", "\\x4", "end\\"].map(s => hex(s, m.parseEscaped)),
			hex: ["68 65:6c\n6c6f", "abc", "zz", ""].map(s => hex(s, m.parseHex)),
			show: m.pyBytes(new Uint8Array([104, 105, 13, 10, 0, 39, 92, 200])),
			b64: m.hexBytes(m.fromB64(m.toB64(new Uint8Array([0, 1, 254, 255])))),
		});
	})`
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"esc":["68 65 6c 6c 6f 0d 0a","61 09 62","00 ff","5c","c3 a9","f0 9f 98 80",` +
		`"error: unknown escape \\q at position 0 (known: \\r \\n \\t \\0 \\\\ \\xNN)",` +
		`"error: \\x at position 1 needs two hex digits, got \"4\"",` +
		`"error: a lone \\ at the end: write \\\\ for a backslash"],` +
		`"hex":["68 65 6c 6c 6f","error: hex needs an even number of digits","error: hex may hold only 0-9, a-f, spaces and colons",""],` +
		`"show":"b\"hi\\r\\n\\x00'\\\\\\xc8\"","b64":"00 01 fe ff"}`
	if got != want {
		t.Fatalf("byte helpers:\n got %s\nwant %s", got, want)
	}
}

// TestBrowserServer builds a TCP server by hand in the page: a listener, a
// client, the accepted socket linked to it; then data the server has not
// read yet shows in its receive-queue gauge and in the netstat table, and
// drains when it calls recv.
func TestBrowserServer(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "socket() for the listener", clickStill(`#new-socket button[type=submit]`))
	b.waitFor(t, "s1", `!!document.querySelector("#sock-s1")`)
	b.do(t, "bind and listen",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .addr"), "127.0.0.1:0"),
		clickStill("#sock-s1 button.bind"),
	)
	b.waitFor(t, "s1 bound", `document.querySelector("#sock-s1 .sock-state").textContent === "bound"`)
	b.do(t, "listen", clickStill("#sock-s1 button.listen"))
	b.waitFor(t, "s1 listening with its accept-queue gauge", `document.querySelector("#sock-s1 .sock-state").textContent === "listening" && document.querySelector("#sock-s1 .gauge-accept-Q .val")?.textContent === "0 / 5"`)
	addr, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#sock-s1 .sock-addrs").textContent`))
	if err != nil || addr == "" {
		t.Fatalf("listener address %q: %v", addr, err)
	}

	b.do(t, "a client connects", clickStill(`#new-socket button[type=submit]`))
	b.waitFor(t, "s2", `!!document.querySelector("#sock-s2")`)
	b.do(t, "connect s2",
		chromedp.SetValue(chromedp.CSS("#sock-s2 .addr"), addr),
		clickStill("#sock-s2 button.connect"),
	)
	b.waitFor(t, "a connection waiting in the accept queue", `document.querySelector("#sock-s1 .gauge-accept-Q .val")?.textContent === "1 / 5"`)
	b.do(t, "accept", clickStill("#sock-s1 button.accept"))
	b.waitFor(t, "the accepted socket, linked to the client", `document.querySelector("#sock-s3 .sock-link")?.textContent === "↔ s2" && document.querySelector("#sock-s2 .sock-link")?.textContent === "↔ s3"`)

	b.do(t, "the client sends; nobody reads",
		chromedp.SetValue(chromedp.CSS("#sock-s2 .send-data"), "hello from the client"),
		clickStill("#sock-s2 button.send"),
	)
	b.waitFor(t, "21 bytes in s3's receive queue", `document.querySelector("#sock-s3 .gauge-recv-Q .val")?.textContent.startsWith("21 /") && document.querySelector("#netstat-body tr[data-sock=s3] .ns-recvq")?.textContent === "21"`)
	b.waitFor(t, "the netstat table", `document.querySelectorAll("#netstat-body tr").length === 3 && document.querySelector("#netstat-body tr[data-sock=s1] .ns-state").textContent === "LISTEN"`)
	b.screenshot(t, "server.png")

	// On a 1280-pixel screen (a laptop, a projector) the netstat table and
	// the event log fit without scrolling sideways, an option set included.
	b.do(t, "an option on s2, a 1280-pixel screen",
		clickStill("#sock-s2 .sock-title"),
		chromedp.EmulateViewport(1280, 900),
	)
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("app").dataset.session`))
	if err != nil {
		t.Fatal(err)
	}
	e.ok(t, id, `{"op":"setsockopt","sock":"s2","level":"SOL_SOCKET","name":"SO_KEEPALIVE","value":1}`)
	b.waitFor(t, "the option in netstat", `document.querySelector("#netstat-body tr[data-sock=s2] .ns-opts")?.textContent.includes("SO_KEEPALIVE")`)
	b.waitFor(t, "netstat and the log within their width", `(() => {
		const fits = (el) => el.scrollWidth <= el.clientWidth;
		return fits(document.getElementById("netstat")) && fits(document.getElementById("log-scroll"));
	})()`)
	if _, err := chromedp.Run(b.ctx, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}

	b.do(t, "the server reads", chromedp.SetValue(chromedp.CSS("#sock-s3 .recv-bufsize"), "5"), clickStill("#sock-s3 button.recv"))
	b.waitFor(t, "the queue drains by 5", `document.querySelector("#sock-s3 .gauge-recv-Q .val")?.textContent.startsWith("16 /")`)
	b.noErrors(t)
}

// TestBrowserUDP: two datagram sockets; a 10-byte datagram read with
// recvfrom(4) shows as truncated, with its real length and its sender.
func TestBrowserUDP(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	for _, id := range []string{"s1", "s2"} {
		b.do(t, "a UDP socket",
			chromedp.SetValue(chromedp.CSS(`#new-socket select[name=type]`), "dgram"),
			clickStill(`#new-socket button[type=submit]`),
		)
		b.waitFor(t, id, fmt.Sprintf(`!!document.querySelector("#sock-%s button.recvfrom")`, id))
		b.do(t, "bind "+id,
			chromedp.SetValue(chromedp.CSS("#sock-"+id+" .addr"), "127.0.0.1:0"),
			clickStill("#sock-"+id+" button.bind"),
		)
		b.waitFor(t, id+" bound", fmt.Sprintf(`document.querySelector("#sock-%s .sock-state").textContent === "bound"`, id))
	}
	to, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#sock-s1 .sock-addrs").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#sock-s2 .sock-addrs").textContent`))
	b.do(t, "sendto s1, recvfrom(4)",
		chromedp.SetValue(chromedp.CSS("#sock-s2 .send-data"), "0123456789"),
		chromedp.SetValue(chromedp.CSS("#sock-s2 .sendto-addr"), to),
		clickStill("#sock-s2 button.sendto"),
		chromedp.SetValue(chromedp.CSS("#sock-s1 .recv-bufsize"), "4"),
		clickStill("#sock-s1 button.recvfrom"),
	)
	b.waitFor(t, "the truncated datagram row", fmt.Sprintf(`(() => {
		const tr = document.querySelector("#log-body .ev.ev-recvfrom.truncated");
		return !!tr && tr.querySelector(".data .text").textContent === "b'0123'" &&
			tr.querySelector(".result .human").textContent.includes("10-byte datagram: TRUNCATED") &&
			tr.querySelector(".result .human").textContent.includes(%q);
	})()`, strings.Replace(strings.Replace(from, ":", "', ", 1), "127", "('127", 1)))
	b.screenshot(t, "udp.png")
	b.noErrors(t)
}

// TestBrowserLesson picks a lesson on the page and runs it all: every step
// shows what it did, and the rows appear in the log.
func TestBrowserLesson(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open the page", chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the lessons", `!!document.querySelector('#lesson-select option[value="partial-reads"]')`)
	b.do(t, "choose partial reads", chromedp.SetValue(chromedp.CSS("#lesson-select"), "partial-reads"))
	b.waitFor(t, "its steps", `document.querySelectorAll("#lesson .lesson-step").length > 5`)
	b.do(t, "run all", clickStill(`#lesson button[data-act="all"]`))
	b.waitFor(t, "the end of the lesson", `!!document.querySelector("#lesson .lesson-end")`)
	b.waitFor(t, "every step done, as expected", `[...document.querySelectorAll("#lesson .lesson-step")].every(li => li.classList.contains("done"))`)
	b.waitFor(t, "hell, o wo, rld in the log", hasEvent("hell")+" && "+hasEvent("o wo")+" && "+hasEvent("rld"))
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelector("#lesson .lesson-steps").scrollTop = 0`)); err != nil {
		t.Fatal(err)
	}
	b.screenshot(t, "lesson.png")
	b.noErrors(t)
}

// TestBrowserReference: a request template from the reference panel fills
// the send box of the socket in use, and sending it to the http lab gets
// an HTTP response.
func TestBrowserReference(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "a socket connected to the http lab", clickStill(`.lab-connect[data-lab="http"]`))
	b.waitFor(t, "s1 connected", `document.querySelector("#sock-s1 .sock-state")?.textContent.startsWith("connected")`)
	// The card's address box shows the lab it was connected to.
	b.waitFor(t, "the http lab's address in s1's box", fmt.Sprintf(`document.querySelector("#sock-s1 .addr").value === %q`, e.labs.Addr("http")))
	b.do(t, "the HTTP GET template",
		clickStill(`.reference summary`),
		clickStill(`.template[title^="GET / "]`),
	)
	b.waitFor(t, "the send box filled", `document.querySelector("#sock-s1 .send-data").value === "GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n"`)
	b.do(t, "sendall, then autorecv", clickStill("#sock-s1 button.sendall"), clickStill("#sock-s1 .auto-on"))
	b.waitFor(t, "the status line", `[...document.querySelectorAll("#log-body .ev.ev-recv .data .text")].some(td => td.textContent.startsWith("b'HTTP/1.0 200 OK\\r\\n"))`)
	b.noErrors(t)
}

// TestBrowserThemesAndKeys: the theme and presentation toggles, and the
// single-key shortcuts on the socket in use.
func TestBrowserThemesAndKeys(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "a socket connected to echo", clickStill(`.lab-connect[data-lab="echo"][data-proto="tcp"]`))
	b.waitFor(t, "s1 connected and in use", `document.querySelector("#sock-s1.current .sock-state")?.textContent.startsWith("connected")`)
	// As a fast typist does: "s", then "hi" before the "s" comes up. The
	// "s" moves to the send box and is not typed; "hi" is, all of it.
	b.do(t, "s, typing on before it comes up", typeKeys(down('s'), down('h'), up('s'), up('h'), down('i'), up('i')))
	b.waitFor(t, "the send box focused, holding hi", `document.activeElement === document.querySelector("#sock-s1 .send-data") && document.activeElement.value === "hi"`)
	b.do(t, "type, Enter", chromedp.KeyEvent("ping\r"))
	b.waitFor(t, "the send", `window.sockplayLog.events.some(e => e.op === "send" && e.ok)`)
	b.do(t, "leave the box, r", chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("r"))
	b.waitFor(t, "the recv by key", hasEvent("hiping"))
	b.do(t, "dark theme, presentation mode", chromedp.KeyEvent("t"), chromedp.KeyEvent("p"))
	b.waitFor(t, "dark and presenting", `document.documentElement.dataset.theme === "dark" && document.documentElement.classList.contains("presenting")`)
	b.screenshot(t, "presenting-dark.png")
	b.do(t, "light theme", chromedp.KeyEvent("t"), chromedp.KeyEvent("p"))
	b.waitFor(t, "light", `document.documentElement.dataset.theme === "light" && !document.documentElement.classList.contains("presenting")`)
	b.do(t, "/", typeKeys(down('/'), up('/')))
	b.waitFor(t, "the filter box focused, empty", `document.activeElement === document.getElementById("filter-search") && document.activeElement.value === ""`)
	b.do(t, "leave the box, x closes the socket in use", chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("x"))
	b.waitFor(t, "s1 closed", `document.querySelector("#sock-s1 .sock-state")?.textContent === "closed"`)
	b.noErrors(t)
}

// keyStroke is one key going down (with its character, which the page
// may cancel, as a real keyboard's) or up.
type keyStroke struct {
	r    rune
	down bool
}

func down(r rune) keyStroke { return keyStroke{r, true} }
func up(r rune) keyStroke   { return keyStroke{r, false} }

// typeKeys sends strokes as a keyboard does, and lets the page run all it
// has queued, timers included, between one and the next (under load that
// happens by chance; here always). Unlike chromedp.KeyEvent, a key's
// character comes with its keydown, not as an event of its own.
func typeKeys(strokes ...keyStroke) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, s := range strokes {
			evs := kb.Encode(s.r) // keydown, char, keyup
			k := *evs[len(evs)-1]
			if s.down {
				k = *evs[0]
				k.Text, k.UnmodifiedText = string(s.r), string(s.r)
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, k); err != nil {
				return err
			}
			settle := `new Promise(done => setTimeout(done, 10))`
			if _, err := chromedp.Evaluate[chromedp.Void](settle, chromedp.EvalAwaitPromise)(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestBrowserViews: on the page, the stream ruler of a connection with
// both ends in the session shows three sends over four recvs; hovering a
// segment shows its event; the timeline draws an arrow from each send to
// the recvs that got its bytes.
func TestBrowserViews(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("app").dataset.session`))
	if err != nil {
		t.Fatal(err)
	}
	// Drive the session through the API, as a script would: the page
	// shows it live.
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"bind","sock":"s1","addr":"127.0.0.1:0"}`)
	e.ok(t, id, `{"op":"listen","sock":"s1"}`)
	var st sockets.State
	resp, _ := http.Get(e.srv.URL + "/api/sessions/" + id)
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s2","addr":"`+st.Sockets[0].Local+`"}`)
	e.ok(t, id, `{"op":"accept","sock":"s1"}`)
	for _, d := range []string{"hello", " world", "!!!"} {
		e.ok(t, id, `{"op":"send","sock":"s2","data":{"text":"`+d+`"}}`)
	}
	e.ok(t, id, `{"op":"settimeout","sock":"s3","timeout":2}`)
	for i := 0; i < 4; i++ {
		e.ok(t, id, `{"op":"recv","sock":"s3","bufsize":4}`)
	}
	b.waitFor(t, "s2 on the page", `!!document.querySelector("#sock-s2")`)
	b.do(t, "use s2", clickStill("#sock-s2 .sock-title"))
	b.waitFor(t, "the ruler of s2 → s3: sends at 0, 5, 11; recvs at 0, 4, 8, 12", `(() => {
		const offs = sel => [...document.querySelectorAll(sel)].map(e => e.dataset.off + "+" + e.dataset.len).join(" ");
		const track = document.querySelector('#view-ruler [data-track="s2>s3"]');
		if (!track) return false;
		const segs = [...track.querySelectorAll("[data-seq][data-off]")];
		const sends = segs.filter(s => /send/.test(s.getAttribute("aria-label") || "")).map(s => s.dataset.off + "+" + s.dataset.len).join(" ");
		const recvs = segs.filter(s => /recv/.test(s.getAttribute("aria-label") || "")).map(s => s.dataset.off + "+" + s.dataset.len).join(" ");
		return sends === "0+5 5+6 11+3" && recvs === "0+4 4+4 8+4 12+2";
	})()`)
	b.do(t, "hover the second send", chromedp.Evaluate[chromedp.Void](`void (() => {
		const seg = [...document.querySelectorAll('#view-ruler [data-track="s2>s3"] [data-off="5"]')].find(s => /send/.test(s.getAttribute("aria-label")));
		seg.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
		seg.dispatchEvent(new MouseEvent("mouseenter", {bubbles: true}));
		seg.focus();
	})()`))
	b.waitFor(t, "its event in the detail pane", `!document.getElementById("detail").hidden && document.getElementById("detail-call").textContent.includes("send(b' world')")`)
	b.screenshot(t, "ruler-page.png")
	// On a 1280-pixel screen the detail pane is too narrow for text and
	// hex side by side: one goes above the other, the text readable.
	b.do(t, "a 1280-pixel screen", chromedp.EmulateViewport(1280, 900))
	b.waitFor(t, "the text pane as wide as the hex pane", `(() => {
		const w = (sel) => document.querySelector("#detail-data " + sel)?.getBoundingClientRect().width || 0;
		return w(".spd-text") >= 300 && w(".spd-text") >= w(".spd-hex") - 1;
	})()`)
	if _, err := chromedp.Run(b.ctx, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}
	b.do(t, "the timeline", clickStill("#tab-timeline"))
	// The calls came 0.2 ms apart: zoom to them, as a person would.
	b.do(t, "fit the timeline to the events", chromedp.Evaluate[chromedp.Void](`void [...document.querySelectorAll("#view-timeline button")].find(b => b.textContent.trim() === "fit").click()`))
	if v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`new Promise(r => setTimeout(() => r([...document.querySelectorAll("#view-timeline [data-send]")].map(a => a.tagName + ":" + a.dataset.send + ">" + a.dataset.recv).join(" ")), 800))`, chromedp.EvalAwaitPromise)); err == nil {
		t.Logf("arrows: %s", v)
	}
	b.screenshot(t, "timeline-page.png")
	b.waitFor(t, "arrows from the sends to the recvs", `document.querySelectorAll("#view-timeline [data-send][data-recv]").length === 6`)
	b.screenshot(t, "timeline-page.png")
	b.noErrors(t)
}

// TestBrowserWireMatchesJSON: the page's decoder (static/wire.js) turns a
// binary batch of every kind of event into the objects the JSON form
// gives, its bytes included.
func TestBrowserWireMatchesJSON(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	const conn = 7
	cases := wireCases(conn)
	evs, want := wireCaseJSON(t, cases, conn)
	// The page gives recv bytes as result.bytes; base64 them back, as
	// the JSON form has them, to compare.
	js := fmt.Sprintf(`import("/static/wire.js").then(({ decodeBatch }) => {
		const bin = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
		return JSON.stringify(decodeBatch(bin.buffer).map((ev) => {
			if (ev.result && ev.result.bytes) {
				let s = "";
				for (const x of ev.result.bytes) s += String.fromCharCode(x);
				ev.result.b64 = btoa(s);
				delete ev.result.bytes;
			}
			return ev;
		}));
	})`, base64.StdEncoding.EncodeToString(wholeBatch(t, evs, conn).bytes()))
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the page decoded %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: the page gives\n%v\nJSON gives\n%v", cases[i].name, got[i], want[i])
		}
	}

	// A damaged batch is an error, never events silently dropped.
	for _, c := range []struct {
		name  string
		batch []byte
	}{
		{"version 1", []byte{1, 1, 2, '{', '}'}},
		{"a run of no recvs", []byte{2, 2, 0}},
		{"a number past 2^53", append(append([]byte{2, 2}, bytes.Repeat([]byte{0x80}, 200)...), 1)},
		{"a run cut in its headers", []byte{2, 2, 1, 17}},
		{"a run cut in its bytes", []byte{2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 4, 9, 'a'}},
		{"an unknown record", []byte{2, 9}},
	} {
		js := fmt.Sprintf(`import("/static/wire.js").then(({ decodeBatch }) => {
			try { decodeBatch(Uint8Array.from(%s).buffer); return "decoded"; } catch (e) { return "error: " + e.message; }
		})`, jsBytes(c.batch))
		out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, "error: ") {
			t.Errorf("%s: the page %s it", c.name, out)
		}
	}
	b.noErrors(t)
}

// jsBytes writes b as a JavaScript array literal.
func jsBytes(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprint(&sb, x)
	}
	return sb.String() + "]"
}

// TestBrowserUnreadableBatch: a batch the page cannot read is said, not
// skipped in silence; one of another version tells the user to reload.
func TestBrowserUnreadableBatch(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	// The real server, but for the session's WebSocket: that one sends a
	// batch of an older version.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/ws") {
			e.srv.Config.Handler.ServeHTTP(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"hello","session":"`+id+`","since":0}`))
		_ = c.Write(r.Context(), websocket.MessageBinary, []byte{1, 1, 2, '{', '}'})
		_, _, _ = c.Read(r.Context()) // until the page closes it
	}))
	defer srv.Close()
	b := newBrowser(t)
	b.do(t, "open the session", focusEmulation(), chromedp.Navigate(srv.URL+"/s/"+id))
	b.waitFor(t, "the page says to reload, and why", `document.getElementById("conn").textContent === "reload the page" &&
		document.getElementById("flash")?.textContent.includes("unknown binary batch version 1")`)
	b.noErrors(t)
}

// TestBrowserCallText: the page writes a call as it was made; a bufsize
// of 0 (refused by the server) is not shown as the default 4096.
func TestBrowserCallText(t *testing.T) {
	b := openPage(t, newEnv(t))
	for _, c := range []struct{ op, args, want string }{
		{"autorecv", `{"bufsize": 0}`, "autorecv(0)"},
		{"autorecv", `{}`, "autorecv(4096)"},
		{"autorecv", `{"on": false}`, "autorecv(off)"},
	} {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`import("/static/event.js").then((m) => m.callText(%q, %s))`, c.op, c.args), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s %s: %q, want %q", c.op, c.args, got, c.want)
		}
	}
}
