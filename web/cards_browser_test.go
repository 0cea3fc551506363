package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAddrParse runs the page's address parser (static/addr.js) on
// the addresses as tutorials, netcat and URLs write them: each becomes the
// wire's one form, and each mistake is said in words, never sent.
func TestBrowserAddrParse(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	b.do(t, "open a page", chromedp.Navigate(e.srv.URL+"/healthz"))
	cases := []struct {
		in, family string
		addr       string // the wire's form, or "" when it is refused
		err        string // a part of the error said
	}{
		{`('', 5000)`, "inet", ":5000", ""},
		{`("localhost", 9000)`, "inet", "localhost:9000", ""},
		{`('127.0.0.1', 7007)`, "inet", "127.0.0.1:7007", ""},
		{` ( 'localhost' , 9000 , ) `, "inet", "localhost:9000", ""},
		{`localhost:9000`, "inet", "localhost:9000", ""},
		{`:5000`, "inet", ":5000", ""},
		{`'':5000`, "inet", ":5000", ""},
		{`"localhost":80`, "inet", "localhost:80", ""},
		{`localhost 9000`, "inet", "localhost:9000", ""},
		{`127.0.0.1:0`, "inet", "127.0.0.1:0", ""},
		{`localhost:0080`, "inet", "localhost:80", ""},
		{`[::1]:9000`, "inet6", "[::1]:9000", ""},
		{`('::1', 9000, 0, 0)`, "inet6", "[::1]:9000", ""},
		{`('::1', 9000)`, "inet6", "[::1]:9000", ""},
		{`('', 9000)`, "inet6", ":9000", ""},
		{`[fe80::1%lo]:9`, "inet6", "[fe80::1%lo]:9", ""},
		{`/tmp/echo.sock`, "unix", "/tmp/echo.sock", ""},
		{`demo.sock`, "unix", "demo.sock", ""},
		{`'/tmp/echo.sock'`, "unix", "/tmp/echo.sock", ""},
		{`"a b.sock"`, "unix", "a b.sock", ""},

		{``, "inet", "", "the address is empty"},
		{`   `, "inet", "", "the address is empty"},
		{`5000`, "inet", "", "is only a port: give a host too, ('', 5000)"},
		{`localhost`, "inet", "", "has no port"},
		{`localhost:`, "inet", "", "the port is missing"},
		{`localhost:http`, "inet", "", `not "http"`},
		{`localhost:70000`, "inet", "", "0-65535, not 70000"},
		{`('localhost', '80')`, "inet", "", "the port is a number, not a string"},
		{`(localhost, 80)`, "inet", "", "write the host in quotes"},
		{`(HOST, PORT)`, "inet", "", "write the host in quotes"},
		{`('localhost', 80`, "inet", "", "no closing parenthesis"},
		{`('localhost, 80)`, "inet", "", "no address tuple"},
		{`('a', 1, 2)`, "inet", "", "has 3 items"},
		{`::1:9000`, "inet6", "", "in brackets before its port: [::1]:9000"},
		{`local host:80`, "inet", "", "no host name"},
		{`http://localhost:8080/`, "inet", "", "is a URL: a socket takes a host and a port, e.g. localhost:8080"},
		{`/tmp/echo.sock`, "inet", "", "is a path, an AF_UNIX address"},
		{``, "unix", "", "an AF_UNIX address is a path"},
		{`('', 5000)`, "unix", "", "not a tuple"},
		{`''`, "unix", "", "the path is empty"},
	}
	in := make([][2]string, len(cases))
	for i, c := range cases {
		in[i] = [2]string{c.in, c.family}
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct{ Addr, Error string }
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`import("/static/addr.js").then((m) => JSON.stringify(%s.map(([s, f]) => m.parseAddr(s, f))))`, js), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		g := got[i]
		switch {
		case c.addr != "" && (g.Addr != c.addr || g.Error != ""):
			t.Errorf("parseAddr(%q, %s) = %+v, want %q", c.in, c.family, g, c.addr)
		case c.addr == "" && (g.Addr != "" || !strings.Contains(g.Error, c.err)):
			t.Errorf("parseAddr(%q, %s) = %+v, want an error saying %q", c.in, c.family, g, c.err)
		}
	}
}

