package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// pyResult is what window.sockplay.python.run resolves with.
type pyResult struct {
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	Exception *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"exception"`
}

// pyPage is a session's page with Python loaded.
type pyPage struct {
	*browser
	e       *testEnv
	session string
}

func openPython(t testing.TB, e *testEnv) *pyPage {
	t.Helper()
	b := newBrowser(t)
	b.do(t, "open the page", chromedp.Navigate(e.srv.URL+"/"))
	b.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	p := &pyPage{browser: b, e: e}
	var err error
	if p.session, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("app").dataset.session`)); err != nil {
		t.Fatal(err)
	}
	ready := p.eval(t, `sockplay.python.ready().then(r => JSON.stringify(r))`)
	var r struct {
		JSPI struct {
			Plain       bool   `json:"plain"`
			CanRunSync  bool   `json:"can_run_sync"`
			PythonVersn string `json:"version"`
		} `json:"jspi"`
	}
	if err := json.Unmarshal([]byte(ready), &r); err != nil {
		t.Fatalf("ready: %q: %v", ready, err)
	}
	if !r.JSPI.CanRunSync || !strings.HasPrefix(r.JSPI.PythonVersn, "3.14") {
		t.Fatalf("Python ready as %s: want CPython 3.14 able to block through run_sync (JSPI)", ready)
	}
	t.Logf("Python ready: %s", ready)
	return p
}

// eval runs JS that resolves with a string.
func (p *pyPage) eval(t testing.TB, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v (page errors: %v)", js, err, p.pageErrors())
	}
	return s
}

// run runs a program through the page's hook.
func (p *pyPage) run(t testing.TB, source, stdin string) pyResult {
	t.Helper()
	src, _ := json.Marshal(source)
	in, _ := json.Marshal(stdin)
	out := p.eval(t, fmt.Sprintf(`sockplay.python.run(%s, {stdin: %s}).then(r => JSON.stringify(r))`, src, in))
	var r pyResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run: %q: %v", out, err)
	}
	return r
}

