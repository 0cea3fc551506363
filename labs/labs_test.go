package labs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// find is the lab, or fails the test.
func find(t *testing.T, s *Server, name, proto string) Lab {
	t.Helper()
	l, ok := s.Find(name, proto)
	if !ok {
		t.Fatalf("no %s lab %q", proto, name)
	}
	return l
}

// readToEOF reads everything until the server closes; the conn's deadline
// bounds it.
func readToEOF(t *testing.T, c net.Conn) []byte {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read until EOF: %v (after %d bytes)", err, len(b))
	}
	return b
}

// eventually polls cond until it holds, for state that has no event to
// wait on (the server's own bookkeeping, the goroutine count).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func TestLabsListed(t *testing.T) {
	s := start(t, Config{})
	want := []string{"echo/tcp", "echo/udp", "drip/tcp", "upper/udp", "hello/tcp", "fragmenter/tcp",
		"chat/tcp", "daytime/tcp", "discard/tcp", "sink/tcp", "http/tcp", "file/tcp", "backlog/tcp"}
	var got []string
	ports := map[string]bool{}
	for _, l := range s.Labs() {
		got = append(got, l.Name+"/"+l.Proto)
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("%s/%s at %q", l.Name, l.Proto, l.Addr)
		}
		if ports[l.Proto+port] {
			t.Errorf("%s/%s shares port %s with another %s lab", l.Name, l.Proto, port, l.Proto)
		}
		ports[l.Proto+port] = true
		if l.Description == "" {
			t.Errorf("%s/%s has no description", l.Name, l.Proto)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("labs %v, want %v", got, want)
	}
	if tcp, udp := find(t, s, "echo", "tcp"), find(t, s, "echo", "udp"); tcp.Addr != udp.Addr {
		t.Errorf("echo tcp at %s, udp at %s: want the same port", tcp.Addr, udp.Addr)
	}
	if s.Addr("echo") != find(t, s, "echo", "tcp").Addr || s.Addr("upper") != "" {
		t.Errorf("Addr(echo) = %q, Addr(upper) = %q: want the TCP lab only", s.Addr("echo"), s.Addr("upper"))
	}
	f := find(t, s, "file", "tcp")
	if f.Size != DefaultFileSize || len(f.SHA256) != 64 || !strings.Contains(f.Description, f.SHA256) {
		t.Errorf("file lab %+v: want size, SHA-256 and both in the description", f)
	}
	if _, ok := s.Find("nope", "tcp"); ok {
		t.Error("found a lab that does not exist")
	}
}

func TestEcho(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s.Addr("echo"))
	msg := []byte("hello, echo\r\n\x00\xff")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Fatalf("echoed %q", got)
	}
	c.(*net.TCPConn).CloseWrite()
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("after half-close: %d %v, want EOF", n, err)
	}
}

func TestUDPLabs(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		lab, send, want string
	}{
		{"echo", "hello, udp\x00\xff", "hello, udp\x00\xff"},
		{"echo", "", ""},
		{"upper", "Hello, wörld! abc-xyz 123\xff", "HELLO, WöRLD! ABC-XYZ 123\xff"},
	} {
		t.Run(tc.lab+"/"+strconv.Quote(tc.send), func(t *testing.T) {
			c, err := net.Dial("udp", find(t, s, tc.lab, "udp").Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2048)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if string(buf[:n]) != tc.want {
				t.Fatalf("got %q, want %q", buf[:n], tc.want)
			}
		})
	}
}

func TestHello(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			if ln, err := net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
				t.Skipf("no %s here: %v", host, err)
			} else {
				ln.Close()
			}
			s := start(t, Config{Host: host})
			c := dial(t, s.Addr("hello"))
			if got, want := string(readToEOF(t, c)), "Hello "+host+"\n"; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

// TestDripArrivesInPieces checks the greeting really is split: each read
// returns at most one piece, because pieces are written apart in time.
func TestDripArrivesInPieces(t *testing.T) {
	s := start(t, Config{DripPiece: 5, DripPause: 20 * time.Millisecond})
	c := dial(t, s.Addr("drip"))
	var got []byte
	reads := 0
	buf := make([]byte, 1024)
	for len(got) < len(Greeting) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		reads++
	}
	if string(got) != Greeting {
		t.Fatalf("got %q", got)
	}
	if reads < len(Greeting)/5/2 {
		t.Fatalf("the %d-byte greeting came in only %d reads", len(Greeting), reads)
	}
	c.Write([]byte("abcdefghij"))
	back := make([]byte, 10)
	if _, err := io.ReadFull(c, back); err != nil || string(back) != "abcdefghij" {
		t.Fatalf("drip back: %q %v", back, err)
	}
}

