package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
)

// This file is the page as a stage: the owner's focus said to the session
// and followed by its watchers, and the screen's geometry at a projector's
// size and a laptop's, in normal and present mode, after each of the
// tutorials' exercises.

// focusOps is how many focus ops session s has run.
func focusOps(s *sockets.Session) int {
	n := 0
	for _, ev := range s.EventsAfter(0, 0) {
		if ev.Op == "focus" {
			n++
		}
	}
	return n
}

// awaitFocus waits until session s's focus satisfies ok.
func awaitFocus(t testing.TB, s *sockets.Session, what string, ok func(f sockets.Focus) bool) {
	t.Helper()
	awaitSession(t, s, what, func(s *sockets.Session) bool {
		f := s.State().Focus
		return f != nil && ok(*f)
	})
}

// watcherShows is JS true when a page shows socket sock as the one in use
// (its card highlighted) and view as its views' tab.
func watcherShows(sock, view string) string {
	return fmt.Sprintf(`(() => { const c = document.getElementById("sock-%s");
		return !!c && c.classList.contains("current") && document.querySelectorAll(".sock-card.current").length === 1 &&
			document.getElementById("tab-%s").getAttribute("aria-selected") === "true"; })()`, sock, view)
}

const followingJS = `document.getElementById("follow-toggle").getAttribute("aria-pressed") === "true"`

