package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// lessonProgress is where a session is in a lesson, as the API says it.
type lessonProgress struct {
	Next  int               `json:"next"`
	Names map[string]string `json:"names"` // the ids the lesson's sockets got
}

func (e *testEnv) lessonNames(t testing.TB, session, lesson string) lessonProgress {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + session + "/lessons/" + lesson)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Progress lessonProgress `json:"progress"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	return ans.Progress
}

// lessonPanel is what the lessons panel shows, read by lessonPanelJS.
type lessonPanel struct {
	Status  string         `json:"status"`
	Now     string         `json:"now"`
	All     string         `json:"all"`
	Looks   []string       `json:"looks"`
	Buttons map[string]btn `json:"buttons"`
	Views   string         `json:"views"`
	Sock    string         `json:"sock"`
	Detail  string         `json:"detail"`
}

type btn struct {
	Text     string `json:"text"`
	Disabled bool   `json:"disabled"`
	Hidden   bool   `json:"hidden"`
}

const lessonPanelJS = `JSON.stringify({
	status: document.querySelector("#lesson .lesson-status").textContent,
	now: document.querySelector("#lesson .lesson-now").textContent,
	all: document.querySelector("#lesson .lesson-steps").textContent,
	looks: [...document.querySelectorAll("#lesson .lesson-steps .look")].map(n => n.textContent),
	buttons: Object.fromEntries([...document.querySelectorAll("#lesson button[data-act]")].map(b => [b.dataset.act, {text: b.textContent, disabled: b.disabled, hidden: b.hidden}])),
	views: document.getElementById("views-sock").textContent,
	sock: document.querySelector(".sock-card.current") ? document.querySelector(".sock-card.current").id : "",
	detail: document.getElementById("detail").hidden ? "" : document.getElementById("detail-call").textContent,
})`

func panelOf(t testing.TB, b *browser) lessonPanel {
	t.Helper()
	var p lessonPanel
	if err := json.Unmarshal([]byte(eval[string](t, b, "the lessons panel", lessonPanelJS)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowserLessonNamesAndEnd runs the timeouts lesson through the page
// at 1280×800, as a teacher would: its text names the sockets by the ids
// the page gives them (never the lesson's own c and d), each step's
// socket becomes the socket in use (the views and the detail pane show
// it), and at the end the buttons say that only starting again is left.
func TestBrowserLessonNamesAndEnd(t *testing.T) {
	const lesson = "timeouts-and-non-blocking"
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	id := pageSession(t, b)
	// A socket made before the lesson: the lesson's c is then not s1.
	e.ok(t, id, `{"op":"socket"}`)
	b.waitFor(t, "s1's card", `!!document.getElementById("sock-s1")`)
	b.do(t, "choose the lesson", chromedp.SetValue(chromedp.CSS("#lesson-select"), lesson))
	b.waitFor(t, "its steps", `document.querySelectorAll("#lesson .lesson-steps .lesson-step").length > 10`)

	// Before it runs, a socket to be made is named by the step that makes it.
	p := panelOf(t, b)
	if !strings.Contains(p.Status, "15 steps") || p.Buttons["step"].Disabled || p.Buttons["all"].Disabled {
		t.Fatalf("a lesson not yet run: %+v", p)
	}
	if !strings.Contains(p.All, "Connect the socket of step 1 to the discard lab") {
		t.Fatalf("step 2 before step 1 ran: %q", p.All)
	}

	// Step by step: the socket step 1 made is named by its id everywhere,
	// and is the socket in use.
	b.do(t, "run step 1", clickStill(`#lesson button[data-act="step"]`))
	b.waitFor(t, "step 1 done", `document.querySelector("#lesson .lesson-status").textContent === "Step 2 of 15 next."`)
	c := e.lessonNames(t, id, lesson).Names["c"]
	if c == "" || c == "s1" {
		t.Fatalf("the lesson's c is %q", c)
	}
	b.waitFor(t, c+" in use", fmt.Sprintf(`document.querySelector(".sock-card.current") && document.querySelector(".sock-card.current").id === "sock-%s" && document.getElementById("views-sock").textContent === "· %s"`, c, c))
	p = panelOf(t, b)
	if want := "Connect " + c + " to the discard lab"; !strings.Contains(p.Now, want) || !strings.Contains(p.All, want) {
		t.Fatalf("after step 1, want %q in the next step:\nnow: %q\nall: %q", want, p.Now, p.All)
	}

	b.do(t, "run all", clickStill(`#lesson button[data-act="all"]`))
	b.waitFor(t, "the end", `!!document.querySelector("#lesson .lesson-now .lesson-end")`)
	b.waitFor(t, "every step done, as expected", `[...document.querySelectorAll("#lesson .lesson-steps .lesson-step")].every(li => li.classList.contains("done"))`)
	b.waitFor(t, "the buttons at rest", `!document.querySelector('#lesson button[data-act="reset"]').disabled`)
	names := e.lessonNames(t, id, lesson).Names
	d := names["d"]
	if names["c"] != c || d == "" || d == c {
		t.Fatalf("names %v", names)
	}
	// The views, and the card the last steps made, are drawn on a later
	// frame.
	b.waitFor(t, "the views and the card in use on "+d, fmt.Sprintf(`document.getElementById("views-sock").textContent === "· %s" && document.querySelector(".sock-card.current")?.id === "sock-%s"`, d, d))
	p = panelOf(t, b)
	if !strings.HasPrefix(p.Status, "The lesson is over") {
		t.Errorf("status %q", p.Status)
	}
	for _, act := range []string{"step", "all", "skip"} {
		if !p.Buttons[act].Disabled {
			t.Errorf("%s is enabled after the last step: %+v", act, p.Buttons)
		}
	}
	if r := p.Buttons["reset"]; r.Disabled || r.Text != "start again" {
		t.Errorf("reset after the end: %+v", r)
	}
	if !p.Buttons["stop"].Hidden {
		t.Errorf("stop shows with nothing running")
	}
	// The last step closed d: d is in use, the views and the detail pane
	// show it.
	if p.Sock != "sock-"+d || p.Views != "· "+d || !strings.Contains(p.Detail, "close") {
		t.Errorf("after the last step (close %s): card in use %q, views %q, detail %q", d, p.Sock, p.Views, p.Detail)
	}
	if want := "Close both: " + c + ","; !strings.Contains(p.All, want) {
		t.Errorf("want %q in %q", want, p.All)
	}
	wantLook := "Look: The netstat table shows both sockets ESTABLISHED. Modes belong to the socket, not to the connection: " + c + " is still non-blocking."
	found := false
	for _, l := range p.Looks {
		found = found || l == wantLook
		if strings.Contains(l, "${") || strings.Contains(l, " c is ") || strings.Contains(l, "the socket of step") {
			t.Errorf("a hint names a socket as the lesson does, not as the page: %q", l)
		}
	}
	if !found {
		t.Errorf("no hint %q in %q", wantLook, p.Looks)
	}
	if strings.Contains(p.All, "${") || strings.Contains(p.Now, "${") {
		t.Errorf("a placeholder shows: %q", p.All)
	}

	// A socket named in the text is a button to it.
	b.do(t, "click "+c+" in the hint", clickStill(`#lesson .lesson-steps .look .sock-ref`))
	b.waitFor(t, c+" in use again", fmt.Sprintf(`document.getElementById("views-sock").textContent === "· %s"`, c))

	// Start again: new sockets, new names, the buttons back.
	b.do(t, "start again", clickStill(`#lesson button[data-act="reset"]`))
	b.waitFor(t, "back at step 1", `document.querySelector("#lesson .lesson-status").textContent === "15 steps: run the first." && !document.querySelector('#lesson button[data-act="step"]').disabled`)
	if r := panelOf(t, b).Buttons["reset"]; r.Text != "reset" {
		t.Errorf("reset before the end: %+v", r)
	}
	b.noErrors(t)
}

