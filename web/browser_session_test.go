package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
)

// This file drives the page through a session's life beyond one tab: a
// watch link opened in a second tab, a WebSocket that drops and resumes,
// and a session that ends because nobody used it.

// newTab opens another tab of b's browser, in a window of its own so that
// it is visible and gets animation frames (the log applies events on
// frames), with its own record of page errors.
func (b *browser) newTab(t testing.TB) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	return watched(ctx)
}

// eval runs js in the page and returns its value.
func eval[T any](t testing.TB, b *browser, what, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v (page errors: %v)", what, err, b.pageErrors())
	}
	return v
}

// pageSession is the id of the session the page shows.
func pageSession(t testing.TB, b *browser) string {
	t.Helper()
	id := eval[string](t, b, "the page's session", `document.getElementById("app").dataset.session`)
	if id == "" {
		t.Fatal("the page names no session")
	}
	return id
}

// logSeqOps is JS giving "seq:op" of each event up to seq n in the page's
// log, in the order the log holds them.
func logSeqOps(n int64) string {
	return fmt.Sprintf(`window.sockplayLog.events.filter(e => e.seq <= %d).map(e => e.seq + ":" + e.op).join(" ")`, n)
}

// sessionSeqOps is the same list from the session's own log: what every
// page should hold.
func sessionSeqOps(s *sockets.Session, n int64) string {
	var b strings.Builder
	for i, ev := range s.EventsAfter(0, int(n)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", ev.Seq, ev.Op)
	}
	return b.String()
}

// controlsJS is JS describing whether the page shows its controls: the
// class of main#app, the computed display of .setup and #lesson, whether
// .setup is rendered at all, and the displays of the socket cards' rows.
const controlsJS = `JSON.stringify({
	watching: document.getElementById("app").classList.contains("watching"),
	setup: getComputedStyle(document.querySelector(".setup")).display,
	setupRendered: document.querySelector(".setup").offsetParent !== null,
	lesson: getComputedStyle(document.getElementById("lesson")).display,
	rows: [...document.querySelectorAll(".sock-card .row")].map(r => getComputedStyle(r).display),
	watchButton: !!document.getElementById("watch-link"),
})`

type pageControls struct {
	Watching      bool     `json:"watching"`
	Setup         string   `json:"setup"`
	SetupRendered bool     `json:"setupRendered"`
	Lesson        string   `json:"lesson"`
	Rows          []string `json:"rows"`
	WatchButton   bool     `json:"watchButton"`
}

func controlsOf(t testing.TB, b *browser) pageControls {
	t.Helper()
	var c pageControls
	if err := json.Unmarshal([]byte(eval[string](t, b, "the page's controls", controlsJS)), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBrowserWatchLink: the owner makes a watch link on the page; opened
// in another tab it shows the same history, no controls, "live,
// watching"; the owner sees "1 watching", and what the owner does next
// reaches the watcher live.
func TestBrowserWatchLink(t *testing.T) {
	e := newEnv(t)
	owner := openPage(t, e)
	id := pageSession(t, owner)
	s, ok := e.mgr.Get(id)
	if !ok {
		t.Fatalf("session %s not in the manager", id)
	}
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"before the watcher came"}}`)
	e.ok(t, id, `{"op":"settimeout","sock":"s1","timeout":2}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":64}`)
	history := s.LastSeq()
	want := sessionSeqOps(s, history)
	owner.waitFor(t, "the history on the owner's page", logSeqOps(history)+` === `+strconv.Quote(want))
	owner.waitFor(t, "s1's card, connected", `!!document.querySelector("#sock-s1 .row") && document.querySelector("#sock-s1 .sock-state").textContent.startsWith("connected")`)
	// A connected socket's card shows its send and recv rows (its address
	// row is for a socket not yet connected).
	if c := controlsOf(t, owner); c.Watching || c.Setup == "none" || !c.SetupRendered || c.Lesson == "none" || !c.WatchButton || len(c.Rows) < 3 || c.Rows[1] == "none" || c.Rows[2] == "none" {
		t.Fatalf("the owner's page hides its controls: %+v", c)
	}

	owner.do(t, "click watch link", clickStill("#watch-link"))
	owner.waitFor(t, "the watch URL", `document.getElementById("watch-url").value.includes("/w/")`)
	link := eval[string](t, owner, "the watch URL", `document.getElementById("watch-url").value`)
	if !strings.HasPrefix(link, e.srv.URL+"/w/") || strings.Contains(link, id) {
		t.Fatalf("watch URL %q: want %s/w/TOKEN, without the session id %s", link, e.srv.URL, id)
	}
	if eval[bool](t, owner, "the box", `document.getElementById("watch-url").hidden`) {
		t.Fatal("the watch URL box is still hidden")
	}

	w := owner.newTab(t)
	w.do(t, "open the watch link", focusEmulation(), chromedp.Navigate(link))
	w.waitFor(t, `"live, watching"`, `document.getElementById("conn").textContent === "live, watching"`)
	w.waitFor(t, "the owner's history in the watcher's log", logSeqOps(history)+` === `+strconv.Quote(want))
	w.waitFor(t, "s1's card on the watcher's page", `!!document.querySelector("#sock-s1 .row")`)
	if c := controlsOf(t, w); !c.Watching || c.Setup != "none" || c.SetupRendered || c.Lesson != "none" || c.WatchButton || len(c.Rows) == 0 {
		t.Fatalf("the watcher's page shows controls: %+v", c)
	} else {
		for i, d := range c.Rows {
			if d != "none" {
				t.Fatalf("the watcher's page shows row %d of a socket card (display %q)", i, d)
			}
		}
	}
	if sid := eval[string](t, w, "the watcher's session id", `document.getElementById("app").dataset.session || ""`); sid != "" {
		t.Fatalf("the watcher's page holds the session id %q", sid)
	}
	owner.waitFor(t, `"1 watching" on the owner's page`, `document.getElementById("watchers").textContent === "1 watching"`)

	// The owner sends from the page; the watcher sees it as it happens.
	owner.do(t, "the owner sends",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .send-data"), "after"),
		clickStill("#sock-s1 button.send"),
	)
	owner.waitFor(t, "the send on the owner's page", fmt.Sprintf(`window.sockplayLog.events.some(e => e.seq > %d && e.op === "send" && e.ok)`, history))
	seq := eval[int](t, owner, "the send's seq", fmt.Sprintf(`window.sockplayLog.events.find(e => e.seq > %d && e.op === "send").seq`, history))
	w.waitFor(t, "the owner's send on the watcher's page", fmt.Sprintf(`window.sockplayLog.events.some(e => e.seq === %d && e.op === "send" && e.ok)`, seq))
	w.waitFor(t, "its row", `[...document.querySelectorAll("#log-body .ev.ev-send .size")].some(td => td.textContent === "5")`)

	owner.screenshot(t, "watch-owner.png")
	w.screenshot(t, "watch-watcher.png")
	owner.noErrors(t)
	w.noErrors(t)
}