// ok runs a program that must end without an exception.
func (p *pyPage) ok(t testing.TB, source, stdin string) string {
	t.Helper()
	r := p.run(t, source, stdin)
	if r.Exception != nil {
		t.Fatalf("the program raised %s: %s\nstdout:\n%s\nstderr:\n%s", r.Exception.Type, r.Exception.Message, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

func (e *testEnv) labAddr(t testing.TB, name, proto string) string {
	t.Helper()
	for _, l := range e.labs.Labs() {
		if l.Name == name && l.Proto == proto {
			return l.Addr
		}
	}
	t.Fatalf("no %s lab over %s", name, proto)
	return ""
}

// pyAddr is "host:port" as a Python tuple.
func pyAddr(addr string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf("(%q, %s)", host, port)
}

func TestPythonPrograms(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	echo := pyAddr(e.labAddr(t, "echo", "tcp"))

	// What a fresh boot imports from the standard library is unmarshalled
	// from the bytecode vendored beside it (scripts/compile-stdlib.mjs),
	// not compiled from source: a module missing from its list would cost
	// every cold start its compilation.
	t.Run("stdlib from bytecode", func(t *testing.T) {
		out := p.ok(t, `import sys, zipimport
zipped = [m.__file__ for m in list(sys.modules.values()) if isinstance(getattr(m, "__loader__", None), zipimport.zipimporter)]
print(len(zipped), sorted(f for f in zipped if not f.endswith(".pyc")))
`, "")
		var n int
		var rest string
		if _, err := fmt.Sscanf(out, "%d %s", &n, &rest); err != nil || n < 50 || strings.TrimSpace(strings.SplitN(out, " ", 2)[1]) != "[]" {
			t.Fatalf("modules from the stdlib's zip, and those compiled from source: %q; want over 50, none from source", out)
		}
	})

	t.Run("echo client", func(t *testing.T) {
		out := p.ok(t, `import socket

HOST, PORT = `+echo+`
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    s.sendall(b"Hello, world")
    data = s.recv(1024)
print(f"Received {data!r}")
`, "")
		if out != "Received b'Hello, world'\n" {
			t.Fatalf("stdout %q", out)
		}
		// The calls are the session's events, as the page's own are.
		evs := p.e.events(t, p.session)
		var ops []string
		for _, ev := range evs {
			if ev.Op != "stats" && ev.Op != "python" && ev.Op != "focus" {
				ops = append(ops, ev.Op)
			}
		}
		if got := strings.Join(ops, " "); !strings.HasSuffix(got, "socket connect sendall recv close") {
			t.Fatalf("events %s, want the program's calls", got)
		}
	})

	t.Run("refused connect", func(t *testing.T) {
		r := p.run(t, `import socket
s = socket.socket()
try:
    s.connect(("127.0.0.1", 1))
except ConnectionRefusedError as e:
    print(type(e).__name__, e.errno, e.strerror, isinstance(e, socket.error))
s.close()
print(s.connect_ex(("127.0.0.1", 1)) if False else socket.socket().connect_ex(("127.0.0.1", 1)))
socket.create_connection(("127.0.0.1", 1))
`, "")
		if r.Stdout != "ConnectionRefusedError 111 Connection refused True\n111\n" {
			t.Errorf("stdout %q", r.Stdout)
		}
		if r.Exception == nil || r.Exception.Type != "ConnectionRefusedError" || r.Exception.Message != "[Errno 111] Connection refused" {
			t.Errorf("exception %+v, want ConnectionRefusedError [Errno 111]", r.Exception)
		}
		if !strings.Contains(r.Stderr, `File "main.py", line 9, in <module>`) || !strings.HasSuffix(r.Stderr, "ConnectionRefusedError: [Errno 111] Connection refused\n") {
			t.Errorf("traceback:\n%s", r.Stderr)
		}
		// socket.py's frames show its lines, as CPython's do: imported
		// from bytecode, its source is read for the traceback.
		if !regexp.MustCompile(`File "/lib/python314\.zip/socket\.py", line \d+, in create_connection\n    \S`).MatchString(r.Stderr) {
			t.Errorf("traceback without socket.py's lines:\n%s", r.Stderr)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		r := p.run(t, `import socket
s = socket.create_connection(`+echo+`, timeout=0.2)
print(s.gettimeout(), socket.timeout is TimeoutError)
s.recv(10)
`, "")
		if r.Stdout != "0.2 True\n" || r.Exception == nil || r.Exception.Type != "TimeoutError" || r.Exception.Message != "timed out" {
			t.Fatalf("stdout %q exception %+v, want TimeoutError: timed out", r.Stdout, r.Exception)
		}
	})

	t.Run("input", func(t *testing.T) {
		out := p.ok(t, `name = input("name? ")
n = int(input())
print(f"hello {name} x{n}")
try:
    input()
except EOFError as e:
    print("EOF:", e)
`, "ada\n3\n")
		if out != "name? hello ada x3\nEOF: EOF when reading a line\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("thread per client", func(t *testing.T) {
		out := p.ok(t, `import socket, threading

def handle(conn, addr):
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data.upper())

srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]

def serve():
    for _ in range(3):
        conn, addr = srv.accept()
        threading.Thread(target=handle, args=(conn, addr)).start()

threading.Thread(target=serve, daemon=True).start()
results = {}
lock = threading.Lock()

def client(i):
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(b"hello from client %d" % i)
        got = c.recv(1024)
    with lock:
        results[i] = got

ts = [threading.Thread(target=client, args=(i,), name=f"client-{i}") for i in range(3)]
for t in ts: t.start()
for t in ts: t.join()
srv.close()
for i in sorted(results): print(i, results[i])
`, "")
		want := "0 b'HELLO FROM CLIENT 0'\n1 b'HELLO FROM CLIENT 1'\n2 b'HELLO FROM CLIENT 2'\n"
		if out != want {
			t.Fatalf("stdout %q, want %q", out, want)
		}
	})

	// Every op says where in the program it was made: the user's file and
	// line (past the standard library's frames), and the thread's name.
	t.Run("origin", func(t *testing.T) {
		out := p.ok(t, `import _sockplay, socket, threading
def where():
    return _sockplay.origin()
print(where())
t = threading.Thread(target=lambda: print(where()), name="worker-1")
t.start(); t.join()
c = socket.create_connection(`+echo+`)
print(_sockplay.last_origin)
c.close()
`, "")
		want := "{'thread': 'MainThread', 'file': 'main.py', 'line': 3}\n" +
			"{'thread': 'worker-1', 'file': 'main.py', 'line': 3}\n" +
			"{'thread': 'MainThread', 'file': 'main.py', 'line': 7}\n"
		if out != want {
			t.Fatalf("origins\n%s\nwant\n%s", out, want)
		}
		// The engine takes it with the op and puts it in the op's event.
		s, _ := p.e.mgr.Get(p.session)
		var connect *sockets.Event
		for _, ev := range s.EventsAfter(0, 0) {
			if ev.Op == "connect" {
				connect = &ev
			}
		}
		if connect == nil || connect.Origin == nil || *connect.Origin != (sockets.Origin{File: "main.py", Line: 7, Thread: "MainThread"}) {
			t.Fatalf("the connect's event: %+v", connect)
		}
	})

	t.Run("stop during a blocking recv", func(t *testing.T) {
		started := p.eval(t, `(async () => {
			let printed;
			const seen = new Promise(r => printed = r);
			window.pyRun = sockplay.python.run("import socket\ns = socket.create_connection(`+strings.ReplaceAll(echo, `"`, `\"`)+`)\nprint('waiting', flush=True)\ns.recv(10)\nprint('never')", {onStdout: printed});
			return await seen;
		})()`)
		if started != "waiting\n" {
			t.Fatalf("printed %q", started)
		}
		// The program's socket: that of its last call (a focus, which
		// the page may send meanwhile, is on no socket).
		var sock string
		for _, ev := range p.e.events(t, p.session) {
			if ev.Origin != nil && ev.Sock != "" {
				sock = ev.Sock
			}
		}
		p.eval(t, `(sockplay.python.stop(), "")`)
		got := p.eval(t, `window.pyRun.then(r => JSON.stringify(r))`)
		if !strings.Contains(got, `"exception":{"type":"Stopped"`) || strings.Contains(got, "never") {
			t.Fatalf("stopped run: %s", got)
		}
		// Its socket is closed, the pending recv with it; and the next
		// program runs in a fresh worker.
		p.e.awaitEvent(t, p.session, func(ev sockets.Event) bool { return ev.Op == "close" && ev.Sock == sock })
		if out := p.ok(t, `print("again")`, ""); out != "again\n" {
			t.Fatalf("after stop: %q", out)
		}
	})
	p.noErrors(t)
}

// events is the session's log, read over HTTP.
func (e *testEnv) events(t testing.TB, id string) []sockets.Event {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var evs []sockets.Event
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var ev sockets.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// awaitEvent waits for an event of session id that ok accepts.
func (e *testEnv) awaitEvent(t testing.TB, id string, ok func(sockets.Event) bool) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/events?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan bool, 1)
	go func() {
		dec := json.NewDecoder(resp.Body)
		for {
			var ev sockets.Event
			if dec.Decode(&ev) != nil {
				done <- false
				return
			}
			if ok(ev) {
				done <- true
				return
			}
		}
	}()
	select {
	case found := <-done:
		if !found {
			t.Fatal("the event stream ended before the event came")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the event did not come")
	}
}

// runHostPython runs source in the host's CPython, in a directory of its
// own (for AF_UNIX names), and returns its stdout; the test is skipped
// without python3.
func runHostPython(t *testing.T, source string) string {
	t.Helper()
	return hostPython(t, "main.py", source, "")
}

// hostPython runs source as the file name in the host's CPython, with
// stdin, in a directory of its own, and returns its stdout.
func hostPython(t *testing.T, name, source, stdin string) string {
	t.Helper()
	py := testkit.Python(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, name)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("host CPython: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// TestPythonMatchesCPython runs programs that cover the socket module as
// the tutorials and the HOWTO use it, in the page and in the host's
// CPython against the same labs: their outputs must be the same.
func TestPythonMatchesCPython(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	labs := fmt.Sprintf("ECHO = %s\nUPPER = %s\nHTTP = %s\n", pyAddr(e.labAddr(t, "echo", "tcp")), pyAddr(e.labAddr(t, "upper", "udp")), pyAddr(e.labAddr(t, "http", "tcp")))
	for _, c := range []struct{ name, source string }{
		{"module", `import socket
print(socket.error is OSError, socket.timeout is TimeoutError, issubclass(socket.gaierror, OSError), issubclass(socket.herror, OSError))
print(socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOL_SOCKET)
print(socket.SO_REUSEADDR, socket.SO_REUSEPORT, socket.SO_RCVBUF, socket.SO_SNDBUF, socket.SO_KEEPALIVE, socket.SO_LINGER)
print(socket.IPPROTO_TCP, socket.TCP_NODELAY, socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR, socket.MSG_PEEK, socket.SOMAXCONN)
print(repr(socket.AF_INET), repr(socket.SOCK_DGRAM), socket.AddressFamily(1).name)
print(socket.htons(0x1234) == 0x3412, socket.inet_aton("127.0.0.1"), socket.inet_ntoa(b"\x7f\x00\x00\x01"))
s = socket.socket()
print(s.family, s.type, s.proto, repr(s.family), s.gettimeout(), s.getblocking(), s.fileno() > 2)
try:
    s.send("hello")
except TypeError as e:
    print("TypeError:", e)
try:
    s.bind("127.0.0.1:80")
except TypeError as e:
    print("TypeError:", e)
s.close()
s.close()
print(s.fileno(), "closed" in repr(s))
try:
    s.recv(1)
except OSError as e:
    print(type(e).__name__, e.errno)
`},
		{"listen's backlog, past a C int and a C long", `import socket
for b in (2**31, -2**31 - 1, 2**63, -2**63 - 1, -5, 0):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    try:
        s.listen(b)
        print(b, "listening")
    except OverflowError as e:
        print(b, "OverflowError:", e)
    s.close()
`},
		{"timeouts", `import socket
socket.setdefaulttimeout(2.5)
print(socket.getdefaulttimeout())
srv = socket.create_server(("127.0.0.1", 0))
print(srv.gettimeout())
c = socket.create_connection(srv.getsockname())
conn, addr = srv.accept()
print(conn.gettimeout(), c.gettimeout(), addr[0])
socket.setdefaulttimeout(None)
srv.settimeout(1.0)
c2 = socket.create_connection(srv.getsockname())
conn2, _ = srv.accept()
print(conn2.gettimeout(), conn2.getblocking())
conn2.setblocking(False)
print(conn2.gettimeout(), conn2.getblocking())
try:
    conn2.recv(10)
except BlockingIOError as e:
    print("BlockingIOError", e.errno)
conn2.settimeout(0.1)
try:
    conn2.recv(10)
except socket.timeout as e:
    print("timeout:", e, e.errno)
try:
    conn2.settimeout(-1)
except ValueError as e:
    print("ValueError:", e)
for s in (srv, c, conn, c2, conn2):
    s.close()
`},
		{"echo: recv_into, makefile", `import socket
with socket.create_connection(ECHO) as s:
    s.sendall(b"hello world")
    buf = bytearray(5)
    print(s.recv_into(buf), buf)
    print(s.recv_into(memoryview(buf)[1:], 3), buf)
    print(s.recv(3))
    f = s.makefile("rw", encoding="utf-8", newline="")
    f.write("line one\nline two\n")
    f.flush()
    print(repr(f.readline()), repr(f.readline()))
    b = s.makefile("rwb", buffering=0)
    b.write(b"bytes\n")
    print(b.read(6))
    f.close(); b.close()
    print(s.fileno() > 0)
    s.shutdown(socket.SHUT_WR)
    print(s.recv(10))
print(s.fileno())
`},
		{"sendfile", `import socket, os
with open("payload.bin", "wb") as f:
    f.write(bytes(range(256)) * 40)
with socket.create_connection(ECHO) as s, open("payload.bin", "rb") as f:
    print(s.sendfile(f, 100, 5000), f.tell())
    got = b""
    while len(got) < 5000:
        got += s.recv(8192)
    print(got == (bytes(range(256)) * 40)[100:5100])
os.remove("payload.bin")
`},
		{"udp: sendto, recvfrom_into", `import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(u.sendto(b"hello", UPPER))
data, addr = u.recvfrom(1024)
print(data, addr == UPPER)
buf = bytearray(3)
u.sendto(b"abcdef", UPPER)
n, addr = u.recvfrom_into(buf)
print(n, buf, addr == UPPER)
u.close()
`},
		{"names", `import socket
print(socket.gethostbyname("localhost"), socket.gethostbyname("127.0.0.1"))
print(socket.getaddrinfo("127.0.0.1", 7007, type=socket.SOCK_STREAM))
print(socket.getaddrinfo("localhost", 80, socket.AF_INET))
try:
    socket.getaddrinfo("127.0.0.1", "nosuchservice")
except socket.gaierror as e:
    print(repr(e), e.errno)
h = socket.gethostname()
print(type(h).__name__, socket.gethostbyname(h).startswith("127."))
`},
		{"socketpair and unix", `import socket
a, b = socket.socketpair()
print(a.family, b.family, a.type)
a.sendall(b"ping")
print(b.recv(4))
a.close(); b.close()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind("demo.sock")
srv.listen()
print(srv.getsockname())
c = socket.socket(socket.AF_UNIX)
c.connect("demo.sock")
conn, addr = srv.accept()
c.sendall(b"over unix")
print(conn.recv(100), repr(addr), c.getpeername())
for s in (c, conn, srv):
    s.close()
`},
		{"threads", `import threading, time, queue, _thread
ev, cond, rl, q, out = threading.Event(), threading.Condition(), threading.RLock(), queue.Queue(), []
def producer():
    for i in range(3):
        time.sleep(0.01)
        q.put(i)
    q.put(None)
def consumer():
    while (x := q.get()) is not None:
        with rl:
            with rl:
                out.append((x, threading.current_thread().name))
    ev.set()
threading.Thread(target=producer).start()
c = threading.Thread(target=consumer, name="consumer")
c.start()
print(ev.wait(5), out)
c.join()
print(c.is_alive(), c.name)
lk, done = _thread.allocate_lock(), []
lk.acquire()
_thread.start_new_thread(lambda a: (done.append(a), lk.release()), (7,))
print(lk.acquire(timeout=5), done, lk.acquire(timeout=0.05), lk.locked())
with cond:
    t = threading.Thread(target=lambda: (cond.acquire(), cond.notify(), cond.release()))
    t.start()
    print(cond.wait(5))
t.join()
local = threading.local()
local.x = 1
def g():
    local.x = 2
    print("in thread", local.x)
tt = threading.Thread(target=g)
tt.start(); tt.join()
print(local.x)
sem, order = threading.Semaphore(2), []
def worker(i):
    with sem:
        order.append(i)
        time.sleep(0.02)
ws = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for w in ws: w.start()
for w in ws: w.join()
print(sorted(order))
timer = threading.Timer(0.01, lambda: print("timer"))
timer.start(); timer.join()
print(threading.active_count(), threading.current_thread().name, threading.main_thread().name)
`},
		{"ipv6", `import socket
srv = socket.create_server(("::1", 0), family=socket.AF_INET6)
host, port, flow, scope = srv.getsockname()
print(host, flow, scope, srv.family)
c = socket.create_connection(("::1", port))
conn, addr = srv.accept()
print(c.getpeername() == srv.getsockname(), addr[0], c.family, conn.getsockname()[0])
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(("::1", 0))
u.sendto(b"v6", u.getsockname())
print(u.recvfrom(10)[0], socket.getaddrinfo("::1", 80, socket.AF_INET6, socket.SOCK_STREAM)[0][4])
for s in (srv, c, conn, u):
    s.close()
`},
		{"http by hand and http.client", `import socket, http.client
s = socket.create_connection(HTTP)
s.send(b"GET /hello HTTP/1.0\r\n\r\n")
reply = b""
while chunk := s.recv(4096):
    reply += chunk
s.close()
print(reply.split(b"\r\n")[0], reply.split(b"\r\n\r\n", 1)[1])
c = http.client.HTTPConnection(*HTTP, timeout=5)
c.request("GET", "/hello")
r = c.getresponse()
print(r.status, r.reason, r.read())
c.close()
`},
		{"options", `import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
print(struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)))
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
s.close()
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := labs + c.source
			got := p.ok(t, src, "")
			if want := runHostPython(t, src); got != want {
				t.Fatalf("the page's Python printed\n%s\nCPython on the host printed\n%s", got, want)
			}
		})
	}
	p.noErrors(t)
}

// TestPythonSelect: select.select, selectors and socketserver on the
// engine's select op, compared with the host's CPython.
func TestPythonSelect(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	labs := fmt.Sprintf("ECHO = %s\n", pyAddr(e.labAddr(t, "echo", "tcp")))
	for _, c := range []struct{ name, source string }{
		{"select server", `import select, socket
srv = socket.create_server(("127.0.0.1", 0))
srv.setblocking(False)
clients = [socket.create_connection(srv.getsockname()) for _ in range(3)]
for i, c in enumerate(clients):
    c.sendall(b"msg %d" % i)
inputs, got = [srv], []
while len(got) < 3:
    readable, _, _ = select.select(inputs, [], [], 5)
    for s in readable:
        if s is srv:
            conn, _ = srv.accept()
            inputs.append(conn)
        else:
            data = s.recv(100)
            got.append(data)
            s.sendall(data.upper())
            inputs.remove(s)
print(sorted(got), [c.recv(100) for c in clients])
print(select.select([clients[0]], [clients[0]], [], 0)[1] == [clients[0]])
# The server's end of clients[0] was garbage, so closed: EOF is readable.
print(select.select([clients[0]], [], [], 0.05)[0] == [clients[0]], clients[0].recv(10))
print(select.select([clients[2]], [], [], 0.05))
try:
    select.select([], [], [], -1)
except ValueError as e:
    print("ValueError:", e)
`},
		{"selectors echo", labs + `import selectors, socket
sel = selectors.DefaultSelector()
s = socket.create_connection(ECHO)
s.setblocking(False)
sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
sent, got = False, b""
while len(got) < 5:
    for key, mask in sel.select(timeout=5):
        if mask & selectors.EVENT_WRITE and not sent:
            key.fileobj.send(b"hello")
            sent = True
            sel.modify(s, selectors.EVENT_READ)
        elif mask & selectors.EVENT_READ:
            got += key.fileobj.recv(100)
print(got)
sel.close()
s.close()
`},
		{"socketserver", `import socket, socketserver, threading
class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())
with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Upper) as srv:
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    for i in range(2):
        with socket.create_connection(srv.server_address) as c:
            c.sendall(b"line %d\n" % i)
            print(c.makefile("rb").readline())
    srv.shutdown()
    t.join()
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data[::-1], self.client_address)
with socketserver.UDPServer(("127.0.0.1", 0), Echo) as udp:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"abc", udp.server_address)
    udp.handle_request()
    print(u.recvfrom(10)[0])
    u.close()
`},
		{"asyncio", labs + `import asyncio
async def handle(reader, writer):
    data = await reader.readline()
    writer.write(data.upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"hello asyncio\n")
        print(await r.readline())
        w.close()
        await w.wait_closed()
        r2, w2 = await asyncio.open_connection(*ECHO)
        w2.write(b"echo\n")
        print(await asyncio.wait_for(r2.readline(), 5))
        w2.close()
asyncio.run(main())
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := p.ok(t, c.source, "")
			if want := runHostPython(t, c.source); got != want {
				t.Fatalf("the page's Python printed\n%s\nCPython on the host printed\n%s", got, want)
			}
		})
	}
	p.noErrors(t)
}

// TestPythonRateLimit: a program that makes more ops than
// -max-ops-per-sec allows slows down to the limit and never sees it.
func TestPythonRateLimit(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{MaxOpsPerSec: 40})
	p := openPython(t, e)
	out := p.ok(t, `import socket
s = socket.socket()
for _ in range(100):
    s.getsockname()
s.close()
print("done")
`, "")
	n := 0
	for _, ev := range e.events(t, p.session) {
		if ev.Op == "getsockname" && ev.OK {
			n++
		}
	}
	if out != "done\n" || n != 100 {
		t.Fatalf("stdout %q and %d getsockname events, want done and 100", out, n)
	}
}
