package web

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// watchLinkOf asks for session id's watch link.
func watchLinkOf(t *testing.T, base, id string) watchLink {
	t.Helper()
	resp, err := http.Post(base+"/api/sessions/"+id+"/watch", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l watchLink
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("watch link: %s %v", resp.Status, err)
	}
	return l
}

func dialWatch(t *testing.T, base, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/api/watch/"+token+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

// awaitState reads until a state message satisfies ok.
func (w *wsClient) awaitState(what string, ok func(m map[string]any) bool) {
	w.t.Helper()
	for {
		m := w.next()
		if m["type"] == "state" && ok(m) {
			return
		}
	}
}

// TestWatchLink: a watch link shows the session live with its history,
// never its id, refuses ops without running them, and the owner sees how
// many watch.
func TestWatchLink(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	owner := dialWS(t, e, id, 0)
	owner.send(`{"id":1,"op":"socket"}`)
	owner.await(1.0)

	link := watchLinkOf(t, e.srv.URL, id)
	if again := watchLinkOf(t, e.srv.URL, id); again != link || link.URL != "/w/"+link.Token || strings.Contains(link.Token, id) {
		t.Fatalf("watch links %+v then %+v", link, again)
	}
	w := dialWatch(t, e.srv.URL, link.Token)
	hello := w.next()
	if hello["type"] != "hello" || hello["watching"] != true || hello["session"] != nil {
		t.Fatalf("watcher hello %v", hello)
	}
	if ev := w.next(); ev["seq"] != 1.0 || ev["op"] != "socket" {
		t.Fatalf("watcher's first event %v, want the history from seq 1", ev)
	}
	w.awaitState("state without the id", func(m map[string]any) bool { return m["id"] == nil })
	owner.awaitState("1 watching", func(m map[string]any) bool { return m["watchers"] == 1.0 })

	// A watcher's op is refused, and nothing runs.
	w.send(`{"id":"w1","op":"socket"}`)
	if m := w.await("w1"); m["type"] != "error" || m["error"].(map[string]any)["code"] != "read_only" {
		t.Fatalf("watcher's op answered %v", m)
	}
	owner.send(`{"id":2,"op":"socket"}`)
	made := owner.await(2.0)
	if sock := made["result"].(map[string]any)["sock"]; sock != "s2" {
		t.Fatalf("owner's second socket is %v: the watcher's op ran", sock)
	}
	for {
		if m := w.next(); m["seq"] == made["seq"] {
			break // live
		}
	}
	for _, path := range []string{"/api/watch/" + link.Token, "/w/" + link.Token} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), id) {
			t.Errorf("GET %s: %s; shows the session id: %v", path, resp.Status, strings.Contains(string(body), id))
		}
	}
	w.c.Close(websocket.StatusNormalClosure, "")
	owner.awaitState("0 watching", func(m map[string]any) bool { return m["watchers"] == 0.0 })

	e.mgr.End(id)
	for _, path := range []string{"/api/watch/" + link.Token, "/api/watch/" + link.Token + "/ws", "/w/" + link.Token, "/api/watch/nosuchtoken"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after the session ended: %s, want 404", path, resp.Status)
		}
	}
}

// TestWatchLinkNeedsNoToken: beyond loopback the token guards everything
// but a watch link's GETs (its secret is in its path) and static files.
func TestWatchLinkNeedsNoToken(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	defer m.Close()
	srv := httptest.NewServer(New(Config{Sessions: m, Access: Access{Token: "sekrit"}}))
	defer srv.Close()
	s, _ := m.Create()
	token, _ := m.WatchToken(s.ID())
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/w/" + token, 200},
		{"GET", "/api/watch/" + token, 200},
		{"GET", "/static/app.js", 200},
		{"GET", "/s/" + s.ID(), 401},
		{"GET", "/api/sessions/" + s.ID(), 401},
		{"POST", "/api/sessions/" + s.ID() + "/watch", 401},
		{"POST", "/api/watch/" + token, 401},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s without the token: %s, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
}

