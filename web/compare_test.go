package web

// The side-by-side comparison with websockify (issue #7): the same
// loopback TCP source, carried to a WebSocket client once by sockplay
// (autorecv, one event per recv) and once by websockify (Debian's, run as
// a subprocess), measured in the same run, alternately. Every byte the
// source writes is checked at the client, count and CRC, on both sides.
//
//	go test ./web -run '^$' -bench Compare -benchtime 1x

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

const (
	// compareRun is how long one measurement runs.
	compareRun = 2 * time.Second
	// compareRounds is how many times each measurement runs per side, unless
	// SOCKPLAY_BENCH_ROUNDS says otherwise.
	compareRounds = 5

	bulkBufsize  = 64 << 10
	smallBufsize = 16
	// latencyBufsize holds many 100-byte messages, so one recv is usually
	// one message; the client still reassembles the stream and never
	// counts on it.
	latencyBufsize = 4096
	latencyMsgSize = 100
	latencyEvery   = time.Millisecond
)

// benchClock is what the latency source stamps its messages with and the
// client measures them by: one process, one monotonic clock.
var benchClock = time.Now()

func stamp() int64 { return int64(time.Since(benchClock)) }

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

// wireEvent is what the client needs of an event or a control message.
type wireEvent struct {
	Type   string          `json:"type"`
	Seq    int64           `json:"seq"`
	Op     string          `json:"op"`
	Auto   bool            `json:"auto"`
	OK     bool            `json:"ok"`
	Result *wireResult     `json:"result"`
	Error  json.RawMessage `json:"error"`
	From   int64           `json:"from"`
	To     int64           `json:"to"`
}

// wireResult is what the client needs of a recv's result.
type wireResult struct {
	N   *int     `json:"n"`
	B64 b64Bytes `json:"b64"`
}

// b64Bytes decodes a JSON base64 string straight from the raw message:
// encoding/json would first copy it unquoted, rune by rune, which made the
// test client, not the server, the bottleneck of the bulk run.
type b64Bytes []byte

func (b *b64Bytes) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return json.Unmarshal(raw, (*[]byte)(b))
	}
	raw = raw[1 : len(raw)-1]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(out, raw)
	*b = out[:n]
	return err
}

// readRecvEvents reads sockplay's WebSocket c with the benchmark's own
// JSON decoder (see readRecvStream).
func readRecvEvents(ctx context.Context, c *websocket.Conn, fn func(data []byte) bool) error {
	return readRecvStream(wsMessages(ctx, c), decodeFast(), fn)
}

