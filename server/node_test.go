package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
)

func TestParseNodeFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Node == "" && c.PublicURL == nil && c.TrustedProxies == nil && c.DrainTimeout == DefaultDrainTimeout && c.MetricsAddr == "" && c.PprofAddr == ""
		}, ""},
		{"a node behind a proxy", []string{"-node", "sockplay-2", "-public-url", "https://sockplay.school.example/", "-trusted-proxies", "10.0.0.0/8, 192.0.2.7", "-drain-timeout", "30m"}, nil, func(c Config) bool {
			return c.Node == "sockplay-2" && c.PublicURL.String() == "https://sockplay.school.example" && len(c.TrustedProxies) == 2 &&
				c.TrustedProxies[1].String() == "192.0.2.7/32" && c.DrainTimeout == 30*time.Minute && engineConfig(c).Node == "sockplay-2"
		}, ""},
		{"from the environment, as a pod's", nil, map[string]string{"SOCKPLAY_NODE": "sockplay-0", "SOCKPLAY_PUBLIC_URL": "http://127.0.0.1:8000", "SOCKPLAY_METRICS_ADDR": ":9090", "SOCKPLAY_PPROF_ADDR": "localhost:6060"}, func(c Config) bool {
			return c.Node == "sockplay-0" && c.PublicURL.Host == "127.0.0.1:8000" && c.MetricsAddr == ":9090" && c.PprofAddr == "localhost:6060"
		}, ""},
		{"a node name that is no DNS label", []string{"-node", "Node_1"}, nil, nil, "-node: "},
		{"a node name with a dot", []string{"-node", "a.b"}, nil, nil, "-node: "},
		{"a public URL without a scheme", []string{"-public-url", "school.example"}, nil, nil, "-public-url"},
		{"a public URL with a path", []string{"-public-url", "https://school.example/sockplay"}, nil, nil, "served at the root"},
		{"a public URL with a query", []string{"-public-url", "https://school.example/?a=1"}, nil, nil, "-public-url"},
		{"a bad proxy", []string{"-trusted-proxies", "proxy.local"}, nil, nil, "-trusted-proxies: "},
		{"a negative drain", []string{"-drain-timeout", "-1s"}, nil, nil, "-drain-timeout must not be negative"},
		{"a bad metrics address", []string{"-metrics-addr", "9090"}, nil, nil, "-metrics-addr"},
		{"pprof beyond loopback", []string{"-pprof-addr", "0.0.0.0:6060"}, nil, nil, "loopback only"},
		{"pprof on every interface", []string{"-pprof-addr", ":6060"}, nil, nil, "loopback only"},
		{"pprof on IPv6 loopback", []string{"-pprof-addr", "[::1]:6060"}, nil, func(c Config) bool { return c.PprofAddr == "[::1]:6060" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

// TestPublicURLExposes: behind a proxy whose public URL is beyond
// loopback, sockplay is exposed though it listens on loopback: the token
// is needed, and the public host is allowed.
func TestPublicURLExposes(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for _, tc := range []struct {
		public  string
		exposed bool
	}{{"", false}, {"http://127.0.0.1:8000", false}, {"http://localhost:8000", false}, {"https://school.example", true}, {"http://10.1.2.3", true}} {
		c, err := ParseConfig([]string{"-public-url", tc.public}, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		a, exposed := accessFor(c, lo)
		if exposed != tc.exposed || (a.Token != "") != tc.exposed || (tc.public != "" && a.Public == nil) {
			t.Errorf("public URL %q: exposed %v, token %q, public %v", tc.public, exposed, a.Token, a.Public)
		}
	}
}

// node is a sockplay started by Run in this process, as main starts it.
type node struct {
	base   string // http://127.0.0.1:PORT
	cancel context.CancelFunc
	drain  chan struct{} // close: SIGTERM
	done   chan error
	out    *bufio.Reader // stdout after the start line
}

// startNode runs sockplay with args (on a free loopback port, labs on
// free ports, logs at error unless args say) and waits for its start
// line. It is stopped when the test ends, if it has not been.
func startNode(t testing.TB, args ...string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	n := &node{cancel: cancel, drain: make(chan struct{}), done: make(chan error, 1)}
	all := append([]string{"-addr", "127.0.0.1:0", "-labs-addr", "127.0.0.1:0", "-log-level", "error"}, args...)
	go func() {
		n.done <- Run(ctx, n.drain, all, pw, io.Discard, env(nil))
		pw.Close()
	}()
	n.out = bufio.NewReader(pr)
	line, err := n.out.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no start line: %v (run: %v)", err, <-n.done)
	}
	m := regexp.MustCompile(`^sockplay listening on (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("start line %q", line)
	}
	n.base = m[1]
	go io.Copy(io.Discard, n.out)
	t.Cleanup(func() {
		cancel()
		<-n.done
	})
	return n
}

// await waits for Run to return, and fails on its error.
func (n *node) await(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case err := <-n.done:
		n.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
	}
}

// returned reports whether Run has returned.
func (n *node) returned() bool {
	select {
	case err := <-n.done:
		n.done <- err
		return true
	default:
		return false
	}
}

// fetch sends method url with the token, if any; it returns the status and body.
func fetch(t testing.TB, method, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// jsonOf decodes b, failing the test if it is not a JSON object.
func jsonOf(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %q", b)
	}
	return m
}

// wsDial opens url's WebSocket and reads its hello.
func wsDial(t testing.TB, url string, hdr http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("WebSocket %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if m := wsNext(t, c); m["type"] != "hello" {
		t.Fatalf("first message %v, want hello", m)
	}
	return c
}

// wsNext reads the next message as JSON.
func wsNext(t testing.TB, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("WebSocket read: %v", err)
	}
	return jsonOf(t, b)
}

// wsUntil reads until a message of type typ, and returns it.
func wsUntil(t testing.TB, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for {
		if m := wsNext(t, c); m["type"] == typ {
			return m
		}
	}
}

// wsOp sends op with id and returns the event that answers it.
func wsOp(t testing.TB, c *websocket.Conn, id int, op string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":`+itoa(id)+`,`+strings.TrimPrefix(op, "{"))); err != nil {
		t.Fatal(err)
	}
	for {
		m := wsNext(t, c)
		if r, ok := m["reply"].(float64); ok && int(r) == id {
			return m
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func ws(base string) string { return strings.Replace(base, "http", "ws", 1) }

// TestDrainOnSIGTERM: on SIGTERM (main closes drain) the node drains:
// /readyz turns 503 while /healthz stays 200, new sessions are refused
// with draining, the sessions it has go on, and their pages are told;
// once the last has ended Run returns.
func TestDrainOnSIGTERM(t *testing.T) {
	n := startNode(t, "-node", "n1", "-drain-timeout", "10m")
	code, b := fetch(t, "POST", n.base+"/api/sessions", "")
	id, _ := jsonOf(t, b)["id"].(string)
	if code != 201 || !strings.HasPrefix(id, "n1.") {
		t.Fatalf("a session: %d %s", code, b)
	}
	c := wsDial(t, ws(n.base)+"/api/sessions/"+id+"/ws", nil)
	close(n.drain)
	notice := wsUntil(t, c, "draining")
	if msg, _ := notice["msg"].(string); !strings.Contains(msg, "n1") {
		t.Errorf("the page's notice: %v", notice)
	}
	if code, b := fetch(t, "GET", n.base+"/readyz", ""); code != 503 || jsonOf(t, b)["status"] != "draining" {
		t.Errorf("/readyz while draining: %d %s", code, b)
	}
	if code, _ := fetch(t, "GET", n.base+"/healthz", ""); code != 200 {
		t.Errorf("/healthz while draining: %d", code)
	}
	if code, b := fetch(t, "POST", n.base+"/api/sessions", ""); code != 503 || !strings.Contains(string(b), `"draining"`) {
		t.Errorf("a new session while draining: %d %s", code, b)
	}
	if ev := wsOp(t, c, 1, `{"op":"socket"}`); ev["ok"] != true {
		t.Errorf("an op of the session while it drains: %v", ev)
	}
	if n.returned() {
		t.Fatal("Run returned with a session left")
	}
	if code, _ := fetch(t, "DELETE", n.base+"/api/sessions/"+id, ""); code != 204 {
		t.Fatalf("ending the session: %d", code)
	}
	n.await(t, 15*time.Second)
}

// TestDrainDeadline: sessions that outlive -drain-timeout end, their
// pages told that the node was drained, and Run then returns.
func TestDrainDeadline(t *testing.T) {
	n := startNode(t, "-node", "n2", "-drain-timeout", "200ms")
	_, b := fetch(t, "POST", n.base+"/api/sessions", "")
	id := jsonOf(t, b)["id"].(string)
	c := wsDial(t, ws(n.base)+"/api/sessions/"+id+"/ws", nil)
	close(n.drain)
	ended := wsUntil(t, c, "ended")
	if r, _ := ended["end_reason"].(string); !strings.Contains(r, "node n2 was drained") {
		t.Errorf("the page was told %q", r)
	}
	n.await(t, 15*time.Second)
}

// TestOperatorAddresses: -metrics-addr serves /metrics without the
// token (and nothing else), the playground's /metrics needs it, and
// -pprof-addr serves the profiler.
func TestOperatorAddresses(t *testing.T) {
	metricsAddr, pprofAddr := testkit.ClosedPort(t), testkit.ClosedPort(t)
	n := startNode(t, "-token", "tk", "-metrics-addr", metricsAddr, "-pprof-addr", pprofAddr)
	if code, _ := fetch(t, "GET", n.base+"/metrics", ""); code != 401 {
		t.Errorf("the playground's /metrics without the token: %d", code)
	}
	fetch(t, "POST", n.base+"/api/sessions", "tk")
	for _, base := range []struct{ url, token string }{{n.base, "tk"}, {"http://" + metricsAddr, ""}} {
		sm := testkit.Scrape(t, base.url+"/metrics", base.token)
		if v := sm.Value("sockplay_sessions_created_total"); v != 1 {
			t.Errorf("%s: sessions created %v, want 1", base.url, v)
		}
	}
	if code, _ := fetch(t, "GET", "http://"+metricsAddr+"/api/labs", ""); code != 404 {
		t.Errorf("the metrics address serves /api/labs: %d", code)
	}
	if code, b := fetch(t, "GET", "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1", ""); code != 200 || !strings.Contains(string(b), "goroutine profile") {
		t.Errorf("pprof: %d %.100s", code, b)
	}
	if code, _ := fetch(t, "GET", n.base+"/debug/pprof/", "tk"); code != 404 {
		t.Errorf("pprof on the playground's address: %d", code)
	}
}