// TestStageFollow: the owner's page says where it looks (the socket in
// use, the view, the lesson step) with paced focus ops, none when nothing
// changed; a watcher's page follows, on joining and live, until its
// watcher clicks another socket, and the "follow teacher" toggle takes it
// back to where the owner is.
func TestStageFollow(t *testing.T) {
	e := newEnv(t)
	owner := openPage(t, e)
	id := pageSession(t, owner)
	s, _ := e.mgr.Get(id)
	for i := 1; i <= 3; i++ {
		e.ok(t, id, `{"op":"socket"}`)
		e.ok(t, id, fmt.Sprintf(`{"op":"connect","sock":"s%d","addr":"%s"}`, i, e.labs.Addr("echo")))
	}
	owner.waitFor(t, "three cards", `document.querySelectorAll(".sock-card").length === 3`)

	// The owner clicks s2: the session's focus follows.
	owner.do(t, "the owner picks s2", clickStill("#sock-s2 .sock-title"))
	awaitFocus(t, s, "the focus on s2", func(f sockets.Focus) bool { return f.Sock == "s2" && f.View == "ruler" })

	// A watcher joining sees s2, from the state.
	link := watchLinkOf(t, e.srv.URL, id)
	w := owner.newTab(t)
	w.do(t, "open the watch link", focusEmulation(), chromedp.Navigate(e.srv.URL+link.URL))
	w.waitFor(t, "the watcher on s2, following", watcherShows("s2", "ruler")+" && "+followingJS)
	w.waitFor(t, "where the teacher is", `document.getElementById("follow-where").textContent.includes("s2")`)

	// Live: the owner moves to s3, then to the timeline.
	owner.do(t, "the owner picks s3", clickStill("#sock-s3 .sock-title"))
	w.waitFor(t, "the watcher on s3", watcherShows("s3", "ruler"))
	owner.do(t, "the owner opens the timeline", clickStill("#tab-timeline"))
	w.waitFor(t, "the watcher on the timeline", watcherShows("s3", "timeline"))
	owner.do(t, "back to the ruler", clickStill("#tab-ruler"))
	w.waitFor(t, "the watcher on the ruler", watcherShows("s3", "ruler"))

	// Paced: ten changes within a few milliseconds are one focus op, and
	// a click that changes nothing is none.
	awaitFocus(t, s, "the focus on s3's ruler", func(f sockets.Focus) bool { return f.Sock == "s3" && f.View == "ruler" })
	before := focusOps(s)
	eval[bool](t, owner, "ten quick changes", `(() => { for (let i = 0; i < 10; i++) document.querySelector(i % 2 ? "#sock-s1 .sock-title" : "#sock-s2 .sock-title").click(); return true; })()`)
	awaitFocus(t, s, "the focus on s1", func(f sockets.Focus) bool { return f.Sock == "s1" })
	owner.do(t, "click s1 again", clickStill("#sock-s1 .sock-title"))
	owner.do(t, "then s2", clickStill("#sock-s2 .sock-title"))
	awaitFocus(t, s, "the focus on s2", func(f sockets.Focus) bool { return f.Sock == "s2" })
	if got := focusOps(s) - before; got != 2 {
		t.Errorf("ten quick changes, a click on the socket in use and one more change made %d focus ops, want 2", got)
	}
	w.waitFor(t, "the watcher on s2", watcherShows("s2", "ruler"))

	// The watcher looks elsewhere: they stay there while the owner moves.
	w.do(t, "the watcher picks s1", clickStill("#sock-s1 .sock-title"))
	w.waitFor(t, "the watcher no longer following", `!(`+followingJS+`) && `+watcherShows("s1", "ruler"))
	owner.do(t, "the owner picks s3", clickStill("#sock-s3 .sock-title"))
	awaitFocus(t, s, "the focus on s3", func(f sockets.Focus) bool { return f.Sock == "s3" })
	w.waitFor(t, "the watcher told where the owner is", `document.getElementById("follow-where").textContent.includes("s3")`)
	if !eval[bool](t, w, "the watcher's socket", watcherShows("s1", "ruler")) {
		t.Fatal("the watcher who picked s1 was moved by the owner")
	}

	// "follow teacher" takes them back, and they follow again.
	w.do(t, "follow teacher", clickStill("#follow-toggle"))
	w.waitFor(t, "the watcher back on s3", followingJS+" && "+watcherShows("s3", "ruler"))

	// A lesson's step is part of the focus.
	lesson := eval[string](t, owner, "a lesson", `document.querySelector("#lesson-select option[value]:not([value=''])").value`)
	eval[bool](t, owner, "choose the lesson", fmt.Sprintf(`(() => { const s = document.getElementById("lesson-select"); s.value = %q; s.dispatchEvent(new Event("change")); return true; })()`, lesson))
	owner.waitFor(t, "its steps", `!!document.querySelector("#lesson .lesson-step.current")`)
	awaitFocus(t, s, "the lesson in the focus", func(f sockets.Focus) bool { return f.Lesson == lesson && f.Step == 0 })
	owner.do(t, "run a step", clickStill(`#lesson button[data-act=step]`))
	awaitFocus(t, s, "its next step in the focus", func(f sockets.Focus) bool { return f.Lesson == lesson && f.Step == 1 })
	w.waitFor(t, "the watcher told the step", fmt.Sprintf(`document.getElementById("follow-where").textContent.includes("lesson %s, step 2")`, lesson))
	// and shown it: the lesson in the watcher's panel, the step the owner
	// ran with its outcome and hint, the next one; nothing to press.
	w.waitFor(t, "the watcher's lesson panel on step 2", fmt.Sprintf(`(() => {
		const p = document.getElementById("lesson");
		return p.checkVisibility() && document.getElementById("lesson-select").value === %q &&
			p.querySelector(".lesson-status").textContent.startsWith("Step 2 of") &&
			!!p.querySelector(".lesson-now .lesson-step.just .outcome") && !!p.querySelector(".lesson-now .lesson-step.next") &&
			[...p.querySelectorAll("button[data-act]")].every((b) => !b.checkVisibility()) && document.getElementById("lesson-select").disabled;
	})()`, lesson))
	w.do(t, "a projector's window", chromedp.EmulateViewport(1280, 800))
	w.viewShot(t, shotsDir(t), "watcher-lesson-1280x800.png")

	// Where the owner looks is no call: the log keeps it (its seqs are
	// the session's) but shows no row of it.
	for _, p := range []*browser{owner, w} {
		p.waitFor(t, "the focus events in the log", `window.sockplayLog.events.filter(e => e.op === "focus").length === `+fmt.Sprint(focusOps(s)))
		if n := eval[int](t, p, "focus rows", `document.querySelectorAll("#log-body .ev.ev-focus").length`); n != 0 {
			t.Errorf("the log shows %d focus rows", n)
		}
	}
	for _, ev := range e.events(t, id) {
		if ev.Op == "focus" && !ev.OK {
			t.Errorf("a focus op failed: %+v", ev.Error)
		}
	}
	if strings.Contains(eval[string](t, w, "the watcher's flash", `(document.getElementById("flash") || {}).textContent || ""`), "read-only") {
		t.Error("the watcher's page tried to send an op")
	}
	// Presenting, the lesson is on the stage with the socket in use.
	owner.do(t, "a projector's window, presenting", chromedp.EmulateViewport(1280, 800), clickStill("#present-toggle"))
	owner.waitFor(t, "the lesson on the stage", `document.getElementById("app").classList.contains("with-lesson") && document.documentElement.classList.contains("presenting")`)
	checkStage(t, "a lesson, presenting at 1280x800", measure(t, owner))
	owner.viewShot(t, shotsDir(t), "follow-lesson-1280x800-present.png")
	owner.do(t, "another step", clickStill(`#lesson button[data-act=step]`))
	awaitFocus(t, s, "its next step in the focus", func(f sockets.Focus) bool { return f.Lesson == lesson && f.Step == 2 })
	checkStage(t, "a lesson's next step, presenting at 1280x800", measure(t, owner))
	owner.viewShot(t, shotsDir(t), "follow-lesson-step-1280x800-present.png")
	owner.do(t, "not presenting", clickStill("#present-toggle"), chromedp.EmulateReset())
	owner.screenshot(t, "follow-owner.png")
	w.screenshot(t, "follow-watcher.png")
	owner.noErrors(t)
	w.noErrors(t)
}

