package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// TokenCookie is the cookie a token is exchanged for.
const TokenCookie = "sockplay_token"

// Access is who may use sockplay: the hosts a request may name, and the
// token it must carry when one is set.
type Access struct {
	// Token, when set, must come with every request but /healthz: as
	// ?token= (exchanged for an HttpOnly cookie), the cookie, or an
	// "Authorization: Bearer" header.
	Token string
	// Hosts are the host names and addresses requests may name besides
	// loopback ones (localhost, 127.0.0.0/8, ::1), which are always
	// allowed. Checking the Host header is what stops DNS rebinding: a
	// hostile name that resolves to this machine still says its own name.
	Hosts []string
}

// allowedHost reports whether host (from a Host or Origin header, port
// removed) may be used.
func (a Access) allowedHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range a.Hosts {
		if strings.EqualFold(strings.Trim(h, "[]"), host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin (an Origin header) names host (the
// Host header, already allowed), port and all.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	defaultPort := map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), defaultPort) }
	return norm(u.Host) == norm(host)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// guard wraps the router with the access checks: Host, Origin for the
// WebSocket and for anything that changes state, and the token.
func (a Access) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			// Liveness, under any name: a container's probe uses its
			// address, which is no allowed host. It tells nothing.
			next.ServeHTTP(w, r)
			return
		}
		if !a.allowedHost(hostOnly(r.Host)) {
			writeError(w, http.StatusMisdirectedRequest, "host_not_allowed",
				"this sockplay does not answer to the host "+hostOnly(r.Host)+": start it with -allowed-hosts "+hostOnly(r.Host)+" to allow it")
			return
		}
		// A cross-site page must not drive a session: its Origin gives it
		// away (requests without one, as from curl, carry no cookie
		// implicitly and still need the token).
		// The port counts: another program's page on localhost:3000 is
		// another site for this check, though browsers call it the same.
		if o := r.Header.Get("Origin"); o != "" && (r.Method != http.MethodGet || isWebSocket(r)) && !sameOrigin(o, r.Host) {
			writeError(w, http.StatusForbidden, "origin_not_allowed", "requests from "+o+" are not allowed: only pages of this sockplay may use it")
			return
		}
		if a.Token == "" || tokenFree(r) {
			next.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" {
			if !a.tokenIs(q) {
				writeError(w, http.StatusUnauthorized, "bad_token", "that token is not this sockplay's: use the URL it printed when it started")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: a.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			if r.Method == http.MethodGet && !isWebSocket(r) {
				// Leave the token out of the address bar and the history.
				clean := *r.URL
				qs := clean.Query()
				qs.Del("token")
				clean.RawQuery = qs.Encode()
				http.Redirect(w, r, clean.RequestURI(), http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(TokenCookie); err == nil && a.tokenIs(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && a.tokenIs(b) {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusUnauthorized, "token_required", "this sockplay needs its token: open the URL it printed when it started (…/?token=…), or send Authorization: Bearer <token>")
	})
}

// tokenFree reports whether r needs no token: the page's static files,
// and a watch link's GETs, whose own secret (the watch token in the path)
// is the credential: a class follows a session without being given the
// power to run anything. (/healthz needs nothing at all.)
func tokenFree(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/w/") || strings.HasPrefix(p, "/api/watch/")
}

// tokenIs compares in constant time, so timing tells nothing of the token.
func (a Access) tokenIs(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(a.Token)) == 1
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
