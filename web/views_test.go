package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The views (static/ruler/, timeline.js, dataview.js) are tested on a
// blank page of the server with the page's style sheet, fed synthetic
// events: what they must draw for a known sequence is known exactly.

// viewsPage opens a page with the style sheet and the view modules loaded
// as window.views, and the known session as window.known.
func viewsPage(t *testing.T) *browser {
	t.Helper()
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open a page", chromedp.Navigate(e.srv.URL+"/healthz"),
		// A headless tab is never the focused window, and an unfocused page
		// gets no focus events: the views' focus handling would go untested.
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	)
	viewsEval[bool](t, b, "load the views", `(async () => {
		document.body.replaceChildren();
		document.body.style.cssText = "margin: 0; padding: 16px; max-width: 1360px";
		const link = document.createElement("link");
		link.rel = "stylesheet";
		link.href = "/static/style.css";
		await new Promise((ok, fail) => { link.onload = ok; link.onerror = fail; document.head.append(link); });
		const paths = { ruler: "ruler/ruler", timeline: "timeline", dataview: "dataview", bytes: "bytes" };
		const names = Object.keys(paths);
		const mods = await Promise.all(names.map((n) => import("/static/" + paths[n] + ".js")));
		window.views = Object.fromEntries(names.map((n, i) => [n, mods[i]]));
		window.box = (id, title) => {
			const h = document.createElement("h2");
			h.textContent = title;
			const d = document.createElement("div");
			d.id = id;
			d.className = "panel";
			document.body.append(h, d);
			return d;
		};
	`+viewsKnownJS+`
		return true;
	})()`)
	return b
}

// viewsKnownJS is a session in which s1 connects to the listener s3, whose
// accepted socket is s2: s1 sends "hello", " world", "!!!" (14 bytes); s2
// reads them with recv(4) until it would block (4, 4, 4, 2 bytes, then
// BlockingIOError), answers "bye\n" and closes; s1 reads "bye\n" with a
// recv that waited for it, then EOF. s3 has another accept pending.
const viewsKnownJS = `
		const b64 = (s) => btoa(s);
		const ev = (seq, t, sock, op, args, result, extra) => ({ seq, t, start: t - 50, sock, op, args, ok: true, result, ...extra });
		const stream = { family: "inet", type: "stream" };
		window.known = {
			events: [
				ev(1, 1000, "s1", "socket", stream, { sock: "s1", ...stream }),
				ev(2, 1500, "s3", "socket", stream, { sock: "s3", ...stream }),
				ev(3, 3000, "s3", "bind", { addr: "127.0.0.1:5555" }, { local: "127.0.0.1:5555" }),
				ev(4, 4500, "s3", "listen", { backlog: 5 }, {}),
				ev(5, 5600, "s1", "connect", { addr: "127.0.0.1:5555" }, { local: "127.0.0.1:40000", peer: "127.0.0.1:5555" }, { start: 5000 }),
				ev(6, 6000, "s3", "accept", null, { sock: "s2", peer: "127.0.0.1:40000" }, { start: 4600 }),
				ev(7, 10000, "s1", "send", { data: { b64: b64("hello") } }, { n: 5 }),
				ev(8, 20000, "s1", "send", { data: { b64: b64(" world") } }, { n: 6 }),
				ev(9, 30000, "s1", "send", { data: { b64: b64("!!!") } }, { n: 3 }),
				ev(10, 40000, "s2", "recv", { bufsize: 4 }, { n: 4, b64: b64("hell") }),
				ev(11, 50000, "s2", "recv", { bufsize: 4 }, { n: 4, b64: b64("o wo") }),
				ev(12, 60000, "s2", "recv", { bufsize: 4 }, { n: 4, b64: b64("rld!") }),
				ev(13, 70000, "s2", "recv", { bufsize: 4 }, { n: 2, b64: b64("!!") }),
				ev(14, 80000, "s2", "recv", { bufsize: 4 }, undefined, { ok: false, error: { exc: "BlockingIOError", errno: "EAGAIN", msg: "Resource temporarily unavailable" } }),
				ev(15, 90000, "s2", "send", { data: { b64: b64("bye\n") } }, { n: 4 }),
				ev(16, 90500, "s1", "recv", { bufsize: 1024 }, { n: 4, b64: b64("bye\n") }, { start: 85000 }),
				ev(17, 100000, "s2", "close", null, {}),
				ev(18, 101000, "s1", "recv", { bufsize: 1024 }, { n: 0, eof: true }),
			],
			sockets: [
				{ id: "s1", family: "inet", type: "stream", state: "connected", local: "127.0.0.1:40000", peer: "127.0.0.1:5555", link: "s2" },
				{ id: "s2", family: "inet", type: "stream", state: "connected", local: "127.0.0.1:5555", peer: "127.0.0.1:40000", link: "s1" },
				{ id: "s3", family: "inet", type: "stream", state: "listening", local: "127.0.0.1:5555" },
			],
			pending: [{ call: 30, sock: "s3", op: "accept", start: 104000 }],
			now: 120000,
		};
		window.focused = [];
		window.onFocus = (seq) => focused.push(seq);
`

