package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The views on the page of a live session, at a projector's 1280×800:
// the exercises of the tutorials are driven through the API (as a script
// would) or the page's own forms, and what the page shows of them is
// checked whole.

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
	b.do(t, "getaddrinfo from the form", chromedp.Click(chromedp.CSS(`#names button[value=getaddrinfo]`)))
	b.waitFor(t, "the getaddrinfo row", `window.sockplayLog.events.some(e => e.op === "getaddrinfo")`)
	b.waitFor(t, "the getaddrinfo row drawn", `!!document.querySelector("#log-body .ev-getaddrinfo")`)
}

// logCellsJS lists the log's cells in view that do not show their text
// whole: wider than their box, or cut with an ellipsis.
const logCellsJS = `(() => {
	const cut = [];
	for (const row of document.querySelectorAll("#log-body .ev")) {
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
			b.do(t, "the Python view", chromedp.Click(chromedp.CSS("#python-view")))
			b.waitFor(t, "the Python rows", `!!document.querySelector("#log-body .ev .call .py")`)
		}
		var cut []string
		viewsJSON(t, b, "the cells", logCellsJS, &cut)
		if len(cut) > 0 {
			t.Errorf("python view %v: cells not shown whole:\n%s", py, strings.Join(cut, "\n"))
		}
		b.viewShot(t, shotsDir(t), fmt.Sprintf("views-log-py%v.png", py))
	}
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
// says are hidden (-1 for no mark) and whether the mark names kernel
// stats.
const logSeqsJS = `JSON.stringify([...document.querySelectorAll("#log-body .ev")].map(r => {
	const m = r.querySelector(".hidden-mark");
	return { seq: Number(r.dataset.seq), hidden: m ? Number(m.dataset.hidden) : -1, stats: !!m && m.textContent.includes("kernel stats") };
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
	e.ok(t, id, `{"op":"getsockname","sock":"s1"}`)
	b.waitFor(t, "the getsockname row", `window.sockplayLog.events.some(e => e.op === "getsockname")`)
	// Every row drawn at once, to look at them all.
	b.do(t, "a tall log", chromedp.Evaluate[chromedp.Void](`void (document.getElementById("log-scroll").style.height = "6000px")`))
	var n int
	viewsJSON(t, b, "the events", `JSON.stringify(window.sockplayLog.events.length)`, &n)
	b.waitFor(t, "every row but the stats drawn", fmt.Sprintf(`document.querySelectorAll("#log-body .ev").length === window.sockplayLog.events.filter(e => e.op !== "stats").length && window.sockplayLog.events.length >= %d`, n))
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
	b.do(t, "click a mark", chromedp.Click(chromedp.CSS("#log-body .hidden-mark")))
	b.waitFor(t, "the kernel stats shown, the seqs one by one", `document.getElementById("show-stats").checked && (() => {
		const rows = [...document.querySelectorAll("#log-body .ev")];
		return rows.length === window.sockplayLog.events.length && rows.every((r, i) => Number(r.dataset.seq) === i + 1) && !document.querySelector("#log-body .hidden-mark");
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
	b.do(t, "s1's transcript from netstat", chromedp.Click(chromedp.CSS(`#netstat-body .ns-transcript[data-sock="s1"]`)))
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
	b.do(t, "the ruler", chromedp.Click(chromedp.CSS("#tab-ruler")))
	b.waitFor(t, "the ruler's transcript button", `!!document.querySelector("#view-ruler .spr-to-transcript")`)
	b.do(t, "its transcript", chromedp.Click(chromedp.CSS("#view-ruler .spr-to-transcript")))
	b.waitFor(t, "the transcript again", `!document.getElementById("view-transcript").hidden && document.getElementById("tab-transcript").getAttribute("aria-selected") === "true"`)
	b.do(t, "click the request", chromedp.Click(chromedp.CSS(`#view-transcript .spx-entry[data-seq="3"]`)))
	b.waitFor(t, "its event in the detail pane", `!document.getElementById("detail").hidden && document.getElementById("detail-call").textContent.includes("sendall(")`)
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
	b.do(t, "use s1", chromedp.Click(chromedp.CSS("#sock-s1 .sock-title")))
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
	b.do(t, "use s2", chromedp.Click(chromedp.CSS("#sock-s2 .sock-title")))
	b.waitFor(t, "hello and HELLO in the datagrams' boxes and text", `(() => {
		const boxes = [...document.querySelectorAll('#view-ruler .spr-seg.dgram')].map(d => d.textContent);
		const lines = [...document.querySelectorAll('#view-ruler .spr-tline')].map(d => d.textContent);
		return boxes.length === 2 && boxes[0].startsWith("hello") && boxes[1].startsWith("HELLO") &&
			lines.length === 2 && lines[0].startsWith("> 5 B to ('127.0.0.1', ") && lines[0].endsWith("hello") && lines[1].startsWith("< 5 B from ('127.0.0.1', ") && lines[1].endsWith("HELLO");
	})()`)
	b.do(t, "the ruler in view", chromedp.Evaluate[chromedp.Void](`void document.getElementById("views").scrollIntoView({block: "start"})`))
	b.viewShot(t, shotsDir(t), "views-ruler-udp.png")
	b.do(t, "the transcript of s2", chromedp.Click(chromedp.CSS("#tab-transcript")))
	b.waitFor(t, "hello and HELLO in the transcript", `(() => {
		const e = [...document.querySelectorAll("#view-transcript .spx-entry")].map(e => e.querySelector(".spx-head").textContent.split(" ·")[0] + " | " + e.querySelector(".spx-text").textContent);
		return e.length === 2 && /^> sendto to \('127\.0\.0\.1', \d+\) length=5 \| hello$/.test(e[0]) && /^< recvfrom from \('127\.0\.0\.1', \d+\) length=5 \| HELLO$/.test(e[1]);
	})()`)
	b.noErrors(t)
}
