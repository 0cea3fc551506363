package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
)

type testEnv struct {
	srv  *httptest.Server
	labs *labs.Server
	mgr  *sockets.Manager
}

// newEnvWith is a server on a manager of cfg, without labs, closed when
// the test ends.
func newEnvWith(t testing.TB, cfg sockets.Config) *testEnv {
	t.Helper()
	m := sockets.NewManager(cfg)
	srv := httptest.NewServer(New(Config{Sessions: m}))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	return &testEnv{srv: srv, mgr: m}
}

// newLabsEnv is a server on a manager of cfg with the labs running.
func newLabsEnv(t testing.TB, cfg sockets.Config) *testEnv {
	t.Helper()
	l := testkit.Labs(t)
	m := sockets.NewManager(cfg)
	srv := httptest.NewServer(New(Config{Sessions: m, Labs: l}))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
	})
	return &testEnv{srv: srv, labs: l, mgr: m}
}

func newEnv(t *testing.T) *testEnv { return newLabsEnv(t, sockets.Config{}) }

func newBenchServer(m *sockets.Manager) *httptest.Server {
	return httptest.NewServer(New(Config{Sessions: m}))
}

func (e *testEnv) newSession(t *testing.T) string {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/api/sessions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create session: %s", resp.Status)
	}
	var c created
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "/s/"+c.ID {
		t.Errorf("url = %q", c.URL)
	}
	return c.ID
}

// post runs one op over HTTP, returning the status and decoded body.
func (e *testEnv) post(t *testing.T, id, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/api/sessions/"+id+"/ops", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: body is not JSON: %v", body, err)
	}
	return resp.StatusCode, m
}

func (e *testEnv) ok(t *testing.T, id, body string) map[string]any {
	t.Helper()
	code, m := e.post(t, id, body)
	if code != 200 || m["ok"] != true {
		t.Fatalf("%s: %d %v", body, code, m)
	}
	return m
}

func result(m map[string]any) map[string]any { return m["result"].(map[string]any) }

func TestHTTPOps(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	if s := result(e.ok(t, id, `{"op":"socket"}`))["sock"]; s != "s1" {
		t.Fatalf("sock = %v", s)
	}
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"hex":"68 65 6c 6c 6f 20 77 6f 72 6c 64"}}`)
	var pieces []string
	for _, want := range []string{"aGVsbA==", "byB3bw==", "cmxk"} {
		got := result(e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":4}`))["b64"]
		pieces = append(pieces, got.(string))
		if got != want {
			t.Fatalf("recv(4) pieces %v, want hell, o wo, rld", pieces)
		}
	}
	code, m := e.post(t, id, `{"op":"connect","sock":"s2","addr":"127.0.0.1:1"}`)
	if code != 200 || m["ok"] != false || m["error"].(map[string]any)["exc"] != "NameError" {
		t.Fatalf("op on unknown socket: %d %v", code, m)
	}

	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var st sockets.State
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.LastSeq != 7 || len(st.Sockets) != 1 || st.Sockets[0].State != "connected" {
		t.Fatalf("state = %+v", st)
	}
}

func TestHTTPBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	cases := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"truncated", `{"op":"recv","sock":"s1"`, 400, "truncated"},
		{"empty", ``, 400, "empty body"},
		{"not an object", `[1,2]`, 400, "JSON object"},
		{"unknown op", `{"op":"frob"}`, 400, `unknown op "frob"`},
		{"missing op", `{"sock":"s1"}`, 400, `"op" is missing`},
		{"wrong type", `{"op":"recv","sock":"s1","bufsize":"4"}`, 400, `"bufsize" must be a number`},
		{"unknown field", `{"op":"recv","sock":"s1","buffsize":4}`, 400, `unknown field "buffsize"`},
		{"trailing data", `{"op":"socket"} {"op":"socket"}`, 400, "nothing after it"},
		{"bad timeout", `{"op":"settimeout","sock":"s1","timeout":"soon"}`, 400, "timeout must be"},
		{"bad how", `{"op":"shutdown","sock":"s1","how":"SHUT_UP"}`, 400, "SHUT_RD"},
		{"engine-only field", `{"op":"recv","sock":"s1","bufsize":4,"requested":5}`, 400, `unknown field "requested"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, m := e.post(t, id, tc.body)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, m)
			}
			msg, _ := m["error"].(map[string]any)["msg"].(string)
			if !strings.Contains(msg, tc.msg) {
				t.Fatalf("msg %q does not say %q", msg, tc.msg)
			}
		})
	}
	if code, _ := e.post(t, "nosuchsession", `{"op":"socket"}`); code != 404 {
		t.Errorf("unknown session: %d", code)
	}
	// A since past the end would make the client skip the events that
	// later take those numbers.
	for _, path := range []string{"/events?since=-1", "/events?since=x", "/events?since=5", "/ws?since=5"} {
		resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 {
			t.Errorf("%s: %s", path, resp.Status)
		}
		resp.Body.Close()
	}
	if s := e.mgr; s.Len() != 1 {
		t.Errorf("%d sessions", s.Len())
	}
}

func TestExports(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hi"}}`)
	for _, tc := range []struct{ path, ctype, has string }{
		{"/export.py", "text/x-python; charset=utf-8", "s1.sendall(b'hi')"},
		{"/export.ndjson", "application/x-ndjson", `"op":"sendall"`},
	} {
		resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(b), tc.has) {
			t.Errorf("GET %s: %s %q %q\n%s", tc.path, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), b)
		}
	}
	if resp, _ := http.Get(e.srv.URL + "/api/sessions/nope/export.py"); resp.StatusCode != 404 {
		t.Errorf("export of an unknown session: %s", resp.Status)
	}
}