func TestFragmenterMessageArrivesWhole(t *testing.T) {
	s := start(t, Config{Seed: 7, FragmenterMaxPause: 3 * time.Millisecond})
	for i := range 2 {
		c := dial(t, s.Addr("fragmenter"))
		var got []byte
		reads := 0
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 {
				reads++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != FragmenterMessage {
			t.Fatalf("connection %d got %q", i, got)
		}
		if reads < 2 {
			t.Fatalf("connection %d: the message came in %d read", i, reads)
		}
	}
}

func TestFragments(t *testing.T) {
	const n, maxPiece, maxPause = len(FragmenterMessage), 16, 60 * time.Millisecond
	a := Fragments(42, n, maxPiece, maxPause)
	if b := Fragments(42, n, maxPiece, maxPause); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 42 gave two plans:\n%v\n%v", a, b)
	}
	if c := Fragments(43, n, maxPiece, maxPause); fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("seeds 42 and 43 gave the same plan")
	}
	sum := 0
	for i, f := range a {
		if f.Size < 1 || f.Size > maxPiece || f.Pause < 0 || f.Pause > maxPause || (i == 0 && f.Pause != 0) {
			t.Fatalf("fragment %d is %+v", i, f)
		}
		sum += f.Size
	}
	if sum != n || len(a) < 2 {
		t.Fatalf("%d fragments of %d bytes in all, want %d", len(a), sum, n)
	}
}

// sizeRecorder records the size of every write.
type sizeRecorder struct {
	sizes []int
	buf   bytes.Buffer
}

func (r *sizeRecorder) Write(b []byte) (int, error) {
	r.sizes = append(r.sizes, len(b))
	return r.buf.Write(b)
}

// TestFragmenterWritesItsPlan checks the fragmenter's writes are the
// plan's, one write per fragment: so two connections with the same seed
// write the same sizes.
func TestFragmenterWritesItsPlan(t *testing.T) {
	s := start(t, Config{})
	msg := []byte(FragmenterMessage)
	plan := Fragments(5, len(msg), 16, 0)
	var w sizeRecorder
	if !s.writeFragments(&w, msg, plan) {
		t.Fatal("writeFragments gave up")
	}
	var want []int
	for _, f := range plan {
		want = append(want, f.Size)
	}
	if fmt.Sprint(w.sizes) != fmt.Sprint(want) || w.buf.String() != FragmenterMessage {
		t.Fatalf("wrote %v (%q), want %v", w.sizes, w.buf.String(), want)
	}
}

// chatClient reads a chat connection line by line.
type chatClient struct {
	c    net.Conn
	r    *bufio.Reader
	name string
}

func joinChat(t *testing.T, s *Server, others int) *chatClient {
	t.Helper()
	c := dial(t, s.Addr("chat"))
	cc := &chatClient{c: c, r: bufio.NewReader(c), name: c.LocalAddr().String()}
	cc.expect(t, fmt.Sprintf("* welcome [%s]; %d others here\n", cc.name, others))
	return cc
}

func (cc *chatClient) expect(t *testing.T, want string) {
	t.Helper()
	got, err := cc.r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("%s read %q, %v; want %q", cc.name, got, err, want)
	}
}

func (cc *chatClient) say(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(cc.c, line); err != nil {
		t.Fatal(err)
	}
}

func TestChat(t *testing.T) {
	s := start(t, Config{})
	a := joinChat(t, s, 0)
	b := joinChat(t, s, 1)
	a.expect(t, "* ["+b.name+"] joined\n")
	c := joinChat(t, s, 2)
	a.expect(t, "* ["+c.name+"] joined\n")
	b.expect(t, "* ["+c.name+"] joined\n")

	a.say(t, "hi from a\n")
	b.expect(t, "["+a.name+"] hi from a\n")
	c.expect(t, "["+a.name+"] hi from a\n")
	// If a's own line had come back to it, it would be read before b's.
	b.say(t, "hi from b\r\n")
	a.expect(t, "["+b.name+"] hi from b\r\n")
	c.expect(t, "["+b.name+"] hi from b\r\n")

	c.c.Close()
	a.expect(t, "* ["+c.name+"] left\n")
	b.expect(t, "* ["+c.name+"] left\n")
}