// inViewJS is JS that is true when the element sel picks is wholly on
// screen: in the window, and in the part shown of every box around it
// that scrolls (the page's left column does, on a wide screen).
func inViewJS(sel string) string {
	return fmt.Sprintf(`(() => {
		const n = document.querySelector(%q);
		if (!n || !n.getClientRects().length) return false;
		const r = n.getBoundingClientRect();
		const inside = (o) => r.top >= o.top - 1 && r.bottom <= o.bottom + 1 && r.left >= o.left - 1 && r.right <= o.right + 1;
		if (!inside({top: 0, left: 0, bottom: innerHeight, right: innerWidth})) return false;
		for (let a = n.parentElement; a && a !== document.body; a = a.parentElement) {
			const s = getComputedStyle(a);
			if ((s.overflowY !== "visible" || s.overflowX !== "visible") && !inside(a.getBoundingClientRect())) return false;
		}
		return true;
	})()`, sel)
}

// unscrolledJS defines unscrolled(n): between n and the lessons panel,
// the panel included, no box scrolls or hides what overflows it.
const unscrolledJS = `window.unscrolled = (n) => {
	const panel = document.getElementById("lesson");
	for (let a = n.parentElement; a; a = a.parentElement) {
		const s = getComputedStyle(a);
		if ((s.overflowY !== "visible" && a.scrollHeight > a.clientHeight + 1) || (s.overflowX !== "visible" && a.scrollWidth > a.clientWidth + 1)) return false;
		if (a === panel) return true;
	}
	return false;
}; true`