func TestEventsNDJSON(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	for i := 0; i < 5; i++ {
		e.ok(t, id, `{"op":"socket"}`)
	}
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/events?since=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var seqs []int64
	for sc.Scan() {
		var ev sockets.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ev.Seq)
	}
	if len(seqs) != 3 || seqs[0] != 3 || seqs[2] != 5 {
		t.Fatalf("seqs %v, want 3..5", seqs)
	}
}

// wsClient is a test client of the session WebSocket.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	seen []int64
}

func dialWS(t *testing.T, e *testEnv, id string, since int64) *wsClient {
	t.Helper()
	return dialWSWith(t, e, id, "since="+itoa(since))
}

// dialWSWith follows session id's WebSocket with the query given, and
// reads its hello.
func dialWSWith(t *testing.T, e *testEnv, id, query string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.Replace(e.srv.URL, "http", "ws", 1) + "/api/sessions/" + id + "/ws?" + query
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	w := &wsClient{t: t, c: c}
	if m := w.next(); m["type"] != "hello" {
		t.Fatalf("first message %v, want hello", m)
	}
	return w
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func (w *wsClient) next() map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("ws read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatal(err)
	}
	if seq, ok := m["seq"].(float64); ok {
		w.seen = append(w.seen, int64(seq))
	}
	return m
}

func (w *wsClient) send(op string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(op)); err != nil {
		w.t.Fatal(err)
	}
}

// await reads until a message carries "reply": id, and returns it.
func (w *wsClient) await(id any) map[string]any {
	w.t.Helper()
	for {
		m := w.next()
		if r, ok := m["reply"]; ok && r == id {
			return m
		}
	}
}

func TestWebSocketOps(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	w.send(`{"id":"a","op":"socket"}`)
	if m := w.await("a"); m["ok"] != true {
		t.Fatal(m)
	}
	w.send(`{"id":2,"op":"connect","sock":"s1","addr":"` + e.labs.Addr("echo") + `"}`)
	if m := w.await(2.0); m["ok"] != true {
		t.Fatal(m)
	}
	w.send(`{"id":3,"op":"sendall","sock":"s1","data":{"text":"hello world"}}`)
	w.await(3.0)
	var got []string
	for i := 4; i < 7; i++ {
		w.send(`{"id":` + itoa(int64(i)) + `,"op":"recv","sock":"s1","bufsize":4}`)
		m := w.await(float64(i))
		got = append(got, result(m)["b64"].(string))
	}
	if strings.Join(got, ",") != "aGVsbA==,byB3bw==,cmxk" {
		t.Fatalf("recv(4) x3 = %v", got)
	}
	// A decoding error is answered to this client only, and logs nothing.
	w.send(`{"id":"bad","op":"recv","sock":"s1","bufsize":"x"}`)
	if m := w.await("bad"); m["type"] != "error" {
		t.Fatalf("bad op answered with %v", m)
	}
}

// TestWebSocketBatch: with ?batch=1 events come as arrays, with
// ?format=bin as binary batches; either way in seq order, every one of them.
func TestWebSocketBatch(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	for i := 0; i < 600; i++ {
		e.ok(t, id, `{"op":"socket"}`)
		e.ok(t, id, `{"op":"close","sock":"s`+itoa(int64(i+1))+`"}`)
	}
	for _, q := range []string{"?batch=1", "?format=bin"} {
		t.Run(q, func(t *testing.T) {
			if batches := readBatches(t, e.srv.URL, id, q, 1200, nil); batches > 10 {
				t.Errorf("1200 events came in %d messages; batches should hold up to 256", batches)
			}
		})
	}
}