func viewsEval[T any](t *testing.T, b *browser, what, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v (page errors: %v)", what, err, b.pageErrors())
	}
	return v
}

// viewsJSON evaluates js, which returns JSON text, into out.
func viewsJSON(t *testing.T, b *browser, what, js string, out any) {
	t.Helper()
	s := viewsEval[string](t, b, what, js)
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("%s: %v in %s", what, err, s)
	}
}

// viewsNoErrors fails on anything the page logged as an error but the
// 404 of the blank page's /favicon.ico (a module that failed to load fails
// its import anyway).
func viewsNoErrors(t *testing.T, b *browser) {
	t.Helper()
	var errs []string
	for _, e := range b.pageErrors() {
		if !strings.Contains(e, "status of 404") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("the page logged errors: %v", errs)
	}
}

// viewsDark switches the page to its dark colours: the system preference,
// and the page's own theme switch (data-theme on the root).
func viewsDark(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, "prefer a dark colour scheme", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	viewsEval[bool](t, b, "the dark theme", `document.documentElement.dataset.theme = "dark", true`)
}

type viewsSeg struct {
	Seq  int  `json:"seq"`
	Off  int  `json:"off"`
	Len  int  `json:"len"`
	Auto bool `json:"auto,omitempty"`
	EOF  bool `json:"eof,omitempty"`
}

// viewsSegsJS lists the segments drawn in a track, by row, as "off:len".
const viewsSegsJS = `window.segs = (track, role) => [...document.querySelectorAll('[data-track="' + track + '"] .spr-seg.' + role)]
	.map((e) => e.dataset.off + ":" + e.dataset.len + (e.classList.contains("eof") ? ":eof" : "")).join(" ");`