// TestChatDropsSlowMember checks that a member who never reads is dropped
// once its queue is full, while the sender goes on unhindered.
func TestChatDropsSlowMember(t *testing.T) {
	s := start(t, Config{})
	a := joinChat(t, s, 0)
	slow := joinChat(t, s, 1)
	a.expect(t, "* ["+slow.name+"] joined\n")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		line := []byte(strings.Repeat("x", 4000) + "\n")
		for sent := 0; sent < 256<<20; sent += len(line) {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := a.c.Write(line); err != nil {
				return
			}
		}
	}()
	a.expect(t, "* ["+slow.name+"] left\n")
	close(stop)
	wg.Wait()
}

func TestDaytime(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s.Addr("daytime"))
	got := string(readToEOF(t, c))
	line, ok := strings.CutSuffix(got, "\r\n")
	if !ok || strings.ContainsAny(line, "\r\n") {
		t.Fatalf("got %q, want one line ending in \\r\\n", got)
	}
	when, err := time.Parse(DaytimeLayout, line)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(when); d < -time.Minute || d > time.Minute {
		t.Fatalf("daytime says %v, %v from now", when, d)
	}
}

func TestDiscard(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s.Addr("discard"))
	if _, err := c.Write(bytes.Repeat([]byte("discard me\n"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	// Any reply would be read before the EOF.
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after half-close: %d %v, want EOF and no reply", n, err)
	}
}

// TestSink fills the pipe to the sink lab until a write stalls, then
// checks the lab notices the client leaving, by FIN or by RST.
func TestSink(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		name  string
		fill  bool
		reset bool
	}{
		{"idle client closes", false, false},
		{"full pipe, client resets", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s.Addr("sink"))
			eventually(t, "the sink holds the connection", func() bool { return s.connCount() == 1 })
			if tc.fill {
				const limit = 64 << 20
				chunk := make([]byte, 64<<10)
				total := 0
				for ; total < limit; total += len(chunk) {
					c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
					n, err := c.Write(chunk)
					if errors.Is(err, os.ErrDeadlineExceeded) {
						total += n
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if total == 0 || total >= limit {
					t.Fatalf("wrote %d bytes before a write stalled, want some but less than %d", total, limit)
				}
				t.Logf("the pipe took %d bytes", total)
			}
			if tc.reset {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
			eventually(t, "the sink closes its end", func() bool { return s.connCount() == 0 })
		})
	}
}

// httpResp is a parsed response of the http lab.
type httpResp struct {
	status  int
	headers map[string]string
	body    string
}

func httpExchange(t *testing.T, s *Server, req string) httpResp {
	t.Helper()
	c := dial(t, s.Addr("http"))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if headEnd([]byte(req)) < 0 {
		// Without the empty line, only EOF or the read timeout ends the head.
		c.(*net.TCPConn).CloseWrite()
	}
	return parseHTTP(t, readToEOF(t, c))
}

func parseHTTP(t *testing.T, b []byte) httpResp {
	t.Helper()
	raw := string(b)
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of head in %q", raw)
	}
	lines := strings.Split(head, "\r\n")
	var r httpResp
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.0 %d ", &r.status); err != nil {
		t.Fatalf("status line %q: %v", lines[0], err)
	}
	r.headers = map[string]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		r.headers[k] = v
	}
	r.body = body
	return r
}

func TestHTTP(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		name, req string
		status    int
		body      string // "" to check only that the body matches Content-Length
		emptyBody bool
	}{
		{"GET /", "GET / HTTP/1.0\r\n\r\n", 200, "", false},
		{"GET /hello HTTP/1.1", "GET /hello HTTP/1.1\r\nHost: localhost\r\nUser-Agent: by-hand\r\n\r\n", 200, "hello\n", false},
		{"bare newlines", "GET /hello?x=1 HTTP/1.0\n\n", 200, "hello\n", false},
		{"leading empty line", "\r\nGET /hello HTTP/1.0\r\n\r\n", 200, "hello\n", false},
		{"half-closed after the request line", "GET /hello HTTP/1.0\r\n", 200, "hello\n", false},
		{"HEAD /", "HEAD / HTTP/1.0\r\n\r\n", 200, "", true},
		{"not found", "GET /nope HTTP/1.0\r\n\r\n", 404, "404 Not Found\n", false},
		{"POST", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 405, "405 Method Not Allowed\n", false},
		{"bad request line", "hello there\r\n\r\n", 400, "400 Bad Request\n", false},
		{"bad version", "GET / HTTP/one\r\n\r\n", 400, "400 Bad Request\n", false},
		{"bad header", "GET / HTTP/1.0\r\nno colon here\r\n\r\n", 400, "400 Bad Request\n", false},
		{"head too large", "GET / HTTP/1.0\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\n\r\n", 431, "431 Request Header Fields Too Large\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httpExchange(t, s, tc.req)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if r.headers["Connection"] != "close" {
				t.Errorf("Connection: %q, want close", r.headers["Connection"])
			}
			cl, err := strconv.Atoi(r.headers["Content-Length"])
			if err != nil {
				t.Fatalf("Content-Length %q", r.headers["Content-Length"])
			}
			if tc.emptyBody {
				if r.body != "" || cl == 0 {
					t.Fatalf("HEAD: body %q, Content-Length %d; want no body and the GET's length", r.body, cl)
				}
				return
			}
			if cl != len(r.body) {
				t.Fatalf("Content-Length %d, body of %d bytes", cl, len(r.body))
			}
			if tc.body != "" && r.body != tc.body {
				t.Fatalf("body %q, want %q", r.body, tc.body)
			}
			if tc.status == 405 && r.headers["Allow"] != "GET, HEAD" {
				t.Errorf("Allow: %q", r.headers["Allow"])
			}
		})
	}
	if r := httpExchange(t, s, "GET / HTTP/1.0\r\n\r\n"); !strings.Contains(r.body, "<html>") || r.headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Errorf("GET / gave %q %q", r.headers["Content-Type"], r.body)
	}
}

