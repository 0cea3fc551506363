package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
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