// TestViewsRuler: the send boundaries of "hello", " world", "!!!" and the
// recv(4) boundaries of the peer that read them are where the bytes say,
// in streamOf and on the page; then the same with only one end in the
// session, and UDP with a truncated datagram.
func TestViewsRuler(t *testing.T) {
	b := viewsPage(t)
	viewsEval[bool](t, b, "helpers", viewsSegsJS+`; true`)

	var streams struct {
		S1, S2 struct {
			Sent      []viewsSeg      `json:"sent"`
			Recvd     []viewsSeg      `json:"recvd"`
			Datagrams json.RawMessage `json:"datagrams"`
		}
	}
	viewsJSON(t, b, "streamOf", `JSON.stringify({
		S1: views.ruler.streamOf(known.events, "s1"),
		S2: views.ruler.streamOf(known.events, "s2", "stream"),
	})`, &streams)
	wantS1Sent := []viewsSeg{{7, 0, 5, false, false}, {8, 5, 6, false, false}, {9, 11, 3, false, false}}
	wantS2Recvd := []viewsSeg{{10, 0, 4, false, false}, {11, 4, 4, false, false}, {12, 8, 4, false, false}, {13, 12, 2, false, false}}
	if !reflect.DeepEqual(streams.S1.Sent, wantS1Sent) {
		t.Errorf("streamOf(s1).sent = %+v, want %+v", streams.S1.Sent, wantS1Sent)
	}
	if !reflect.DeepEqual(streams.S2.Recvd, wantS2Recvd) {
		t.Errorf("streamOf(s2).recvd = %+v, want %+v", streams.S2.Recvd, wantS2Recvd)
	}
	if want := []viewsSeg{{16, 0, 4, false, false}, {18, 4, 0, false, true}}; !reflect.DeepEqual(streams.S1.Recvd, want) {
		t.Errorf("streamOf(s1).recvd = %+v, want %+v", streams.S1.Recvd, want)
	}
	if want := []viewsSeg{{15, 0, 4, false, false}}; !reflect.DeepEqual(streams.S2.Sent, want) {
		t.Errorf("streamOf(s2).sent = %+v, want %+v", streams.S2.Sent, want)
	}
	if string(streams.S1.Datagrams) != `{"sent":[],"recvd":[]}` {
		t.Errorf("a stream socket has datagrams: %s", streams.S1.Datagrams)
	}
	// The exact objects, not just the fields this test reads.
	if got := viewsEval[string](t, b, "streamOf JSON", `JSON.stringify(views.ruler.streamOf(known.events, "s1").sent)`); got != `[{"seq":7,"off":0,"len":5,"auto":false},{"seq":8,"off":5,"len":6,"auto":false},{"seq":9,"off":11,"len":3,"auto":false}]` {
		t.Errorf("streamOf(s1).sent JSON = %s", got)
	}

	// Both ends in the session: each direction drawn once.
	var linked map[string]string
	viewsJSON(t, b, "the linked ruler", `(() => {
		const c = box("ruler", "Byte streams of s1: both ends in the session");
		views.ruler.renderRuler(c, { events: known.events, sockets: known.sockets, sock: "s1", onFocus });
		const seg = c.querySelector('[data-track="s1>s2"] .spr-seg.send[data-seq="8"]');
		const offs = (track, i) => [...c.querySelectorAll('[data-track="' + track + '"] .spr-off')].map((e) => e.textContent);
		const all = [...c.querySelectorAll(".spr-seg")];
		return JSON.stringify({
			tracks: [...c.querySelectorAll("[data-track]")].map((e) => e.dataset.track).join(" "),
			s1send: segs("s1>s2", "send"), s2recv: segs("s1>s2", "recv"),
			s2send: segs("s2>s1", "send"), s1recv: segs("s2>s1", "recv"),
			offs: offs("s1>s2").join(" "),
			title: seg.title, label: seg.getAttribute("aria-label"),
			focusable: String(all.every((e) => e.tabIndex === 0 && e.title && e.getAttribute("aria-label") && e.dataset.seq && e.dataset.off && e.dataset.len)),
			eof: c.querySelector('[data-track="s2>s1"] .spr-seg.recv.eof')?.title ?? "",
		});
	})()`, &linked)
	for k, want := range map[string]string{
		"tracks": "s1>s2 s2>s1",
		"s1send": "0:5 5:6 11:3", "s2recv": "0:4 4:4 8:4 12:2",
		"s2send": "0:4", "s1recv": "0:4 4:0:eof",
		"offs":      "0 5 11 14 0 4 8 12 14",
		"title":     "s1 send seq 8: bytes 5–10 (6)",
		"label":     "s1 send seq 8: bytes 5–10 (6)",
		"focusable": "true",
		"eof":       "s1 recv seq 18: EOF at byte 4 (recv returned b'')",
	} {
		if linked[k] != want {
			t.Errorf("linked ruler %s = %q, want %q", k, linked[k], want)
		}
	}
	// The boundaries line up: a send boundary and a recv boundary at the
	// same byte are at the same pixel, and segments grow with their bytes.
	var geo map[string]float64
	viewsJSON(t, b, "ruler geometry", `(() => {
		const box = (role, seq) => document.querySelector('#ruler [data-track="s1>s2"] .spr-seg.' + role + '[data-seq="' + seq + '"]').getBoundingClientRect();
		return JSON.stringify({
			startGap: Math.abs(box("send", 7).left - box("recv", 10).left),
			endGap: Math.abs(box("send", 9).right - box("recv", 13).right),
			ratio: box("send", 8).width / box("send", 7).width,
		});
	})()`, &geo)
	if geo["startGap"] > 0.5 || geo["endGap"] > 0.5 || geo["ratio"] < 1.15 || geo["ratio"] > 1.25 {
		t.Errorf("ruler geometry: %v (want byte 0 and byte 14 at the same x above and below, and a 6-byte send 1.2× a 5-byte one)", geo)
	}

	// Hover and focus call onFocus with the segment's seq.
	got := viewsEval[string](t, b, "onFocus", `(() => {
		focused.length = 0;
		document.querySelector('#ruler [data-track="s1>s2"] .spr-seg.recv[data-seq="11"]').dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
		document.querySelector('#ruler [data-track="s1>s2"] .spr-seg.send[data-seq="9"]').focus();
		return focused.join(",");
	})()`)
	if got != "11,9" {
		t.Errorf("onFocus calls = %q, want 11,9", got)
	}

	// The arrow keys walk a row; a redraw (a new event) keeps the focus.
	got = viewsEval[string](t, b, "keyboard", `(() => {
		const c = document.getElementById("ruler");
		const key = (k) => document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
		c.querySelector('[data-track="s1>s2"] .spr-seg.recv[data-seq="10"]').focus();
		key("ArrowRight");
		key("ArrowRight");
		key("ArrowLeft");
		const at = document.activeElement.dataset.seq;
		views.ruler.renderRuler(c, { events: known.events, sockets: known.sockets, sock: "s1", onFocus });
		return at + " " + document.activeElement.dataset.seq + " " + focused.slice(2).join(",");
	})()`)
	if got != "11 11 10,11,12,11" {
		t.Errorf("arrow keys: focus on %q, want 11 11 10,11,12,11 (seq in focus, after a redraw, onFocus calls)", got)
	}

	// Zoomed until each byte has a cell, the stream reads as the text sent.
	got = viewsEval[string](t, b, "the bytes zoom", `(() => {
		const c = document.getElementById("ruler");
		views.ruler.bytesRuler(c);
		const text = [...c.querySelectorAll('[data-track="s1>s2"] .spr-byte')].map((e) => e.textContent).join("");
		const again = segs("s1>s2", "send") + " | " + segs("s1>s2", "recv");
		return text + " | " + again;
	})()`)
	if got != "hello·world!!! | 0:5 5:6 11:3 | 0:4 4:4 8:4 12:2" {
		t.Errorf("zoomed to bytes: %q", got)
	}
	viewsEval[bool](t, b, "fit again", `views.ruler.fitRuler(document.getElementById("ruler")), true`)

	// One end in the session: what s1 sent and what it received, each with
	// its own boundaries.
	var one map[string]string
	viewsJSON(t, b, "the one-end ruler", `(() => {
		const c = box("ruler-one", "s1 alone: its peer is outside the session");
		const sockets = [{ ...known.sockets[0], link: undefined }];
		views.ruler.renderRuler(c, { events: known.events, sockets, sock: "s1", onFocus });
		return JSON.stringify({
			tracks: [...c.querySelectorAll("[data-track]")].map((e) => e.dataset.track).join(" "),
			sent: segs("s1>", "send"), recvd: segs("<s1", "recv"),
			recvs: String(c.querySelectorAll(".spr-seg.recv").length),
		});
	})()`, &one)
	for k, want := range map[string]string{"tracks": "s1> <s1", "sent": "0:5 5:6 11:3", "recvd": "0:4 4:0:eof", "recvs": "2"} {
		if one[k] != want {
			t.Errorf("one-end ruler %s = %q, want %q", k, one[k], want)
		}
	}

	// UDP: a box per datagram; the one read with recvfrom(4) from a
	// 10-byte datagram is marked truncated with its real size.
	var udp map[string]string
	viewsJSON(t, b, "the UDP ruler", `(() => {
		const b64 = (s) => btoa(s);
		const dgram = { family: "inet", type: "dgram" };
		const events = [
			{ seq: 1, t: 100, sock: "u1", op: "socket", args: dgram, ok: true, result: { sock: "u1", ...dgram } },
			{ seq: 2, t: 200, sock: "u2", op: "socket", args: dgram, ok: true, result: { sock: "u2", ...dgram } },
			{ seq: 3, t: 300, sock: "u2", op: "sendto", args: { data: { b64: b64("0123456789") }, addr: "127.0.0.1:6001" }, ok: true, result: { n: 10 } },
			{ seq: 4, t: 400, sock: "u2", op: "sendto", args: { data: { b64: b64("hi") }, addr: "127.0.0.1:6001" }, ok: true, result: { n: 2 } },
			{ seq: 5, t: 500, sock: "u2", op: "sendto", args: { data: { b64: b64("twenty bytes, really") }, addr: "127.0.0.1:6001" }, ok: true, result: { n: 20 } },
			{ seq: 6, t: 600, sock: "u1", op: "recvfrom", args: { bufsize: 4 }, ok: true, result: { n: 4, b64: b64("0123"), addr: "127.0.0.1:6002", truncated: true, size: 10 } },
			{ seq: 7, t: 700, sock: "u1", op: "recvfrom", args: { bufsize: 4 }, ok: true, result: { n: 2, b64: b64("hi"), addr: "127.0.0.1:6002" } },
			{ seq: 8, t: 800, sock: "u1", op: "recv", args: { bufsize: 14 }, ok: true, result: { n: 14, b64: b64("twenty bytes, "), truncated: true, size: 20 } },
		];
		const sockets = [{ id: "u1", family: "inet", type: "dgram", state: "bound" }, { id: "u2", family: "inet", type: "dgram", state: "bound" }];
		const c = box("ruler-udp", "UDP: u1's datagrams");
		views.ruler.renderRuler(c, { events, sockets, sock: "u1", onFocus });
		const c2 = box("ruler-udp2", "UDP: u2's datagrams");
		views.ruler.renderRuler(c2, { events, sockets, sock: "u2", onFocus });
		const trunc = c.querySelectorAll(".spr-seg.recv.trunc");
		return JSON.stringify({
			stream: JSON.stringify(views.ruler.streamOf(events, "u1")),
			recvd: [...c.querySelectorAll(".spr-seg.recv")].map((e) => e.dataset.len + "/" + (e.dataset.size || e.dataset.len)).join(" "),
			sent: [...c2.querySelectorAll(".spr-seg.send")].map((e) => e.dataset.len).join(" "),
			truncated: [...trunc].map((e) => e.dataset.seq).join(" "),
			title: trunc[0]?.title ?? "",
			text: trunc[1]?.textContent ?? "",
			lost: String(!!trunc[0]?.querySelector(".spr-lost")),
		});
	})()`, &udp)
	for k, want := range map[string]string{
		"stream":    `{"sent":[],"recvd":[],"datagrams":{"sent":[],"recvd":[{"seq":6,"len":4,"size":10,"truncated":true,"from":"127.0.0.1:6002"},{"seq":7,"len":2,"size":2,"truncated":false,"from":"127.0.0.1:6002"},{"seq":8,"len":14,"size":20,"truncated":true,"from":""}]}}`,
		"recvd":     "4/10 2/2 14/20",
		"sent":      "10 2 20",
		"truncated": "6 8",
		"title":     "u1 received datagram seq 6: 4 of 10 bytes — truncated, 6 bytes lost from 127.0.0.1:6002",
		"text":      "twenty bytes,  · 14 of 20 B",
		"lost":      "true",
	} {
		if udp[k] != want {
			t.Errorf("UDP ruler %s = %q, want %q", k, udp[k], want)
		}
	}
	viewsNoErrors(t, b)
	b.screenshot(t, "ruler.png")
	viewsDark(t, b)
	b.screenshot(t, "ruler-dark.png")
}