// TestHTTPReadTimeout: a silent client gets 408 once the timeout passes;
// by default it waits as a server does for a person typing a request by
// hand while talking to a class (two minutes at the least).
func TestHTTPReadTimeout(t *testing.T) {
	if DefaultHTTPReadTimeout < 2*time.Minute {
		t.Fatalf("the http lab waits %v for a request: a person typing one by hand is cut off", DefaultHTTPReadTimeout)
	}
	s := start(t, Config{HTTPReadTimeout: 100 * time.Millisecond})
	c := dial(t, s.Addr("http"))
	io.WriteString(c, "GET / HTTP/1.0\r\n")
	r := parseHTTP(t, readToEOF(t, c))
	if r.status != 408 {
		t.Fatalf("status %d, want 408", r.status)
	}
}

func TestFile(t *testing.T) {
	for _, size := range []int{0, 1, 64, 1000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			s := start(t, Config{FileSize: size})
			if size == 0 {
				size = DefaultFileSize
			}
			lab := find(t, s, "file", "tcp")
			got := readToEOF(t, dial(t, lab.Addr))
			sum := sha256.Sum256(got)
			if len(got) != size || lab.Size != size || hex.EncodeToString(sum[:]) != lab.SHA256 {
				t.Fatalf("got %d bytes with SHA-256 %x; lab lists %d bytes, %s", len(got), sum, lab.Size, lab.SHA256)
			}
			if !bytes.Equal(got, FileContent(size)) {
				t.Fatal("content differs from FileContent")
			}
		})
	}
	if b := FileContent(200); string(b[64:75]) != "0000000064 " || b[63] != '\n' {
		t.Fatalf("FileContent lines are not numbered by offset: %q", b[:128])
	}
}

// Linux TCP states (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpSynSent     = 2
)

func tcpInfo(t *testing.T, fd int) *unix.TCPInfo {
	t.Helper()
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// connectNB starts a non-blocking connect, as Python's connect_ex on a
// socket with timeout 0 does.
func connectNB(t *testing.T, addr *net.TCPAddr) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	sa := &unix.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		t.Fatal(err)
	}
	return fd
}

// pollOut waits up to ms for any of fds to become writable (connected).
func pollOut(t *testing.T, ms int, fds ...int) []unix.PollFd {
	t.Helper()
	pfds := make([]unix.PollFd, len(fds))
	for i, fd := range fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
	}
	for {
		_, err := unix.Poll(pfds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return pfds
	}
}

func TestBacklog(t *testing.T) {
	s := start(t, Config{})
	addr, err := net.ResolveTCPAddr("tcp", s.Addr("backlog"))
	if err != nil {
		t.Fatal(err)
	}
	var ln *backlogListener
	for _, c := range s.closers {
		if l, ok := c.(*backlogListener); ok {
			ln = l
		}
	}
	if ln == nil {
		t.Fatal("no backlog listener")
	}
	// For a listener, TCP_INFO's unacked is the accept queue's length and
	// sacked its backlog.
	if got := tcpInfo(t, ln.fd).Sacked; got != 1 {
		t.Fatalf("listening with backlog %d, want 1", got)
	}

	// Linux queues backlog+1 connections.
	for i := 1; i <= 2; i++ {
		fd := connectNB(t, addr)
		if p := pollOut(t, 5000, fd); p[0].Revents&unix.POLLOUT == 0 {
			t.Fatalf("client %d did not connect", i)
		}
		if st := tcpInfo(t, fd).State; st != tcpEstablished {
			t.Fatalf("client %d in TCP state %d, want ESTABLISHED", i, st)
		}
		eventually(t, "the connection is in the accept queue", func() bool { return tcpInfo(t, ln.fd).Unacked == uint32(i) })
	}

	// The queue is full: these SYNs are dropped, and stay unanswered at
	// least until the first retransmission, a second away.
	var pending []int
	for range 3 {
		pending = append(pending, connectNB(t, addr))
	}
	for i, p := range pollOut(t, 300, pending...) {
		if p.Revents != 0 {
			t.Errorf("client %d: poll events %#x, want none", i+3, p.Revents)
		}
		if st := tcpInfo(t, pending[i]).State; st != tcpSynSent {
			t.Errorf("client %d in TCP state %d, want SYN_SENT", i+3, st)
		}
	}
	if q := tcpInfo(t, ln.fd).Unacked; q != 2 {
		t.Errorf("accept queue holds %d, want 2", q)
	}
}

