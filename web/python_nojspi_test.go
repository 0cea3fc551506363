package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// withoutJSPI makes the browser of b a browser without JSPI for the
// Python worker: its script is served with WebAssembly.Suspending (what
// Pyodide and the worker look for) taken away before anything looks.
// Chromium 156 has no flag that turns JSPI off (it shipped in 137; V8's
// --experimental-wasm-jspi is gone, and neither --disable-features nor
// --disable-blink-features=WebAssemblyJSPromiseIntegration removes it),
// so this is how a browser without it is had here.
func withoutJSPI(t *testing.T, b *browser, base string) {
	t.Helper()
	resp, err := http.Get(base + "/static/py/worker.js")
	if err != nil {
		t.Fatal(err)
	}
	src, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("worker.js: %v %s", err, resp.Status)
	}
	body := []byte("delete WebAssembly.Suspending; delete WebAssembly.promising;\n" + string(src))
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	b.do(t, "intercept the worker's script", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/static/py/worker.js"}}})
		return err
	}))
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:       ev.RequestID,
					ResponseCode:    200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript; charset=utf-8"}},
					Body:            body,
				})
				return err
			}))
		}
	}()
}

// TestPythonWithoutJSPI: in a browser without JSPI, Python runs on
// synchronous requests: single-threaded programs run and print as in
// CPython, time.sleep and input() work, a thread raises a RuntimeError
// that says threads need JSPI, and the page says so by its controls.
func TestPythonWithoutJSPI(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	b := newBrowser(t)
	withoutJSPI(t, b, e.srv.URL)
	b.do(t, "open the page", chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	p := &pyPage{browser: b, e: e, session: pageSession(t, b)}
	var ready struct {
		JSPI struct {
			Suspending bool `json:"suspending"`
			CanRunSync bool `json:"can_run_sync"`
		} `json:"jspi"`
	}
	if err := json.Unmarshal([]byte(p.eval(t, `sockplay.python.ready().then(r => JSON.stringify(r))`)), &ready); err != nil {
		t.Fatal(err)
	}
	if ready.JSPI.Suspending || ready.JSPI.CanRunSync {
		t.Fatalf("the worker has JSPI (%+v): the test did not take it away", ready.JSPI)
	}
	if !eval[bool](t, b, "JSPI in the page", `typeof WebAssembly.Suspending === "function"`) {
		t.Fatal("the page itself lacks JSPI: this Chromium cannot run the other Python tests")
	}
	b.waitFor(t, "the page says threads need JSPI", `!document.getElementById("py-nojspi").hidden && document.getElementById("py-step").disabled`)

	// Single-threaded examples, as in CPython.
	for _, ex := range static.Examples() {
		switch ex.Name {
		case "echo-client.py", "http-get.py", "select-server.py", "timeouts.py", "udp-upper-client.py", "reassembly.py":
		default:
			continue
		}
		t.Run(ex.Name, func(t *testing.T) {
			src := ex.WithLabs(e.labs.AddrOf)
			stdin := examplesStdin[ex.Name]
			want := hostPython(t, ex.Name, src, stdin)
			if got := p.ok(t, src, stdin); normalPorts(got) != normalPorts(want) {
				t.Fatalf("the page printed\n%s\nCPython on the host printed\n%s", got, want)
			}
		})
	}

	t.Run("sleep", func(t *testing.T) {
		out := p.ok(t, `import time
t = time.monotonic()
time.sleep(0.4)
d = time.monotonic() - t
print(0.4 <= d < 2.0)
`, "")
		if out != "True\n" {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("input", func(t *testing.T) {
		out := p.ok(t, `name = input("name? ")
print("hello", name)
try:
    input()
except EOFError:
    print("EOF")
`, "ada\n")
		if out != "name? hello ada\nEOF\n" {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("input from the box", func(t *testing.T) {
		b.do(t, "type the program, Run", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.getElementById("py-example"); s.value = "main.py"; s.dispatchEvent(new Event("change")); const c = document.getElementById("py-source"); c.value = %q; c.dispatchEvent(new Event("input")); })()`, "print(input('who? ').upper())\n")),
			clickStill("#py-run"))
		b.waitFor(t, "input() asks", `document.getElementById("py-ps").textContent === "input()"`)
		p.typeLine(t, "the box")
		p.awaitTranscript(t, "who? the box\nTHE BOX\n── main.py ended ──")
	})
	t.Run("a thread", func(t *testing.T) {
		r := p.run(t, `import threading
threading.Thread(target=print, args=("never",)).start()
`, "")
		if r.Exception == nil || r.Exception.Type != "RuntimeError" || !strings.Contains(r.Exception.Message, "JSPI") || strings.Contains(r.Stdout, "never") {
			t.Fatalf("a thread without JSPI: %+v, stdout %q", r.Exception, r.Stdout)
		}
		t.Logf("%s: %s", r.Exception.Type, r.Exception.Message)
	})
	t.Run("stop during a blocking recv", func(t *testing.T) {
		started := p.eval(t, `(async () => {
			let printed;
			const seen = new Promise(r => printed = r);
			window.pyRun = sockplay.python.run("import socket\ns = socket.create_connection(`+strings.ReplaceAll(pyAddr(e.labAddr(t, "discard", "tcp")), `"`, `\"`)+`)\nprint('waiting', flush=True)\ns.recv(10)\nprint('never')", {onStdout: printed});
			return await seen;
		})()`)
		if started != "waiting\n" {
			t.Fatalf("printed %q", started)
		}
		p.eval(t, `(sockplay.python.stop(), "")`)
		if got := p.eval(t, `window.pyRun.then(r => JSON.stringify(r))`); !strings.Contains(got, `"type":"Stopped"`) {
			t.Fatalf("stopped run: %s", got)
		}
		if out := p.ok(t, `print("again")`, ""); out != "again\n" {
			t.Fatalf("after stop: %q", out)
		}
	})
	b.noErrors(t)
}
