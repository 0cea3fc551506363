package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// drainEnv is a node called node-7, its drains of a minute unless told,
// with the token s3cret.
func drainEnv(t *testing.T) (*httptest.Server, *sockets.Manager, *Drain) {
	t.Helper()
	m := sockets.NewManager(sockets.Config{Node: "node-7"})
	t.Cleanup(m.Close)
	d := NewDrain(time.Minute)
	srv := httptest.NewServer(New(Config{Sessions: m, Node: "node-7", Drain: d, Access: Access{Token: "s3cret"}}))
	t.Cleanup(srv.Close)
	return srv, m, d
}

// call sends method url with the token (unless token is ""), and returns
// the status and the JSON body.
func call(t *testing.T, method, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Sec-Fetch-Dest", "document")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

func errorCodeOf(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestReadyAndDrain: /readyz is 200 until the drain, 503 once it has
// begun; new sessions are then refused with draining, on the API and on
// "/", while the node's sessions go on; the admin call needs the token,
// and may bring the deadline forward but never put it back.
func TestReadyAndDrain(t *testing.T) {
	srv, m, d := drainEnv(t)
	if code, body := call(t, "GET", srv.URL+"/readyz", ""); code != 200 || body["status"] != "ready" || body["node"] != "node-7" {
		t.Fatalf("/readyz before the drain: %d %v", code, body)
	}
	code, body := call(t, "POST", srv.URL+"/api/sessions", "s3cret")
	if code != 201 || !strings.HasPrefix(body["id"].(string), "node-7.") {
		t.Fatalf("a session before the drain: %d %v", code, body)
	}
	id := body["id"].(string)

	if code, body := call(t, "POST", srv.URL+"/api/admin/drain", ""); code != 401 || d.Draining() {
		t.Fatalf("a drain without the token: %d %v (draining %v)", code, body, d.Draining())
	}
	if code, body := call(t, "POST", srv.URL+"/api/admin/drain?timeout=soon", "s3cret"); code != 400 || d.Draining() {
		t.Fatalf("a drain with a bad timeout: %d %v", code, body)
	}
	before := time.Now()
	code, body = call(t, "POST", srv.URL+"/api/admin/drain?timeout=10m", "s3cret")
	first, _ := time.Parse(time.RFC3339, body["deadline"].(string))
	if code != 202 || body["draining"] != true || first.Before(before.Add(10*time.Minute-time.Second)) {
		t.Fatalf("the drain: %d %v", code, body)
	}
	if code, body := call(t, "GET", srv.URL+"/readyz", ""); code != 503 || body["status"] != "draining" || body["deadline"] != first.UTC().Format(time.RFC3339) {
		t.Fatalf("/readyz while draining: %d %v", code, body)
	}
	if code, body := call(t, "GET", srv.URL+"/healthz", ""); code != 200 {
		t.Fatalf("/healthz while draining: %d %v", code, body)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/api/sessions"}, {"GET", "/"}} {
		if code, body := call(t, c.method, srv.URL+c.path, "s3cret"); code != 503 || errorCodeOf(body) != string(codeDraining) {
			t.Errorf("%s %s while draining: %d %v", c.method, c.path, code, body)
		}
	}
	if m.Len() != 1 {
		t.Fatalf("%d sessions while draining, want the one made before", m.Len())
	}
	if code, body := call(t, "GET", srv.URL+"/api/sessions/"+id, "s3cret"); code != 200 || body["ended"] == true {
		t.Fatalf("the session made before the drain: %d %v", code, body)
	}
	// A later drain of an hour keeps the first deadline; one of a
	// second brings it forward.
	if _, body := call(t, "POST", srv.URL+"/api/admin/drain?timeout=1h", "s3cret"); body["deadline"] != first.UTC().Format(time.RFC3339) {
		t.Errorf("a longer drain moved the deadline: %v, was %v", body["deadline"], first)
	}
	if _, body := call(t, "POST", srv.URL+"/api/admin/drain?timeout=1s", "s3cret"); body["deadline"] == first.UTC().Format(time.RFC3339) {
		t.Errorf("a shorter drain left the deadline at %v", body["deadline"])
	}
}

// TestPagesToldOfDrain: a page's WebSocket is told when its node drains,
// and when the deadline comes forward; one that connects during the
// drain is told at once. A client that takes only its replies is not.
func TestPagesToldOfDrain(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	d := NewDrain(time.Hour)
	e := &testEnv{srv: httptest.NewServer(New(Config{Sessions: m, Drain: d, Node: "n2"})), mgr: m}
	t.Cleanup(e.srv.Close)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	replies := dialWSPath(t, e, "/api/sessions/"+id+"/ws?replies=1")
	d.Start(time.Hour)
	notice := func(w *wsClient) map[string]any {
		t.Helper()
		for {
			if msg := w.next(); msg["type"] == "draining" {
				return msg
			}
		}
	}
	first := notice(w)
	if !strings.Contains(first["msg"].(string), "n2") || first["deadline"].(float64) < float64(time.Now().Add(59*time.Minute).UnixMilli()) {
		t.Fatalf("the notice: %v", first)
	}
	d.Start(time.Minute)
	if again := notice(w); again["deadline"].(float64) >= first["deadline"].(float64) {
		t.Fatalf("the deadline came forward, and the page was told %v (was %v)", again, first)
	}
	late := dialWS(t, e, id, 0)
	if msg := late.next(); msg["type"] != "draining" {
		t.Fatalf("a page opened during the drain: first %v, want its notice", msg)
	}
	replies.send(`{"id":1,"op":"gettimeout","sock":"s9"}`)
	if msg := replies.next(); msg["reply"] != 1.0 {
		t.Fatalf("a replies-only client got %v before its reply", msg)
	}
}

// dialWSPath opens a WebSocket at path of e and reads its hello.
func dialWSPath(t *testing.T, e *testEnv, path string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	w := &wsClient{t: t, c: c}
	if m := w.next(); m["type"] != "hello" {
		t.Fatalf("first message %v, want hello", m)
	}
	return w
}

// TestMetricsRoute: /metrics is behind the token, like the API.
func TestMetricsRoute(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "sockplay_up 1\n") })
	srv := httptest.NewServer(New(Config{Sessions: m, Metrics: metrics, Access: Access{Token: "s3cret"}}))
	t.Cleanup(srv.Close)
	if code, _ := call(t, "GET", srv.URL+"/metrics", ""); code != 401 {
		t.Errorf("/metrics without the token: %d", code)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "sockplay_up 1\n" {
		t.Errorf("/metrics with the token: %s %q", resp.Status, b)
	}
	plain := httptest.NewServer(New(Config{Sessions: m}))
	t.Cleanup(plain.Close)
	if code, _ := call(t, "GET", plain.URL+"/metrics", ""); code != 404 {
		t.Errorf("/metrics with no metrics: %d", code)
	}
}