// TestBacklogResets: the lab is shared, so a full queue left by someone
// is reset after a quiet spell: queued clients are reset, and the next
// connect completes again.
func TestBacklogResets(t *testing.T) {
	relistened := make(chan struct{}, 8)
	log := slog.New(notify{slog.NewTextHandler(t.Output(), nil), "backlog lab: reset its accept queue", relistened})
	s := start(t, Config{BacklogQuiet: 200 * time.Millisecond, Logger: log})
	var queued []net.Conn
	for i := 0; i < 2; i++ {
		queued = append(queued, dial(t, s.Addr("backlog")))
	}
	for i, c := range queued {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("queued client %d: %v, want the connection reset", i+1, err)
		}
	}
	// The queued clients see the reset when the old listener closes; the
	// lab listens again just after, and says so.
	select {
	case <-relistened:
	case <-time.After(10 * time.Second):
		t.Fatal("the backlog lab never said it listens again")
	}
	c := dial(t, s.Addr("backlog"))
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connect after the reset: %v, want it queued (and silent)", err)
	}
}

func TestTakenPortFallsBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	s := start(t, Config{BasePort: taken})
	if got := s.Addr("echo"); got == ln.Addr().String() || got == "" {
		t.Fatalf("echo at %q, the taken port", got)
	}
	dial(t, s.Addr("echo"))
	if s.Addr("drip") != "127.0.0.1:"+strconv.Itoa(taken+1) {
		// The next port may be taken by something else on this machine;
		// then it too must have fallen back to a working one.
		dial(t, s.Addr("drip"))
	}
}

func TestCloseEndsConnections(t *testing.T) {
	s, err := Start(Config{Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr("echo"))
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	s.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	if _, err := net.Dial("tcp", s.Addr("echo")); err == nil {
		t.Fatal("still listening after Close")
	}
}

// TestCloseEndsEverything holds a connection open to every TCP lab, each
// in the middle of its work, and checks Close ends them all and leaves no
// goroutine behind.
func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(Config{Host: "127.0.0.1", FragmenterMaxPause: time.Second, DripPause: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	served := 0
	for _, l := range s.Labs() {
		switch {
		case l.Proto == "udp":
			c, err := net.Dial("udp", l.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("ping"))
			continue
		case l.Name != "backlog":
			served++
		}
		c := dial(t, l.Addr)
		conns = append(conns, c)
		switch l.Name {
		case "chat":
			c.Write([]byte("a line\n"))
		case "http":
			c.Write([]byte("GET / HTTP/1.0\r\n"))
		case "discard", "sink", "echo", "drip":
			c.Write([]byte("data"))
		}
	}
	eventually(t, "every lab has its connection", func() bool { return s.connCount() == served })
	s.Close()
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, unix.ECONNRESET) {
			t.Errorf("%s: %v, want EOF or reset", c.RemoteAddr(), err)
		}
	}
	eventually(t, "the labs' goroutines are gone", func() bool { return runtime.NumGoroutine() <= before })
}

// notify is a slog handler that also signals on ch each time a record
// with message msg is handled: a test can await what the code logs.
type notify struct {
	slog.Handler
	msg string
	ch  chan<- struct{}
}

func (n notify) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == n.msg {
		select {
		case n.ch <- struct{}{}:
		default:
		}
	}
	return n.Handler.Handle(ctx, r)
}

func (n notify) WithAttrs(as []slog.Attr) slog.Handler {
	return notify{n.Handler.WithAttrs(as), n.msg, n.ch}
}

func (n notify) WithGroup(g string) slog.Handler {
	return notify{n.Handler.WithGroup(g), n.msg, n.ch}
}