// TestViewsRulerLong: a stream of 10,000 sends renders quickly and draws
// only what is in view.
func TestViewsRulerLong(t *testing.T) {
	b := viewsPage(t)
	var r struct {
		First, Second     float64
		Elements, Segs    int
		FirstOff, LastOff string
		Scrolled, Want    string
	}
	viewsJSON(t, b, "a long stream", `(() => {
		const events = [];
		let seq = 0, t = 0, sent = 0;
		for (let i = 0; i < 10000; i++) {
			const n = 1 + ((i * 37) % 200);
			sent += n;
			events.push({ seq: ++seq, t: (t += 100), start: t - 10, sock: "s1", op: "send", args: { data: { b64: btoa("x"), repeat: n } }, ok: true, result: { n } });
			if (i % 3 === 2) events.push({ seq: ++seq, t: (t += 100), start: t - 10, sock: "s2", op: "recv", args: { bufsize: 512 }, ok: true, result: { n: 0 } });
		}
		// the recvs read 512 at a time what was sent so far
		let read = 0;
		for (const e of events) if (e.op === "recv") { const n = Math.min(512, sent - read); e.result.n = n; read += n; }
		const sockets = [{ id: "s1", type: "stream", state: "connected", link: "s2" }, { id: "s2", type: "stream", state: "connected", link: "s1" }];
		const c = box("ruler-long", "10,000 sends");
		const t0 = performance.now();
		views.ruler.renderRuler(c, { events, sockets, sock: "s1" });
		const first = performance.now() - t0;
		// Again, as the page does on each new event: the median of five.
		const again = [];
		for (let k = 0; k < 5; k++) {
			const t1 = performance.now();
			views.ruler.renderRuler(c, { events, sockets, sock: "s1" });
			again.push(performance.now() - t1);
		}
		const second = again.sort((a, b) => a - b)[2];
		const drawn = [...c.querySelectorAll('[data-track="s1>s2"] .spr-seg.send')];
		const sc = c.querySelector('[data-track="s1>s2"] .spr-scroll');
		sc.scrollLeft = sc.scrollWidth;
		sc.dispatchEvent(new Event("scroll"));
		return new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => {
			const after = [...c.querySelectorAll('[data-track="s1>s2"] .spr-seg.send')];
			ok(JSON.stringify({ First: first, Second: second,
				Elements: c.querySelectorAll("*").length, Segs: drawn.length,
				FirstOff: drawn[0].dataset.off, LastOff: drawn[drawn.length - 1].dataset.off,
				Scrolled: after[after.length - 1].dataset.seq + ":" + after[after.length - 1].dataset.off,
				Want: events.filter((e) => e.op === "send").at(-1).seq + ":" + (sent - events.filter((e) => e.op === "send").at(-1).result.n) }));
		})));
	})()`, &r)
	t.Logf("ruler, 10,000 sends: first render %.1f ms, again (median of 5) %.1f ms, %d elements, %d send segments drawn", r.First, r.Second, r.Elements, r.Segs)
	// Times are logged, not asserted: speed belongs in benchmarks, and a
	// busy machine must not fail a test. What is asserted is that only what
	// is in view is drawn.
	if r.Elements > 4000 || r.Segs == 0 || r.Segs >= 10000 {
		t.Errorf("%d elements, %d send segments drawn: want only those in view", r.Elements, r.Segs)
	}
	if r.FirstOff != "0" {
		t.Errorf("first drawn send at offset %s, want 0", r.FirstOff)
	}
	if r.Scrolled != r.Want {
		t.Errorf("scrolled to the end, the last send drawn is %s, want %s", r.Scrolled, r.Want)
	}
	viewsNoErrors(t, b)
}

