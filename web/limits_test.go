package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/lessons"
)

// TestLimitsOverHTTPAndWebSocket: a limit hit over the API is a clear
// error, and the refused op never runs.
func TestLimitsOverHTTPAndWebSocket(t *testing.T) {
	t0 := time.Now()
	e := newEnvWith(t, sockets.Config{MaxSessions: 1, MaxOpsPerSec: 1, Clock: func() time.Time { return t0 }})
	id := e.newSession(t)

	resp, err := http.Post(e.srv.URL+"/api/sessions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second session past -max-sessions 1: %s, want 503", resp.Status)
	}

	e.ok(t, id, `{"op":"socket"}`)
	code, body := e.post(t, id, `{"op":"socket"}`)
	if apiErr, _ := body["error"].(map[string]any); code != http.StatusTooManyRequests || apiErr["code"] != "rate_limited" || !strings.Contains(apiErr["msg"].(string), "-max-ops-per-sec") {
		t.Errorf("second op in a second over HTTP: %d %v", code, body)
	}
	all, err := lessons.All()
	if err != nil || len(all) == 0 {
		t.Fatal(err)
	}
	resp, err = http.Post(e.srv.URL+"/api/sessions/"+id+"/lessons/"+all[0].ID+"/step", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a lesson step over the limit: %s, want 429", resp.Status)
	}
	w := dialWS(t, e, id, 0)
	w.send(`{"id":"over","op":"socket"}`)
	if msg := w.await("over"); msg["type"] != "error" || msg["error"].(map[string]any)["code"] != "rate_limited" {
		t.Errorf("op over the limit on the WebSocket: %v", msg)
	}
	if s, _ := e.mgr.Get(id); len(s.State().Sockets) != 1 {
		t.Errorf("%d sockets: a refused op ran", len(s.State().Sockets))
	}
}

// TestIdleExpiryTellsOpenPages: a session nobody uses ends even while a
// page is open, and the page is told why.
func TestIdleExpiryTellsOpenPages(t *testing.T) {
	e := newEnvWith(t, sockets.Config{IdleTimeout: 200 * time.Millisecond})
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	w := dialWS(t, e, id, 0)
	for {
		msg := w.next()
		if msg["type"] != "ended" {
			continue
		}
		reason, _ := msg["end_reason"].(string)
		if !strings.Contains(reason, "unused for 200ms") || !strings.Contains(reason, "-session-idle") {
			t.Errorf("ended, with reason %q", reason)
		}
		socks := msg["sockets"].([]any)
		if st := socks[0].(map[string]any)["state"]; st != "closed" {
			t.Errorf("its socket is %v, want closed", st)
		}
		break
	}
	if _, ok := e.mgr.Get(id); ok {
		t.Error("the expired session can still be found")
	}
}