// readRecvStream reads what sockplay sends, one message at a time from
// next, and calls fn with the bytes of each auto recv event, in order,
// until fn returns false; empty data is EOF. It is the one place that
// knows how events travel: JSON text messages (or NDJSON lines), each an
// event or a control message, or with ?batch=1 an array of events, which
// decode decodes; or binary batches (?format=bin) of compact recv records
// and JSON records. Anything that would mean lost or altered bytes is an
// error: a break in seq, a "gap", a failed recv, an n that is not its
// bytes' length.
func readRecvStream(next nextMessage, decode jsonDecoder, fn func(data []byte) bool) error {
	last := int64(-1)
	stop := errors.New("enough")
	nextSeq := func(seq int64) error {
		if last >= 0 && seq != last+1 {
			return fmt.Errorf("event %d came after %d", seq, last)
		}
		last = seq
		return nil
	}
	// handle checks one decoded JSON event and hands over its bytes.
	handle := func(ev *wireEvent) error {
		if ev.Type == "gap" {
			return fmt.Errorf("events %d to %d were dropped", ev.From, ev.To)
		}
		if ev.Type != "" {
			return nil
		}
		if err := nextSeq(ev.Seq); err != nil {
			return err
		}
		if !ev.Auto || ev.Op != "recv" {
			return nil
		}
		if !ev.OK {
			return fmt.Errorf("auto recv %d failed: %s", ev.Seq, ev.Error)
		}
		if ev.Result == nil || ev.Result.N == nil || *ev.Result.N != len(ev.Result.B64) {
			return fmt.Errorf("auto recv %d: n does not match its bytes", ev.Seq)
		}
		if !fn(ev.Result.B64) {
			return stop
		}
		return nil
	}
	for {
		typ, msg, err := next()
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			err = readWireBatch(msg, func(r *wireRecord) error {
				if r.JSON != nil {
					return decode(r.JSON, handle)
				}
				if err := nextSeq(r.Seq); err != nil {
					return err
				}
				if r.Auto && !fn(r.Data) {
					return stop
				}
				return nil
			})
		} else {
			err = decode(msg, handle)
		}
		if err == stop {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decodeStd is the JSON decoder of a client written with encoding/json.
func decodeStd() jsonDecoder {
	var evs []wireEvent
	return func(msg []byte, each func(*wireEvent) error) error {
		// Decoding into reused elements would keep fields an event
		// lacks from the one before it: start from zero values.
		evs = evs[:cap(evs)]
		clear(evs)
		evs = evs[:0]
		var err error
		if b := bytes.TrimLeft(msg, " \t\r\n"); len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &evs)
		} else {
			evs = append(evs, wireEvent{})
			err = json.Unmarshal(b, &evs[0])
		}
		if err != nil {
			return fmt.Errorf("decoding %.200q: %w", msg, err)
		}
		for i := range evs {
			if err := each(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// readMessage reads one whole message into msg, reusing its memory.
func readMessage(ctx context.Context, c *websocket.Conn, msg *bytes.Buffer) (websocket.MessageType, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, err
	}
	msg.Reset()
	_, err = msg.ReadFrom(r)
	return typ, err
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

// readBinary calls fn with each binary message websockify sends.
func readBinary(ctx context.Context, c *websocket.Conn, fn func(data []byte) bool) error {
	var msg bytes.Buffer
	for {
		typ, err := readMessage(ctx, c, &msg)
		if err != nil {
			return err
		}
		if typ != websocket.MessageBinary {
			return fmt.Errorf("websockify sent a %v message; want binary", typ)
		}
		if !fn(msg.Bytes()) {
			return nil
		}
	}
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

// sourceTotal is what a source wrote: bytes, their CRC-32, messages.
type sourceTotal struct {
	n    int64
	crc  uint32
	msgs int
	err  error
}

// source is a loopback TCP peer for one connection. Once begun it writes
// with its run function until that returns (when halted, or on its own),
// reports what it wrote, and keeps the connection open until closed: a
// bridge that sees EOF may drop what it still holds, so the client counts
// the bytes it needs instead of waiting for EOF.
type source struct {
	addr  string
	ln    net.Listener
	start chan struct{}
	stop  chan struct{}
	total chan sourceTotal

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func startSource(b *testing.B, run func(c net.Conn, stop <-chan struct{}) sourceTotal) *source {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &source{addr: ln.Addr().String(), ln: ln, start: make(chan struct{}), stop: make(chan struct{}), total: make(chan sourceTotal, 1)}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			s.total <- sourceTotal{err: err}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conn = c
		s.mu.Unlock()
		<-s.start
		s.total <- run(c, s.stop)
	}()
	return s
}

// begin lets the source write; halt tells it to stop.
func (s *source) begin() { close(s.start) }
func (s *source) halt()  { close(s.stop) }

// close ends the connection, which also frees a write blocked on a client
// that gave up.
func (s *source) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
	}
}

// writeBulk writes the pattern as fast as it can until halted.
func writeBulk(c net.Conn, stop <-chan struct{}) sourceTotal {
	var t sourceTotal
	for {
		select {
		case <-stop:
			t.crc = patternCRC(0, 0, int(t.n))
			return t
		default:
		}
		n, err := c.Write(pattern)
		t.n += int64(n)
		if err != nil {
			t.err = err
			return t
		}
	}
}

// pacedMessages writes n messages of latencyMsgSize, one every
// latencyEvery: its send time (the benchClock, taken just before the
// write), its number, and filler.
func pacedMessages(n int) func(c net.Conn, stop <-chan struct{}) sourceTotal {
	return func(c net.Conn, stop <-chan struct{}) sourceTotal {
		var t sourceTotal
		tick := time.NewTicker(latencyEvery)
		defer tick.Stop()
		msg := make([]byte, latencyMsgSize)
		for i := range n {
			select {
			case <-stop:
				return t
			case <-tick.C:
			}
			binary.BigEndian.PutUint64(msg[8:], uint64(i))
			for j := 16; j < len(msg); j++ {
				msg[j] = byte(i + j)
			}
			binary.BigEndian.PutUint64(msg, uint64(stamp()))
			w, err := c.Write(msg)
			t.n += int64(w)
			t.crc = crc32.Update(t.crc, crc32.IEEETable, msg[:w])
			if err != nil {
				t.err = err
				return t
			}
			t.msgs++
		}
		return t
	}
}

// tally counts the bytes a client has and ends its read once it has all
// the source wrote. The source's total comes on another goroutine, before
// or after the last byte, so whichever of the two comes second ends it.
type tally struct {
	mu     sync.Mutex
	got    int64
	src    *sourceTotal
	cancel context.CancelFunc
}

// add counts n more bytes and reports whether that is all of them.
func (t *tally) add(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.got += int64(n)
	return t.src != nil && t.got >= t.src.n
}

// drainLimit bounds the wait, once the source has stopped, for the bytes
// it wrote: a few seconds at the slowest rate measured here, so only lost
// bytes run into it.
const drainLimit = 30 * time.Second

// await takes the source's total when it comes, and ends the read if every
// byte is already in, or else once drainLimit has passed.
func (t *tally) await(ctx context.Context, s *source) {
	select {
	case tot := <-s.total:
		t.mu.Lock()
		defer t.mu.Unlock()
		t.src = &tot
		if t.got >= tot.n {
			t.cancel()
			return
		}
		time.AfterFunc(drainLimit, t.cancel)
	case <-ctx.Done():
	}
}

// check fails b unless the client got exactly what the source wrote, and
// its CRC is the source's; readErr is why the read ended.
func (t *tally) check(b *testing.B, side string, crc uint32, readErr error) {
	b.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.src == nil:
		b.Fatalf("%s: the source never finished; the client got %d bytes, then: %v", side, t.got, readErr)
	case t.src.err != nil:
		b.Fatalf("%s: the source failed after %d bytes: %v", side, t.src.n, t.src.err)
	case t.got != t.src.n:
		b.Fatalf("%s: the client got %d bytes of the %d written; the read ended with: %v", side, t.got, t.src.n, readErr)
	case crc != t.src.crc:
		b.Fatalf("%s: CRC of %d bytes: got %08x, want %08x", side, t.got, crc, t.src.crc)
	}
}

// window times a run by its own deliveries: from the first chunk, which
// only starts the clock, to the first at or past d after it, so that
// neither side's set-up nor its drain counts.
type window struct {
	d             time.Duration
	t0, end       time.Time
	bytes, chunks int64
}

// add counts a chunk of n bytes and reports true for the one that closes
// the window.
func (w *window) add(now time.Time, n int) bool {
	switch {
	case w.t0.IsZero():
		w.t0 = now
		return false
	case !w.end.IsZero():
		return false
	}
	w.bytes += int64(n)
	w.chunks++
	if now.Sub(w.t0) < w.d {
		return false
	}
	w.end = now
	return true
}

// streamFigures is one run of the continuous source through one bridge.
type streamFigures struct {
	bytesPerSec  float64
	chunksPerSec float64 // events with bytes (sockplay), messages (websockify)
	// cpuPerGB is the CPU time the bridge's process spent per GB carried
	// (0 when the bridge runs in this process): what the stream cost it,
	// a figure that shares less of the machine's noise than a rate.
	cpuPerGB float64
}

// measureStream runs the bulk source through br for about d and returns
// what reached the client per second.
func measureStream(b *testing.B, br bridge, bufsize int, d time.Duration) streamFigures {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	src := startSource(b, writeBulk)
	defer src.close()
	o := br.open(b, ctx, src, bufsize)
	defer o.closeAll()
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	t := &tally{cancel: cancelRead}
	go t.await(ctx, src)
	w := window{d: d}
	var crc uint32
	var bad error
	var cpu0 float64
	if o.pid != 0 {
		cpu0 = cpuSeconds(o.pid)
	}
	src.begin()
	err := o.read(readCtx, func(data []byte) bool {
		now := time.Now()
		if len(data) == 0 {
			bad = errors.New("the stream ended before the source did")
			return false
		}
		crc = crc32.Update(crc, crc32.IEEETable, data)
		if w.add(now, len(data)) {
			// Read on until every byte the source wrote is in.
			src.halt()
		}
		return !t.add(len(data))
	})
	if bad != nil {
		b.Fatalf("%s: %v", br.name, bad)
	}
	t.check(b, br.name, crc, err)
	el := w.end.Sub(w.t0).Seconds()
	f := streamFigures{bytesPerSec: float64(w.bytes) / el, chunksPerSec: float64(w.chunks) / el}
	if o.pid != 0 {
		f.cpuPerGB = (cpuSeconds(o.pid) - cpu0) / (float64(t.got) / 1e9)
	}
	return f
}

// measureLatency sends one message every latencyEvery for about d through
// br and returns the median and 99th percentile of the time from the
// source's write to the client's receipt.
func measureLatency(b *testing.B, br bridge, d time.Duration) (p50, p99 time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	src := startSource(b, pacedMessages(int(d/latencyEvery)))
	defer src.close()
	o := br.open(b, ctx, src, latencyBufsize)
	defer o.closeAll()
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	t := &tally{cancel: cancelRead}
	go t.await(ctx, src)
	var crc uint32
	var bad error
	var pending []byte
	var lat []time.Duration
	src.begin()
	err := o.read(readCtx, func(data []byte) bool {
		now := stamp()
		if len(data) == 0 {
			bad = errors.New("the stream ended before the source did")
			return false
		}
		crc = crc32.Update(crc, crc32.IEEETable, data)
		pending = append(pending, data...)
		k := 0
		for ; len(pending)-k >= latencyMsgSize; k += latencyMsgSize {
			m := pending[k : k+latencyMsgSize]
			if seq := binary.BigEndian.Uint64(m[8:]); seq != uint64(len(lat)) {
				bad = fmt.Errorf("message %d came when %d was due", seq, len(lat))
				return false
			}
			lat = append(lat, time.Duration(now-int64(binary.BigEndian.Uint64(m))))
		}
		pending = append(pending[:0], pending[k:]...)
		return !t.add(len(data))
	})
	if bad != nil {
		b.Fatalf("%s: %v", br.name, bad)
	}
	t.check(b, br.name, crc, err)
	if len(lat) != t.src.msgs || len(pending) != 0 {
		b.Fatalf("%s: %d whole messages and %d bytes over; %d were sent", br.name, len(lat), len(pending), t.src.msgs)
	}
	slices.Sort(lat)
	return percentile(lat, 50), percentile(lat, 99)
}

// percentile is the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// compareRow is one line of the comparison table.
type compareRow struct {
	metric               string
	sockplay, websockify []float64
	format               func(float64) string
	// ratio says whether sockplay/websockify means anything for this row;
	// vsWebsockify, whether the goal is relative to websockify.
	ratio, vsWebsockify bool
	goal                string
	// met judges the goal from sockplay's median and the ratio; nil when
	// there is no goal.
	met func(median, ratio float64) bool
}

// BenchmarkCompare measures sockplay side by side with websockify, in
// alternating runs, and logs the comparison table: bulk throughput
// (autorecv 64 KiB), small events (autorecv 16), and latency of 100-byte
// messages sent every millisecond. One iteration is the whole comparison:
// run it with -benchtime 1x. SOCKPLAY_BENCH_ROUNDS sets the runs per
// figure (default 5); without websockify its column is skipped, unless
// SOCKPLAY_REQUIRE_WEBSOCKIFY=1 makes that a failure.
func BenchmarkCompare(b *testing.B) {
	rounds := compareRounds
	if v := os.Getenv("SOCKPLAY_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SOCKPLAY_BENCH_ROUNDS=%q: want a whole number of rounds, at least 1", v)
		}
		rounds = n
	}
	var wsfy *bridge
	path, err := exec.LookPath("websockify")
	switch {
	case err == nil:
		br := websockifyBridge(path)
		wsfy = &br
	case os.Getenv("SOCKPLAY_REQUIRE_WEBSOCKIFY") == "1":
		b.Fatalf("websockify not found (%v) and SOCKPLAY_REQUIRE_WEBSOCKIFY=1; on Debian: apt-get install websockify", err)
	default:
		b.Logf("websockify not found (%v): its column is skipped; on Debian: apt-get install websockify", err)
	}

	mbs := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	perSec := func(v float64) string { return thousands(int64(v + 0.5)) }
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	bulk := &compareRow{metric: "bulk, autorecv(65536): MB/s", format: mbs, ratio: true, vsWebsockify: true, goal: "≥ 1.0× websockify",
		met: func(_, r float64) bool { return r >= 1 }}
	cpu := &compareRow{metric: "bulk: the bridge process's CPU seconds per GB carried (lower is better)", format: func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, ratio: true, goal: "—"}
	small := &compareRow{metric: "small events, autorecv(16): events/s (websockify: its messages/s, for information)", format: perSec, goal: "≥ 200,000/s",
		met: func(m, _ float64) bool { return m >= 200_000 }}
	p50 := &compareRow{metric: "latency p50, 100 B every 1 ms: ms", format: ms, ratio: true, goal: "—"}
	p99 := &compareRow{metric: "latency p99, 100 B every 1 ms: ms", format: ms, ratio: true, goal: "≤ 2 ms",
		met: func(m, _ float64) bool { return m <= 2 }}

	bin := buildSockplay(b, b.TempDir())
	sp := sockplayProcessBridge(bin, binaryForm)
	// The JSON forms carry the same bulk stream, in the same rounds; their
	// websockify column is the bulk row's.
	jsonRows := map[*bridge]*compareRow{}
	jsonCPU := map[*bridge][]float64{} // CPU s/GB: steadier than MB/s on a busy machine
	var jsonSides []*bridge
	for _, form := range []clientForm{textForm, batchForm, ndjsonForm} {
		br := sockplayProcessBridge(bin, form)
		jsonSides = append(jsonSides, &br)
		jsonRows[&br] = &compareRow{metric: "bulk, " + form.name + ": MB/s (one-pass JSON client)", format: mbs, ratio: true, vsWebsockify: true, goal: "≥ 0.5× websockify",
			met: func(_, r float64) bool { return r >= 0.5 }}
	}
	for range b.N {
		for r := range rounds {
			// Who goes first alternates, so neither side always runs on
			// a machine the other has just warmed or tired.
			sides := []*bridge{&sp, wsfy}
			if r%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			bulkSides := slices.Concat([]*bridge{&sp}, jsonSides, []*bridge{wsfy})
			if r%2 == 1 {
				slices.Reverse(bulkSides)
			}
			for _, br := range bulkSides {
				if br == nil {
					continue
				}
				f := measureStream(b, *br, bulkBufsize, compareRun)
				switch {
				case br == &sp:
					bulk.sockplay = append(bulk.sockplay, f.bytesPerSec/1e6)
					cpu.sockplay = append(cpu.sockplay, f.cpuPerGB)
				case br == wsfy:
					bulk.websockify = append(bulk.websockify, f.bytesPerSec/1e6)
					cpu.websockify = append(cpu.websockify, f.cpuPerGB)
					// websockify reads 64 KiB at a time whatever the
					// client wants: its messages/s from the same source
					// is the nearest thing it has to small events.
					small.websockify = append(small.websockify, f.chunksPerSec)
				default:
					jsonRows[br].sockplay = append(jsonRows[br].sockplay, f.bytesPerSec/1e6)
					jsonCPU[br] = append(jsonCPU[br], f.cpuPerGB)
				}
			}
			small.sockplay = append(small.sockplay, measureStream(b, sp, smallBufsize, compareRun).chunksPerSec)
			for _, br := range sides {
				if br == nil {
					continue
				}
				a, z := measureLatency(b, *br, compareRun)
				if br == &sp {
					p50.sockplay = append(p50.sockplay, durMS(a))
					p99.sockplay = append(p99.sockplay, durMS(z))
				} else {
					p50.websockify = append(p50.websockify, durMS(a))
					p99.websockify = append(p99.websockify, durMS(z))
				}
			}
			if !testing.Verbose() {
				continue // only -v shows more than 10 lines: keep them for the table
			}
			b.Logf("round %d: bulk MB/s %s | JSON text, batch=1, NDJSON MB/s %s, %s, %s | small events/s %s | p50 ms %s | p99 ms %s", r+1,
				lastPair(bulk, mbs), mbs(lastOf(jsonRows[jsonSides[0]])), mbs(lastOf(jsonRows[jsonSides[1]])), mbs(lastOf(jsonRows[jsonSides[2]])),
				lastPair(small, perSec), lastPair(p50, ms), lastPair(p99, ms))
		}
	}
	rows := []*compareRow{bulk, cpu}
	for _, br := range jsonSides {
		jsonRows[br].websockify = bulk.websockify
		rows = append(rows, jsonRows[br])
	}
	rows = append(rows, small, p50, p99)
	// Printed, not logged: go test keeps only the first 10 lines a
	// benchmark logs (unless -v), and the table is longer.
	fmt.Print("\n" + compareTable(rows, rounds, wsfy != nil))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(bulk.sockplay), "bulk_MB/s")
	b.ReportMetric(median(small.sockplay), "small_events/s")
	b.ReportMetric(median(p50.sockplay), "p50_ms")
	b.ReportMetric(median(p99.sockplay), "p99_ms")
	for i, form := range []string{"text", "batch", "ndjson"} {
		b.ReportMetric(median(jsonCPU[jsonSides[i]]), form+"_CPU_s/GB")
	}
	if wsfy != nil {
		b.ReportMetric(median(bulk.sockplay)/median(bulk.websockify), "bulk_vs_websockify")
		for i, form := range []string{"text", "batch", "ndjson"} {
			b.ReportMetric(median(jsonRows[jsonSides[i]].sockplay)/median(bulk.websockify), form+"_vs_websockify")
		}
	}
}

