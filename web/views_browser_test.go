package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// The views on the page of a live session, at a projector's 1280×800:
// the exercises of the tutorials are driven through the API (as a script
// would) or the page's own forms, and what the page shows of them is
// checked whole.

// jsClick clicks the element sel finds, found and clicked at once: the
// views redraw their parts, and a node found for a click may be gone by
// the time the click comes.
func jsClick(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`void document.querySelector(%q).click()`, sel))
}

// viewsSession opens a new session's page at 1280×800 and returns it with
// the session's id.
func viewsSession(t *testing.T, e *testEnv) (*browser, string) {
	t.Helper()
	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	return b, pageSession(t, b)
}

// viewsExercises runs the exercises whose rows the log must show whole:
// the echo client, UDP uppercase (hello → HELLO), a TypeError, an AF_UNIX
// client and server, and a name lookup from the page's form.
func viewsExercises(t *testing.T, e *testEnv, b *browser, id string) {
	t.Helper()
	// The echo client.
	e.ok(t, id, `{"op":"socket","family":"inet","type":"stream"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hello world, this is a longer line than a cell holds\r\n"}}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":1024}`)
	// UDP uppercase.
	upper, ok := e.labs.AddrOf("upper", "udp")
	if !ok {
		t.Fatal("no upper lab")
	}
	e.ok(t, id, `{"op":"socket","family":"inet","type":"dgram"}`)
	e.ok(t, id, `{"op":"sendto","sock":"s2","addr":"`+upper+`","data":{"text":"hello"}}`)
	e.ok(t, id, `{"op":"recvfrom","sock":"s2","bufsize":1024}`)
	// A TypeError: a Unix path given to an AF_INET socket.
	if code, m := e.post(t, id, `{"op":"bind","sock":"s1","addr":"demo.sock"}`); code != 200 || m["ok"] != false {
		t.Fatalf("bind(path) on inet: %d %v", code, m)
	}
	// An AF_UNIX server and its client.
	e.ok(t, id, `{"op":"socket","family":"unix","type":"stream"}`)
	e.ok(t, id, `{"op":"bind","sock":"s3","addr":"views.sock"}`)
	e.ok(t, id, `{"op":"listen","sock":"s3"}`)
	e.ok(t, id, `{"op":"socket","family":"unix","type":"stream"}`)
	e.ok(t, id, `{"op":"connect","sock":"s4","addr":"views.sock"}`)
	e.ok(t, id, `{"op":"accept","sock":"s3"}`)
	// getaddrinfo from the page's form.
	b.do(t, "getaddrinfo from the form", clickStill(`#names button[value=getaddrinfo]`))
	b.waitFor(t, "the getaddrinfo row", `window.sockplayLog.events.some(e => e.op === "getaddrinfo")`)
	b.waitFor(t, "the getaddrinfo row drawn", `!!document.querySelector("#log-body .ev-getaddrinfo")`)
}

// logCellsJS lists the log's cells in view that do not show their text
// whole: wider than their box, or cut with an ellipsis.
const logCellsJS = `(() => {
	const cut = [];
	const box = document.getElementById("log-scroll").getBoundingClientRect();
	for (const row of document.querySelectorAll("#log-body .ev, #log .vhead")) {
		const r = row.getBoundingClientRect();
		if (row.scrollWidth > row.clientWidth + 1 || r.right > box.right + 1) cut.push((row.dataset.seq || "the heading") + ": the row runs out of the log (" + row.scrollWidth + ">" + row.clientWidth + ")");
		for (const cell of row.querySelectorAll(":scope > span, :scope > span > span")) {
			const cs = getComputedStyle(cell);
			const over = cell.scrollWidth > cell.clientWidth + 1 || cell.scrollHeight > cell.clientHeight + 1;
			if (cell.textContent && (over || cs.textOverflow === "ellipsis")) cut.push(row.dataset.seq + " " + cell.className + ": " + cell.textContent + (over ? " (" + cell.scrollWidth + ">" + cell.clientWidth + ")" : " (ellipsis)"));
		}
	}
	return JSON.stringify(cut);
})()`

