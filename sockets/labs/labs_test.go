package labs

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
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