// TestBrowserLessonHintsInView runs the chat-server lesson, the longest,
// at 1280×800: after each step the step just run, with its "Look:" hint,
// and the next step are on screen whole, and at the end the end is; no
// hint of any step sits in a box of the panel that scrolls.
func TestBrowserLessonHintsInView(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open the page", focusEmulation(), chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	eval[bool](t, b, "unscrolled", unscrolledJS)
	b.do(t, "choose the chat server lesson", chromedp.SetValue(chromedp.CSS("#lesson-select"), "chat-server"))
	b.waitFor(t, "its steps", `document.querySelectorAll("#lesson .lesson-steps .lesson-step").length > 20`)
	n := eval[int](t, b, "its steps", `document.querySelectorAll("#lesson .lesson-steps .lesson-step").length`)
	dir := shotsDir(t)
	for i := 1; i <= 15; i++ {
		b.do(t, fmt.Sprintf("run step %d", i), clickStill(`#lesson button[data-act="step"]`))
		b.waitFor(t, fmt.Sprintf("step %d done", i), fmt.Sprintf(`document.querySelector("#lesson .lesson-status").textContent === "Step %d of %d next." && !document.querySelector('#lesson button[data-act="step"]').disabled`, i+1, n))
		b.waitFor(t, fmt.Sprintf("step %d and the next in view", i), inViewJS("#lesson .lesson-now .just")+" && "+inViewJS("#lesson .lesson-now .next"))
		if eval[bool](t, b, "a hint", `!!document.querySelector("#lesson .lesson-now .just .look")`) {
			b.waitFor(t, fmt.Sprintf("step %d's hint in view", i), inViewJS("#lesson .lesson-now .just .look"))
		}
		if i == 15 {
			// It waited on ca: the views show ca.
			ca := e.lessonNames(t, pageSession(t, b), "chat-server").Names["ca"]
			b.waitFor(t, "the views on "+ca, fmt.Sprintf(`document.getElementById("views-sock").textContent === "· %s"`, ca))
			// The step with the hint about the receive queues of ca, cb, cc.
			if look := eval[string](t, b, "step 15's hint", `document.querySelector("#lesson .lesson-now .just .look").textContent`); !strings.HasPrefix(look, "Look: The recv-Q gauge of s") || strings.Contains(look, " ca ") {
				t.Errorf("step 15's hint: %q", look)
			}
			b.viewShot(t, dir, "lesson-step-1280.png")
		}
	}
	b.do(t, "run all", clickStill(`#lesson button[data-act="all"]`))
	b.waitFor(t, "the end, in view", inViewJS("#lesson .lesson-now .lesson-end"))
	b.waitFor(t, "the last step in view", inViewJS("#lesson .lesson-now .just"))
	// The last step closed ca: the views show it.
	ca := e.lessonNames(t, pageSession(t, b), "chat-server").Names["ca"]
	b.waitFor(t, "the views on "+ca, fmt.Sprintf(`document.getElementById("views-sock").textContent === "· %s"`, ca))
	if !eval[bool](t, b, "the list", `document.querySelector("#lesson .lesson-all").open`) {
		t.Error("after run all the list of steps is closed")
	}
	looks := eval[int](t, b, "the hints", `document.querySelectorAll("#lesson .lesson-steps .look").length`)
	if looks < 8 {
		t.Errorf("%d hints in the list", looks)
	}
	if !eval[bool](t, b, "no hint in a scroll box", `[...document.querySelectorAll("#lesson .look, #lesson .lesson-end")].every(unscrolled)`) {
		t.Error("a hint or the end sits in a box of the lessons panel that scrolls")
	}
	b.viewShot(t, dir, "lesson-end-1280.png")
	b.noErrors(t)
}