// TestBrowserTutorialAddresses: a server by hand with the tutorials'
// tuples typed in the card's box, a client connecting to it by
// ("localhost", port); a bad address is said and never sent; the Python
// view prints the tuples back as valid Python.
func TestBrowserTutorialAddresses(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "socket() for the server", clickStill(`#new-socket button[type=submit]`))
	b.waitFor(t, "s1, its address box empty", `document.querySelector("#sock-s1 .addr")?.value === ""`)
	b.do(t, "bind(('127.0.0.1', 0))",
		chromedp.SetValue(chromedp.CSS("#sock-s1 .addr"), "('127.0.0.1', 0)"),
		clickStill("#sock-s1 button.bind"),
	)
	b.waitFor(t, "s1 bound", `document.querySelector("#sock-s1 .sock-state").textContent === "bound"`)
	b.do(t, "listen", clickStill("#sock-s1 button.listen"))
	b.waitFor(t, "s1 listening", `document.querySelector("#sock-s1 .sock-state").textContent === "listening"`)
	local, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#sock-s1 .sock-addrs").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	port := local[strings.LastIndexByte(local, ':')+1:]

	b.do(t, "socket() for the client", clickStill(`#new-socket button[type=submit]`))
	b.waitFor(t, "s2, its address box empty", `document.querySelector("#sock-s2 .addr")?.value === ""`)
	ops := `window.sockplayLog.events.filter((e) => e.op === "connect").length`
	b.do(t, "connect to a bad address",
		chromedp.SetValue(chromedp.CSS("#sock-s2 .addr"), "(localhost, "+port+")"),
		clickStill("#sock-s2 button.connect"),
	)
	b.waitFor(t, "the mistake said, the box marked", `document.getElementById("flash")?.textContent.startsWith("write the host in quotes") && document.querySelector("#sock-s2 .addr").getAttribute("aria-invalid") === "true"`)
	b.do(t, `connect(("localhost", port))`,
		chromedp.SetValue(chromedp.CSS("#sock-s2 .addr"), `("localhost", `+port+`)`),
		clickStill("#sock-s2 button.connect"),
	)
	b.waitFor(t, "s2 connected", `document.querySelector("#sock-s2 .sock-state").textContent.startsWith("connected") && !document.querySelector("#sock-s2 .addr").hasAttribute("aria-invalid")`)
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](ops)); err != nil || n != 1 {
		t.Fatalf("%d connect calls, want 1 (the bad address must not be sent): %v", n, err)
	}
	b.do(t, "Python view", clickStill("#python-view"))
	b.waitFor(t, "the calls as Python", fmt.Sprintf(`(() => {
		const py = [...document.querySelectorAll("#log-body .ev .call .py")].map((e) => e.textContent);
		return py.includes(">>> s1.bind(('127.0.0.1', 0))") && py.includes(">>> s2.connect(('localhost', %s))");
	})()`, port))
	b.noErrors(t)
}