// stageGeometry is what stageJS measures of a page: whether it overflows
// sideways, its parts that overlap, and whether the socket in use's card
// and its views are within the window.
type stageGeometry struct {
	Width, Height   float64
	ScrollWidth     float64
	Staged          bool
	WithCode        bool
	Presenting      bool
	Sock            string
	Parts           map[string][4]float64 // id → left, top, right, bottom
	Overlaps        []string
	CardIn, ViewsIn bool
	Card, Views     [4]float64
	NetstatFits     bool
	Small           []string // in present mode, data shown smaller than 24 px
	Wide            []string // parts whose content is wider than they are
}

// stageJS measures a page for stageGeometry. The parts are page.templ's
// stage-* boxes and the setup, each as far as the window shows it (a
// column that scrolls shows a part of what it holds); hidden ones are
// left out.
const stageJS = `JSON.stringify((() => {
	const main = document.getElementById("app");
	const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
	const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).display !== "none";
	// clip is the part of el the window shows: its box cut by every
	// ancestor that scrolls or clips, and by the window.
	const clip = (el) => {
		let [l, t, r, b] = box(el);
		for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
			const cs = getComputedStyle(p);
			if (cs.display === "contents" || (cs.overflowX === "visible" && cs.overflowY === "visible")) continue;
			const q = p.getBoundingClientRect();
			l = Math.max(l, q.left); t = Math.max(t, q.top); r = Math.min(r, q.right); b = Math.min(b, q.bottom);
		}
		return [Math.max(l, 0), Math.max(t, 0), Math.min(r, innerWidth), Math.min(b, innerHeight)];
	};
	const whole = (el) => { const a = box(el), c = clip(el); return a[3] > a[1] && a.every((v, i) => Math.abs(v - c[i]) < 1); };
	const parts = {};
	const wide = [];
	const staged = main.classList.contains("staged");
	for (const el of [...document.querySelectorAll("#app > .setup, #app [id^=stage-]")]) {
		if (!shown(el)) continue;
		if (el.scrollWidth > el.clientWidth + 1) wide.push(el.id || el.className);
		const c = clip(el);
		if (c[2] - c[0] > 0.5 && c[3] - c[1] > 0.5) parts[el.id || el.className] = c;
	}
	// On the stage the code is whole: no line runs out of its box, and
	// the gutter's line numbers are as tall as the code's lines (wrapped).
	const code = document.getElementById("py-source");
	if (staged && main.classList.contains("with-code") && shown(code)) {
		if (code.scrollWidth > code.clientWidth + 1) wide.push("py-source");
		const cs = getComputedStyle(code);
		const h = code.style.height;
		code.style.height = "0px";
		const textH = code.scrollHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
		code.style.height = h;
		const numbered = [...document.querySelectorAll("#py-gutter .ln")].reduce((a, d) => a + d.getBoundingClientRect().height, 0);
		if (Math.abs(numbered - textH) > 2) wide.push("py-gutter (" + Math.round(numbered) + " px of line numbers beside " + Math.round(textH) + " px of code)");
	}
	const overlaps = [];
	const ids = Object.keys(parts);
	for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) {
		const a = parts[ids[i]], b = parts[ids[j]];
		const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
		if (w > 0.5 && h > 0.5) overlaps.push(ids[i] + " × " + ids[j] + " (" + Math.round(w) + "×" + Math.round(h) + ")");
	}
	const card = document.querySelector(".sock-card.current");
	// Staged, the card's own part scrolls: its name and its data are in
	// view, its controls may be below. Else the whole card is.
	let cardIn = !!card;
	if (card && staged) for (const sel of [".sock-title", ".gauges"]) { const el = card.querySelector(sel); if (shown(el) && !whole(el)) cardIn = false; }
	else if (card) cardIn = whole(card);
	const ruler = document.getElementById("view-ruler");
	const ns = document.getElementById("netstat");
	const small = [];
	if (document.documentElement.classList.contains("presenting")) {
		const data = [".sock-card.current .sock-addrs", ".sock-card.current .gauge .val", "#view-ruler .spr-byte", "#view-ruler .spr-seg .spr-txt", ".py-transcript"];
		for (const sel of data) for (const el of document.querySelectorAll(sel)) {
			if (!shown(el)) continue;
			const px = parseFloat(getComputedStyle(el).fontSize) * (el.currentCSSZoom || 1);
			if (px < 23.9) { small.push(sel + ": " + px.toFixed(1) + " px"); break; }
		}
	}
	return {
		width: innerWidth, height: innerHeight, scrollWidth: document.documentElement.scrollWidth,
		staged, withCode: main.classList.contains("with-code"),
		presenting: document.documentElement.classList.contains("presenting"),
		sock: card ? card.id.slice(5) : "", parts, overlaps,
		cardIn, viewsIn: shown(ruler) && whole(ruler), card: card ? clip(card) : [0, 0, 0, 0], views: box(ruler),
		netstatFits: !shown(ns) || ns.scrollWidth <= ns.clientWidth + 1,
		small, wide,
	};
})())`

