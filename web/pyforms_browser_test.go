package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/export"
)

// TestBrowserPythonFormsMatchExport: the page's Python view and the export
// render the op table's Python forms alike, for every op: the call on a
// socket's variable, and what Python prints for its value.
func TestBrowserPythonFormsMatchExport(t *testing.T) {
	h, l := sockets.How(1), sockets.How(2)
	f, tr := false, true
	n, zero, big := 4, 0, 1<<31-1
	delay := 0.25
	text := func(s string) *sockets.Data { return sockets.B64Data([]byte(s)) }
	rep := text("ab")
	rep.Repeat = &n
	cases := []sockets.Event{
		{Op: "socket", Sock: "s1", Args: &sockets.Args{Family: "inet6", Type: "dgram"}, OK: true, Result: &sockets.Result{Sock: "s1"}},
		{Op: "socket", Sock: "s2", OK: true, Result: &sockets.Result{Sock: "s2"}},
		{Op: "getaddrinfo", Args: &sockets.Args{Host: "localhost", Port: json.RawMessage("80"), Family: "inet"}, OK: true,
			Result: &sockets.Result{AddrInfo: []sockets.AddrInfo{{Family: "inet", Type: "stream", Proto: 6, Addr: "127.0.0.1:80"}}}},
		{Op: "getaddrinfo", Args: &sockets.Args{Host: "it's", Port: json.RawMessage(`"http"`)}, OK: true, Result: &sockets.Result{}},
		{Op: "gethostbyname", Args: &sockets.Args{Host: "localhost"}, OK: true, Result: &sockets.Result{Addr: "127.0.0.1"}},
		{Op: "unlink", Args: &sockets.Args{Addr: "/tmp/echo.sock"}, OK: true, Result: &sockets.Result{}},
		{Op: "focus", Args: &sockets.Args{More: &sockets.More{Focus: &sockets.Focus{Sock: "s3", View: "timeline", Lesson: "udp", Step: 4, File: "echo.py", Line: 9}}}, OK: true, Result: &sockets.Result{}},
		{Op: "focus", Args: &sockets.Args{More: &sockets.More{Focus: &sockets.Focus{Sock: "s1"}}}, OK: true, Result: &sockets.Result{}},
		{Op: "gethostname", OK: true, Result: &sockets.Result{Addr: "lab-1"}},
		{Op: "python", Args: &sockets.Args{More: &sockets.More{Kind: "stdout", Text: "it's\n\tdone"}}, OK: true, Result: &sockets.Result{}},
		{Op: "select", Args: &sockets.Args{Timeout: sockets.Timeout{Set: true, Seconds: 1.5}, More: &sockets.More{RList: []string{"s1", "s2"}, XList: []string{"s1"}}}, OK: true,
			Result: &sockets.Result{Ready: &sockets.Ready{RList: []string{"s2"}}}},
		{Op: "select", Args: &sockets.Args{More: &sockets.More{WList: []string{"s2"}}}, OK: true, Result: &sockets.Result{Ready: &sockets.Ready{WList: []string{"s2"}}}},
		{Op: "bind", Sock: "s1", Args: &sockets.Args{Addr: "[::1]:9000"}, OK: true, Result: &sockets.Result{Local: "[::1]:9000"}},
		{Op: "listen", Sock: "s1", OK: true, Result: &sockets.Result{}},
		{Op: "listen", Sock: "s1", Args: &sockets.Args{Backlog: &big}, OK: true, Result: &sockets.Result{}},
		{Op: "accept", Sock: "s1", OK: true, Result: &sockets.Result{Sock: "s3", Peer: "127.0.0.1:5000"}},
		{Op: "connect", Sock: "s2", Args: &sockets.Args{Addr: "127.0.0.1:1"}, Error: &sockets.Error{Errno: "ECONNREFUSED", Num: 111, Exc: "ConnectionRefusedError", Msg: "Connection refused"}},
		{Op: "send", Sock: "s2", Args: &sockets.Args{Data: text("hi\r\n'\"")}, OK: true, Result: &sockets.Result{N: &n}},
		{Op: "sendall", Sock: "s2", Args: &sockets.Args{Data: rep}, OK: true, Result: &sockets.Result{N: &n}},
		{Op: "sendto", Sock: "s1", Args: &sockets.Args{Data: text("x"), Addr: "127.0.0.1:7009"}, OK: true, Result: &sockets.Result{N: &n}},
		{Op: "sendchunks", Sock: "s2", Args: &sockets.Args{Data: text("abcd"), Chunk: &n, Delay: &delay}, OK: true, Result: &sockets.Result{N: &n}},
		{Op: "recv", Sock: "s2", Args: &sockets.Args{Bufsize: &n}, OK: true, Result: &sockets.Result{N: &n, Data: []byte("hell")}},
		{Op: "recvfrom", Sock: "s1", Args: &sockets.Args{Bufsize: &n}, OK: true, Result: &sockets.Result{N: &n, Data: []byte{0, 0xff}, Addr: "127.0.0.1:7009"}},
		{Op: "recvall", Sock: "s2", Args: &sockets.Args{Bufsize: &n}, OK: true, Result: &sockets.Result{N: &n, Data: []byte("o wo")}},
		{Op: "autorecv", Sock: "s2", OK: true, Result: &sockets.Result{}},
		{Op: "autorecv", Sock: "s2", Args: &sockets.Args{Bufsize: &zero}, OK: true, Result: &sockets.Result{}},
		{Op: "autorecv", Sock: "s2", Args: &sockets.Args{On: &f}, OK: true, Result: &sockets.Result{}},
		{Op: "autoaccept", Sock: "s1", Args: &sockets.Args{On: &tr}, OK: true, Result: &sockets.Result{}},
		{Op: "settimeout", Sock: "s2", Args: &sockets.Args{Timeout: sockets.Timeout{Set: true, Seconds: 2}}, OK: true, Result: &sockets.Result{}},
		{Op: "settimeout", Sock: "s2", Args: &sockets.Args{Timeout: sockets.Timeout{Set: true, None: true}}, OK: true, Result: &sockets.Result{}},
		{Op: "setblocking", Sock: "s2", Args: &sockets.Args{Flag: &f}, OK: true, Result: &sockets.Result{}},
		{Op: "gettimeout", Sock: "s2", OK: true, Result: &sockets.Result{Mode: "timeout", Timeout: &delay}},
		{Op: "setsockopt", Sock: "s2", Args: &sockets.Args{Name: "TCP_NODELAY", Value: json.RawMessage("true")}, OK: true, Result: &sockets.Result{}},
		{Op: "setsockopt", Sock: "s2", Args: &sockets.Args{Level: "SOL_SOCKET", Name: "SO_LINGER", Value: json.RawMessage(`{"onoff": 1, "linger": 0}`)}, OK: true, Result: &sockets.Result{}},
		{Op: "getsockopt", Sock: "s2", Args: &sockets.Args{Name: "SO_RCVBUF"}, OK: true, Result: &sockets.Result{Value: 131072}},
		{Op: "shutdown", Sock: "s2", Args: &sockets.Args{How: &h}, OK: true, Result: &sockets.Result{}},
		{Op: "shutdown", Sock: "s2", Args: &sockets.Args{How: &l}, OK: true, Result: &sockets.Result{}},
		{Op: "close", Sock: "s2", OK: true, Result: &sockets.Result{}},
		{Op: "getsockname", Sock: "s1", OK: true, Result: &sockets.Result{Local: "[::1]:9000"}},
		{Op: "getpeername", Sock: "s3", OK: true, Result: &sockets.Result{Peer: "127.0.0.1:5000"}},
	}
	// Every address the wire can carry, as typed or as the kernel gave it,
	// reads as Python: a tuple or a string, never a broken literal.
	addrs := []string{":5000", "localhost:9000", "127.0.0.1:7007", "[::1]:9000", "[fe80::1%lo]:9", "a'b:80", `back\slash:1`, "localhost:0080",
		"/tmp/echo.sock", "/tmp/x:80", "demo.sock", "::1:80", "host:port", "[::1]", ""}
	for _, a := range addrs {
		cases = append(cases,
			sockets.Event{Op: "connect", Sock: "s2", Args: &sockets.Args{Addr: a}, OK: true, Result: &sockets.Result{}},
			sockets.Event{Op: "getsockname", Sock: "s2", OK: true, Result: &sockets.Result{Local: a}},
			sockets.Event{Op: "recvfrom", Sock: "s1", Args: &sockets.Args{Bufsize: &n}, OK: true, Result: &sockets.Result{N: &zero, Data: []byte{}, Addr: a}})
	}
	// A long repeated run reads as that run times its count, on both
	// sides: the tutorial's b"x" * 1_000_000, never a megabyte literal.
	long := []sockets.Event{
		{Op: "sendall", Sock: "s2", Args: &sockets.Args{Data: text(strings.Repeat("x", 1_000_000))}, OK: true, Result: &sockets.Result{}},
		{Op: "recv", Sock: "s2", Args: &sockets.Args{Bufsize: &big}, OK: true, Result: &sockets.Result{N: &n, Data: []byte(strings.Repeat("abc", 400) + "ab")}},
	}
	cases = append(cases, long...)
	covered := map[string]bool{}
	for _, ev := range cases {
		covered[ev.Op] = true
	}
	for _, op := range sockets.OpNames() {
		if !covered[op] {
			t.Errorf("no case for op %q", op)
		}
	}
	e := newEnv(t)
	b := newBrowser(t)
	// A page without the table (or a worker) loads it from GET /api/ops.
	b.do(t, "open a page that is no session's", chromedp.Navigate(e.srv.URL+"/static/style.css"))
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`import("/static/ops.js").then((m) => m.pyForm("recv", {bufsize: 4}, "s1"))`, chromedp.EvalAwaitPromise))
	if err != nil || got != "s1.recv(4)" {
		t.Fatalf("ops.js without the page's table: %q, %v", got, err)
	}
	b = openPage(t, e)
	var pyCode []string
	for _, ev := range cases {
		js, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[2]string](fmt.Sprintf(`import("/static/ops.js").then((m) => {
			const ev = %s;
			return [m.pyForm(ev.op, ev.args, ev.sock || "socket"), m.pyResult(ev)];
		})`, js), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		sock := ev.Sock
		if sock == "" {
			sock = "socket"
		}
		want := [2]string{export.Call(sock, ev.Op, ev.Args), export.ResultRepr(ev)}
		if got != want {
			t.Errorf("%s %s:\n  page   %q\n  export %q", ev.Op, js, got, want)
		}
		if ev.OK && (ev.Op == "connect" || ev.Op == "getsockname" || ev.Op == "recvfrom") {
			pyCode = append(pyCode, got[0], got[1])
		}
	}
	for _, ev := range long {
		pyCode = append(pyCode, export.Call("s2", ev.Op, ev.Args), export.ResultRepr(ev))
	}
	validPython(t, pyCode)
	// Any other long buffer the page cuts after 1024 bytes, as an
	// expanded row; the export writes it whole.
	noise := make([]byte, 3000)
	for i := range noise {
		noise[i] = byte(i*7919 + i*i)
	}
	js, _ := json.Marshal(sockets.Event{Op: "recv", Sock: "s2", Args: &sockets.Args{Bufsize: &big}, OK: true, Result: &sockets.Result{N: &n, Data: noise}})
	cut, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`import("/static/ops.js").then((m) => m.pyResult(`+string(js)+`))`, chromedp.EvalAwaitPromise))
	if want := export.PyBytes(noise[:1024]) + "…"; err != nil || cut != want {
		t.Errorf("a 3000-byte recv of no repeated run, in the page: %.60q… (%v), want the first 1024 bytes' literal and …", cut, err)
	}
	// The log's text for a call without one of its own is Python's
	// reading of the result, never a blanket None.
	for _, c := range []struct{ ev, want string }{
		{`{"op":"gethostname","ok":true,"result":{"addr":"lab-1"}}`, "'lab-1'"},
		{`{"op":"listen","sock":"s1","ok":true,"result":{}}`, "None"},
	} {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`import("/static/event.js").then((m) => m.resultText(`+c.ev+`))`, chromedp.EvalAwaitPromise))
		if err != nil || got != c.want {
			t.Errorf("the log's text for %s: %q %v, want %q", c.ev, got, err, c.want)
		}
	}
}

// validPython fails the test unless python3 parses each of these
// expressions.
func validPython(t *testing.T, exprs []string) {
	t.Helper()
	py := testkit.Python(t)
	src, err := json.Marshal(exprs)
	if err != nil {
		t.Fatal(err)
	}
	prog := `import ast, json, sys
bad = []
for e in json.load(sys.stdin):
    try:
        ast.parse(e, mode="eval")
    except SyntaxError as x:
        bad.append(f"{e!r}: {x.msg}")
print("\n".join(bad))`
	cmd := exec.Command(py, "-c", prog)
	cmd.Stdin = bytes.NewReader(src)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v: %s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("not valid Python:\n%s", s)
	}
}