// TestViewsTimeline: lanes, one mark per event in the window, an arrow
// from each send to each recv that got some of its bytes, a pending bar;
// and 100,000 events drawn cheaply through a narrow window.
func TestViewsTimeline(t *testing.T) {
	b := viewsPage(t)
	var r struct {
		Lanes, Marks, Err, Bars, FIN string
		Arrows                       map[string][]int
		Pending                      string
		Elements                     int
	}
	viewsJSON(t, b, "the known timeline", `(() => {
		const c = box("timeline", "Timeline of the session");
		views.timeline.renderTimeline(c, { ...known, zoom: 180, offset: 0, height: 760, onFocus });
		const arrows = {};
		for (const a of c.querySelectorAll(".spt-arrow.send")) (arrows[a.dataset.send] ||= []).push(Number(a.dataset.recv));
		const p = c.querySelector('.spt-pending[data-call="30"]');
		return JSON.stringify({
			Lanes: [...c.querySelectorAll(".spt-lane")].map((e) => e.dataset.sock).join(" "),
			Marks: [...c.querySelectorAll(".spt-mark")].map((e) => e.dataset.seq).sort((a, b) => a - b).join(" "),
			Err: [...c.querySelectorAll(".spt-mark.err")].map((e) => e.dataset.seq).join(" "),
			Bars: [...c.querySelectorAll(".spt-mark")].filter((e) => e.querySelector(".spt-callbar")).map((e) => e.dataset.seq).join(" "),
			FIN: [...c.querySelectorAll(".spt-arrow.fin")].map((e) => e.dataset.send + ">" + e.dataset.recv).join(" "),
			Arrows: arrows,
			Pending: p ? p.dataset.sock + " " + p.querySelector("title").textContent : "",
			Elements: c.querySelectorAll("*").length,
		});
	})()`, &r)
	if r.Lanes != "s1 s2 s3" {
		t.Errorf("lanes %q, want s1 s2 s3", r.Lanes)
	}
	if r.Marks != "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18" {
		t.Errorf("marks for seqs %q, want 1…18", r.Marks)
	}
	if r.Err != "14" {
		t.Errorf("error marks %q, want 14", r.Err)
	}
	// connect (600 µs), accept (1.4 ms) and the recv that waited 5.5 ms
	// are bars at 180 µs/px; the others are dots.
	if r.Bars != "5 6 16" {
		t.Errorf("calls drawn as bars %q, want 5 6 16", r.Bars)
	}
	wantArrows := map[string][]int{"7": {10, 11}, "8": {11, 12}, "9": {12, 13}, "15": {16}}
	if !reflect.DeepEqual(r.Arrows, wantArrows) {
		t.Errorf("arrows %v, want %v", r.Arrows, wantArrows)
	}
	if r.FIN != "17>18" {
		t.Errorf("FIN arrows %q, want 17>18 (s2's close → s1's EOF)", r.FIN)
	}
	if r.Pending != "s3 call 30: s3.accept() pending 16.0 ms (since 0.104000 s)" {
		t.Errorf("pending bar %q", r.Pending)
	}
	viewsNoErrors(t, b)
	b.screenshot(t, "timeline.png")

	// A narrow window: only the event in it is marked, and the arrows
	// whose lines cross it are drawn.
	var narrow map[string]string
	viewsJSON(t, b, "a narrow window", `(() => {
		const c = document.getElementById("timeline");
		views.timeline.renderTimeline(c, { ...known, zoom: 20, offset: 35000, height: 760, onFocus });
		return JSON.stringify({
			marks: [...c.querySelectorAll(".spt-mark")].map((e) => e.dataset.seq).join(" "),
			arrows: String(c.querySelectorAll(".spt-arrow.send").length),
			view: JSON.stringify(views.timeline.timelineView(c)),
			range: JSON.stringify(views.timeline.timeRange(known.events)),
		});
	})()`, &narrow)
	for k, want := range map[string]string{"marks": "10", "arrows": "6", "view": `{"zoom":20,"offset":35000,"follow":false}`, "range": `{"start":950,"end":101000}`} {
		if narrow[k] != want {
			t.Errorf("narrow window %s = %q, want %q", k, narrow[k], want)
		}
	}
	// Zoom and scroll from the page's side.
	got := viewsEval[string](t, b, "zoom and scroll", `(() => {
		const c = document.getElementById("timeline");
		views.timeline.zoomTimeline(c, 2);
		const z = views.timeline.timelineView(c);
		views.timeline.scrollTimeline(c, 1000);
		const s = views.timeline.timelineView(c);
		c.querySelector('.spt-mark[data-seq="10"]')?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
		return [z.zoom, Math.round(z.offset), Math.round(s.offset), focused.at(-1)].join(" ");
	})()`)
	// Zooming ×2 about the middle (35000 + 704·20/2 = 42040) keeps it there.
	if got != "10 38520 39520 10" {
		t.Errorf("zoom ×2 then scroll 1 ms: %q, want 10 38520 39520 10", got)
	}

	// 100,000 events, a window of a few milliseconds in the middle.
	var big struct {
		Cold, Fresh, Warm, Fit  float64
		Elements, FitElements   int
		Marks, Arrows, FitMarks int
		FitArrows               int
	}
	viewsJSON(t, b, "100,000 events", `(() => {
		const log = () => {
			const events = [];
			const data = { b64: btoa("x"), repeat: 100 };
			const got = btoa("x".repeat(100));
			for (let i = 0; i < 100000; i++) {
				const t = (i + 1) * 100;
				events.push(i % 2 === 0
					? { seq: i + 1, t, start: t - 20, sock: "s1", op: "send", args: { data }, ok: true, result: { n: 100 } }
					: { seq: i + 1, t, start: t - 20, sock: "s2", op: "recv", args: { bufsize: 100 }, ok: true, result: { n: 100, b64: got }, auto: true });
			}
			return events;
		};
		let events = log();
		const sockets = [{ id: "s1", type: "stream", state: "connected", link: "s2" }, { id: "s2", type: "stream", state: "connected", link: "s1" }];
		const c = box("timeline-big", "100,000 events");
		const opts = { events, sockets, pending: [], now: 10000000, height: 700 };
		let t0 = performance.now();
		views.timeline.renderTimeline(c, { ...opts, zoom: 10, offset: 5000000 });
		const cold = performance.now() - t0;
		const elements = c.querySelectorAll("*").length, marks = c.querySelectorAll(".spt-mark").length, arrows = c.querySelectorAll(".spt-arrow").length;
		// Another log of 100,000, now that the code is compiled: what is
		// learnt about a log is learnt once per log.
		events = log();
		opts.events = events;
		t0 = performance.now();
		views.timeline.renderTimeline(c, { ...opts, zoom: 10, offset: 5000000 });
		const fresh = performance.now() - t0;
		const times = [];
		for (let k = 0; k < 5; k++) {
			t0 = performance.now();
			views.timeline.renderTimeline(c, { ...opts, zoom: 10, offset: 7000000 + k * 1000000 });
			times.push(performance.now() - t0);
		}
		const warm = times.sort((a, b) => a - b)[2];
		t0 = performance.now();
		views.timeline.fitTimeline(c);
		const fit = performance.now() - t0;
		return JSON.stringify({ Cold: cold, Fresh: fresh, Warm: warm, Fit: fit, Elements: elements, Marks: marks, Arrows: arrows,
			FitElements: c.querySelectorAll("*").length, FitMarks: c.querySelectorAll(".spt-mark").length, FitArrows: c.querySelectorAll(".spt-arrow").length });
	})()`, &big)
	t.Logf("timeline, 100,000 events, narrow window: %.1f ms the first time (code not yet compiled), %.1f ms for a new log, %.1f ms to move the window (median of 5); %d elements, %d marks, %d arrows. Whole session: %.1f ms, %d elements, %d marks, %d arrows",
		big.Cold, big.Fresh, big.Warm, big.Elements, big.Marks, big.Arrows, big.Fit, big.FitElements, big.FitMarks, big.FitArrows)
	// 6,440 µs at 100 µs per event: 64 or 65 events, an arrow each send.
	if big.Marks < 64 || big.Marks > 66 || big.Arrows < 30 || big.Elements > 3000 || big.FitElements > 3000 {
		t.Errorf("100,000 events: %+v", big)
	}
	viewsNoErrors(t, b)
	viewsDark(t, b)
	b.screenshot(t, "timeline-dark.png")
}