// inView is JS that is true when the element is on screen, whole or, if
// taller than the window, filling it from its top.
func inView(sel string) string {
	return fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return false;
		const r = e.getBoundingClientRect();
		return r.height > 0 && r.top >= -1 && (r.bottom <= innerHeight + 1 || r.top < innerHeight / 3);
	})()`, sel)
}

// TestBrowserSocketInUse, on a 1280×800 screen: the socket made is the
// socket in use, in view, with the keyboard; a request template goes to
// it, not to the card clicked before; an empty send is said; a closed
// socket's calls still run, so their errors show.
func TestBrowserSocketInUse(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "a 1280×800 screen", chromedp.EmulateViewport(1280, 800))
	inUse := func(id string) string {
		return fmt.Sprintf(`document.querySelector("#sock-%s")?.classList.contains("current") && document.activeElement === document.querySelector("#sock-%s") && %s`, id, id, inView("#sock-"+id))
	}
	b.do(t, "a socket connected to echo", clickStill(`.lab-connect[data-lab="echo"][data-proto="tcp"]`))
	b.waitFor(t, "s1 in use, in view, with the keyboard", inUse("s1"))
	b.do(t, "a UDP socket",
		chromedp.SetValue(chromedp.CSS(`#new-socket select[name=type]`), "dgram"),
		clickStill(`#new-socket button[type=submit]`),
	)
	b.waitFor(t, "s2 in use, in view, with the keyboard", inUse("s2")+` && !document.querySelector("#sock-s1").classList.contains("current")`)
	b.do(t, "click s2, then a socket connected to the http lab",
		clickStill("#sock-s2 .sock-title"),
		clickStill(`.lab-connect[data-lab="http"]`),
	)
	b.waitFor(t, "s3 connected", `document.querySelector("#sock-s3 .sock-state")?.textContent.startsWith("connected")`)
	b.waitFor(t, "s3 in use", inUse("s3"))
	b.do(t, "the HTTP GET template",
		clickStill(`.reference summary`),
		clickStill(`.template[title^="GET / "]`),
	)
	b.waitFor(t, "the template in s3's box, not s2's", `document.querySelector("#sock-s3 .send-data").value.startsWith("GET / HTTP/1.0") && document.querySelector("#sock-s2 .send-data").value === "" && document.activeElement === document.querySelector("#sock-s3 .send-data") && `+inView("#sock-s3 .send-data"))
	b.screenshot(t, "in-use-template.png")

	// An empty box is said; a second press sends b''.
	sends := `window.sockplayLog.events.filter((e) => e.op === "send" && e.sock === "s3").length`
	b.do(t, "empty the box, send", setValue("#sock-s3 .send-data", ""), clickStill("#sock-s3 button.send"))
	b.waitFor(t, "the empty box said", `document.getElementById("flash")?.textContent.startsWith("the data box is empty")`)
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](sends)); err != nil || n != 0 {
		t.Fatalf("%d sends from an empty box, want 0: %v", n, err)
	}
	b.do(t, "send again", clickStill("#sock-s3 button.send"))
	b.waitFor(t, "send(b'') sent, returning 0", `window.sockplayLog.events.some((e) => e.op === "send" && e.sock === "s3" && e.ok && e.result.n === 0)`)

	// x closes the socket in use; its calls still run and say EBADF.
	b.do(t, "give s3 the keyboard, x", clickStill("#sock-s3 .sock-title"), chromedp.KeyEvent("x"))
	b.waitFor(t, "s3 closed", `document.querySelector("#sock-s3 .sock-state").textContent === "closed"`)
	b.waitFor(t, "its calls enabled", `[...document.querySelectorAll("#sock-s3 button, #sock-s3 input")].every((e) => !e.disabled)`)
	b.do(t, "send after close", setValue("#sock-s3 .send-data", "hi"), clickStill("#sock-s3 button.send"))
	b.waitFor(t, "OSError: [Errno 9]", `document.getElementById("flash")?.textContent === "OSError: [Errno 9] Bad file descriptor" && !document.getElementById("flash").hidden`)
	// The next call takes that mistake away: left on screen, it reads as
	// the new call's.
	b.do(t, "bind s2", clickStill("#sock-s2 .sock-title"), setValue("#sock-s2 .addr", "127.0.0.1:0"), clickStill("#sock-s2 button.bind"))
	b.waitFor(t, "bind answered", `window.sockplayLog.events.some((e) => e.op === "bind" && e.sock === "s2" && e.ok)`)
	if !eval[bool](t, b, "the message line", `document.getElementById("flash").hidden`) {
		t.Error("the mistake before is still said after the next call was answered")
	}

	// The socket in use chosen elsewhere (a lesson's step, the teacher
	// followed) comes into view too, without taking the keyboard.
	b.do(t, "the search box focused, the page at its top", chromedp.Focus(chromedp.CSS("#filter-search")), chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0); document.querySelector(".left").scrollTop = 0`))
	b.waitFor(t, "s1 out of view", "!"+inView("#sock-s1"))
	b.do(t, "s1 chosen by the page's state", chromedp.Evaluate[chromedp.Void](`import("/static/state.js").then((m) => m.set({ sock: "s1" }))`, chromedp.EvalAwaitPromise))
	b.waitFor(t, "s1 in view, the keyboard still in the search box", inView("#sock-s1")+` && document.activeElement === document.getElementById("filter-search")`)
	b.noErrors(t)
}

// TestBrowserRevealLetsGo, on a 1280×800 screen: the socket in use is
// brought into view as it is made, and again for a moment as its card
// grows; but once the user has scrolled elsewhere (up to the name
// lookups, say), the card growing leaves the page where they took it, and
// the button they aim at is still under the pointer.
func TestBrowserRevealLetsGo(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	id := pageSession(t, b)
	b.do(t, "a 1280×800 screen", chromedp.EmulateViewport(1280, 800))
	e.ok(t, id, `{"op":"socket","family":"inet","type":"stream"}`)
	b.waitFor(t, "s1 in use, in view", `!!document.querySelector("#sock-s1.current") && `+inView("#sock-s1"))
	b.do(t, "up to the name lookups", chromedp.Evaluate[chromedp.Void](`void document.getElementById("names").scrollIntoView({block: "start"})`))
	b.waitFor(t, "the form in view, s1's card not whole", inView("#names")+` && document.getElementById("sock-s1").getBoundingClientRect().bottom > innerHeight`)
	at := eval[float64](t, b, "where the page is", `scrollY`)
	// s1's card grows: connected, a line sent, its answer.
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hello\r\n"}}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":1024}`)
	b.waitFor(t, "s1's card grown", `document.querySelector("#sock-s1 .sock-state")?.textContent.startsWith("connected")`)
	b.do(t, "two frames", chromedp.Evaluate[chromedp.Void](settled, chromedp.EvalAwaitPromise))
	if now := eval[float64](t, b, "where the page is", `scrollY`); now != at {
		t.Errorf("the page moved from %.0f to %.0f px as s1's card grew, after the user had scrolled to the form", at, now)
	}
	b.do(t, "getaddrinfo()", clickStill(`#names button[value=getaddrinfo]`))
	b.waitFor(t, "its call", `window.sockplayLog.events.some(e => e.op === "getaddrinfo")`)
	b.noErrors(t)
}