// cutProxy forwards TCP connections from a loopback listener to target and
// can cut them all at once, as a network that drops would.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// lastSeq, once set, reads the session's last seq.
	lastSeq func() int64
	// handshakes are the WebSocket handshakes that went through, in order.
	handshakes []handshake
}

// handshake is one WebSocket handshake through the proxy: what ?since= it
// asked for is in its request line; the session's last seq at that moment
// says whether it had events to catch up on.
type handshake struct {
	line    string
	lastSeq int64
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, up)
		p.mu.Unlock()
	}()
	back := make(chan struct{})
	go func() {
		defer close(back)
		_, _ = io.Copy(c, up)
		c.Close()
		up.Close()
	}()
	// Chromium opens each WebSocket on a connection of its own, so the
	// first line of a connection is its handshake's request line.
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err == nil {
		if strings.Contains(line, "/ws?") {
			p.mu.Lock()
			h := handshake{line: strings.TrimSpace(line), lastSeq: -1}
			if p.lastSeq != nil {
				h.lastSeq = p.lastSeq()
			}
			p.handshakes = append(p.handshakes, h)
			p.mu.Unlock()
		}
		_, _ = up.Write([]byte(line))
		_, _ = io.Copy(up, br)
	}
	up.Close()
	c.Close()
	<-back
}

// cut closes every connection going through the proxy and reports how
// many pairs it cut.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	return len(p.conns) / 2
}

func (p *cutProxy) seen() []handshake {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]handshake(nil), p.handshakes...)
}

