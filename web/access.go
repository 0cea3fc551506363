package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenCookiePrefix begins the name of the cookie a token is exchanged
// for; the port sockplay listens on ends it (tokenCookie).
const tokenCookiePrefix = "sockplay_token_"

// tokenCookie names r's token cookie after the port of the listener that
// took r. Browsers keep one cookie jar per host, ports shared, so two
// sockplays on one host (on 8080 and 8081, say) would otherwise each
// overwrite the other's cookie. The listener's port, not the Host
// header's, stays the same behind a proxy. Behind a proxy to many nodes,
// which listen where they like, the public URL's port names it: one
// cookie for all of them, as they share one token.
func (a Access) tokenCookie(r *http.Request) string {
	if a.Public != nil {
		return tokenCookiePrefix + publicPort(a.Public)
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return tokenCookiePrefix + strconv.Itoa(int(ap.Port()))
		}
	}
	return strings.TrimSuffix(tokenCookiePrefix, "_")
}

// Access is who may use sockplay: the hosts a request may name, and the
// token it must carry when one is set.
type Access struct {
	// Token, when set, must come with every request but /healthz, the
	// page's static files and a watch link's GETs: as ?token= (exchanged
	// for an HttpOnly cookie), the cookie, or an "Authorization: Bearer"
	// header.
	Token string
	// Hosts are the host names and addresses requests may name besides
	// loopback ones (localhost, 127.0.0.0/8, ::1), which are always
	// allowed. Checking the Host header is what stops DNS rebinding: a
	// hostile name that resolves to this machine still says its own name.
	Hosts []string
	// Public is where people reach this sockplay through a proxy
	// (-public-url): its scheme, host and port. Its host is allowed, a
	// page of it is of this sockplay's own origin, and the token's
	// cookie is named for its port. Nil: none.
	Public *url.URL
	// TrustedProxies are the addresses of the proxies in front of this
	// sockplay (-trusted-proxies). From them, and only from them,
	// X-Forwarded-Host is the host the browser named, which the checks
	// of Host and Origin judge (a proxy may rewrite Host), and
	// X-Forwarded-For names the client in logs. From anyone else the
	// headers are ignored: a page of a hostile name resolving to this
	// machine could set them on its own requests, and pass for local.
	TrustedProxies []netip.Prefix
}

