package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// TestBehindProxy: a proxy that rewrites Host is believed about the
// browser's host (X-Forwarded-Host) only when it is a trusted one; a page
// of the public URL is of this sockplay's origin; and the token's cookie
// is named for the public URL's port, one for every node behind it.
func TestBehindProxy(t *testing.T) {
	public, _ := url.Parse("https://school.example")
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	trusted, id := accessEnv(t, Access{Public: public, TrustedProxies: loopback})
	untrusted, uid := accessEnv(t, Access{Public: public, TrustedProxies: elsewhere})
	ops := func(base, id string) string { return base + "/api/sessions/" + id + "/ops" }
	const upstream = "sockplay-0" // the Host nginx sends by default: its upstream's name
	for _, tc := range []struct {
		name   string
		method string
		url    string
		hdr    map[string]string
		code   int
	}{
		{"the public host, as the proxy passes it", "GET", trusted.URL + "/api/labs", map[string]string{"Host": "school.example"}, 200},
		{"a rewritten Host, the browser's forwarded", "GET", trusted.URL + "/api/labs", map[string]string{"Host": upstream, "X-Forwarded-Host": "school.example"}, 200},
		{"a rewritten Host and nothing forwarded", "GET", trusted.URL + "/api/labs", map[string]string{"Host": upstream}, 421},
		{"a hostile name forwarded", "GET", trusted.URL + "/api/labs", map[string]string{"Host": upstream, "X-Forwarded-Host": "evil.example"}, 421},
		// A page of a hostile name resolving here, sending the header
		// itself: not from a trusted proxy, so not believed.
		{"a forwarded host from no trusted proxy", "GET", untrusted.URL + "/api/labs", map[string]string{"Host": "evil.example", "X-Forwarded-Host": "localhost"}, 421},
		{"a page of the public URL", "POST", ops(trusted.URL, id), map[string]string{"Host": upstream, "X-Forwarded-Host": "school.example", "X-Forwarded-Proto": "https", "Origin": "https://school.example"}, 200},
		{"a page of the public URL, by a direct connection", "POST", ops(untrusted.URL, uid), map[string]string{"Origin": "https://school.example"}, 200},
		{"a page of the public host over http, the request over https", "POST", ops(trusted.URL, id), map[string]string{"Host": upstream, "X-Forwarded-Host": "school.example", "X-Forwarded-Proto": "https", "Origin": "http://school.example"}, 403},
		{"a page of another site", "POST", ops(trusted.URL, id), map[string]string{"Host": upstream, "X-Forwarded-Host": "school.example", "Origin": "https://evil.example"}, 403},
		{"the public host at another port", "POST", ops(trusted.URL, id), map[string]string{"Origin": "https://school.example:8443"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := request(t, tc.method, tc.url, tc.hdr); resp.StatusCode != tc.code {
				t.Fatalf("%s %s %v: %s, want %d", tc.method, tc.url, tc.hdr, resp.Status, tc.code)
			}
		})
	}

	tokened, tid := accessEnv(t, Access{Token: "s3cret", Public: public})
	resp := request(t, "GET", tokened.URL+"/s/"+tid+"?token=s3cret", map[string]string{"X-Forwarded-Proto": "https"})
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if cookie == nil || cookie.Name != tokenCookiePrefix+"443" || !cookie.Secure || cookie.Value != "s3cret" {
		t.Fatalf("the token's cookie behind https://school.example: %+v", cookie)
	}
	if resp := request(t, "GET", tokened.URL+"/s/"+tid, map[string]string{"Cookie": cookie.Name + "=s3cret"}); resp.StatusCode != 200 {
		t.Fatalf("the page with the public URL's cookie: %s", resp.Status)
	}
	if resp := request(t, "GET", tokened.URL+"/s/"+tid, map[string]string{"Cookie": tokenCookieFor(tokened) + "=s3cret"}); resp.StatusCode != 401 {
		t.Fatalf("the page with the listener's cookie, where the public URL names it: %s", resp.Status)
	}
	if p := publicPort(&url.URL{Scheme: "http", Host: "a"}); p != "80" {
		t.Errorf("an http URL's port: %s", p)
	}
	if !strings.HasPrefix(tokenCookieFor(tokened), tokenCookiePrefix) {
		t.Fatal(tokenCookieFor(tokened))
	}
}

// TestForwardedClient: a trusted proxy's X-Forwarded-For names the
// client; anyone else's is ignored.
func TestForwardedClient(t *testing.T) {
	trusted := Access{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}}
	for _, c := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5000", "203.0.113.9, 192.0.2.1", "203.0.113.9"},
		{"192.0.2.1:5000", "", "192.0.2.1:5000"},
		{"198.51.100.4:5000", "203.0.113.9", "198.51.100.4:5000"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := trusted.client(r); got != c.want {
			t.Errorf("from %s, X-Forwarded-For %q: the client is %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}
