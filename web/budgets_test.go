package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// deleteSession sends DELETE /api/sessions/{id} and returns its status and
// the error code of its body, if any.
func deleteSession(t *testing.T, base, id string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, base+"/api/sessions/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error apiError `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, string(body.Error.Code)
}

// awaitEnded reads w until the session's "ended" message, and returns
// the reason it gives.
func (w *wsClient) awaitEnded() string {
	w.t.Helper()
	for {
		if m := w.next(); m["type"] == "ended" {
			reason, _ := m["end_reason"].(string)
			return reason
		}
	}
}

// TestDeleteSession: DELETE ends a session: 204, its sockets closed, its
// pages and watchers told why it ended; a session that is not there (never
// was, or ended) is 404 no_session.
func TestDeleteSession(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	owner := dialWS(t, e, id, 0)
	owner.send(`{"id":1,"op":"socket"}`)
	owner.await(1.0)
	watcher := dialWatch(t, e.srv.URL, watchLinkOf(t, e.srv.URL, id).Token)
	if m := watcher.next(); m["type"] != "hello" {
		t.Fatalf("watcher's first message %v", m)
	}
	s, _ := e.mgr.Get(id)
	if code, _ := deleteSession(t, e.srv.URL, id); code != http.StatusNoContent {
		t.Fatalf("DELETE of a live session: %d, want 204", code)
	}
	for who, w := range map[string]*wsClient{"page": owner, "watcher": watcher} {
		if reason := w.awaitEnded(); !strings.Contains(reason, "DELETE") {
			t.Errorf("the %s was told the session ended %q: not why", who, reason)
		}
	}
	if st := s.State(); !st.Ended || st.Sockets[0].State != "closed" {
		t.Fatalf("after DELETE: ended %v, socket %s", st.Ended, st.Sockets[0].State)
	}
	for _, c := range []struct{ name, id string }{{"ended", id}, {"never was", "nosuchsession"}} {
		if code, errCode := deleteSession(t, e.srv.URL, c.id); code != http.StatusNotFound || errCode != "no_session" {
			t.Errorf("DELETE of a session that %s: %d %q, want 404 no_session", c.name, code, errCode)
		}
	}
}

// TestWatcherCapRefuses: past -max-watchers a watch link's WebSocket gets a
// too_many_watchers error and is closed with 1013 (try again later); once
// a watcher leaves, the next one gets in.
func TestWatcherCapRefuses(t *testing.T) {
	e := newEnvWith(t, sockets.Config{MaxWatchers: 1})
	id := e.newSession(t)
	token := watchLinkOf(t, e.srv.URL, id).Token
	first := dialWatch(t, e.srv.URL, token)
	if m := first.next(); m["type"] != "hello" {
		t.Fatalf("first watcher's first message %v", m)
	}
	refused := dialWatch(t, e.srv.URL, token)
	m := refused.next()
	if m["type"] != "error" || m["error"].(map[string]any)["code"] != "too_many_watchers" ||
		!strings.Contains(m["error"].(map[string]any)["msg"].(string), "-max-watchers") {
		t.Fatalf("a watcher past -max-watchers 1 got %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := refused.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
		t.Fatalf("the refused watcher's close: %v, want 1013", err)
	}
	owner := dialWS(t, e, id, 0)
	first.c.Close(websocket.StatusNormalClosure, "")
	owner.awaitState("no watcher", func(m map[string]any) bool { return m["watchers"] == 0.0 })
	again := dialWatch(t, e.srv.URL, token)
	if m := again.next(); m["type"] != "hello" {
		t.Fatalf("a watcher after one left got %v", m)
	}
}

// bigSends runs n sendall ops of size bytes each (letters, no repeat, so
// that the events and the export hold every byte) on a new socket of
// session id connected to the echo lab, and reads them back.
func bigSends(t *testing.T, e *testEnv, id string, n, size int) {
	t.Helper()
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	data := strings.Repeat("abcdefghijklmnopqrstuvwxyz", size/26+1)[:size]
	for i := 0; i < n; i++ {
		e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"`+data+`"}}`)
		for got := 0; got < size; {
			got += int(result(e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":1048576}`))["n"].(float64))
		}
	}
}

// TestEventsPastTheByteBound: GET /events borrows the log a bounded
// number of bytes at a time, and a batch cut short by bytes is no end:
// every event of a log larger than that bound is streamed.
func TestEventsPastTheByteBound(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	bigSends(t, e, id, 10, 1<<20) // 20 MiB of sends and recvs, past 16 MiB
	s, _ := e.mgr.Get(id)
	last := s.LastSeq()
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	var seq, n int64
	for {
		var ev sockets.Event
		if err := dec.Decode(&ev); err != nil {
			break
		}
		if ev.Seq != seq+1 {
			t.Fatalf("event %d after %d", ev.Seq, seq)
		}
		seq = ev.Seq
		n++
	}
	if seq != last {
		t.Fatalf("the stream ended at seq %d of %d (%d events)", seq, last, n)
	}
}

// TestExportOneAtATime: a session's script is made of its whole log, held
// until written, so a second download while one is under way is refused
// (429 export_busy) rather than holding another copy; once the first is
// done, the next is served.
func TestExportOneAtATime(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	bigSends(t, e, id, 6, 1<<20) // a script of more than a loopback connection buffers
	url := e.srv.URL + "/api/sessions/" + id + "/export.py"
	// A download that reads nothing: its writes block once the buffers
	// are full.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stalled, err := d.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte("GET /api/sessions/" + id + "/export.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Its answer begun before any other download asks: one that asked
	// first would hold the export, and the stalled one, refused, would
	// not be stalled at all.
	line, err := bufio.NewReader(stalled).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("the stalled download's answer: %q %v", line, err)
	}
	status := func() (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error apiError `json:"error"`
		}
		if resp.StatusCode != http.StatusOK {
			_ = json.NewDecoder(resp.Body).Decode(&body)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		return resp.StatusCode, string(body.Error.Code)
	}
	await := func(what string, want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, errCode := status()
			if code == want {
				if want != http.StatusOK && errCode != "export_busy" {
					t.Fatalf("%s: %d %s", what, code, errCode)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %d %s", what, code, errCode)
			}
		}
	}
	await("a second download while the first is stalled", http.StatusTooManyRequests)
	stalled.Close()
	await("a download once the first has gone", http.StatusOK)
}
