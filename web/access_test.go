package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
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

// tokenCookieFor is the name of srv's token cookie: it carries the
// port.
func tokenCookieFor(srv *httptest.Server) string {
	return tokenCookiePrefix + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
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
		{"a bad cookie", page, map[string]string{"Cookie": tokenCookieFor(srv) + "=guess"}, 401},
		{"a bad bearer", srv.URL + "/api/labs", map[string]string{"Authorization": "Bearer guess"}, 401},
		{"the cookie", page, map[string]string{"Cookie": tokenCookieFor(srv) + "=s3cret"}, 200},
		// Another program on this host (any port: cookies are not kept
		// apart by port) may set a cookie of the same name with a longer
		// path, which the browser sends first; it must not lock the
		// owner out.
		{"the cookie after one tossed in", page, map[string]string{"Cookie": tokenCookieFor(srv) + "=junk; " + tokenCookieFor(srv) + "=s3cret"}, 200},
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
		if c.Name == tokenCookieFor(srv) {
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
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {tokenCookieFor(srv) + "=s3cret"}}})
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

// TestAccessCookiePerListener: browsers keep one cookie jar per host,
// ports shared, so two sockplays on one host must not overwrite each
// other's token cookie. Go's cookie jar ignores ports as browsers do.
func TestAccessCookiePerListener(t *testing.T) {
	a, ida := accessEnv(t, Access{Token: "token-a"})
	b, idb := accessEnv(t, Access{Token: "token-b"})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	get := func(t *testing.T, url string) int {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Each page is opened with its printed URL, as a teacher would.
	if code := get(t, a.URL+"/s/"+ida+"?token=token-a"); code != 200 {
		t.Fatalf("opening the first sockplay's URL: %d", code)
	}
	if code := get(t, b.URL+"/s/"+idb+"?token=token-b"); code != 200 {
		t.Fatalf("opening the second sockplay's URL: %d", code)
	}
	for _, s := range []struct {
		name, url string
	}{{"first", a.URL + "/api/sessions/" + ida}, {"second", b.URL + "/api/sessions/" + idb}} {
		if code := get(t, s.url); code != 200 {
			t.Errorf("the %s sockplay with the browser's cookies: %d, want 200 (its token cookie was overwritten by the other's)", s.name, code)
		}
	}
	u, _ := url.Parse(a.URL)
	var names []string
	for _, c := range jar.Cookies(u) {
		names = append(names, c.Name)
	}
	if len(names) != 2 {
		t.Errorf("cookies for the host: %v, want one per sockplay", names)
	}
}

// TestAccessOriginScheme: an Origin must name this sockplay's scheme as
// well as its host and port: https:// is another origin than http://.
// Behind a proxy that ends TLS, X-Forwarded-Proto says which scheme the
// browser used.
func TestAccessOriginScheme(t *testing.T) {
	srv, id := accessEnv(t, Access{})
	ops := srv.URL + "/api/sessions/" + id + "/ops"
	hostport := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"this origin", map[string]string{"Origin": "http://" + hostport}, 200},
		{"https on an http server", map[string]string{"Origin": "https://" + hostport}, 403},
		{"https on an http server, upper case", map[string]string{"Origin": "HTTPS://" + hostport}, 403},
		{"https through a proxy that ended TLS", map[string]string{"Origin": "https://" + hostport, "X-Forwarded-Proto": "https"}, 200},
		{"http through a proxy that ended TLS", map[string]string{"Origin": "http://" + hostport, "X-Forwarded-Proto": "https"}, 403},
		{"ws is no page's origin", map[string]string{"Origin": "ws://" + hostport}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := request(t, "POST", ops, tc.hdr); resp.StatusCode != tc.code {
				t.Fatalf("POST with %v: %s, want %d", tc.hdr, resp.Status, tc.code)
			}
		})
	}
}

// TestAccessUpgradeTokens: the guard knows a WebSocket handshake as the
// library does, from token lists in any case ("Upgrade: h2c, websocket",
// "Connection: keep-alive, Upgrade"), so none skips its Origin check.
// The library would refuse a foreign Origin too, but the guard's answer
// is the JSON error: that is what says the guard saw it.
func TestAccessUpgradeTokens(t *testing.T) {
	srv, id := accessEnv(t, Access{})
	ws := srv.URL + "/api/sessions/" + id + "/ws"
	for _, tc := range []struct{ name, upgrade, connection string }{
		{"plain", "websocket", "Upgrade"},
		{"a list", "h2c, websocket", "Upgrade"},
		{"a list, no space", "h2c,WebSocket", "keep-alive,upgrade"},
		{"in upper case", "WEBSOCKET", "keep-alive, UPGRADE"},
		{"the Connection header alone", "h2c", "Upgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ws, nil)
			req.Header.Set("Upgrade", tc.upgrade)
			req.Header.Set("Connection", tc.connection)
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Origin", "http://evil.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error apiError }
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != 403 || body.Error.Code != codeOriginNotAllowed {
				t.Fatalf("handshake from a foreign Origin with Upgrade %q, Connection %q: %s, error code %q; want 403 %s from the guard",
					tc.upgrade, tc.connection, resp.Status, body.Error.Code, codeOriginNotAllowed)
			}
		})
	}
}
