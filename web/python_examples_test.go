package web

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// pyTracer records every call a program makes through socket, select
// and selectors as the op it is, with the line of the program (the file
// named NAME) it was made at (0: made by the standard library on a
// thread of its own). The same code runs in the host's CPython and in
// the page, so the two lists can be compared; in the page it is compiled
// as a file under /lib/, as the shim's are, so that the origin of the
// calls is still the program's line.
const pyTracer = `import os, selectors, socket, select, sys, threading

NAME = None
calls = []
_depth = threading.local()
_undo = []


def _line():
    f = sys._getframe(2)
    while f is not None:
        if os.path.basename(f.f_code.co_filename) == NAME:
            return f.f_lineno
        f = f.f_back
    return 0


def _traced(orig, op, when=None):
    def traced(*a, **k):
        # A call the traced one makes itself (recv_into making a recv) is
        # not a call of the program's.
        d = getattr(_depth, "n", 0)
        if d == 0 and (when is None or when(*a, **k)):
            calls.append((_line(), op))
        _depth.n = d + 1
        try:
            return orig(*a, **k)
        finally:
            _depth.n = d
    return traced


def _patch(obj, name, op, when=None):
    old = obj.__dict__.get(name) if isinstance(obj, type) else getattr(obj, name)
    _undo.append((obj, name, old))
    setattr(obj, name, _traced(getattr(obj, name), op, when))


S = socket.socket
_patch(S, "__init__", "socket", lambda self, family=-1, type=-1, proto=-1, fileno=None: fileno is None)
for name, op in [("connect", "connect"), ("connect_ex", "connect"), ("bind", "bind"),
                 ("listen", "listen"), ("_accept", "accept"), ("send", "send"),
                 ("sendall", "sendall"), ("sendto", "sendto"), ("recv", "recv"),
                 ("recv_into", "recv"), ("recvfrom", "recvfrom"),
                 ("recvfrom_into", "recvfrom"), ("settimeout", "settimeout"),
                 ("setblocking", "setblocking"), ("setsockopt", "setsockopt"),
                 ("getsockopt", "getsockopt"), ("shutdown", "shutdown"),
                 ("getsockname", "getsockname"), ("getpeername", "getpeername")]:
    _patch(S, name, op)
_patch(S, "_real_close", "close", lambda self, *a: self.fileno() != -1)
for name in ("getaddrinfo", "gethostbyname", "gethostname"):
    _patch(socket, name, name)
_patch(select, "select", "select")
# The removal of an AF_UNIX socket's old file: in the page, an op when the
# file is not in Python's own file system (as the host's, in a fresh
# directory, has none either).
_patch(os, "unlink", "unlink", lambda path, *a, **k: not os.path.lexists(path))


class _Poll:
    def __init__(self):
        self._p = select.poll()

    def register(self, *a):
        return self._p.register(*a)

    def modify(self, *a):
        return self._p.modify(*a)

    def unregister(self, *a):
        return self._p.unregister(*a)

    def poll(self, *a):
        calls.append((_line(), "select"))
        return self._p.poll(*a)


_undo.append((selectors.PollSelector, "_selector_cls", selectors.PollSelector._selector_cls))
selectors.PollSelector._selector_cls = _Poll


def undo():
    for obj, name, old in reversed(_undo):
        if old is None:
            delattr(obj, name)
        else:
            setattr(obj, name, old)
`

// lineOps counts calls by (line, op); line 0 (no line of the program) is
// left out.
type lineOps map[string]int

func (c lineOps) add(line int, op string) {
	if line > 0 {
		c[fmt.Sprintf("%03d %s", line, op)]++
	}
}

func (c lineOps) keys() []string {
	var ks []string
	for k := range c {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (c lineOps) String() string {
	var b strings.Builder
	for _, k := range c.keys() {
		fmt.Fprintf(&b, "%s ×%d\n", k, c[k])
	}
	return b.String()
}

func traceOps(t testing.TB, js string) lineOps {
	t.Helper()
	var calls [][2]any
	if err := json.Unmarshal([]byte(js), &calls); err != nil {
		t.Fatalf("the trace %q: %v", js, err)
	}
	c := lineOps{}
	for _, call := range calls {
		c.add(int(call[0].(float64)), call[1].(string))
	}
	return c
}

// hostTraced runs the example file name in the host's CPython with the
// tracer, as `python3 name` with stdin, and returns its stdout and the
// calls it made.
func hostTraced(t *testing.T, name, source, stdin string) (string, lineOps) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on this host to compare with")
	}
	dir := t.TempDir()
	driver := fmt.Sprintf(`import atexit, json, runpy, sys, types
m = types.ModuleType("sockplay_tracer")
exec(compile(%q, "tracer.py", "exec"), m.__dict__)
m.NAME = %q
# After the threads the program left are joined, as the interpreter ends.
atexit.register(lambda: open("trace.json", "w").write(json.dumps(m.calls)))
sys.argv = [%q]
runpy.run_path(%q, run_name="__main__")
`, pyTracer, name, name, name)
	for f, text := range map[string]string{name: source, "driver.py": driver} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(py, "driver.py")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("host CPython: %v\n%s", err, stderr.String())
	}
	trace, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out), traceOps(t, string(trace))
}