// TestViewsData: the text views of a table of inputs in each encoding,
// the hex dump's format, and a 1 MiB buffer cut to what is shown.
func TestViewsData(t *testing.T) {
	b := viewsPage(t)
	inputs := [][]byte{
		[]byte("hi\r\n"),
		{0x00, 0xff},
		[]byte("é"), // c3 a9
		{'a', '\t', '\\', 'b', '\n', 'c'},
		{0xe2, 0x82, 0x41}, // a cut-short sequence, then A
		[]byte("€😀"),
		{0xed, 0xa0, 0x80}, // an encoded surrogate: not UTF-8
		{0xc0, 0xaf},       // an overlong '/'
		{0x7f, 0x1b, 0x85, 0xa0, 0xe9},
	}
	want := map[string][]string{
		"utf-8":  {`hi\r\n` + "\n", `\x00\xff`, "é", `a\t\\b\n` + "\nc", `\xe2\x82A`, "€😀", `\xed\xa0\x80`, `\xc0\xaf`, `\x7f\x1b\x85\xa0\xe9`},
		"latin1": {`hi\r\n` + "\n", `\x00ÿ`, "Ã©", `a\t\\b\n` + "\nc", `â\x82A`, `â\x82¬ð\x9f\x98\x80`, `í\xa0\x80`, "À¯", `\x7f\x1b\x85\xa0é`},
		"ascii":  {`hi\r\n` + "\n", `\x00\xff`, `\xc3\xa9`, `a\t\\b\n` + "\nc", `\xe2\x82A`, `\xe2\x82\xac\xf0\x9f\x98\x80`, `\xed\xa0\x80`, `\xc0\xaf`, `\x7f\x1b\x85\xa0\xe9`},
	}
	in, _ := json.Marshal(inputs) // []byte → base64 strings
	var got map[string][]string
	viewsJSON(t, b, "the text views", fmt.Sprintf(`(() => {
		const inputs = %s.map((s) => views.bytes.fromB64(s));
		const c = document.createElement("div");
		const out = {};
		for (const encoding of ["utf-8", "latin1", "ascii"]) {
			out[encoding] = inputs.map((b) => {
				views.dataview.renderData(c, b, { mode: "text", encoding });
				const shown = [...c.querySelectorAll(".spd-text .spd-row")].map((r) => r.textContent + ("nl" in r.dataset ? "\n" : "")).join("");
				const text = views.dataview.dataText(b, encoding);
				return shown === text ? text : "DOM " + JSON.stringify(shown) + " != dataText " + JSON.stringify(text);
			});
		}
		return JSON.stringify(out);
	})()`, in), &got)
	for enc, w := range want {
		for i := range w {
			if got[enc][i] != w[i] {
				t.Errorf("%s text of % x = %q, want %q", enc, inputs[i], got[enc][i], w[i])
			}
		}
	}

	var hex map[string]string
	viewsJSON(t, b, "the hex view", `(() => {
		const c = box("data-hex", "hex");
		views.dataview.renderData(c, new TextEncoder().encode("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n\x00\xff"), { mode: "hex" });
		const lines = [...c.querySelectorAll(".spd-hex .spd-row")].map((r) => r.textContent);
		const short = document.createElement("div");
		views.dataview.renderData(short, new Uint8Array([104, 101, 108, 108, 111, 13, 10, 0, 255]), { mode: "hex" });
		return JSON.stringify({ first: lines[0], last: lines[lines.length - 1], n: String(lines.length), short: short.querySelector(".spd-row").textContent,
			dump: views.dataview.hexDump(new Uint8Array([104, 101, 108, 108, 111, 13, 10, 0, 255])) });
	})()`, &hex)
	for k, w := range map[string]string{
		"first": "00000000: 4745 5420 2f20 4854 5450 2f31 2e30 0d0a  GET / HTTP/1.0..",
		"last":  "00000020: 0a0d 0a00 c3bf                           ......",
		"n":     "3",
		"short": "00000000: 6865 6c6c 6f0d 0a00 ff                   hello....", // as xxd prints it
		"dump":  "00000000: 6865 6c6c 6f0d 0a00 ff                   hello....",
	} {
		if hex[k] != w {
			t.Errorf("hex %s = %q, want %q", k, hex[k], w)
		}
	}

	// A screenshot's worth: an HTTP response in both views, in each
	// encoding, and 1 MiB cut to 64 KiB.
	var big struct {
		MS       float64
		Note     string
		Elements int
		Lines    int
		TextRows int
	}
	viewsJSON(t, b, "1 MiB", `(() => {
		const http = new TextEncoder().encode("HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nServer: sockplay\r\n\r\nCafé crème — ünïcödé\tand a tab\nNUL \x00 DEL \x7f\n");
		const withLatin1 = new Uint8Array([...http, 0x63, 0x61, 0x66, 0xe9, 0x0a]); // café in Latin-1
		views.dataview.renderData(box("data-both", "both, UTF-8"), withLatin1, { mode: "both", encoding: "utf-8" });
		views.dataview.renderData(box("data-latin1", "text, Latin-1"), withLatin1, { mode: "text", encoding: "latin1" });
		views.dataview.renderData(box("data-ascii", "text, ASCII"), withLatin1, { mode: "text", encoding: "ascii" });
		const mib = new Uint8Array(1 << 20);
		let x = 12345;
		for (let i = 0; i < mib.length; i++) { x = (x * 1103515245 + 12345) >>> 0; mib[i] = x >>> 24; }
		const c = box("data-big", "1 MiB of noise");
		const t0 = performance.now();
		views.dataview.renderData(c, mib, { mode: "both", encoding: "utf-8" });
		c.getBoundingClientRect();
		const ms = performance.now() - t0;
		return JSON.stringify({ MS: ms, Note: c.querySelector(".spd-note").textContent, Elements: c.querySelectorAll("*").length,
			Lines: Number(c.querySelector(".spd-hex").dataset.rows), TextRows: Number(c.querySelector(".spd-text").dataset.rows) });
	})()`, &big)
	t.Logf("dataview, 1 MiB in both views: %.1f ms, %d elements (%d hex rows, %d text rows, those in view drawn)", big.MS, big.Elements, big.Lines, big.TextRows)
	if big.Note != "first 65,536 of 1,048,576 bytes" || big.Lines != 4096 || big.TextRows < 1000 {
		t.Errorf("1 MiB: note %q, %d hex rows, %d text rows", big.Note, big.Lines, big.TextRows)
	}
	if big.Elements > 1000 {
		t.Errorf("1 MiB: %d elements: want only the rows in view", big.Elements)
	}
	viewsNoErrors(t, b)
	b.screenshot(t, "dataview.png")
	if os.Getenv(screenshotsEnv) != "" {
		viewsDark(t, b)
		b.screenshot(t, "dataview-dark.png")
	}
}
