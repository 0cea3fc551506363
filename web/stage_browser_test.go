package web

import (
	"fmt"
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
	owner.do(t, "the owner picks s2", chromedp.Click(chromedp.CSS("#sock-s2 .sock-title")))
	awaitFocus(t, s, "the focus on s2", func(f sockets.Focus) bool { return f.Sock == "s2" && f.View == "ruler" })

	// A watcher joining sees s2, from the state.
	link := watchLinkOf(t, e.srv.URL, id)
	w := owner.newTab(t)
	w.do(t, "open the watch link", focusEmulation(), chromedp.Navigate(e.srv.URL+link.URL))
	w.waitFor(t, "the watcher on s2, following", watcherShows("s2", "ruler")+" && "+followingJS)
	w.waitFor(t, "where the teacher is", `document.getElementById("follow-where").textContent.includes("s2")`)

	// Live: the owner moves to s3, then to the timeline.
	owner.do(t, "the owner picks s3", chromedp.Click(chromedp.CSS("#sock-s3 .sock-title")))
	w.waitFor(t, "the watcher on s3", watcherShows("s3", "ruler"))
	owner.do(t, "the owner opens the timeline", chromedp.Click(chromedp.CSS("#tab-timeline")))
	w.waitFor(t, "the watcher on the timeline", watcherShows("s3", "timeline"))
	owner.do(t, "back to the ruler", chromedp.Click(chromedp.CSS("#tab-ruler")))
	w.waitFor(t, "the watcher on the ruler", watcherShows("s3", "ruler"))

	// Paced: ten changes within a few milliseconds are one focus op, and
	// a click that changes nothing is none.
	awaitFocus(t, s, "the focus on s3's ruler", func(f sockets.Focus) bool { return f.Sock == "s3" && f.View == "ruler" })
	before := focusOps(s)
	eval[bool](t, owner, "ten quick changes", `(() => { for (let i = 0; i < 10; i++) document.querySelector(i % 2 ? "#sock-s1 .sock-title" : "#sock-s2 .sock-title").click(); return true; })()`)
	awaitFocus(t, s, "the focus on s1", func(f sockets.Focus) bool { return f.Sock == "s1" })
	owner.do(t, "click s1 again", chromedp.Click(chromedp.CSS("#sock-s1 .sock-title")))
	owner.do(t, "then s2", chromedp.Click(chromedp.CSS("#sock-s2 .sock-title")))
	awaitFocus(t, s, "the focus on s2", func(f sockets.Focus) bool { return f.Sock == "s2" })
	if got := focusOps(s) - before; got != 2 {
		t.Errorf("ten quick changes, a click on the socket in use and one more change made %d focus ops, want 2", got)
	}
	w.waitFor(t, "the watcher on s2", watcherShows("s2", "ruler"))

	// The watcher looks elsewhere: they stay there while the owner moves.
	w.do(t, "the watcher picks s1", chromedp.Click(chromedp.CSS("#sock-s1 .sock-title")))
	w.waitFor(t, "the watcher no longer following", `!(`+followingJS+`) && `+watcherShows("s1", "ruler"))
	owner.do(t, "the owner picks s3", chromedp.Click(chromedp.CSS("#sock-s3 .sock-title")))
	awaitFocus(t, s, "the focus on s3", func(f sockets.Focus) bool { return f.Sock == "s3" })
	w.waitFor(t, "the watcher told where the owner is", `document.getElementById("follow-where").textContent.includes("s3")`)
	if !eval[bool](t, w, "the watcher's socket", watcherShows("s1", "ruler")) {
		t.Fatal("the watcher who picked s1 was moved by the owner")
	}

	// "follow teacher" takes them back, and they follow again.
	w.do(t, "follow teacher", chromedp.Click(chromedp.CSS("#follow-toggle")))
	w.waitFor(t, "the watcher back on s3", followingJS+" && "+watcherShows("s3", "ruler"))

	// A lesson's step is part of the focus.
	lesson := eval[string](t, owner, "a lesson", `document.querySelector("#lesson-select option[value]:not([value=''])").value`)
	eval[bool](t, owner, "choose the lesson", fmt.Sprintf(`(() => { const s = document.getElementById("lesson-select"); s.value = %q; s.dispatchEvent(new Event("change")); return true; })()`, lesson))
	owner.waitFor(t, "its steps", `!!document.querySelector("#lesson .lesson-step.current")`)
	awaitFocus(t, s, "the lesson in the focus", func(f sockets.Focus) bool { return f.Lesson == lesson && f.Step == 0 })
	owner.do(t, "run a step", chromedp.Click(chromedp.CSS(`#lesson button[data-act=step]`)))
	awaitFocus(t, s, "its next step in the focus", func(f sockets.Focus) bool { return f.Lesson == lesson && f.Step == 1 })
	w.waitFor(t, "the watcher told the step", fmt.Sprintf(`document.getElementById("follow-where").textContent.includes("lesson %s, step 2")`, lesson))

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
	owner.screenshot(t, "follow-owner.png")
	w.screenshot(t, "follow-watcher.png")
	owner.noErrors(t)
	w.noErrors(t)
}
