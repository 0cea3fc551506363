package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/sockets"
)

// patience bounds how long a test waits for an answer that must come
// at once: far longer than any answer takes, far shorter than the
// -body-timeout a refusal must not wait for.
const patience = 10 * time.Second

// rawExchange sends head (a request's line and headers, with any body
// bytes after them) on a new connection to srv and reads the answer; it
// then awaits the server's closing of the connection, reporting whether
// it came within patience.
func rawExchange(t *testing.T, srv *httptest.Server, head string) (resp *http.Response, body apiError, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", head, err)
	}
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Error apiError }
	json.Unmarshal(b, &e)
	_, err = br.ReadByte()
	var ne net.Error
	closed = !(errors.As(err, &ne) && ne.Timeout())
	return resp, e.Error, closed
}

// TestRefusalsReadNoBody: a request refused before its handler is
// answered at once, whatever body it announces and however little of it
// comes, and its connection is closed rather than kept: neither a body
// never sent nor a refused client's idle connection holds anything.
func TestRefusalsReadNoBody(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	srv := httptest.NewServer(New(Config{Sessions: m, Access: Access{Token: "s3cret"}, MaxMessage: 1024}))
	t.Cleanup(srv.Close)
	s, _ := m.Create()
	host := "Host: " + srv.Listener.Addr().String() + "\r\n"
	for _, tc := range []struct {
		name, head string
		code       int
		errCode    errorCode
	}{
		{"no token, a body announced and never sent", "POST /api/sessions HTTP/1.1\r\n" + host + "Content-Length: 200000\r\n\r\n", 401, codeTokenRequired},
		{"no token, part of a body", "POST /api/sessions HTTP/1.1\r\n" + host + "Content-Length: 200000\r\n\r\n{\"op\"", 401, codeTokenRequired},
		{"no token, a huge body announced", "POST /api/sessions HTTP/1.1\r\n" + host + "Content-Length: 50000000\r\n\r\n", 401, codeTokenRequired},
		{"no token, a chunked body never sent", "POST /api/sessions HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n", 401, codeTokenRequired},
		{"a bad token, a body announced", "POST /api/sessions?token=guess HTTP/1.1\r\n" + host + "Content-Length: 200000\r\n\r\n", 401, codeBadToken},
		{"a foreign host, a body announced", "POST /api/sessions HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 200000\r\n\r\n", 421, codeHostNotAllowed},
		{"a foreign origin, a body announced", "POST /api/sessions HTTP/1.1\r\n" + host + "Authorization: Bearer s3cret\r\nOrigin: http://evil.example\r\nContent-Length: 200000\r\n\r\n", 403, codeOriginNotAllowed},
		{"an op larger than -max-message-kb, with the token", "POST /api/sessions/" + s.ID() + "/ops HTTP/1.1\r\n" + host + "Authorization: Bearer s3cret\r\nContent-Length: 100000\r\n\r\n", 413, codeTooLarge},
		{"a body to /healthz", "POST /healthz HTTP/1.1\r\n" + host + "Content-Length: 200000\r\n\r\n", 405, ""},
		{"no token, no body: no idle connection kept", "GET /api/labs HTTP/1.1\r\n" + host + "\r\n", 401, codeTokenRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, closed := rawExchange(t, srv, tc.head)
			if resp.StatusCode != tc.code || body.Code != tc.errCode {
				t.Errorf("answer %s, error code %q; want %d %q", resp.Status, body.Code, tc.code, tc.errCode)
			}
			if !resp.Close || !closed {
				t.Errorf("the connection was kept (Connection: close %v, closed by the server %v): want it closed after the answer", resp.Close, closed)
			}
		})
	}
	// What is let through keeps its connection, as before: a second
	// request on it is answered.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	br := bufio.NewReader(c)
	for i := range 2 {
		io.WriteString(c, "GET /api/labs HTTP/1.1\r\n"+host+"Authorization: Bearer s3cret\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("request %d with the token on one connection: %v %v; want 200, the connection kept", i+1, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
}

// TestBodyTimeout: a body must arrive within BodyTimeout; once it has,
// the handler may run as long as its op takes, past the timeout.
func TestBodyTimeout(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	const timeout = 200 * time.Millisecond
	srv := httptest.NewServer(New(Config{Sessions: m, BodyTimeout: timeout}))
	t.Cleanup(srv.Close)
	s, _ := m.Create()
	ops := "POST /api/sessions/" + s.ID() + "/ops HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() + "\r\n"

	resp, body, closed := rawExchange(t, srv, ops+"Content-Length: 100\r\n\r\n{\"op\":")
	if resp.StatusCode != 400 || body.Code != codeBadRequest || !strings.Contains(body.Msg, "timeout") || !closed {
		t.Errorf("a body cut short: %s %+v, closed %v; want 400 bad_request naming the timeout, and the connection closed", resp.Status, body, closed)
	}

	// A recv that times out after four times the body's timeout: its
	// answer still comes, on a connection still kept.
	post := func(op string) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/sessions/"+s.ID()+"/ops", "application/json", strings.NewReader(op))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ev map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
			t.Fatalf("%s: %s, %v", op, resp.Status, err)
		}
		return ev
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock := post(`{"op":"socket"}`)["result"].(map[string]any)["sock"].(string)
	post(`{"op":"connect","sock":"` + sock + `","addr":"` + ln.Addr().String() + `"}`)
	post(`{"op":"settimeout","sock":"` + sock + `","timeout":` + strconv.FormatFloat((4*timeout).Seconds(), 'f', -1, 64) + `}`)
	ev := post(`{"op":"recv","sock":"` + sock + `","bufsize":4}`)
	if e, _ := ev["error"].(map[string]any); ev["op"] != "recv" || e["exc"] != "TimeoutError" {
		t.Errorf("a recv that outlasts the body timeout: %v, want its TimeoutError event", ev)
	}
}

// TestLivenessOnly: on a connection let in past the cap only for
// /healthz, that is answered, anything else is refused with 503, and the
// connection closes after one answer.
func TestLivenessOnly(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	srv := httptest.NewUnstartedServer(New(Config{Sessions: m, Access: Access{Token: "s3cret"}}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context { return LivenessOnly(ctx) }
	srv.Start()
	t.Cleanup(srv.Close)
	host := "Host: " + srv.Listener.Addr().String() + "\r\n"
	for _, tc := range []struct {
		name, head string
		code       int
		errCode    errorCode
	}{
		{"/healthz", "GET /healthz HTTP/1.1\r\n" + host + "\r\n", 200, ""},
		{"/healthz under any name", "GET /healthz HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n", 200, ""},
		{"the API, with the token", "GET /api/labs HTTP/1.1\r\n" + host + "Authorization: Bearer s3cret\r\n\r\n", 503, codeTooManyConns},
		{"a page", "GET / HTTP/1.1\r\n" + host + "\r\n", 503, codeTooManyConns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, closed := rawExchange(t, srv, tc.head)
			if resp.StatusCode != tc.code || body.Code != tc.errCode || !resp.Close || !closed {
				t.Errorf("%s, error code %q, Connection: close %v, closed %v; want %d %q on a closed connection", resp.Status, body.Code, resp.Close, closed, tc.code, tc.errCode)
			}
		})
	}
}