// pageTraced runs the example in the page through the hook, with the
// tracer, and returns what it printed and the calls it made; the
// tracer is gone again after.
func (p *pyPage) pageTraced(t *testing.T, name, source, stdin string) (pyResult, lineOps) {
	t.Helper()
	p.ok(t, fmt.Sprintf(`import sys, types
m = types.ModuleType("sockplay_tracer")
m.__file__ = "/lib/sockplay-test/tracer.py"
exec(compile(%q, m.__file__, "exec"), m.__dict__)
m.NAME = %q
sys.modules["sockplay_tracer"] = m
`, pyTracer, name), "")
	src, _ := json.Marshal(source)
	in, _ := json.Marshal(stdin)
	out := p.eval(t, fmt.Sprintf(`sockplay.python.run(%s, {stdin: %s, filename: %q}).then(r => JSON.stringify(r))`, src, in, name))
	var r pyResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("run: %q: %v", out, err)
	}
	trace := p.ok(t, "import json, sockplay_tracer as m\nprint(json.dumps(m.calls))\nm.undo()\n", "")
	return r, traceOps(t, strings.TrimSpace(trace))
}

// examplesStdin is what the examples that read input() are given.
var examplesStdin = map[string]string{"udp-upper-client.py": "hello, udp\n"}

// ports are the port numbers of addresses a program prints: they differ
// from run to run.
var ports = regexp.MustCompile(`(\('[^']*', )\d+\)`)

func normalPorts(s string) string { return ports.ReplaceAllString(s, "${1}PORT)") }

// TestPythonExamples runs every example of the code pane in the page
// through the hook and in the host's CPython, against the same labs: they
// print the same, and the session's events are the calls the program
// made, line by line (a tracer counts the calls in the page; the host's
// make the same calls at the same lines, their counts aside, which
// timing decides for a recv loop).
func TestPythonExamples(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	for _, ex := range static.Examples() {
		t.Run(ex.Name, func(t *testing.T) {
			src := ex.WithLabs(e.labs.AddrOf)
			stdin := examplesStdin[ex.Name]
			hostOut, hostCalls := hostTraced(t, ex.Name, src, stdin)
			from := e.events(t, p.session)
			r, pageCalls := p.pageTraced(t, ex.Name, src, stdin)
			if r.Exception != nil {
				t.Fatalf("the example raised %s: %s\nstdout:\n%s\nstderr:\n%s", r.Exception.Type, r.Exception.Message, r.Stdout, r.Stderr)
			}
			if got, want := normalPorts(r.Stdout), normalPorts(hostOut); got != want {
				t.Fatalf("the page printed\n%s\nCPython on the host printed\n%s", got, want)
			}
			// The session's events of the run, by the line they say.
			events := lineOps{}
			for _, ev := range e.events(t, p.session)[len(from):] {
				if ev.Op != "python" && ev.Origin != nil && ev.Origin.File == ex.Name {
					events.add(ev.Origin.Line, ev.Op)
				}
			}
			if events.String() != pageCalls.String() {
				t.Fatalf("the session's events, by line:\n%s\nthe calls the program made:\n%s", events, pageCalls)
			}
			if len(pageCalls) == 0 {
				t.Fatal("the example made no calls")
			}
			if h, pg := strings.Join(hostCalls.keys(), "\n"), strings.Join(pageCalls.keys(), "\n"); h != pg {
				t.Fatalf("calls by line in the host's CPython:\n%s\nin the page:\n%s", h, pg)
			}
		})
	}
	// A server that is run again removes its socket's old file first:
	// its os.unlink must reach the session's directory, or the bind is
	// EADDRINUSE.
	again := false
	for _, ex := range static.Examples() {
		if ex.Name == "unix-sockets.py" {
			again = true
			if r := p.run(t, ex.WithLabs(e.labs.AddrOf), ""); r.Exception != nil || !strings.Contains(r.Stdout, "client got b'pong'") {
				t.Fatalf("the Unix example run again: %+v\n%s", r.Exception, r.Stderr)
			}
		}
	}
	if !again {
		t.Fatal("no unix-sockets.py example to run again")
	}
	p.noErrors(t)
}
