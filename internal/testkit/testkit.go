// Package testkit is what sockplay's tests share: the lab servers started
// for a test, loopback servers of a few plain behaviours, a port nothing
// listens on, python3 and the other tools found (or required, in CI:
// Chromium, nginx, kubectl), a scrape of /metrics read by Prometheus'
// parser, and the check that a test leaves no goroutine or file
// descriptor behind. Everything it starts is on loopback and stops when
// the test ends.
package testkit

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockplay/sockplay/labs"
)

// Labs starts the lab servers on loopback, on ports the kernel picks,
// with a drip quick enough for tests.
func Labs(t testing.TB) *labs.Server {
	t.Helper()
	l, err := labs.Start(labs.Config{Host: "127.0.0.1", DripPause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ClosedPort is a loopback TCP address nothing listens on. Once closed, a
// port bound with port 0 stays free in practice: the kernel picks ports
// for bind apart from those it picks for connect.
func ClosedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serve runs a loopback TCP server that hands each connection to handle,
// and stops it, and every connection, when the test ends.
func serve(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		conns    = map[net.Conn]bool{}
		handlers sync.WaitGroup
	)
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			handlers.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		// Only once no more can be accepted is every connection there
		// to be closed.
		<-accepting
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		handlers.Wait()
	})
	return ln.Addr().String()
}

// SilentServer accepts connections and never reads or writes.
func SilentServer(t testing.TB) string {
	return serve(t, waitClosed)
}

// waitClosed blocks until c is closed, reading nothing.
func waitClosed(c net.Conn) {
	// A read of nothing returns at once; block on a read that cannot
	// succeed until the connection goes: the kernel queues what the
	// client sends, and nobody takes it.
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Read(func(uintptr) bool { return false })
}

// EchoServer echoes each connection until the client half-closes, then
// closes it, so the client sees its bytes and then EOF.
func EchoServer(t testing.TB) string {
	return serve(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// DiscardServer reads and throws away everything each client sends.
func DiscardServer(t testing.TB) string {
	return serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// ResetServer reads n bytes of each connection, then resets it (a close
// with SO_LINGER 0 sends RST).
func ResetServer(t testing.TB, n int) string {
	return serve(t, func(c net.Conn) {
		if _, err := io.ReadFull(c, make([]byte, n)); err == nil {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
	})
}

// ShortDir is a new directory in the system's temporary one, removed
// when the test ends, with a name much shorter than t.TempDir()'s: AF_UNIX
// paths under it must fit in the kernel's 108 bytes.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Python finds a python3 that names exceptions as the engine does (3.10
// made socket.timeout an alias of TimeoutError). Without one the test
// skips, or fails when SOCKPLAY_REQUIRE_PYTHON is set (as in CI).
func Python(t testing.TB) string {
	t.Helper()
	missing := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("SOCKPLAY_REQUIRE_PYTHON") != "" {
			t.Fatalf(format, a...)
		}
		t.Skipf(format+" (set SOCKPLAY_REQUIRE_PYTHON to make this fail)", a...)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import sys; print(sys.version_info >= (3, 10))").Output()
	if err != nil {
		missing("python3 does not run: %v", err)
	}
	if strings.TrimSpace(string(out)) != "True" {
		missing("python3 is older than 3.10, whose exception names differ")
	}
	return py
}

// Leaks is a count of the process's goroutines and file descriptors, to
// compare with once a test has ended what it started.
type Leaks struct {
	Goroutines, FDs int
	sockets         bool
}

// CountLeaks counts goroutines, and fds: only sockets when socketsOnly
// (other fds come and go with the test harness), else of any kind.
func CountLeaks(t testing.TB, socketsOnly bool) Leaks {
	t.Helper()
	return Leaks{Goroutines: runtime.NumGoroutine(), FDs: countFDs(t, socketsOnly), sockets: socketsOnly}
}

// Check waits, up to within, until goroutines and fds are back to the
// count, or fails with every goroutine's stack. What a test started ends
// asynchronously (the peers' reads seeing EOF, handlers returning), so
// it awaits the counts rather than sleeping a guess.
func (l Leaks) Check(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		g, fd := runtime.NumGoroutine(), countFDs(t, l.sockets)
		if g <= l.Goroutines && fd <= l.FDs {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 4<<20)
			t.Fatalf("leak: goroutines %d→%d, fds %d→%d\n%s", l.Goroutines, g, l.FDs, fd, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

func countFDs(t testing.TB, socketsOnly bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count fds: %v", err)
	}
	if !socketsOnly {
		return len(ents)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