func lastOf(r *compareRow) float64 { return r.sockplay[len(r.sockplay)-1] }

// BenchmarkBridgeSockplay runs only sockplay's side of the bulk and small
// event measurements, one run per iteration, for profiling:
//
//	go test ./web -run '^$' -bench 'BridgeSockplay/small' -benchtime 1x -cpuprofile small.prof
func BenchmarkBridgeSockplay(b *testing.B) {
	for _, c := range []struct {
		name    string
		bufsize int
	}{{"bulk", bulkBufsize}, {"small", smallBufsize}} {
		b.Run(c.name, func(b *testing.B) {
			var events, mbs []float64
			for range b.N {
				f := measureStream(b, sockplayBridge, c.bufsize, compareRun)
				events = append(events, f.chunksPerSec)
				mbs = append(mbs, f.bytesPerSec/1e6)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(median(events), "events/s")
			b.ReportMetric(median(mbs), "MB/s")
		})
	}
}

func durMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// lastPair shows a row's latest run of each side, for the per-round log.
func lastPair(r *compareRow, format func(float64) string) string {
	s := "sockplay " + format(r.sockplay[len(r.sockplay)-1])
	if len(r.websockify) > 0 {
		s += ", websockify " + format(r.websockify[len(r.websockify)-1])
	}
	return s
}

// compareTable renders the rows as a markdown table, with the machine and
// the command above it.
func compareTable(rows []*compareRow, rounds int, haveWebsockify bool) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "machine: %s, %d CPUs, %s/%s, %s; each figure the median (min–max) of %d runs of %v, every byte checked at the client (count and CRC-32)\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), rounds, compareRun)
	fmt.Fprintf(&sb, "command: SOCKPLAY_BENCH_ROUNDS=%d go test ./web -run '^$' -bench Compare -benchtime 1x\n", rounds)
	sb.WriteString("| metric | sockplay median (min–max) | websockify median (min–max) | sockplay/websockify | goal | met? |\n")
	sb.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		spMed := median(r.sockplay)
		ws, ratio, rs := "skipped (websockify not installed)", 0.0, "—"
		if haveWebsockify {
			ws = spread(r.websockify, r.format)
			ratio = spMed / median(r.websockify)
			if r.ratio {
				rs = strconv.FormatFloat(ratio, 'f', 2, 64) + "×"
			}
		}
		met := "—"
		switch {
		case r.met == nil:
		case r.vsWebsockify && !haveWebsockify:
			met = "? (needs websockify)"
		case r.met(spMed, ratio):
			met = "yes"
		default:
			met = "no"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", r.metric, spread(r.sockplay, r.format), ws, rs, r.goal, met)
	}
	return sb.String()
}