// smallSendBuffers makes every connection the server accepts have a small
// kernel send buffer, so that a client that stops reading stalls its
// writer within kilobytes rather than megabytes.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// TestTwoHundredWatchers: one owner and 200 watchers, one of which never
// reads. Every other one gets every event's bytes (count and CRC); the
// stalled one holds nobody up and is dropped by the server.
func TestTwoHundredWatchers(t *testing.T) {
	const watchers = 200
	const total = 512 << 10 // bytes the source writes
	m := sockets.NewManager(sockets.Config{StatsInterval: -1})
	defer m.Close()
	// A write timeout long enough for a live reader of 1 MiB batches
	// through small buffers on a loaded machine, short enough to drop the
	// stalled one quickly. The 199 live readers share two cores: one
	// batch reaches a reader only as fast as all of them read theirs, so
	// under -race, with other packages' tests running, 5 s cut some.
	timeout := 5 * time.Second
	if raceEnabled {
		timeout = 20 * time.Second
	}
	srv := httptest.NewUnstartedServer(New(Config{Sessions: m, WriteTimeout: timeout}))
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	s, _ := m.Create()
	token, _ := m.WatchToken(s.ID())
	wsURL := strings.Replace(srv.URL, "http", "ws", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dial := func(path string, opts *websocket.DialOptions) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, wsURL+path, opts)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(16 << 20)
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	// The stalled watcher: a tiny receive buffer, and it never reads. It
	// takes binary batches, so that once it is behind the server's next
	// write is a big one, which cannot trickle through a closed window
	// within the write timeout, as small messages can.
	stalledDialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	}}
	dial("/api/watch/"+token+"/ws?format=bin", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: stalledDialer.DialContext}}})

	// Everyone else reads every recv's bytes.
	data := make([]byte, total)
	for i := range data {
		data[i] = pattern[i%len(pattern)]
	}
	src := finiteSource(t, data)
	want := patternCRC(0, 0, total)
	type tally struct {
		n   int
		crc uint32
		err error
	}
	results := make([]tally, watchers) // [0] is the owner; 1..199 watchers
	var wg sync.WaitGroup
	read := func(i int, c *websocket.Conn) {
		defer wg.Done()
		r := &results[i]
		r.err = readRecvEvents(ctx, c, func(data []byte) bool {
			r.crc = crc32.Update(r.crc, crc32.IEEETable, data)
			r.n += len(data)
			return r.n < total
		})
	}
	owner := dial("/api/sessions/"+s.ID()+"/ws?format=bin", nil)
	conns := []*websocket.Conn{owner}
	for i := 1; i < watchers; i++ {
		conns = append(conns, dial("/api/watch/"+token+"/ws?format=bin", nil))
	}
	awaitSession(t, s, "every watcher attached", func(s *sockets.Session) bool { return s.State().Watchers == watchers })
	for i, c := range conns {
		wg.Add(1)
		go read(i, c)
	}
	id := mustDo(t, s, sockets.Op{Op: "socket"}).Result.Sock
	mustDo(t, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: src}})
	bufsize := 1024
	mustDo(t, s, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: &bufsize}})
	wg.Wait()
	for i, r := range results {
		who := "watcher"
		if i == 0 {
			who = "owner"
		}
		if r.err != nil || r.n != total || r.crc != want {
			t.Errorf("%s %d: %d of %d bytes, crc %08x want %08x, err %v", who, i, r.n, total, r.crc, want, r.err)
		}
	}
	// The stalled watcher is closed by the server; the count says so.
	awaitSession(t, s, "the stalled watcher dropped", func(s *sockets.Session) bool { return s.State().Watchers == watchers-1 })
}

// awaitSession waits until ok holds of s, checking at every change. The
// channel is taken before the check, so a change between the two cannot
// be missed.
func awaitSession(tb testing.TB, s *sockets.Session, what string, ok func(s *sockets.Session) bool) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		ch := s.Changed()
		if ok(s) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("waiting for %s: not after 30 s", what)
		}
	}
}

// TestWatcherLag: when a watcher counts as too far behind. It once never
// became live if it joined a stream faster than it could read, and so was
// never held to the limit.
func TestWatcherLag(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		history, cursor, last int64
		want                  bool
	}{
		{"loading a long history", 100_000, 20_000, 100_050, false},
		{"read its history, then fell behind", 1_000, 1_000, 1_200, true},
		{"read its history, within the limit", 1_000, 1_000, 1_100, false},
		{"past its history and keeping up", 10, 5_000, 5_020, false},
		{"past its history and behind", 10, 5_000, 5_101, true},
	} {
		if got := tooFarBehind(tc.history, tc.cursor, tc.last, 100); got != tc.want {
			t.Errorf("%s: too far behind = %v, want %v", tc.name, got, tc.want)
		}
	}
}