// publicPort is u's port, or its scheme's.
func publicPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// viaProxy reports whether r came from one of the trusted proxies.
func (a Access) viaProxy(r *http.Request) bool {
	if len(a.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range a.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwarded is the first value of r's header name (a list, as proxies
// append theirs), when a trusted proxy sent r; "" otherwise.
func (a Access) forwarded(r *http.Request, name string) string {
	if !a.viaProxy(r) {
		return ""
	}
	v, _, _ := strings.Cut(r.Header.Get(name), ",")
	return strings.TrimSpace(v)
}

// host is the host (and port) the browser named for r: a trusted proxy's
// X-Forwarded-Host, or r's Host header.
func (a Access) host(r *http.Request) string {
	if h := a.forwarded(r, "X-Forwarded-Host"); h != "" {
		return h
	}
	return r.Host
}

// client is who sent r, for logs: the address a trusted proxy says in
// X-Forwarded-For (the client's, first of the list), or r's own.
func (a Access) client(r *http.Request) string {
	if c := a.forwarded(r, "X-Forwarded-For"); c != "" {
		return c
	}
	return r.RemoteAddr
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
	if a.Public != nil && strings.EqualFold(strings.Trim(a.Public.Hostname(), "[]"), host) {
		return true
	}
	for _, h := range a.Hosts {
		if strings.EqualFold(strings.Trim(h, "[]"), host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin (r's Origin header) names this
// sockplay: as r reached it (its scheme, and its host, already allowed,
// port and all), or as its public URL names it.
func (a Access) sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	defaultPort := map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), defaultPort) }
	if p := a.Public; p != nil && u.Scheme == p.Scheme && norm(u.Host) == norm(p.Host) {
		return true
	}
	return u.Scheme == scheme(r) && norm(u.Host) == norm(a.host(r))
}

// scheme is the scheme the browser used to reach r: https over TLS, or
// when a proxy that ended TLS says so in X-Forwarded-Proto; http
// otherwise. Trusting the header is safe for what it decides: a page
// cannot set it on a WebSocket handshake, nor on a cross-site request
// without a preflight sockplay never grants, and clients that are not
// browsers choose their Origin anyway.
func scheme(r *http.Request) string {
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.TrimSpace(p) != "" {
		return strings.ToLower(strings.TrimSpace(p))
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// requireHost refuses a request whose Host header names a host that is
// not allowed (DNS rebinding: a hostile name that resolves to this
// machine still says its own name).
func (a Access) requireHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := hostOnly(a.host(r)); !a.allowedHost(host) {
			refuse(w, r, codeHostNotAllowed,
				"this sockplay does not answer to the host "+host+": start it with -allowed-hosts "+host+" to allow it (or -public-url, behind a proxy)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireOrigin refuses the WebSocket, and anything that may change state,
// when it comes from another site's page: a cross-site page must not drive
// a session, and its Origin gives it away. (Requests without one, as from
// curl, carry no cookie implicitly and still need the token.) The port
// counts: another program's page on localhost:3000 is another site for
// this check, though browsers call it the same.
func (a Access) requireOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && (r.Method != http.MethodGet || isWebSocket(r)) && !a.sameOrigin(o, r) {
			refuse(w, r, codeOriginNotAllowed, "requests from "+o+" are not allowed: only pages of this sockplay may use it")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireToken lets a request through only with the token, when one is
// set: as ?token= (exchanged for an HttpOnly cookie, and taken out of the
// address of a GET), the cookie, or an "Authorization: Bearer" header.
func (a Access) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" {
			next.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" {
			if !a.tokenIs(q) {
				refuse(w, r, codeBadToken, "that token is not this sockplay's: use the URL it printed when it started")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: a.tokenCookie(r), Value: a.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: scheme(r) == "https"})
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
		// Every cookie of the name, not the first: another program on
		// this host may set one of its own (with a longer path, sent
		// first), and would otherwise lock the owner out.
		for _, c := range r.CookiesNamed(a.tokenCookie(r)) {
			if a.tokenIs(c.Value) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && a.tokenIs(b) {
			next.ServeHTTP(w, r)
			return
		}
		refuse(w, r, codeTokenRequired, "this sockplay needs its token: open the URL it printed when it started (…/?token=…), or send Authorization: Bearer <token>")
	})
}

// freeToLook lets a GET through without the token and asks it of any
// other method: for the page's static files, and a watch link's pages,
// whose own secret (the watch token in the path) is the credential, so
// that a class follows a session without being given the power to run
// anything.
func (a Access) freeToLook(next http.Handler) http.Handler {
	guarded := a.requireToken(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// refuse answers r with error code and then closes the connection,
// reading nothing more of r's body. A refused client gets no idle
// connection to keep, and one that announced a large body and sends
// none (or sends it slowly) holds nothing: net/http would otherwise read
// up to 256 KiB of the body, before answering or after, to keep the
// connection for another request.
func refuse(w http.ResponseWriter, r *http.Request, code errorCode, msg string) {
	closeUnread(w, r)
	writeError(w, code, msg)
}

// closeUnread makes the answer to r its connection's last, and stops
// reading what is left of r's body, if any.
func closeUnread(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.ContentLength != 0 {
		// The expired deadline ends net/http's read of the rest of the
		// body at once, after the answer has been written.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// tokenIs compares in constant time, so timing tells nothing of the token.
func (a Access) tokenIs(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(a.Token)) == 1
}

// isWebSocket reports whether r may be a WebSocket handshake, or any
// other protocol upgrade: its Upgrade header lists websocket, or its
// Connection header lists upgrade. The headers are comma-separated token
// lists in any case ("Upgrade: h2c, websocket"), as the WebSocket library
// reads them; matching only the exact value would let a handshake past
// the checks made for WebSockets.
func isWebSocket(r *http.Request) bool {
	return hasToken(r.Header, "Upgrade", "websocket") || hasToken(r.Header, "Connection", "upgrade")
}

// hasToken reports whether header name, in any of its lines, lists
// token, in any case.
func hasToken(h http.Header, name, token string) bool {
	for _, line := range h.Values(name) {
		for _, t := range strings.Split(line, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