// spread is "median (min–max)".
func spread(xs []float64, format func(float64) string) string {
	return format(median(xs)) + " (" + format(slices.Min(xs)) + "–" + format(slices.Max(xs)) + ")"
}

// thousands writes n with commas: 212,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// cpuModel is the processor's name, as Linux tells it.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// TestReadRecvEvents feeds the comparison's decoder crafted messages: it
// must hand over every auto recv's bytes, in order, from single events and
// from batches, and refuse anything that would mean lost or altered bytes.
func TestReadRecvEvents(t *testing.T) {
	recv := func(seq int64, data string) string {
		return fmt.Sprintf(`{"seq":%d,"t":1,"start":1,"sock":"s1","op":"recv","args":{"bufsize":16},"ok":true,"result":{"n":%d,"b64":%q},"auto":true}`,
			seq, len(data), base64.StdEncoding.EncodeToString([]byte(data)))
	}
	for _, c := range []struct {
		name string
		msgs []string
		want string // the bytes handed over, then "|" and the error, if any
	}{
		{"single events", []string{`{"type":"hello","session":"x","since":0}`, recv(1, "hel"), `{"seq":2,"t":1,"start":1,"op":"stats","ok":true}`, recv(3, "lo")},
			"hello|EOF"},
		{"a batch", []string{"[" + recv(1, "ab") + "," + `{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":1,"b64":"eA=="}}` + "," + recv(3, "cd") + "]", `{"type":"state","last_seq":3}`},
			"abcd|EOF"},
		{"stale fields do not carry over", []string{"[" + recv(1, "ab") + "]", `[{"seq":2,"t":1,"start":1,"op":"recv","ok":true}]`},
			"ab|EOF"},
		{"an escaped b64 string", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":3,"b64":"YWL\/"},"auto":true}`},
			"ab\xff|EOF"},
		{"EOF is empty data", []string{recv(1, "a"), `{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":0,"eof":true},"auto":true}`},
			"a.|EOF"},
		{"a break in seq", []string{recv(1, "a"), recv(3, "b")},
			"a|event 3 came after 1"},
		{"a gap", []string{recv(1, "a"), `{"type":"gap","from":2,"to":9}`},
			"a|events 2 to 9 were dropped"},
		{"n that is not the bytes", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":5,"b64":"YQ=="},"auto":true}`},
			"|auto recv 1: n does not match its bytes"},
		{"a failed recv", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":false,"error":{"errno":"ECONNRESET","exc":"ConnectionResetError","msg":"reset"},"auto":true}`},
			`|auto recv 1 failed: {"errno":"ECONNRESET","exc":"ConnectionResetError","msg":"reset"}`},
		{"not JSON", []string{`{"seq":1,`},
			"|decoding"},
		{"a binary batch", []string{binBatch(t, binRecv(1, "ab"), jsonRec(`{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":1,"b64":"eA=="},"auto":true}`), binRecv(3, "cd"))},
			"abxcd|EOF"},
		{"a break in seq across batches", []string{binBatch(t, binRecv(1, "ab")), binBatch(t, binRecv(3, "cd"))},
			"ab|event 3 came after 1"},
		{"a cut binary batch", []string{binBatch(t, binRecv(1, "abcdef"))[:12]},
			"|record runs past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer ws.CloseNow()
				for _, m := range c.msgs {
					typ := websocket.MessageText
					if m[0] == wireVersion {
						typ = websocket.MessageBinary
					}
					if err := ws.Write(r.Context(), typ, []byte(m)); err != nil {
						return
					}
				}
				ws.Close(websocket.StatusNormalClosure, "")
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			var got strings.Builder
			err = readRecvEvents(ctx, ws, func(data []byte) bool {
				if len(data) == 0 {
					got.WriteString(".")
				}
				got.Write(data)
				return true
			})
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				err = errors.New("EOF")
			}
			out := got.String() + "|" + err.Error()
			if !strings.HasPrefix(out, c.want) {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}
}

// binRecv, jsonRec and binBatch make binary batches for TestReadRecvEvents.
func binRecv(seq int64, data string) sockets.Event {
	ev := plainRecv()
	ev.Seq, ev.Auto, ev.Result.B64 = seq, true, []byte(data)
	n := len(data)
	ev.Result.N = &n
	return ev
}

func jsonRec(js string) sockets.Event {
	var ev sockets.Event
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		panic(err)
	}
	return ev
}

func binBatch(t *testing.T, evs ...sockets.Event) string {
	return string(wholeBatch(t, evs, 0).bytes())
}
