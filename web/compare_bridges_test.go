package web

// The bridges the comparison runs: the sockplay binary (or, for profiles,
// sockplay in the test process) and websockify, each carrying a loopback
// TCP source to a WebSocket client.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// readFunc reads what a bridge delivers, calling fn with each chunk of the
// source's bytes (an event's bytes, or a message), in order, until fn
// returns false. fn must not keep data after it returns.
type readFunc func(ctx context.Context, fn func(data []byte) bool) error

// bridge is one side of the comparison: something that carries a loopback
// TCP stream to a WebSocket client.
type bridge struct {
	name string
	// open connects the bridge to src (for sockplay with autorecv of
	// bufsize) and returns once the client can read; closeAll ends the
	// client, the bridge and whatever it started.
	open func(b *testing.B, ctx context.Context, src *source, bufsize int) opened
}

// opened is a bridge carrying one stream: how to read it, how to end it,
// and the bridge's process (0 when it runs in this one), whose CPU time
// says what the stream cost it.
type opened struct {
	read     readFunc
	closeAll func()
	pid      int
}

// cpuSeconds is the user and system CPU time process pid has used so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks; USER_HZ is 100 on Linux
}

var sockplayBridge = inProcessBridge(binaryForm)

// sockplayProcessBridge runs the sockplay binary (built from this module)
// as a process of its own, as websockify runs: the comparison then gives
// each bridge its own scheduler, and neither shares the source's and the
// client's CPU time with the process that measures. The in-process bridge
// stays for profiling.
func sockplayProcessBridge(bin string, form clientForm) bridge {
	return bridge{name: form.bridgeName(), open: func(b *testing.B, ctx context.Context, src *source, bufsize int) opened {
		b.Helper()
		base, pid, stop := startSockplay(b, bin)
		o := streamThrough(b, ctx, base, src, bufsize, form, stop)
		o.pid = pid
		return o
	}}
}

// streamThrough makes a session on the sockplay at base, follows it in the
// client's form (a WebSocket, or the NDJSON stream) and runs socket,
// connect and autorecv(bufsize) in it, as a user would; stop ends that
// sockplay.
func streamThrough(b *testing.B, ctx context.Context, base string, src *source, bufsize int, form clientForm, stop func()) opened {
	b.Helper()
	api := func(path, body string) map[string]any {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			stop()
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode >= 300 || m["ok"] == false {
			stop()
			b.Fatalf("POST %s %s: %s %v %v", path, body, resp.Status, m, err)
		}
		return m
	}
	id := api("/api/sessions", "")["id"].(string)
	read, closeRead, err := form.follow(ctx, base, id)
	if err != nil {
		stop()
		b.Fatal(err)
	}
	ops := "/api/sessions/" + id + "/ops"
	api(ops, `{"op":"socket"}`)
	api(ops, `{"op":"connect","sock":"s1","addr":"`+src.addr+`"}`)
	api(ops, `{"op":"autorecv","sock":"s1","bufsize":`+strconv.Itoa(bufsize)+`}`)
	return opened{read: read, closeAll: func() {
		closeRead()
		stop()
	}}
}

// buildSockplay builds the sockplay binary into dir, as the Dockerfile does.
func buildSockplay(b *testing.B, dir string) string {
	b.Helper()
	bin := dir + "/sockplay"
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building sockplay: %v\n%s", err, out)
	}
	return bin
}

// startSockplay runs the binary on a free loopback port, without labs and
// without the per-session limits (a benchmark is all one session's ops
// and sends), and returns its base URL once it listens; stop kills it by
// its PID and reaps it.
func startSockplay(b *testing.B, bin string) (base string, pid int, stop func()) {
	b.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-labs=false", "-max-ops-per-sec", "0", "-max-send-mb-per-sec", "0", "-log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	errs := &tailBuffer{max: 16 << 10}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting sockplay: %v", err)
	}

	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "sockplay listening on ")
	if err != nil || !ok {
		stop()
		b.Fatalf("sockplay did not say where it listens: %q %v\n%s", line, err, errs)
	}
	return strings.TrimSuffix(base, "/"), cmd.Process.Pid, stop
}

// inProcessBridge streams through a fresh engine and server in this
// process, to a client of the given form.
func inProcessBridge(form clientForm) bridge {
	return bridge{name: form.bridgeName(), open: func(b *testing.B, ctx context.Context, src *source, bufsize int) opened {
		b.Helper()
		m := sockets.NewManager(sockets.Config{})
		srv := newBenchServer(m)
		return streamThrough(b, ctx, srv.URL, src, bufsize, form, func() {
			srv.Close()
			m.Close()
		})
	}}
}

// websockifyBridge runs the websockify at path, one process per
// measurement.
func websockifyBridge(path string) bridge {
	return bridge{name: "websockify", open: func(b *testing.B, ctx context.Context, src *source, _ int) opened {
		b.Helper()
		addr, pid, stop := startWebsockify(b, path, src.addr)
		// Old websockify clients ask for "binary"; it is answered, and
		// the messages are binary either way.
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{Subprotocols: []string{"binary"}})
		if err != nil {
			stop()
			b.Fatalf("websocket to websockify: %v", err)
		}
		c.SetReadLimit(1 << 20)
		read := func(ctx context.Context, fn func([]byte) bool) error { return readBinary(ctx, c, fn) }
		return opened{read: read, pid: pid, closeAll: func() {
			c.CloseNow()
			stop()
		}}
	}}
}

// startWebsockify runs websockify from a free loopback port to target and
// returns that port's address once it accepts connections. --run-once
// keeps it one process (it serves the WebSocket itself instead of forking
// a handler for it), so stop, which kills it by its PID and reaps it,
// leaves nothing behind.
func startWebsockify(b *testing.B, path, target string) (addr string, pid int, stop func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	out := &tailBuffer{max: 16 << 10}
	cmd := exec.Command(path, "--run-once", addr, target)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting websockify: %v", err)
	}

	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop = func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// websockify takes a connection that never speaks HTTP in
			// its stride, and waits on for the real one.
			c.Close()
			return addr, cmd.Process.Pid, stop
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("websockify did not listen on %s within 10s: %v\n%s", addr, err, out)
		}
		select {
		case <-exited:
			b.Fatalf("websockify exited before it listened on %s: %v\n%s", addr, waitErr, out)
		case <-time.After(20 * time.Millisecond): // the next attempt
		}
	}
}

// tailBuffer keeps the last max bytes a subprocess writes, for the message
// when it fails.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