// settled is JS that resolves after two frames: the layout, and what the
// page's observers did about it, are done.
const settled = `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(""))))`

// viewsDrawn is JS true once the views show the log's last call (kernel
// stats and focus events, which come all the time, change nothing they
// show).
const viewsDrawn = `Number(document.getElementById("views").dataset.drawn || 0) >= (window.sockplayLog.events.findLast(e => e.op !== "stats" && e.op !== "focus")?.seq ?? 0)`

// measure waits for the page to settle (the views drawn up to the last
// event, then two frames) and measures it.
func measure(t testing.TB, b *browser) stageGeometry {
	t.Helper()
	b.waitFor(t, "the views drawn", viewsDrawn)
	p := &pyPage{browser: b}
	p.eval(t, settled)
	var g stageGeometry
	if err := json.Unmarshal([]byte(eval[string](t, b, "the stage's geometry", stageJS)), &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// checkStage fails the test if the page or one of its parts overflows
// sideways, its parts overlap, the socket in use's card or its views are not in the window,
// netstat overflows its panel, or (presenting) data is under 24 px.
func checkStage(t testing.TB, what string, g stageGeometry) {
	t.Helper()
	var bad []string
	if g.ScrollWidth > g.Width {
		bad = append(bad, fmt.Sprintf("the page is %v px wide in a %v px window", g.ScrollWidth, g.Width))
	}
	if len(g.Overlaps) > 0 {
		bad = append(bad, "parts overlap: "+strings.Join(g.Overlaps, ", "))
	}
	if g.Sock == "" {
		bad = append(bad, "no socket in use")
	} else if !g.CardIn {
		bad = append(bad, fmt.Sprintf("%s's card is not in view (its part in view: %v, in a %vx%v window)", g.Sock, g.Card, g.Width, g.Height))
	}
	if !g.ViewsIn {
		bad = append(bad, fmt.Sprintf("the ruler %v is not wholly in view in the %vx%v window", g.Views, g.Width, g.Height))
	}
	if len(g.Wide) > 0 {
		bad = append(bad, "content wider than its part: "+strings.Join(g.Wide, ", "))
	}
	if !g.NetstatFits {
		bad = append(bad, "netstat overflows its panel")
	}
	if len(g.Small) > 0 {
		bad = append(bad, "data under 24 px: "+strings.Join(g.Small, ", "))
	}
	if g.Presenting && !g.Staged {
		bad = append(bad, "presenting, but no stage")
	}
	if len(bad) > 0 {
		t.Errorf("%s: %s\nparts: %v", what, strings.Join(bad, "; "), g.Parts)
	}
}

// screens are the windows the stage is checked at: a projector's and a
// laptop's.
var screens = []struct{ w, h int64 }{{1280, 800}, {1920, 1080}}

// checkScreens checks the owner's page at each screen size, normal and
// presenting, and keeps a screenshot of each; then leaves it at 1280×800,
// normal. The first check is of the page as the exercise left it.
func checkScreens(t *testing.T, b *browser, dir, name string) {
	t.Helper()
	present := func(on bool) {
		t.Helper()
		eval[bool](t, b, "present mode", fmt.Sprintf(`(() => { if (document.documentElement.classList.contains("presenting") !== %v) document.getElementById("present-toggle").click(); return true; })()`, on))
	}
	for i, sc := range screens {
		b.do(t, "the window", chromedp.EmulateViewport(sc.w, sc.h))
		modes := []bool{false, true}
		if i%2 == 1 {
			modes = []bool{true, false}
		}
		for _, on := range modes {
			present(on)
			mode := map[bool]string{false: "normal", true: "present"}[on]
			what := fmt.Sprintf("%s at %dx%d, %s", name, sc.w, sc.h, mode)
			checkStage(t, what, measure(t, b))
			b.viewShot(t, dir, fmt.Sprintf("%s-%dx%d-%s.png", name, sc.w, sc.h, mode))
		}
	}
	present(false)
	b.do(t, "the window", chromedp.EmulateViewport(1280, 800))
}

// TestStageScreens does the tutorials' exercises through the page at
// 1280×800 (echo client, a server by hand, UDP uppercase, a partial read,
// a timeout, HTTP GET, a Python program) and after each checks the screen
// at 1280×800 and 1920×1080, normal and presenting: nothing overflows
// sideways, the page's parts do not overlap, the socket in use's card and
// its views are in the window, netstat fits, and presenting, data is
// 24 px or more. A watcher's page, its stage checked too, follows the
// owner's socket in use and line of code.
func TestStageScreens(t *testing.T) {
	e := newEnv(t)
	owner := newBrowser(t)
	owner.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	owner.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	id := pageSession(t, owner)
	dir := shotsDir(t)
	card := func(sock, sel string) chromedp.CSS { return chromedp.CSS("#sock-" + sock + " " + sel) }
	use := func(sock string) {
		t.Helper()
		owner.do(t, "use "+sock, clickStill(string(card(sock, ".sock-title"))))
	}
	state := func(sock, prefix string) {
		t.Helper()
		owner.waitFor(t, sock+" "+prefix, fmt.Sprintf(`document.querySelector("#sock-%s .sock-state")?.textContent.startsWith(%q)`, sock, prefix))
	}

	// The watcher, on a projector-sized window of their own.
	w := owner.newTab(t)
	w.do(t, "open the watch link", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+watchLinkOf(t, e.srv.URL, id).URL))
	w.waitFor(t, "the watcher live", `document.getElementById("conn").textContent === "live, watching"`)
	follows := func(name string) {
		t.Helper()
		sock := eval[string](t, owner, "the socket in use", `document.querySelector(".sock-card.current").id`)
		w.waitFor(t, "the watcher following to "+sock, fmt.Sprintf(`document.querySelector(".sock-card.current")?.id === %q`, sock))
		g := measure(t, w)
		if !g.Staged {
			t.Errorf("%s: the watch page is not a stage", name)
		}
		checkStage(t, name+": the watcher at 1280x800", g)
		w.viewShot(t, dir, name+"-watcher-1280x800.png")
	}

	// An echo client.
	owner.do(t, "new socket connected to echo", clickStill(`.lab-connect[data-lab="echo"][data-proto="tcp"]`))
	state("s1", "connected")
	owner.do(t, "send, recv", chromedp.SetValue(card("s1", ".send-data"), `hello\n`), clickStill(string(card("s1", "button.send"))), clickStill(string(card("s1", "button.recv"))))
	owner.waitFor(t, "the echo", hasEvent("hello\n"))
	checkScreens(t, owner, dir, "1-echo")
	follows("1-echo")

	// A server by hand: a listener, a client, the accepted socket.
	owner.do(t, "socket() for the listener", clickStill(`#new-socket button[type=submit]`))
	owner.waitFor(t, "s2", `!!document.querySelector("#sock-s2")`)
	owner.do(t, "bind", chromedp.SetValue(card("s2", ".addr"), "127.0.0.1:0"), clickStill(string(card("s2", "button.bind"))))
	state("s2", "bound")
	owner.do(t, "listen", clickStill(string(card("s2", "button.listen"))))
	state("s2", "listening")
	addr := eval[string](t, owner, "the listener's address", `document.querySelector("#sock-s2 .sock-addrs").textContent`)
	owner.do(t, "socket() for the client", clickStill(`#new-socket button[type=submit]`))
	owner.waitFor(t, "s3", `!!document.querySelector("#sock-s3")`)
	owner.do(t, "connect", chromedp.SetValue(card("s3", ".addr"), addr), clickStill(string(card("s3", "button.connect"))))
	state("s3", "connected")
	owner.do(t, "accept", clickStill(string(card("s2", "button.accept"))))
	owner.waitFor(t, "s4", `!!document.querySelector("#sock-s4")`)
	owner.do(t, "the client sends", chromedp.SetValue(card("s3", ".send-data"), "hello server"), clickStill(string(card("s3", "button.send"))))
	owner.do(t, "the server reads", clickStill(string(card("s4", "button.recv"))))
	owner.waitFor(t, "the server got it", hasEvent("hello server"))
	checkScreens(t, owner, dir, "2-server")
	follows("2-server")

	// UDP uppercase.
	owner.do(t, "new socket connected to upper", clickStill(`.lab-connect[data-lab="upper"][data-proto="udp"]`))
	owner.waitFor(t, "s5", `!!document.querySelector("#sock-s5 button.recv")`)
	use("s5")
	owner.do(t, "send hello, recv", chromedp.SetValue(card("s5", ".send-data"), "hello"), clickStill(string(card("s5", "button.send"))), clickStill(string(card("s5", "button.recv"))))
	owner.waitFor(t, "HELLO", hasEvent("HELLO"))
	checkScreens(t, owner, dir, "3-udp")
	follows("3-udp")

	// A partial read: one sendall, three recv(4).
	use("s1")
	owner.do(t, "sendall", chromedp.SetValue(card("s1", ".send-data"), "hello world"), clickStill(string(card("s1", "button.sendall"))), chromedp.SetValue(card("s1", ".recv-bufsize"), "4"))
	for _, want := range []string{"hell", "o wo", "rld"} {
		owner.do(t, "recv(4)", clickStill(string(card("s1", "button.recv"))))
		owner.waitFor(t, want, hasEvent(want))
	}
	checkScreens(t, owner, dir, "4-partial")
	follows("4-partial")

	// A timeout.
	// The recv is pressed once settimeout's answer is drawn: the card grows
	// by it, and a click aimed before that may land beside the button.
	owner.do(t, "settimeout(0.3)", chromedp.SetValue(card("s1", ".timeout"), "0.3"), clickStill(string(card("s1", "button.settimeout"))))
	owner.waitFor(t, "settimeout's answer", `document.querySelector("#sock-s1 button.settimeout").closest(".row").querySelector(".answer")?.textContent.startsWith("settimeout(0.3)")`)
	owner.do(t, "recv", clickStill(string(card("s1", "button.recv"))))
	owner.waitFor(t, "the timeout", `window.sockplayLog.events.some(e => e.op === "recv" && !e.ok && e.error.exc === "TimeoutError")`)
	checkScreens(t, owner, dir, "5-timeout")
	follows("5-timeout")

	// HTTP GET, from the request template.
	owner.do(t, "new socket connected to http", clickStill(`.lab-connect[data-lab="http"]`))
	owner.waitFor(t, "s6", `!!document.querySelector("#sock-s6")`)
	state("s6", "connected")
	use("s6")
	owner.do(t, "the HTTP GET template", clickStill(`.reference summary`), clickStill(`.template[title^="GET / "]`))
	owner.waitFor(t, "the request in s6's box", `document.querySelector("#sock-s6 .send-data").value.startsWith("GET / ")`)
	owner.do(t, "sendall, recv", clickStill(string(card("s6", "button.sendall"))), clickStill(string(card("s6", "button.recv"))))
	owner.waitFor(t, "the response", `window.sockplayLog.events.some(e => e.sock === "s6" && e.op === "recv" && e.ok && e.result.n > 0)`)
	checkScreens(t, owner, dir, "6-http")
	follows("6-http")

	// A Python program, through the page's hook: its code and console
	// come on the stage.
	p := &pyPage{browser: owner, e: e, session: id}
	src := "import socket\n\ns = socket.create_connection(" + pyAddr(e.labs.Addr("echo")) + ")\ns.sendall(b'hello from Python')\nprint(s.recv(64))\ns.close()\nprint('the echo server answered, and the connection is closed')\n"
	if out := p.ok(t, src, ""); out != "b'hello from Python'\nthe echo server answered, and the connection is closed\n" {
		t.Fatalf("the program printed %q", out)
	}
	owner.waitFor(t, "the code on the stage", `document.getElementById("app").classList.contains("with-code") && document.getElementById("py-source").value === `+strconv.Quote(src))
	// The program's socket is the socket in use, once its card is drawn
	// (cards are drawn a few times a second while events come in).
	owner.waitFor(t, "the program's socket in use", `document.querySelector(".sock-card.current")?.id === "sock-s7"`)
	checkScreens(t, owner, dir, "7-python")
	// The dark theme, presenting: the same stage.
	eval[bool](t, owner, "dark, presenting", `(() => { if (document.documentElement.dataset.theme !== "dark") document.getElementById("theme-toggle").click(); document.getElementById("present-toggle").click(); return true; })()`)
	checkStage(t, "7-python at 1280x800, present, dark", measure(t, owner))
	owner.viewShot(t, dir, "7-python-1280x800-present-dark.png")
	eval[bool](t, owner, "light, not presenting", `(() => { document.getElementById("theme-toggle").click(); document.getElementById("present-toggle").click(); return true; })()`)
	// The owner points at line 5 of the code; the watcher is shown it.
	eval[bool](t, owner, "the cursor on line 5", `(() => { const s = document.getElementById("py-source"); s.focus(); const at = s.value.split("\n").slice(0, 4).join("\n").length + 1; s.setSelectionRange(at, at); s.dispatchEvent(new KeyboardEvent("keyup")); return true; })()`)
	awaitFocus(t, mustSession(t, e, id), "the focus on main.py line 5", func(f sockets.Focus) bool { return f.File == "main.py" && f.Line == 5 })
	w.waitFor(t, "the watcher shown line 5", `!!document.querySelector('#py-gutter .ln[data-line="5"][data-teacher]') && document.getElementById("app").classList.contains("with-code")`)
	follows("7-python")
	owner.noErrors(t)
	w.noErrors(t)
}

// mustSession is session id of e's manager.
func mustSession(t testing.TB, e *testEnv, id string) *sockets.Session {
	t.Helper()
	s, ok := e.mgr.Get(id)
	if !ok {
		t.Fatalf("no session %s", id)
	}
	return s
}