// setValue sets a box's value as typing would, input event included.
func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const e = document.querySelector(%q);
			if (!e) return false;
			e.value = %q;
			e.dispatchEvent(new Event("input", { bubbles: true }));
			return true;
		})()`, sel, v)))
		if err == nil && !ok {
			err = fmt.Errorf("no %s", sel)
		}
		return err
	})
}

// visible is JS that is true when the element is shown (not display:none
// by its state, nor inside a closed part).
func visible(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.checkVisibility() === true)`, sel)
}

// TestBrowserCardsFit, on a 1280×800 screen: the labs one line each; a
// card shows the calls that fit its socket's state (no send on a
// listener, no shutdown on a UDP socket), the rest on demand; each call's
// answer is next to the control that asked, name lookups included.
func TestBrowserCardsFit(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "a 1280×800 screen", chromedp.EmulateViewport(1280, 800))
	b.waitFor(t, "the labs one line each, what they do folded", `(() => {
		const labs = [...document.querySelectorAll(".lab")];
		return labs.length > 10 && labs.every((l) => l.getBoundingClientRect().height < 36 && !l.querySelector(".lab-desc").checkVisibility());
	})()`)
	b.do(t, "open what the echo lab does", clickStill(`.lab:has(.lab-connect[data-lab="echo"]) summary`))
	b.waitFor(t, "its description", `document.querySelector('.lab:has(.lab-connect[data-lab="echo"]) .lab-desc').checkVisibility()`)
	b.waitFor(t, "the labs panel in the first screen's upper half", `document.querySelector(".labs").getBoundingClientRect().bottom < 420`)

	b.do(t, "gethostbyname('localhost')",
		setValue(`#names input[name=host]`, "localhost"),
		clickStill(`#names button[value=gethostbyname]`),
	)
	b.waitFor(t, "its answer by its form", `document.querySelector("#names .answer")?.textContent === "gethostbyname('localhost') → '127.0.0.1'" && `+inView("#names .answer"))

	// A listener: accept, not send, recv or shutdown.
	b.do(t, "socket(), bind, listen",
		clickStill(`#new-socket button[type=submit]`),
	)
	b.waitFor(t, "socket()'s answer by its form", `document.querySelector("#new-socket .answer")?.textContent === "socket(AF_INET, SOCK_STREAM) → <socket s1>"`)
	b.waitFor(t, "s1 new: address, connect, bind; no listen, send or recv", visible("#sock-s1 .addr")+" && "+visible("#sock-s1 button.connect")+" && "+visible("#sock-s1 button.bind")+
		" && !"+visible("#sock-s1 button.listen")+" && !"+visible("#sock-s1 .send-data")+" && !"+visible("#sock-s1 button.recv"))
	b.do(t, "bind", setValue("#sock-s1 .addr", "('127.0.0.1', 0)"), clickStill("#sock-s1 button.bind"))
	b.waitFor(t, "bind's answer in its row", `document.querySelector("#sock-s1 button.bind").closest(".row").querySelector(".answer").textContent.startsWith("bind(('127.0.0.1', 0)) → None")`)
	b.waitFor(t, "s1 bound: listen", `document.querySelector("#sock-s1 .sock-state").textContent === "bound" && `+visible("#sock-s1 button.listen")+" && !"+visible("#sock-s1 button.bind"))
	b.do(t, "listen", clickStill("#sock-s1 button.listen"))
	b.waitFor(t, "s1 listening: accept, no send, recv or shutdown", `document.querySelector("#sock-s1 .sock-state").textContent === "listening" && `+visible("#sock-s1 button.accept")+
		" && !"+visible("#sock-s1 .send-data")+" && !"+visible("#sock-s1 button.recv")+" && !"+visible("#sock-s1 button.shutdown-wr")+" && "+visible("#sock-s1 button.close"))
	b.do(t, "all calls", clickStill("#sock-s1 button.all-calls"))
	b.waitFor(t, "every call of s1", visible("#sock-s1 .send-data")+" && "+visible("#sock-s1 button.shutdown-wr")+" && "+visible("#sock-s1 button.getsockname"))
	b.do(t, "getsockname", clickStill("#sock-s1 button.getsockname"))
	b.waitFor(t, "getsockname's answer in its row", `document.querySelector("#sock-s1 button.getsockname").closest(".row").querySelector(".answer").textContent.startsWith("getsockname() → ('127.0.0.1', ")`)
	b.do(t, "fewer calls", clickStill("#sock-s1 button.all-calls"))
	b.waitFor(t, "s1's fitting calls again", "!"+visible("#sock-s1 .send-data"))

	// UDP: sendto and recvfrom, never a shutdown(SHUT_WR) up front.
	b.do(t, "a UDP socket",
		chromedp.SetValue(chromedp.CSS(`#new-socket select[name=type]`), "dgram"),
		clickStill(`#new-socket button[type=submit]`),
	)
	b.waitFor(t, "s2 new: sendto, bind; no shutdown", visible("#sock-s2 button.sendto")+" && "+visible("#sock-s2 button.bind")+" && !"+visible("#sock-s2 button.shutdown-wr")+" && !"+visible("#sock-s2 button.send"))
	host, port, _ := strings.Cut(e.labs.Addr("echo"), ":")
	b.do(t, "Enter in s2's data box: sendto the echo lab",
		setValue("#sock-s2 .sendto-addr", fmt.Sprintf("('%s', %s)", host, port)),
		setValue("#sock-s2 .send-data", "ping"),
		chromedp.Focus(chromedp.CSS("#sock-s2 .send-data")),
		chromedp.KeyEvent("\r"),
	)
	b.waitFor(t, "sendto's answer in its row", fmt.Sprintf(`document.querySelector("#sock-s2 button.sendto").closest(".row").querySelector(".answer").textContent === "sendto(b'ping', ('%s', %s)) → 4"`, host, port))

	// A connection: send and recv, each answered in its row.
	b.do(t, "a socket connected to echo", clickStill(`.lab-connect[data-lab="echo"][data-proto="tcp"]`))
	b.waitFor(t, "s3 connected: send, recv, shutdown(SHUT_WR); no bind or listen", `document.querySelector("#sock-s3 .sock-state")?.textContent.startsWith("connected") && `+
		visible("#sock-s3 button.send")+" && "+visible("#sock-s3 button.recv")+" && "+visible("#sock-s3 button.shutdown-wr")+" && !"+visible("#sock-s3 button.bind")+" && !"+visible("#sock-s3 button.listen"))
	b.waitFor(t, "no two fields both called bufsize", `[...document.querySelectorAll("#sock-s3 label")].filter((l) => l.checkVisibility() && /^\s*bufsize\s*$/.test([...l.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(""))).length === 0`)
	b.do(t, "send hi", setValue("#sock-s3 .send-data", "hi"), clickStill("#sock-s3 button.send"))
	b.waitFor(t, "send's answer in its row", `document.querySelector("#sock-s3 button.send").closest(".row").querySelector(".answer").textContent === "send(b'hi') → 2"`)
	b.do(t, "recv", clickStill("#sock-s3 button.recv"))
	b.waitFor(t, "recv's answer in its row, in view", `document.querySelector("#sock-s3 button.recv").closest(".row").querySelector(".answer").textContent === "recv(1024) → b'hi'" && `+inView("#sock-s3 button.recv"))
	b.do(t, "recv with no bufsize", setValue("#sock-s3 .recv-bufsize", ""), clickStill("#sock-s3 button.recv"))
	b.waitFor(t, "the mistake in recv's row", `(() => { const a = document.querySelector("#sock-s3 button.recv").closest(".row").querySelector(".answer"); return a.classList.contains("err") && a.textContent === "bufsize must be a whole number"; })()`)
	b.screenshot(t, "cards-fit.png")
	b.viewShot(t, shotsDir(t), "cards-fit-view.png")
	b.noErrors(t)
}