// TestBrowserReconnect cuts the page's connection to the server three
// times while autorecv on the drip lab keeps making events; the page
// reconnects by itself with ?since= and ends up with every event, each
// once, in seq order.
func TestBrowserReconnect(t *testing.T) {
	e := newEnv(t)
	p := startCutProxy(t, e.srv.Listener.Addr().String())
	b := newBrowser(t)
	// 127.0.0.1:PORT passes the server's Host check as any loopback does.
	b.do(t, "open the page through the proxy", focusEmulation(), chromedp.Navigate("http://"+p.ln.Addr().String()+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	id := pageSession(t, b)
	s, ok := e.mgr.Get(id)
	if !ok {
		t.Fatalf("session %s not in the manager", id)
	}
	p.mu.Lock()
	p.lastSeq = s.LastSeq
	p.mu.Unlock()
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("drip")+`"}`)
	e.ok(t, id, `{"op":"autorecv","sock":"s1","bufsize":64}`)

	const cuts = 3
	// The drip lab sends back what it gets 4 bytes every 5 ms: 1200 bytes
	// keep recv events coming for a second or more, through the cut and
	// the page's first retry after 500 ms.
	more := `{"op":"sendall","sock":"s1","data":{"text":"` + strings.Repeat("drip ", 240) + `"}}`
	for i := range cuts {
		e.ok(t, id, more)
		n := eval[int](t, b, "the log's length", `window.sockplayLog.events.length`)
		b.waitFor(t, "events arriving", fmt.Sprintf(`window.sockplayLog.events.length >= %d`, n+10))
		if cut := p.cut(); cut == 0 {
			t.Fatalf("cut %d: no connection to cut", i+1)
		}
		b.waitFor(t, fmt.Sprintf("cut %d seen by the page", i+1), `document.getElementById("conn").textContent === "reconnecting…"`)
		b.waitFor(t, fmt.Sprintf("live again after cut %d", i+1), `document.getElementById("conn").textContent === "live"`)
	}
	e.ok(t, id, `{"op":"autorecv","sock":"s1","on":false}`)
	// Closed, s1 has no kernel stats to report: the log stops growing.
	e.ok(t, id, `{"op":"close","sock":"s1"}`)
	last := s.LastSeq()
	// Awaiting the last seq, not the count, so that a hole fails below
	// with the seq that is missing rather than as a time-out.
	b.waitFor(t, "the session's last event on the page", fmt.Sprintf(`window.sockplayLog.events.at(-1)?.seq >= %d`, last))

	var seqs []int64
	if err := json.Unmarshal([]byte(eval[string](t, b, "the log's seqs", `JSON.stringify(window.sockplayLog.events.map(e => e.seq))`)), &seqs); err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		if seq != int64(i)+1 {
			t.Fatalf("the page's log holds seq %d at %d of %d (want 1..%d each once): %v", seq, i, len(seqs), last, seqs[max(0, i-3):min(len(seqs), i+4)])
		}
	}
	if got, want := eval[string](t, b, "the log's events", logSeqOps(last)), sessionSeqOps(s, last); got != want {
		t.Fatalf("the page's events differ from the session's:\npage    %.300s\nsession %.300s", got, want)
	}
	recvs := eval[int](t, b, "auto recvs", `window.sockplayLog.events.filter(e => e.op === "recv" && e.auto && e.ok).length`)

	// The page came back where it left off, not from the start, and each
	// time the session had gone on without it: there was something to
	// catch up on.
	hs := p.seen()
	if len(hs) < cuts+1 {
		t.Fatalf("%d WebSocket handshakes through the proxy, want %d or more: %v", len(hs), cuts+1, hs)
	}
	var missed []int64
	for i, h := range hs {
		since := sinceOf(t, h.line)
		if (i == 0) != (since == 0) {
			t.Fatalf("handshake %d asked for since=%d (want 0 only for the first): %v", i+1, since, hs)
		}
		if i > 0 {
			if h.lastSeq <= since {
				t.Fatalf("handshake %d: since=%d with the session at seq %d: the events did not go on while the page was away", i+1, since, h.lastSeq)
			}
			missed = append(missed, h.lastSeq-since)
		}
	}
	t.Logf("%d events (%d auto recvs) over %d WebSockets; events each reconnect caught up on: %v", last, recvs, len(hs), missed)
	b.noErrors(t)
}

// sinceOf reads ?since= from a request line.
func sinceOf(t testing.TB, line string) int64 {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("request line %q", line)
	}
	u, err := url.Parse(f[1])
	if err != nil {
		t.Fatalf("request line %q: %v", line, err)
	}
	n, err := strconv.ParseInt(u.Query().Get("since"), 10, 64)
	if err != nil {
		t.Fatalf("request line %q: since: %v", line, err)
	}
	return n
}

// TestBrowserIdleExpiry: an open page does not keep a session; once
// nobody has used it for IdleTimeout it ends, and the page says why.
func TestBrowserIdleExpiry(t *testing.T) {
	const idle = 300 * time.Millisecond
	m := sockets.NewManager(sockets.Config{IdleTimeout: idle})
	srv := httptest.NewServer(New(Config{Sessions: m}))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	s, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Do(ctx, sockets.Op{Op: "socket"}); err != nil {
		t.Fatal(err)
	}

	// Use the session until told to stop, so that it cannot expire while
	// the browser starts and the page loads, however slow the machine.
	used := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(idle / 6)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := s.Do(ctx, sockets.Op{Op: "getsockname", Sock: "s1"}); err != nil {
				return
			}
			select {
			case used <- struct{}{}:
			default:
			}
		}
	}()
	stopUsing := sync.OnceFunc(func() { close(stop); <-done })
	t.Cleanup(stopUsing)

	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.Navigate(srv.URL+"/s/"+s.ID()))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	// In use, the session outlives its idle timeout twice over.
	for deadline := time.Now().Add(2 * idle); time.Now().Before(deadline); {
		select {
		case <-used:
		case <-ctx.Done():
			t.Fatal("the session is not being used")
		}
	}
	if _, ok := m.Get(s.ID()); !ok {
		t.Fatal("a session in use ended")
	}
	stopUsing()

	want := fmt.Sprintf("unused for %v (-session-idle)", idle)
	b.waitFor(t, "the page told why the session ended", fmt.Sprintf(`(t => t.startsWith("session ended") && t.includes(%q))(document.getElementById("conn").textContent)`, want))
	if _, ok := m.Get(s.ID()); ok {
		t.Fatal("the page says the session ended, the manager still has it")
	}
	b.screenshot(t, "idle-ended.png")
	b.noErrors(t)
}