// TestViewsLogWhole: after the exercises, every cell of the log's rows in
// view shows its text whole (wrapped, never cut), no text says
// "undefined", and the pending glyph is one every font has.
func TestViewsLogWhole(t *testing.T) {
	e := newEnv(t)
	b, id := viewsSession(t, e)
	viewsExercises(t, e, b, id)
	b.do(t, "the log in view", chromedp.Evaluate[chromedp.Void](`void document.querySelector(".log").scrollIntoView({block: "start"})`))
	for _, py := range []bool{false, true} {
		if py {
			b.do(t, "the Python view", clickStill("#python-view"))
			b.waitFor(t, "the Python rows", `!!document.querySelector("#log-body .ev .call .py")`)
		}
		var cut []string
		viewsJSON(t, b, "the cells", logCellsJS, &cut)
		if len(cut) > 0 {
			t.Errorf("python view %v: cells not shown whole:\n%s", py, strings.Join(cut, "\n"))
		}
		b.viewShot(t, shotsDir(t), fmt.Sprintf("views-log-py%v.png", py))
	}
	// Present mode: larger type, the same rows whole.
	b.do(t, "present mode", clickStill("#present-toggle"))
	b.waitFor(t, "presenting", `document.documentElement.classList.contains("presenting")`)
	b.do(t, "the log in view", chromedp.Evaluate[chromedp.Void](`void document.querySelector(".log").scrollIntoView({block: "start"})`))
	// Its rows are taller now: the log shows the getaddrinfo row (which
	// following the last rows might have scrolled away) when it is chosen.
	b.do(t, "choose the getaddrinfo row", chromedp.Evaluate[chromedp.Void](`void window.sockplayLog.select(window.sockplayLog.events.find((e) => e.op === "getaddrinfo").seq)`))
	b.waitFor(t, "the rows drawn again", `!!document.querySelector("#log-body .ev-getaddrinfo")`)
	{
		var cut []string
		viewsJSON(t, b, "the cells", logCellsJS, &cut)
		if len(cut) > 0 {
			t.Errorf("present mode: cells not shown whole:\n%s", strings.Join(cut, "\n"))
		}
	}
	b.viewShot(t, shotsDir(t), "views-log-present.png")
	b.do(t, "present mode off", clickStill("#present-toggle"))
	var texts []string
	viewsJSON(t, b, "the rows' texts", `JSON.stringify([...document.querySelectorAll("#log-body .ev")].map(r => r.textContent))`, &texts)
	for _, s := range texts {
		if strings.Contains(s, "undefined") || strings.Contains(s, "null") {
			t.Errorf("a row says %q", s)
		}
	}
	for _, want := range []string{"getaddrinfo('localhost', 80)", "b'HELLO'", "TypeError: bind(): AF_INET address must be host:port, not \"demo.sock\""} {
		if !strings.Contains(strings.Join(texts, "\n"), want) {
			t.Errorf("no row shows %s in %s", want, strings.Join(texts, "\n"))
		}
	}

	// The chosen row expands in place: its bytes whole.
	b.do(t, "the Python view off", clickStill("#python-view"))
	b.do(t, "click the sendall row", jsClick("#log-body .ev-sendall .call"))
	b.waitFor(t, "its bytes whole", `(() => {
		const r = document.querySelector("#log-body .ev-sendall.selected");
		return !!r && r.querySelector(".data .text").textContent === "b'hello world, this is a longer line than a cell holds\\r\\n'" &&
			r.querySelector(".data .hex").textContent.split(" ").length === 54;
	})()`)
	var cut []string
	viewsJSON(t, b, "the cells", logCellsJS, &cut)
	if len(cut) > 0 {
		t.Errorf("the chosen row: cells not shown whole:\n%s", strings.Join(cut, "\n"))
	}
	b.do(t, "click it again", jsClick("#log-body .ev-sendall .call"))
	b.waitFor(t, "it folds", `document.querySelector("#log-body .ev-sendall .data .text").textContent.endsWith(" +6 bytes")`)

	// No view says "undefined" of the AF_UNIX sockets or the lookup.
	for _, view := range []string{"ruler", "transcript", "timeline"} {
		for _, sock := range []string{"s3", "s4", "s5"} {
			b.do(t, "use "+sock, clickStill("#sock-"+sock+" .sock-title"), clickStill("#tab-"+view))
			b.waitFor(t, view+" of "+sock, fmt.Sprintf(`document.getElementById("views-sock").textContent.includes(%q) && document.getElementById("view-%s").childElementCount > 0`, map[bool]string{true: "all sockets", false: sock}[view == "timeline"], view))
			if s := eval[string](t, b, "the texts", `document.getElementById("views").textContent + document.getElementById("netstat").textContent + [...document.querySelectorAll("#views title")].map(t => t.textContent).join(" ")`); strings.Contains(s, "undefined") || strings.Contains(s, "NaN") {
				t.Errorf("the %s of %s says undefined or NaN: %s", view, sock, s)
			}
		}
	}

	// A pending recv's mark is drawn by the style sheet, not a character
	// (an hourglass is in no font but an emoji one).
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(e.srv.URL+"/api/sessions/"+id+"/ops", "application/json", strings.NewReader(`{"op":"recv","sock":"s4","bufsize":64}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	b.waitFor(t, "the pending recv on its card", `!!document.querySelector("#sock-s4 .pending-call")`)
	var mark struct{ Content, Border string }
	viewsJSON(t, b, "the pending mark", `(() => { const cs = getComputedStyle(document.querySelector("#sock-s4 .pending-call"), "::before"); return JSON.stringify({content: cs.content, border: cs.borderTopStyle}); })()`, &mark)
	if mark.Content != `""` || mark.Border != "solid" {
		t.Errorf("the pending mark is %+v, want a drawn ring (content \"\", a solid border)", mark)
	}
	e.ok(t, id, `{"op":"send","sock":"s5","data":{"text":"wake"}}`)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.noErrors(t)
}

// logSeqsJS lists the rows drawn: seq, and the events the mark above it
// says are hidden (-1 for no mark) and whether the mark names what they
// are: kernel stats, or focus events (the owner's page sends one as its
// focus moves, which no row shows).
const logSeqsJS = `JSON.stringify([...document.querySelectorAll("#log-body .ev")].map(r => {
	const m = r.querySelector(".hidden-mark");
	return { seq: Number(r.dataset.seq), hidden: m ? Number(m.dataset.hidden) : -1, stats: !!m && (m.textContent.includes("kernel stats") || m.dataset.focus === "1") };
}))`

type logSeqRow struct {
	Seq, Hidden int
	Stats       bool
}

// TestViewsLogSeq: with the kernel stats hidden (as the log starts), a
// seq that jumps has a mark above its row saying how many kernel stats
// events it skipped, and a click on the mark shows them: then the seqs
// run on one by one, unmarked.
func TestViewsLogSeq(t *testing.T) {
	e := newEnv(t)
	b, id := viewsSession(t, e)
	viewsExercises(t, e, b, id)
	// The kernel's stats come when it has them: one call after them has
	// a jump before it.
	b.waitFor(t, "a kernel stats event", `window.sockplayLog.events.some(e => e.op === "stats")`)
	// A focus event among them (the owner's page sends one as its focus
	// moves, so it may fall anywhere): the mark still shows the stats.
	e.ok(t, id, `{"op":"focus","focus":{"sock":"s1","view":"ruler"}}`)
	e.ok(t, id, `{"op":"getsockname","sock":"s1"}`)
	b.waitFor(t, "the getsockname row", `window.sockplayLog.events.some(e => e.op === "getsockname")`)
	// Every row drawn at once, to look at them all.
	b.do(t, "a tall log", chromedp.Evaluate[chromedp.Void](`void (document.getElementById("log-scroll").style.height = "6000px")`))
	var n int
	viewsJSON(t, b, "the events", `JSON.stringify(window.sockplayLog.events.length)`, &n)
	b.waitFor(t, "every row but the stats drawn", fmt.Sprintf(`document.querySelectorAll("#log-body .ev").length === window.sockplayLog.events.filter(e => e.op !== "stats" && e.op !== "focus").length && window.sockplayLog.events.length >= %d`, n))
	var rows []logSeqRow
	viewsJSON(t, b, "the rows", logSeqsJS, &rows)
	marks := 0
	prev := 0
	for _, r := range rows {
		jump := r.Seq - prev - 1
		switch {
		case jump == 0 && r.Hidden != -1:
			t.Errorf("seq %d follows %d and has a mark of %d hidden", r.Seq, prev, r.Hidden)
		case jump > 0 && (r.Hidden != jump || !r.Stats):
			t.Errorf("seq %d follows %d: its mark says %d hidden (kernel stats %v), want %d kernel stats", r.Seq, prev, r.Hidden, r.Stats, jump)
		case jump > 0:
			marks++
		}
		prev = r.Seq
	}
	if marks == 0 {
		t.Fatalf("no kernel stats between the rows %+v: the test shows nothing", rows)
	}
	b.do(t, "a mark in view", chromedp.Evaluate[chromedp.Void](`void document.querySelector("#log-body .hidden-mark").scrollIntoView({block: "center"})`))
	b.viewShot(t, shotsDir(t), "views-log-hidden.png")
	b.do(t, "click a mark", jsClick("#log-body .hidden-mark"))
	// Only focus events (where the owner looks, never a row unless their op
	// is chosen) are left out, each gap marked as theirs.
	b.waitOr(t, "the kernel stats shown, the seqs one by one", `JSON.stringify({rows: [...document.querySelectorAll("#log-body .ev")].map(r => r.dataset.seq + (r.querySelector(".hidden-mark") ? "m" + r.querySelector(".hidden-mark").dataset.hidden + (r.querySelector(".hidden-mark").dataset.focus||"") : "")).join(" "), evs: window.sockplayLog.events.map(e => e.seq + e.op).join(" "), chk: document.getElementById("show-stats").checked})`, `document.getElementById("show-stats").checked && (() => {
		const rows = [...document.querySelectorAll("#log-body .ev")];
		const evs = window.sockplayLog.events;
		if (rows.length !== evs.filter((e) => e.op !== "focus").length) return false;
		let prev = 0;
		for (const r of rows) {
			const seq = Number(r.dataset.seq), mark = r.querySelector(".hidden-mark");
			if (seq !== prev + 1 && !(mark && mark.dataset.focus === "1" && Number(mark.dataset.hidden) === seq - prev - 1)) return false;
			if (seq === prev + 1 && mark) return false;
			prev = seq;
		}
		return true;
	})()`)
	// A filter chosen shows a part: its rows are not marked.
	b.do(t, "only s2", chromedp.SetValue(chromedp.CSS("#filter-sock"), "s2"), chromedp.Evaluate[chromedp.Void](`void document.getElementById("filter-sock").dispatchEvent(new Event("change"))`))
	b.waitFor(t, "the rows of s2, unmarked", `[...document.querySelectorAll("#log-body .ev")].every(r => r.dataset.sock === "s2") && !document.querySelector("#log-body .hidden-mark")`)
	b.noErrors(t)
}

// viewsHTTPGet asks the http lab for / on a new socket, sock, and reads
// the response to its EOF; it returns the response's length.
func viewsHTTPGet(t *testing.T, e *testEnv, id, sock string) int {
	t.Helper()
	e.ok(t, id, `{"op":"socket","family":"inet","type":"stream"}`)
	e.ok(t, id, `{"op":"connect","sock":"`+sock+`","addr":"`+e.labs.Addr("http")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"`+sock+`","data":{"text":"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"}}`)
	total := 0
	for i := 0; ; i++ {
		n := int(result(e.ok(t, id, `{"op":"recv","sock":"`+sock+`","bufsize":4096}`))["n"].(float64))
		if n == 0 {
			return total
		}
		total += n
		if i > 100 {
			t.Fatal("the http lab's response has no end")
		}
	}
}

type viewsEntry struct {
	Head, Text string
}

const transcriptJS = `JSON.stringify([...document.querySelectorAll("#view-transcript .spx-entry")].map(e => ({head: e.querySelector(".spx-head").textContent, text: e.querySelector(".spx-text")?.textContent || ""})))`

// TestViewsTranscript: an HTTP GET by hand, its transcript reached from
// the socket's netstat row and from the ruler: the request and the whole
// response as text, \r and \n shown, each with its direction, length and
// offsets, then the EOF.
func TestViewsTranscript(t *testing.T) {
	e := newEnv(t)
	b, id := viewsSession(t, e)
	n := viewsHTTPGet(t, e, id, "s1")
	b.waitFor(t, "s1 in netstat", `!!document.querySelector('#netstat-body .ns-transcript[data-sock="s1"]')`)
	b.do(t, "s1's transcript from netstat", jsClick(`#netstat-body .ns-transcript[data-sock="s1"]`))
	b.waitFor(t, "the transcript", `!document.getElementById("view-transcript").hidden && document.querySelector("#view-transcript .spx-entry.eof") !== null`)
	var entries []viewsEntry
	viewsJSON(t, b, "the entries", transcriptJS, &entries)
	req := "GET / HTTP/1.0\\r\\n\nHost: localhost\\r\\n\n\\r\\n\n"
	if len(entries) < 3 || !strings.HasPrefix(entries[0].Head, "> sendall length=35 from=0 to=34 · seq 3 ") || entries[0].Text != req {
		t.Fatalf("the request's entry: %+v, want > sendall length=35 from=0 to=34 and %q", entries, req)
	}
	got := ""
	off := 0
	for _, en := range entries[1 : len(entries)-1] {
		var l, from, to int
		if _, err := fmt.Sscanf(en.Head, "< recv length=%d from=%d to=%d", &l, &from, &to); err != nil || from != off || to != off+l-1 {
			t.Errorf("entry %q: want < recv length=N from=%d to=%d+N-1 (%v)", en.Head, off, off, err)
		}
		off += l
		got += en.Text
	}
	if off != n || !strings.HasPrefix(got, "HTTP/1.0 200 OK\\r\\n\n") || !strings.Contains(got, "\\r\\n\n\\r\\n\n") {
		t.Errorf("the response (%d of %d bytes): %q", off, n, got)
	}
	if last := entries[len(entries)-1].Head; !strings.HasPrefix(last, fmt.Sprintf("< recv: EOF at byte %d,", n)) {
		t.Errorf("the last entry %q, want the EOF at byte %d", last, n)
	}
	b.do(t, "the transcript in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-transcript-http.png")

	// From the ruler, and back: an entry clicked shows its event.
	b.do(t, "the ruler", clickStill("#tab-ruler"))
	b.waitFor(t, "the ruler's transcript button", `!!document.querySelector("#view-ruler .spr-to-transcript")`)
	b.do(t, "its transcript", jsClick("#view-ruler .spr-to-transcript"))
	b.waitFor(t, "the transcript again", `!document.getElementById("view-transcript").hidden && document.getElementById("tab-transcript").getAttribute("aria-selected") === "true"`)
	b.do(t, "click the request", jsClick(`#view-transcript .spx-entry[data-seq="3"]`))
	b.waitFor(t, "its event in the detail pane", `!document.getElementById("detail").hidden && document.getElementById("detail-call").textContent.includes("sendall(")`)

	// In present mode the text is large and still wraps in its pane.
	b.do(t, "present mode", clickStill("#present-toggle"))
	b.waitFor(t, "large text that wraps", `(() => {
		const p = document.getElementById("view-transcript"), text = p.querySelector(".spx-text");
		return document.documentElement.classList.contains("presenting") && parseFloat(getComputedStyle(text).fontSize) >= 24 && p.scrollWidth <= p.clientWidth + 1;
	})()`)
	b.do(t, "the transcript in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-transcript-present.png")
	b.noErrors(t)
}

// TestViewsRulerText: the ruler of an HTTP GET by hand has the whole
// response as text under its track, as the transcript reads it; the
// ruler of the UDP uppercase exercise shows each datagram's payload,
// hello and HELLO, in its box and in its text.
func TestViewsRulerText(t *testing.T) {
	e := newEnv(t)
	b, id := viewsSession(t, e)
	viewsHTTPGet(t, e, id, "s1")
	b.waitFor(t, "s1's card", `!!document.querySelector("#sock-s1 .sock-title")`)
	b.do(t, "use s1", clickStill("#sock-s1 .sock-title"))
	b.waitFor(t, "the response as text under the ruler", `(document.querySelector('#view-ruler .spr-text[data-text-of="<s1"]')?.textContent || "").endsWith("</body></html>\\n\n")`)
	text := eval[string](t, b, "the ruler's text", `document.querySelector('#view-ruler .spr-text[data-text-of="<s1"]').textContent`)
	if !strings.HasPrefix(text, "HTTP/1.0 200 OK\\r\\n\nContent-Type: text/html; charset=utf-8\\r\\n\n") || !strings.Contains(text, "\\r\\n\n\\r\\n\n<!doctype html>") {
		t.Errorf("the ruler's text of the response: %q", text)
	}
	if req := eval[string](t, b, "the request's text", `document.querySelector('#view-ruler .spr-text[data-text-of="s1>"]').textContent`); req != "GET / HTTP/1.0\\r\\n\nHost: localhost\\r\\n\n\\r\\n\n" {
		t.Errorf("the ruler's text of the request: %q", req)
	}
	// The text is in view, not cut: the whole response fits its box or
	// scrolls in it, and no line runs out of it.
	if w := eval[bool](t, b, "the text wraps", `(() => { const t = document.querySelector('#view-ruler .spr-text[data-text-of="<s1"]'); return t.scrollWidth <= t.clientWidth + 1; })()`); !w {
		t.Error("the ruler's text is wider than its box")
	}
	b.do(t, "the ruler in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-ruler-http.png")

	upper, _ := e.labs.AddrOf("upper", "udp")
	e.ok(t, id, `{"op":"socket","family":"inet","type":"dgram"}`)
	e.ok(t, id, `{"op":"sendto","sock":"s2","addr":"`+upper+`","data":{"text":"hello"}}`)
	e.ok(t, id, `{"op":"recvfrom","sock":"s2","bufsize":1024}`)
	b.waitFor(t, "s2's card", `!!document.querySelector("#sock-s2 .sock-title")`)
	b.do(t, "use s2", clickStill("#sock-s2 .sock-title"))
	b.waitFor(t, "hello and HELLO in the datagrams' boxes and text", `(() => {
		const boxes = [...document.querySelectorAll('#view-ruler .spr-seg.dgram')].map(d => d.textContent);
		const lines = [...document.querySelectorAll('#view-ruler .spr-tline')].map(d => d.textContent);
		return boxes.length === 2 && boxes[0].startsWith("hello") && boxes[1].startsWith("HELLO") &&
			lines.length === 2 && lines[0].startsWith("> 5 B to ('127.0.0.1', ") && lines[0].endsWith("hello") && lines[1].startsWith("< 5 B from ('127.0.0.1', ") && lines[1].endsWith("HELLO");
	})()`)
	b.do(t, "the ruler in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-ruler-udp.png")
	b.do(t, "the transcript of s2", clickStill("#tab-transcript"))
	b.waitFor(t, "hello and HELLO in the transcript", `(() => {
		const e = [...document.querySelectorAll("#view-transcript .spx-entry")].map(e => e.querySelector(".spx-head").textContent.split(" ·")[0] + " | " + e.querySelector(".spx-text").textContent);
		return e.length === 2 && /^> sendto to \('127\.0\.0\.1', \d+\) length=5 \| hello$/.test(e[0]) && /^< recvfrom from \('127\.0\.0\.1', \d+\) length=5 \| HELLO$/.test(e[1]);
	})()`)
	// The HTTP GET's transcript and ruler in the dark theme.
	b.do(t, "dark, s1's ruler", chromedp.Evaluate[chromedp.Void](`void (document.documentElement.dataset.theme = "dark")`), clickStill("#sock-s1 .sock-title"), clickStill("#tab-ruler"))
	b.waitFor(t, "s1's ruler text", `!!document.querySelector('#view-ruler .spr-text[data-text-of="<s1"]')`)
	b.do(t, "the ruler in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-ruler-http-dark.png")
	b.noErrors(t)
}

// TestViewsTimelineOpens: the timeline opens on the last calls, not the
// session's span; a stack of events merged into one mark lists them on
// a click, and one picked from the list is shown; a Python program's
// threads are lanes, the page's own calls on their sockets' lanes, and
// a toggle gives a lane per socket again; with more lanes than fit, the
// lane of the socket in use is scrolled into view.
func TestViewsTimelineOpens(t *testing.T) {
	b := viewsPage(t)
	var r struct {
		W0, W1    float64
		Marks     string
		Stack     []string
		Picked    int
		Lanes     string
		Heads     string
		Arrows    int
		Toggled   string
		InView    bool
		Current   string
		ScrollsBy int
	}
	viewsJSON(t, b, "the timelines", `(async () => {
		const b64 = (s) => btoa(s);
		const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
		const out = {};
		// A minute of calls a person made, 5 s apart, then a burst of
		// five recvs within 2 µs on s1.
		const events = [];
		let seq = 0;
		const ev = (t, sock, op, args, result, extra) => events.push({ seq: ++seq, t, start: t - 20, sock, op, args, ok: true, result, ...extra });
		for (let i = 0; i < 12; i++) ev(1e6 + i * 5e6, "s1", "send", { data: { b64: b64("hi") } }, { n: 2 });
		for (let i = 0; i < 5; i++) ev(60e6 + i / 2, "s1", "recv", { bufsize: 1 }, { n: 1, b64: b64("x") });
		const sockets = [{ id: "s1", type: "stream", state: "connected" }];
		const c = box("tl-recent", "recent");
		views.timeline.renderTimeline(c, { events, sockets, pending: [], now: 61e6, height: 560, onFocus });
		const v = views.timeline.timelineView(c);
		out.W0 = v.offset;
		out.W1 = v.offset + 504 * v.zoom;
		out.Marks = [...c.querySelectorAll(".spt-mark")].map((m) => m.dataset.seq).join(" ");
		// The burst is one mark: a click lists its five events.
		const many = c.querySelector(".spt-mark.many");
		many.dispatchEvent(new MouseEvent("click", { bubbles: true }));
		out.Stack = [...c.querySelectorAll(".spt-stack [data-pick]")].map((b) => b.textContent);
		// A redraw keeps it open; a pick shows the event.
		views.timeline.renderTimeline(c, { events, sockets, pending: [], now: 61e6, height: 560, onFocus });
		c.querySelectorAll(".spt-stack [data-pick]")[3].dispatchEvent(new MouseEvent("click", { bubbles: true }));
		out.Picked = focused.at(-1);

		// A thread-per-client server in Python: MainThread accepts,
		// Thread-1 (handle) reads and answers; the page's own client s1
		// sends.
		const py = (th, line) => ({ origin: { file: "server.py", line, thread: th } });
		const ts = [];
		seq = 0;
		const tev = (t, sock, op, args, result, extra) => ts.push({ seq: ++seq, t, start: t - 20, sock, op, args, ok: true, result, ...extra });
		tev(1000, "s2", "accept", null, { sock: "s3", peer: "127.0.0.1:4000" }, py("MainThread", 9));
		tev(2000, "s1", "send", { data: { b64: b64("hello") } }, { n: 5 });
		tev(3000, "s3", "recv", { bufsize: 1024 }, { n: 5, b64: b64("hello") }, py("Thread-1 (handle)", 14));
		tev(4000, "s3", "sendall", { data: { b64: b64("HELLO") } }, { n: 5 }, py("Thread-1 (handle)", 15));
		tev(5000, "s2", "accept", null, { sock: "s4", peer: "127.0.0.1:4001" }, py("MainThread", 9));
		tev(6000, "s1", "recv", { bufsize: 1024 }, { n: 5, b64: b64("HELLO") });
		const tsocks = [{ id: "s1", type: "stream", state: "connected", link: "s3" }, { id: "s2", type: "stream", state: "listening" }, { id: "s3", type: "stream", state: "connected", link: "s1" }];
		const c2 = box("tl-threads", "threads");
		views.timeline.renderTimeline(c2, { events: ts, sockets: tsocks, pending: [], now: 7000, height: 560, onFocus });
		out.Lanes = [...c2.querySelectorAll(".spt-lane")].map((e) => e.dataset.sock).join(" | ");
		out.Arrows = c2.querySelectorAll(".spt-arrow.send").length;
		out.Heads = [...c2.querySelectorAll(".spt-lane.thread")].map((g) => g.querySelector(".spt-lane-id").textContent + " / " + g.querySelector(".spt-lane-sub").textContent).join(" | ");
		c2.querySelector('.spt-bar button[data-key="lanes"]').click();
		out.Toggled = [...c2.querySelectorAll(".spt-lane")].map((e) => e.dataset.sock).join(" | ");

		// Eight sockets at 1280: the lanes scroll, and the one in use is
		// in view.
		const many8 = [];
		const socks8 = [];
		for (let i = 1; i <= 8; i++) {
			socks8.push({ id: "s" + i, type: "stream", state: "new" });
			many8.push({ seq: i, t: i * 1000, start: i * 1000, sock: "s" + i, op: "socket", args: {}, ok: true, result: { sock: "s" + i } });
		}
		const c3 = box("tl-lanes", "eight lanes");
		c3.style.width = "740px";
		views.timeline.renderTimeline(c3, { events: many8, sockets: socks8, pending: [], now: 9000, height: 400, sock: "s8", onFocus });
		await frame();
		const sc = c3.querySelector(".spt-scroll");
		const lane = c3.querySelector('.spt-lane[data-sock="s8"]').getBoundingClientRect();
		const box3 = sc.getBoundingClientRect();
		out.InView = lane.left >= box3.left && lane.right <= box3.right;
		out.Current = [...c3.querySelectorAll(".spt-lane.current")].map((e) => e.dataset.sock).join(" ");
		out.ScrollsBy = sc.scrollWidth - sc.clientWidth;
		return JSON.stringify(out);
	})()`, &r)
	// The last twelve calls are 12 s … 60 s: the first ones are not in view.
	if r.W0 < 5e6 || r.W1 < 60e6 || r.W1-r.W0 > 60e6 {
		t.Errorf("the view opens on %.0f–%.0f µs, want the last calls (from 11 s on, to 60 s)", r.W0, r.W1)
	}
	if strings.HasPrefix(r.Marks, "1 ") {
		t.Errorf("marks %q: the session's first call is in view", r.Marks)
	}
	if len(r.Stack) != 5 || !strings.HasPrefix(r.Stack[0], "#13 recv 1 b'x'") || !strings.HasPrefix(r.Stack[4], "#17 recv 1 b'x'") {
		t.Errorf("the stack lists %q, want #13 … #17", r.Stack)
	}
	if r.Picked != 16 {
		t.Errorf("picked %d from the stack, want 16", r.Picked)
	}
	if r.Lanes != "@MainThread | @Thread-1 (handle) | s1" || r.Arrows != 2 {
		t.Errorf("thread lanes %q with %d arrows, want @MainThread | @Thread-1 (handle) | s1 with 2", r.Lanes, r.Arrows)
	}
	// A thread's name and the function it runs, each whole on its line.
	if r.Heads != "MainThread / thread · s2 | Thread-1 / handle() · s3" {
		t.Errorf("thread lanes' heads %q, want MainThread / thread · s2 | Thread-1 / handle() · s3", r.Heads)
	}
	if r.Toggled != "s1 | s2 | s3" {
		t.Errorf("socket lanes %q, want s1 | s2 | s3", r.Toggled)
	}
	if !r.InView || r.Current != "s8" || r.ScrollsBy <= 0 {
		t.Errorf("eight lanes: s8 in view %v, current %q, scrolls by %d px", r.InView, r.Current, r.ScrollsBy)
	}
	viewsNoErrors(t, b)
}

// TestViewsTimelinePage: after the exercises and an HTTP GET (six
// sockets, more lanes than a 1280-pixel screen holds), the timeline of
// the page keeps the lane of the socket in use in view, and a stack of
// calls opens on a click.
func TestViewsTimelinePage(t *testing.T) {
	e := newEnv(t)
	b, id := viewsSession(t, e)
	viewsExercises(t, e, b, id)
	viewsHTTPGet(t, e, id, "s6")
	b.waitFor(t, "s6's card", `!!document.querySelector("#sock-s6 .sock-title")`)
	b.do(t, "use s6, the timeline", clickStill("#sock-s6 .sock-title"), clickStill("#tab-timeline"))
	b.waitFor(t, "s6's lane in view", `(() => {
		const sc = document.querySelector("#view-timeline .spt-scroll");
		const lane = document.querySelector('#view-timeline .spt-lane.current[data-sock="s6"]');
		if (!sc || !lane) return false;
		const l = lane.getBoundingClientRect(), s = sc.getBoundingClientRect();
		return sc.scrollWidth > sc.clientWidth && l.left >= s.left && l.right <= s.right;
	})()`)
	b.do(t, "the timeline in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-timeline-page.png")
	if eval[bool](t, b, "a stack", `!!document.querySelector("#view-timeline .spt-mark.many")`) {
		b.do(t, "open the stack", chromedp.Evaluate[chromedp.Void](`void document.querySelector("#view-timeline .spt-mark.many").dispatchEvent(new MouseEvent("click", {bubbles: true}))`))
		b.waitFor(t, "its list", `document.querySelectorAll("#view-timeline .spt-stack [data-pick]").length >= 2`)
		b.viewShot(t, shotsDir(t), "views-timeline-stack.png")
	}
	b.noErrors(t)
}

// TestViewsTimelineThreads: the tutorials' thread-per-client server run
// in the page: the timeline has a lane per Python thread, the main
// thread's and each client's handler's, as its events' origins say.
func TestViewsTimelineThreads(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	p.do(t, "1280×800", chromedp.EmulateViewport(1280, 800))
	for _, ex := range static.Examples() {
		if ex.Name == "thread-per-client.py" {
			src, _ := json.Marshal(ex.WithLabs(e.labs.AddrOf))
			if out := p.eval(t, fmt.Sprintf(`sockplay.python.run(%s, {filename: %q}).then(r => JSON.stringify(r.exception))`, src, ex.Name)); out != "null" {
				t.Fatalf("the example raised %s", out)
			}
		}
	}
	// The run's promise settles when the program ends; its last events
	// may still be on their way to the log.
	p.waitFor(t, "events of two threads", `new Set(window.sockplayLog.events.filter(e => e.origin && e.origin.thread).map(e => e.origin.thread)).size >= 2`)
	var threads []string
	viewsJSON(t, p.browser, "the threads", `JSON.stringify([...new Set(window.sockplayLog.events.filter(e => e.origin && e.origin.thread).map(e => e.origin.thread))])`, &threads)
	if len(threads) < 2 {
		t.Fatalf("the run's threads: %v", threads)
	}
	// Clicked in the page: the program's socket just became the socket in
	// use, and the page may still be scrolling it into view.
	p.do(t, "the timeline", jsClick("#tab-timeline"))
	want := "@" + strings.Join(threads, " @")
	p.waitFor(t, "a lane per thread", fmt.Sprintf(`[...document.querySelectorAll("#view-timeline .spt-lane.thread")].map(l => l.dataset.sock).join(" ") === %q`, want))
	p.do(t, "the timeline in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	p.viewShot(t, shotsDir(t), "views-timeline-threads.png")
	p.noErrors(t)
}