// TestWebSocketBatchBudget: big events are split across messages near a
// byte budget, so a message stays writable to a slow client; every event
// still arrives, in order.
func TestWebSocketBatchBudget(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("discard")+`"}`)
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 300_000))
	for i := 0; i < 8; i++ {
		e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"b64":"`+big+`"}}`)
	}
	for _, q := range []string{"?batch=1", "?format=bin"} {
		t.Run(q, func(t *testing.T) {
			batches := readBatches(t, e.srv.URL, id, q, 10, func(b []byte) {
				if len(b) > batchBytes+500_000 {
					t.Fatalf("a message of %d bytes: over the budget by more than one event", len(b))
				}
			})
			if batches < 3 {
				t.Fatalf("%d messages for 3.2 MB of events", batches)
			}
		})
	}
}

// readBatches reads session id's WebSocket (with query q) until seq last,
// checks that every event comes once and in order, hands each batch
// message to each (when not nil), and says how many batches there were.
func readBatches(t *testing.T, base, id, q string, last int64, each func(b []byte)) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/api/sessions/"+id+"/ws"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	next, batches := int64(1), 0
	for next <= last {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after seq %d of %d: %v", next-1, last, err)
		}
		if typ == websocket.MessageText && b[0] != '[' {
			continue // hello, state
		}
		batches++
		if each != nil {
			each(b)
		}
		msgs, err := decodeMessage(typ, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if seq := int64(m["seq"].(float64)); seq != next {
				t.Fatalf("seq %d, want %d", seq, next)
			}
			next++
		}
	}
	return batches
}

// TestSessionEndSendsEverything: the events a session's end produces (its
// pending calls ending) reach the client before "ended": the writer sends
// what is left of the log first. Thirty rounds, as the two race.
func TestSessionEndSendsEverything(t *testing.T) {
	e := newEnv(t)
	for round := 0; round < 30; round++ {
		q := []string{"", "&batch=1", "&format=bin"}[round%3]
		id := e.newSession(t)
		s, _ := e.mgr.Get(id)
		e.ok(t, id, `{"op":"socket","type":"dgram"}`)
		e.ok(t, id, `{"op":"bind","sock":"s1","addr":"127.0.0.1:0"}`)
		for i := 0; i < 10; i++ {
			s.Submit(sockets.Op{Op: "recv", Sock: "s1", Args: sockets.Args{Bufsize: new(64)}}, sockets.Submitter{})
		}
		awaitSession(t, s, "10 pending recvs", func(s *sockets.Session) bool { return len(s.State().Pending) == 10 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+"/api/sessions/"+id+"/ws?since=0"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(16 << 20)
		e.mgr.End(id) // ends the 10 pending recvs: 10 more events
		var last int64
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("round %d%s: the connection ended (%v) before \"ended\", after seq %d", round, q, err, last)
			}
			msgs, err := decodeMessage(typ, b)
			if err != nil {
				t.Fatal(err)
			}
			done := false
			for _, m := range msgs {
				if seq, ok := m["seq"].(float64); ok {
					last = int64(seq)
				}
				if m["type"] == "ended" {
					if want := s.LastSeq(); last != want {
						t.Fatalf("round %d%s: ended after seq %d, the log ends at %d", round, q, last, want)
					}
					done = true
				}
			}
			if done {
				break
			}
		}
		cancel()
		c.CloseNow()
	}
}

func TestWebSocketTruncatedJSONIsAnswered(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	w.send(`{"id":"t","op":"recv","sock":"s1"`)
	for {
		m := w.next()
		if m["type"] == "error" {
			if !strings.Contains(m["error"].(map[string]any)["msg"].(string), "truncated") {
				t.Fatalf("error %v", m)
			}
			return
		}
	}
}

// TestWebSocketResume checks that a client reconnecting with since=N gets
// exactly the events after N: nothing lost, nothing twice.
func TestWebSocketResume(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	for i := 1; i <= 3; i++ {
		w.send(`{"id":` + itoa(int64(i)) + `,"op":"socket"}`)
		w.await(float64(i))
	}
	w.c.Close(websocket.StatusNormalClosure, "")
	// Events happen while nobody is connected.
	for i := 0; i < 4; i++ {
		e.ok(t, id, `{"op":"socket"}`)
	}
	w2 := dialWS(t, e, id, 3)
	for len(w2.seen) < 4 {
		w2.next()
	}
	for i, seq := range w2.seen {
		if seq != int64(4+i) {
			t.Fatalf("resumed seqs %v, want 4..7", w2.seen)
		}
	}
	// And new events keep coming, still without a duplicate.
	w2.send(`{"id":"x","op":"socket"}`)
	w2.await("x")
	if last := w2.seen[len(w2.seen)-1]; last != 8 || len(w2.seen) != 5 {
		t.Fatalf("seqs %v", w2.seen)
	}
}

// TestReplyOnlyToSender checks a second viewer sees the event but not the
// other client's reply id.
func TestReplyOnlyToSender(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	a := dialWS(t, e, id, 0)
	b := dialWS(t, e, id, 0)
	a.send(`{"id":"mine","op":"socket"}`)
	a.await("mine")
	for {
		m := b.next()
		if m["seq"] != nil {
			if _, has := m["reply"]; has {
				t.Fatalf("viewer b got a's reply: %v", m)
			}
			return
		}
	}
}

func TestWebSocketStateAndPending(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	w.send(`{"id":1,"op":"socket"}`)
	w.await(1.0)
	w.send(`{"id":2,"op":"connect","sock":"s1","addr":"` + e.labs.Addr("echo") + `"}`)
	w.await(2.0)
	w.send(`{"id":3,"op":"recv","sock":"s1","bufsize":10}`)
	for {
		m := w.next()
		if m["type"] == "state" {
			if p, _ := m["pending"].([]any); len(p) == 1 && p[0].(map[string]any)["op"] == "recv" {
				break
			}
		}
	}
	w.send(`{"id":4,"op":"send","sock":"s1","data":{"text":"hi"}}`)
	if m := w.await(3.0); result(m)["b64"] != "aGk=" {
		t.Fatalf("pending recv ended with %v", m)
	}
}

func TestPagesAndStatic(t *testing.T) {
	e := newEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/s/") {
		t.Fatalf("/ → %s %q", resp.Status, loc)
	}
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{loc, 200, `data-session="` + strings.TrimPrefix(loc, "/s/") + `"`},
		{loc, 200, e.labs.Addr("echo")},
		{"/s/nope", 404, "No session nope"},
		{"/static/app.js", 200, "WebSocket"},
		{"/static/style.css", 200, "--accent"},
		{"/healthz", 200, `"ok"`},
		{"/api/labs", 200, `"drip"`},
		{"/api/ops", 200, `"py":"{sock}.recv({bufsize})"`},
		{"/api/nothing", 404, `"not_found"`},
	} {
		resp, err := http.Get(e.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.has) {
			t.Errorf("GET %s: %d, want %d with %q", tc.path, resp.StatusCode, tc.code, tc.has)
		}
	}
}

// TestWebSocketGap: events dropped past the log limit are announced, not
// skipped in silence.
func TestWebSocketGap(t *testing.T) {
	e := newEnvWith(t, sockets.Config{MaxLogBytes: 4 << 10})
	id := e.newSession(t)
	for i := 0; i < 40; i++ {
		e.ok(t, id, `{"op":"socket"}`)
		e.ok(t, id, `{"op":"close","sock":"s`+itoa(int64(i+1))+`"}`)
	}
	w := dialWS(t, e, id, 0)
	m0 := w.next()
	if m0["type"] != "gap" || m0["from"] != 1.0 {
		t.Fatalf("first message after hello: %v", m0)
	}
	next := w.next()
	if next["seq"] != m0["to"].(float64)+1 {
		t.Fatalf("gap to %v, then seq %v", m0["to"], next["seq"])
	}
}

func TestSessionEndClosesWebSocket(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	w := dialWS(t, e, id, 0)
	e.mgr.End(id)
	for {
		m := w.next()
		if m["type"] == "ended" {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := w.c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("close status %v (%v)", websocket.CloseStatus(err), err)
	}
}

func TestLessonsAPI(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	post := func(path string, v any) int {
		t.Helper()
		resp, err := http.Post(e.srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	var list []struct {
		ID    string
		Steps []any
	}
	if get("/api/lessons", &list) != 200 || len(list) == 0 || list[0].ID != "tcp-echo" {
		t.Fatalf("lessons %+v", list)
	}
	base := "/api/sessions/" + id + "/lessons/tcp-echo"
	var ans struct {
		Result struct {
			Problem, Differs string
			Done             bool
			Event            *sockets.Event
		}
		Progress struct {
			Next  int
			Names map[string]string
		}
	}
	var bad0 map[string]any
	for i := 0; i < len(list[0].Steps); i++ {
		if post(base+"/step", &ans) != 200 || !ans.Result.Done || ans.Result.Problem != "" || ans.Result.Differs != "" {
			t.Fatalf("step %d: %+v", i+1, ans.Result)
		}
	}
	if ans.Progress.Next != len(list[0].Steps) || ans.Progress.Names["c"] != "s1" {
		t.Fatalf("progress %+v", ans.Progress)
	}
	// The lesson's ops are the session's: its events are in the log.
	var st sockets.State
	get("/api/sessions/"+id, &st)
	if len(st.Sockets) != 1 || st.Sockets[0].State != "closed" {
		t.Fatalf("session after the lesson: %+v", st.Sockets)
	}
	post(base+"/step", &ans)
	if !strings.Contains(ans.Result.Problem, "over") {
		t.Fatalf("a step past the end: %+v", ans.Result)
	}
	// A watch link shows the lesson and where the session is in it, and
	// runs nothing.
	link := watchLinkOf(t, e.srv.URL, id)
	var watched struct {
		Lesson struct {
			ID    string
			Steps []any
		}
		Progress struct{ Next int }
	}
	if code := get("/api/watch/"+link.Token+"/lessons/tcp-echo", &watched); code != 200 || watched.Lesson.ID != "tcp-echo" || len(watched.Lesson.Steps) != len(list[0].Steps) || watched.Progress.Next != len(list[0].Steps) {
		t.Fatalf("the watched lesson: %d %+v", code, watched)
	}
	if code := post("/api/watch/"+link.Token+"/lessons/tcp-echo/step", &bad0); code != 405 && code != 404 {
		t.Fatalf("a watch link stepped a lesson: %d", code)
	}
	if code := get("/api/watch/"+link.Token+"/lessons/nope", &bad0); code != 404 {
		t.Fatalf("a watched unknown lesson: %d", code)
	}
	if code := get("/api/watch/nope/lessons/tcp-echo", &bad0); code != 404 {
		t.Fatalf("a wrong watch token's lesson: %d", code)
	}
	post(base+"/reset", &ans)
	if ans.Progress.Next != 0 {
		t.Fatalf("reset: %+v", ans.Progress)
	}
	var bad map[string]any
	if code := post("/api/sessions/"+id+"/lessons/nope/step", &bad); code != 404 {
		t.Fatalf("unknown lesson: %d %v", code, bad)
	}
	if code := get("/api/lessons/nope", &bad); code != 404 {
		t.Fatalf("unknown lesson: %d", code)
	}
}

// TestLessonWithLabsOff: a lesson step against a lab that is off says so;
// the lesson can be skipped past it.
func TestLessonWithLabsOff(t *testing.T) {
	e := newEnvWith(t, sockets.Config{})
	id := e.newSession(t)
	base := e.srv.URL + "/api/sessions/" + id + "/lessons/tcp-echo"
	var ans struct {
		Result struct {
			Problem string
			Done    bool
		}
		Progress struct{ Next int }
	}
	for i, want := range []string{"", "not running"} {
		resp, _ := http.Post(base+"/step", "", nil)
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if !strings.Contains(ans.Result.Problem, want) || (want != "" && ans.Result.Done) {
			t.Fatalf("step %d: %+v", i+1, ans.Result)
		}
	}
	resp, _ := http.Post(base+"/skip", "", nil)
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if ans.Progress.Next != 2 {
		t.Fatalf("skip: %+v", ans.Progress)
	}
}

// TestUnknownSession: every route of a session answers 404 no_session for
// an id that names none (the session is loaded once, before the route),
// while a route that does not exist stays not_found.
func TestUnknownSession(t *testing.T) {
	e := newEnvWith(t, sockets.Config{})
	for _, tc := range []struct {
		method, path string
		code         errorCode
	}{
		{"GET", "", "no_session"},
		{"GET", "/", "no_session"},
		{"POST", "/ops", "no_session"},
		{"GET", "/events", "no_session"},
		{"GET", "/ws", "no_session"},
		{"POST", "/watch", "no_session"},
		{"GET", "/export.py", "no_session"},
		{"GET", "/export.ndjson", "no_session"},
		{"GET", "/lessons/tcp-echo", "no_session"},
		{"POST", "/lessons/tcp-echo/step", "no_session"},
		{"POST", "/lessons/tcp-echo/skip", "no_session"},
		{"POST", "/lessons/tcp-echo/reset", "no_session"},
		{"GET", "/nope", "not_found"},
		{"DELETE", "", "no_session"},
		{"PUT", "", "method_not_allowed"},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+"/api/sessions/nope"+tc.path, strings.NewReader(`{"op":"socket"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error apiError }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body.Error.Code != tc.code || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s %s: %s %q (Content-Disposition %q), want %s", tc.method, tc.path, resp.Status, body.Error.Code, resp.Header.Get("Content-Disposition"), tc.code)
		}
	}
}
