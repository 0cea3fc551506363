package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"

	"github.com/sockplay/sockplay/static"
	"testing"
	"time"
)

// startLoopback runs sockplay on 127.0.0.1 with args and returns its
// address.
func startLoopback(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-labs=false", "-log-level", "error"}, args...)
	go func() {
		done <- Run(ctx, nil, args, pw, io.Discard, env(nil))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^sockplay listening on http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start line %q", line)
	}
	return m[1]
}

// TestStalledReaderDoesNotHoldConnection: a client that asks for a large
// file and never reads what comes (its receive window shut) must not
// hold its connection past the server's timeouts, or a few of them take
// every one of -max-conns for good: no timeout of the HTTP server's
// covers a response's writes.
func TestStalledReaderDoesNotHoldConnection(t *testing.T) {
	const n = 4
	addr := startLoopback(t, "-max-conns", "4", "-header-timeout", "1s", "-idle-timeout", "1s", "-body-timeout", "1s")
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, strings.Repeat("GET "+static.PyodidePath+static.PyodideVersion()+"/pyodide.asm.wasm HTTP/1.1\r\nHost: "+addr+"\r\n\r\n", 8)); err != nil {
			t.Fatal(err)
		}
	}
	// Every timeout of the server's is 1 s but a write's (the web
	// layer's WriteTimeout, 10 s): past them, a client that reads must
	// be served again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl := http.Client{Timeout: 2 * time.Second}
		resp, err := cl.Get("http://" + addr + "/api/labs")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after %d stalled readers, a client is still not served: %v", n, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
