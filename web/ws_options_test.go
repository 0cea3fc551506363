package web

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// dialWSQuery is dialWS with more of the query (after since).
func dialWSQuery(t *testing.T, e *testEnv, id, query string) *wsClient {
	t.Helper()
	return dialWSWith(t, e, id, "since=0&"+query)
}

// TestWebSocketRepliesOnly: with ?replies=1 a client gets the answers to
// its own ops and its own errors, and nothing else: no other client's
// events, no state.
func TestWebSocketRepliesOnly(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	other := dialWS(t, e, id, 0)
	// History and another client's events: none of them comes.
	e.ok(t, id, `{"op":"socket"}`)
	other.send(`{"id":"o","op":"socket"}`)
	other.await("o")
	w := dialWSQuery(t, e, id, "replies=1")
	other.send(`{"id":"o2","op":"getsockname","sock":"s1"}`)
	other.await("o2")
	w.send(`{"id":1,"op":"socket"}`)
	if m := w.next(); m["reply"] != 1.0 || m["ok"] != true || result(m)["sock"] != "s3" {
		t.Fatalf("the first message after hello: %v, want the reply to op 1", m)
	}
	w.send(`{"id":"bad","op":"recv","sock":"s3","bufsize":"x"}`)
	if m := w.next(); m["type"] != "error" || m["reply"] != "bad" {
		t.Fatalf("after a bad op: %v, want its error", m)
	}
	other.send(`{"id":"o3","op":"close","sock":"s1"}`)
	other.await("o3")
	w.send(`{"id":2,"op":"getsockname","sock":"s3"}`)
	if m := w.next(); m["reply"] != 2.0 || m["op"] != "getsockname" {
		t.Fatalf("the next message: %v, want the reply to op 2", m)
	}

	for _, q := range []string{"replies=2", "replies=1&batch=1", "replies=1&format=bin"} {
		resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/ws?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %s, want 400", q, resp.Status)
		}
	}
	token := watchLinkOf(t, e.srv.URL, id).Token
	resp, err := http.Get(e.srv.URL + "/api/watch/" + token + "/ws?replies=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a watcher's ?replies=1: %s, want 400", resp.Status)
	}
}

// TestWebSocketPace: with ?pace=MS, a burst of events comes in a few
// messages, at most one per MS while they keep coming, and every event
// comes, in order.
func TestWebSocketPace(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	const pace = 150 * time.Millisecond
	w := dialWSQuery(t, e, id, "batch=1&pace=150")
	const n = 60
	start := time.Now()
	for range n {
		e.ok(t, id, `{"op":"gethostbyname","host":"127.0.0.1"}`)
	}
	burst := time.Since(start)
	next, messages := 1.0, 0
	for next <= n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		typ, b, err := w.c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := decodeMessage(typ, b)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[0]["type"] != nil {
			continue // state
		}
		messages++
		for _, m := range msgs {
			if m["seq"] != next {
				t.Fatalf("seq %v, want %v", m["seq"], next)
			}
			next++
		}
	}
	// The first event goes at once, the rest at most one message a pace
	// while the burst lasts, and one after it.
	if most := 2 + int(burst/pace); messages > most {
		t.Fatalf("%d events over %v came in %d messages, want at most %d (pace %v)", n, burst, messages, most, pace)
	}

	for _, q := range []string{"pace=-1", "pace=x", "pace=1001"} {
		resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/ws?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %s, want 400", q, resp.Status)
		}
	}
}