// sideBySide is JS that is true when the cards of a and b are side by
// side, both whole on screen, neither over the other.
func sideBySide(a, b string) string {
	return fmt.Sprintf(`(() => {
		const ra = document.querySelector("#sock-%s")?.getBoundingClientRect(), rb = document.querySelector("#sock-%s")?.getBoundingClientRect();
		if (!ra || !rb) return false;
		const onScreen = (r) => r.width > 150 && r.top >= -1 && r.bottom <= innerHeight + 1 && r.left >= 0 && r.right <= innerWidth;
		return onScreen(ra) && onScreen(rb) && Math.abs(ra.top - rb.top) < 2 && ra.right <= rb.left;
	})()`, a, b)
}

// TestBrowserSideBySide, on a 1280×800 screen: a server by hand, and the
// socket accept() made for the client side by side with the client, both
// whole on screen while they talk; then the same with AF_UNIX.
func TestBrowserSideBySide(t *testing.T) {
	e := newEnv(t)
	b := openPage(t, e)
	b.do(t, "a 1280×800 screen", chromedp.EmulateViewport(1280, 800))
	for _, c := range []struct{ family, addr, first string }{{"inet", "('127.0.0.1', 0)", "s1"}, {"unix", "demo.sock", "s4"}} {
		n := func(i int) string { return fmt.Sprintf("s%d", int(c.first[1]-'0')+i) }
		srv, cli, conn := n(0), n(1), n(2)
		for _, id := range []string{srv, cli} {
			b.do(t, "socket() "+c.family,
				chromedp.SetValue(chromedp.CSS(`#new-socket select[name=family]`), c.family),
				chromedp.SetValue(chromedp.CSS(`#new-socket select[name=type]`), "stream"),
				clickStill(`#new-socket button[type=submit]`),
			)
			b.waitFor(t, id, fmt.Sprintf(`!!document.querySelector("#sock-%s")`, id))
		}
		if c.family == "unix" {
			// With s2 and s3 side by side above, one click on the new
			// server's bind both chooses it (the pair parts, moving the
			// cards below) and binds.
			b.do(t, "choose s2", clickStill("#sock-s2 .sock-title"))
			b.waitFor(t, "s2 and s3 paired", `!!document.querySelector("#sock-s2.paired") && !!document.querySelector("#sock-s3.paired")`)
		}
		b.do(t, "bind "+srv, setValue("#sock-"+srv+" .addr", c.addr), clickStill("#sock-"+srv+" button.bind"))
		b.waitOr(t, srv+" bound", `JSON.stringify({act: document.activeElement.outerHTML.slice(0, 120), y: scrollY, flash: document.querySelector("#flash")?.textContent, ans: [...document.querySelectorAll(".sock-card .answer")].map((a) => a.textContent), cur: [...document.querySelectorAll(".sock-card.current")].map((c) => c.id), cards: [...document.querySelectorAll(".sock-card")].map((c) => c.id + " " + c.dataset.state)})`, fmt.Sprintf(`document.querySelector("#sock-%s .sock-state").textContent === "bound"`, srv))
		b.do(t, "listen", clickStill("#sock-"+srv+" button.listen"))
		b.waitFor(t, srv+" listening", fmt.Sprintf(`document.querySelector("#sock-%s .sock-state").textContent === "listening"`, srv))
		to := c.addr
		if c.family == "inet" {
			local, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#sock-`+srv+` .sock-addrs").textContent`))
			if err != nil {
				t.Fatal(err)
			}
			to = `("127.0.0.1", ` + local[strings.LastIndexByte(local, ':')+1:] + `)`
		}
		b.do(t, "accept", clickStill("#sock-"+srv+" button.accept"))
		// The pending call grows the listener's card, moving the cards
		// below it: a press and release either side of that is no click.
		b.waitFor(t, "accept pending on "+srv, fmt.Sprintf(`[...document.querySelectorAll("#sock-%s .pending li")].some((l) => l.textContent.includes("accept"))`, srv))
		b.do(t, cli+" connects", setValue("#sock-"+cli+" .addr", to), clickStill("#sock-"+cli+" button.connect"))
		b.waitOr(t, conn+", made by accept, in use", `JSON.stringify({act: document.activeElement.outerHTML.slice(0, 120), cur: [...document.querySelectorAll(".sock-card.current")].map((c) => c.id), cards: [...document.querySelectorAll(".sock-card")].map((c) => c.id + " " + c.dataset.state)})`, fmt.Sprintf(`document.querySelector("#sock-%s")?.classList.contains("current") && document.activeElement === document.querySelector("#sock-%s")`, conn, conn))
		b.waitFor(t, cli+" and "+conn+" side by side, whole on screen", sideBySide(cli, conn))
		b.do(t, cli+" sends", setValue("#sock-"+cli+" .send-data", "hello"), clickStill("#sock-"+cli+" button.send"))
		b.waitFor(t, "5 bytes in "+conn+"'s receive queue, both still side by side", fmt.Sprintf(`document.querySelector("#sock-%s .gauge-recv-Q .val")?.textContent.startsWith("5 /") && %s`, conn, sideBySide(cli, conn)))
		b.do(t, conn+" reads", clickStill("#sock-"+conn+" button.recv"))
		b.waitFor(t, "recv's answer on "+conn, fmt.Sprintf(`document.querySelector("#sock-%s button.recv").closest(".row").querySelector(".answer").textContent === "recv(1024) → b'hello'"`, conn))
		if c.family == "inet" {
			b.viewShot(t, shotsDir(t), "side-by-side.png")
		}
		// The listener, chosen, has no other end: it takes the width again.
		b.do(t, "choose "+srv, clickStill("#sock-"+srv+" .sock-title"))
		b.waitFor(t, "no pair", `!document.querySelector(".sock-card.paired") && [...document.querySelectorAll(".sock-card")].every((c) => c.getBoundingClientRect().width > 400)`)
		b.do(t, "choose "+cli, clickStill("#sock-"+cli+" .sock-title"))
		b.waitFor(t, cli+" and "+conn+" side by side again", sideBySide(cli, conn))
	}
	b.noErrors(t)
}

// waitOr is waitFor, saying what dump (JS) finds when it times out.
func (b *browser) waitOr(t testing.TB, what, dump, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		d, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](dump))
		t.Fatalf("waiting for %s: %v (page errors: %v); %s", what, err, b.pageErrors(), d)
	}
}
