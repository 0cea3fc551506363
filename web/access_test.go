package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

func accessEnv(t *testing.T, a Access) (*httptest.Server, string) {
	t.Helper()
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	srv := httptest.NewServer(New(Config{Sessions: m, Access: a}))
	t.Cleanup(srv.Close)
	s, _ := m.Create()
	return srv, s.ID()
}

// request sends one request with the given headers, following no
// redirect, and returns the response.
func request(t *testing.T, method, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"op":"socket"}`))
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAccessHostAndOrigin(t *testing.T) {
	srv, id := accessEnv(t, Access{Hosts: []string{"class.example"}})
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	ops := srv.URL + "/api/sessions/" + id + "/ops"
	for _, tc := range []struct {
		name, method, url string
		hdr               map[string]string
		code              int
	}{
		{"loopback address", "GET", srv.URL + "/healthz", nil, 200},
		{"localhost", "GET", srv.URL + "/healthz", map[string]string{"Host": "localhost" + port}, 200},
		{"IPv6 loopback", "GET", srv.URL + "/healthz", map[string]string{"Host": "[::1]" + port}, 200},
		{"a configured host", "GET", srv.URL + "/api/labs", map[string]string{"Host": "class.example" + port}, 200},
		// DNS rebinding: a hostile name resolving to this machine.
		{"a foreign host", "GET", srv.URL + "/api/labs", map[string]string{"Host": "evil.example" + port}, 421},
		{"a foreign host, POST", "POST", ops, map[string]string{"Host": "evil.example"}, 421},
		{"liveness under any name (a container's probe)", "GET", srv.URL + "/healthz", map[string]string{"Host": "10.1.2.3" + port}, 200},
		{"POST from this origin", "POST", ops, map[string]string{"Origin": srv.URL}, 200},
		{"POST with no origin (curl)", "POST", ops, nil, 200},
		{"POST from another site", "POST", ops, map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST from a bad origin", "POST", ops, map[string]string{"Origin": "null"}, 403},
		// Another program's page on this machine: same host, other port.
		{"POST from another port of localhost", "POST", ops, map[string]string{"Origin": "http://localhost:3000", "Host": "localhost" + port}, 403},
		{"POST from another port of this address", "POST", ops, map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"POST from this origin by another name", "POST", ops, map[string]string{"Origin": "http://localhost" + port, "Host": "localhost" + port}, 200},
		// An image or a frame on another page must not make sessions.
		{"a session made by an image", "GET", srv.URL + "/", map[string]string{"Sec-Fetch-Dest": "image"}, 403},
		{"a session made in a frame", "GET", srv.URL + "/", map[string]string{"Sec-Fetch-Dest": "iframe"}, 403},
		{"a session opened in a tab", "GET", srv.URL + "/", map[string]string{"Sec-Fetch-Dest": "document"}, 303},
		{"GET from another site is harmless", "GET", srv.URL + "/api/labs", map[string]string{"Origin": "http://evil.example"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := request(t, tc.method, tc.url, tc.hdr); resp.StatusCode != tc.code {
				t.Fatalf("%s %s: %s, want %d", tc.method, tc.url, resp.Status, tc.code)
			}
		})
	}
	// A cross-site page cannot open the session's WebSocket.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws := strings.Replace(srv.URL, "http", "ws", 1) + "/api/sessions/" + id + "/ws"
	_, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin WebSocket: %v %v", resp, err)
	}
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {srv.URL}}})
	if err != nil {
		t.Fatalf("same-origin WebSocket: %v", err)
	}
	c.CloseNow()
}

func TestAccessToken(t *testing.T) {
	srv, id := accessEnv(t, Access{Token: "s3cret"})
	page := srv.URL + "/s/" + id
	for _, tc := range []struct {
		name string
		url  string
		hdr  map[string]string
		code int
	}{
		{"no token", page, nil, 401},
		{"no token, API", srv.URL + "/api/labs", nil, 401},
		{"a bad token", page + "?token=guess", nil, 401},
		{"a bad cookie", page, map[string]string{"Cookie": TokenCookie + "=guess"}, 401},
		{"a bad bearer", srv.URL + "/api/labs", map[string]string{"Authorization": "Bearer guess"}, 401},
		{"the cookie", page, map[string]string{"Cookie": TokenCookie + "=s3cret"}, 200},
		{"bearer", srv.URL + "/api/labs", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"healthz needs none", srv.URL + "/healthz", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := request(t, "GET", tc.url, tc.hdr); resp.StatusCode != tc.code {
				t.Fatalf("%s: %s, want %d", tc.url, resp.Status, tc.code)
			}
		})
	}
	// The token in the URL is exchanged for an HttpOnly cookie, and taken
	// out of the address bar.
	resp := request(t, "GET", page+"?token=s3cret&x=1", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+id+"?x=1" {
		t.Fatalf("token exchange: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == TokenCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "s3cret" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookie)
	}
	// The WebSocket with the cookie works; without, it is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws := strings.Replace(srv.URL, "http", "ws", 1) + "/api/sessions/" + id + "/ws"
	if _, r, err := websocket.Dial(ctx, ws, nil); err == nil || r.StatusCode != 401 {
		t.Fatalf("WebSocket without the token: %v", err)
	}
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {TokenCookie + "=s3cret"}}})
	if err != nil {
		t.Fatalf("WebSocket with the cookie: %v", err)
	}
	c.CloseNow()
}

// TestAccessRouteGroups: with a token set, the page's files and a watch
// link's GETs need none, everything else does (unknown routes and other
// methods on the token-free routes included), and /healthz answers
// anything without any check.
func TestAccessRouteGroups(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	t.Cleanup(m.Close)
	srv := httptest.NewServer(New(Config{Sessions: m, Access: Access{Token: "s3cret"}}))
	t.Cleanup(srv.Close)
	s, _ := m.Create()
	watch, _ := m.WatchToken(s.ID())
	bearer := map[string]string{"Authorization": "Bearer s3cret"}
	foreign := map[string]string{"Host": "evil.example"}
	for _, tc := range []struct {
		method, path string
		hdr          map[string]string
		code         int
		errCode      errorCode // the JSON error's code, if any
		allow        string
	}{
		{"GET", "/static/app.js", nil, 200, "", ""},
		{"GET", "/static/nope.js", nil, 404, "", ""},
		{"HEAD", "/static/app.js", nil, 401, "", ""}, // no body to a HEAD
		{"HEAD", "/static/app.js", bearer, 200, "", ""},
		{"POST", "/static/app.js", nil, 401, "token_required", ""},
		{"GET", "/w/" + watch, nil, 200, "", ""},
		{"GET", "/w/nope", nil, 404, "", ""},
		{"POST", "/w/" + watch, nil, 401, "token_required", ""},
		{"POST", "/w/" + watch, bearer, 405, "", "GET"},
		{"GET", "/api/watch/" + watch, nil, 200, "", ""},
		{"GET", "/api/watch/nope", nil, 404, "no_session", ""},
		{"GET", "/api/watch/nope/ws", nil, 404, "no_session", ""},
		{"GET", "/api/watch/" + watch + "/ws?since=99", nil, 400, "bad_request", ""},
		{"POST", "/api/watch/" + watch, nil, 401, "token_required", ""},
		{"POST", "/api/watch/" + watch, bearer, 405, "method_not_allowed", ""},
		{"GET", "/s/" + s.ID(), nil, 401, "token_required", ""},
		{"POST", "/s/" + s.ID(), nil, 401, "token_required", ""},
		{"POST", "/s/" + s.ID(), bearer, 405, "", "GET"},
		{"GET", "/nope", nil, 401, "token_required", ""},
		{"GET", "/nope", bearer, 404, "", ""},
		{"GET", "/api/nope", nil, 401, "token_required", ""},
		{"GET", "/api/nope", bearer, 404, "not_found", ""},
		{"GET", "/api/sessions/" + s.ID(), nil, 401, "token_required", ""},
		{"GET", "/api/sessions/" + s.ID(), bearer, 200, "", ""},
		{"GET", "/healthz", foreign, 200, "", ""},
		{"POST", "/healthz", foreign, 405, "", "GET"},
		{"HEAD", "/healthz", nil, 405, "", "GET"},
		{"GET", "/healthz/", foreign, 421, "host_not_allowed", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			for k, v := range tc.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error apiError }
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.code || body.Error.Code != tc.errCode || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("%s %s: %s, error code %q, Allow %q; want %d, %q, %q", tc.method, tc.path, resp.Status, body.Error.Code, resp.Header.Get("Allow"), tc.code, tc.errCode, tc.allow)
			}
		})
	}
}
