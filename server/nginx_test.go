package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// nginxProxy is Debian's nginx running deploy/nginx/sockplay.conf in
// front of some nodes, as a child of the test on a loopback port.
type nginxProxy struct {
	url    string // http://127.0.0.1:PORT, the nodes' public URL
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// listenNginx takes nginx's loopback port now, so that the nodes can be
// told their public URL before nginx runs: nginx is handed the listening
// socket itself (as its own binary upgrades do, through $NGINX), so no
// other program can take the port meanwhile, and connections made before
// nginx is up wait in its queue.
func listenNginx(t *testing.T) (*net.TCPListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener), "http://" + ln.Addr().String()
}

// startNginx runs nginx on ln with the deploy configuration, its nodes
// (an upstream each, by name, and one of all) those given: name → base
// URL. It is stopped, by its PID, when the test ends.
func startNginx(t *testing.T, bin string, ln *net.TCPListener, nodes map[string]string, order []string) *nginxProxy {
	t.Helper()
	dir := t.TempDir()
	// nginx's workers run as nobody when the test is root: they must
	// reach their temporary directories under the test's.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	conf, err := os.ReadFile("../deploy/nginx/sockplay.conf")
	if err != nil {
		t.Fatal(err)
	}
	const listen = "    listen 80;\n"
	if strings.Count(string(conf), listen) != 1 {
		t.Fatalf("deploy/nginx/sockplay.conf has no line %q to give the test's port instead", listen)
	}
	site := strings.Replace(string(conf), listen, "    listen "+ln.Addr().String()+";\n", 1)
	var up strings.Builder
	up.WriteString("upstream sockplay {\n")
	for _, n := range order {
		fmt.Fprintf(&up, "    server %s max_fails=1 fail_timeout=10s;\n", strings.TrimPrefix(nodes[n], "http://"))
	}
	up.WriteString("    keepalive 16;\n}\n")
	for _, n := range order {
		fmt.Fprintf(&up, "upstream %s { server %s; keepalive 4; }\n", n, strings.TrimPrefix(nodes[n], "http://"))
	}
	up.WriteString("map $sockplay_node $sockplay_upstream {\n    \"\" sockplay;\n")
	for _, n := range order {
		fmt.Fprintf(&up, "    %s %s;\n", n, n)
	}
	up.WriteString("    default \"\";\n}\n")
	main := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 512; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/nodes.conf;
    include %[1]s/sockplay.conf;
}
`, dir)
	for name, text := range map[string]string{"nginx.conf": main, "nodes.conf": up.String(), "sockplay.conf": site} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ln.File() // a duplicate, inherited as descriptor 3
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), "NGINX=3;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	p := &nginxProxy{url: "http://" + ln.Addr().String(), dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// SIGQUIT: nginx's graceful stop; its master ends its workers.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx's error log:\n%s", b)
			}
		}
	})
	return p
}

// request sends method url through the proxy or to a node, with the
// token and any headers given; it returns the status and body.
func request(t *testing.T, method, url, token string, hdr http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	var body map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		body = jsonOf(t, b)
	}
	return resp.StatusCode, body
}

// TestSchoolBehindNginx runs a school's sockplay as deploy/ describes it,
// on loopback: two nodes behind Debian's nginx with deploy/nginx's
// configuration. Sessions land on both; a page, its WebSocket and a watch
// link work through the proxy (in Chromium, when there is one); each
// node's metrics count what was done on it; and draining one node ends
// its sessions, their pages told why, while the other goes on serving
// and /readyz says which is which.
func TestSchoolBehindNginx(t *testing.T) {
	bin := testkit.Nginx(t)
	const token = "school-token"
	ln, public := listenNginx(t)
	order := []string{"node-a", "node-b"}
	nodes := map[string]*node{}
	bases := map[string]string{}
	for _, name := range order {
		nodes[name] = startNode(t, "-node", name, "-public-url", public, "-trusted-proxies", "127.0.0.1/32", "-token", token, "-drain-timeout", "10m")
		bases[name] = nodes[name].base
	}
	px := startNginx(t, bin, ln, bases, order)
	browserOrigin := http.Header{"Origin": {public}}

	for _, name := range order {
		if code, body := request(t, "GET", bases[name]+"/readyz", "", nil); code != 200 || body["status"] != "ready" || body["node"] != name {
			t.Fatalf("%s's /readyz: %d %v", name, code, body)
		}
	}
	if code, _ := request(t, "GET", px.url+"/healthz", "", nil); code != 200 {
		t.Fatalf("/healthz through nginx: %d", code)
	}

	// Sessions land on both nodes, and each is served by its own.
	made := map[string]int{} // sessions made, by node
	sessionOn := map[string]string{}
	for range 4 {
		code, body := request(t, "POST", px.url+"/api/sessions", token, browserOrigin)
		id, _ := body["id"].(string)
		node := sockets.NodeOf(id)
		if code != 201 || bases[node] == "" {
			t.Fatalf("a session through nginx: %d %v", code, body)
		}
		made[node]++
		sessionOn[node] = id
	}
	if len(made) != 2 {
		t.Fatalf("sessions landed on %v: want both nodes", made)
	}
	for node, id := range sessionOn {
		if code, body := request(t, "GET", px.url+"/api/sessions/"+id, token, nil); code != 200 || body["id"] != id {
			t.Fatalf("%s's session through nginx: %d %v", node, code, body)
		}
		if code, _ := request(t, "GET", bases[other(order, node)]+"/api/sessions/"+id, token, nil); code != 404 {
			t.Fatalf("%s's session asked of the other node: %d", node, code)
		}
	}

	// Each session's WebSocket through the proxy, from a page of the
	// public URL: a socket, a connect, bytes there and back.
	echo := testkit.EchoServer(t)
	conns := map[string]*websocket.Conn{}
	sent := map[string]int{}
	for node, id := range sessionOn {
		c := wsDial(t, ws(px.url)+"/api/sessions/"+id+"/ws", http.Header{"Origin": {public}, "Authorization": {"Bearer " + token}})
		conns[node] = c
		for i, op := range []string{`{"op":"socket"}`, `{"op":"connect","sock":"s1","addr":"` + echo + `"}`, `{"op":"sendall","sock":"s1","data":{"text":"through nginx"}}`} {
			if ev := wsOp(t, c, i+1, op); ev["ok"] != true {
				t.Fatalf("%s: %s through nginx: %v", node, op, ev)
			}
		}
		sent[node] += len("through nginx")
		got := 0
		for i := 10; got < len("through nginx"); i++ {
			ev := wsOp(t, c, i, `{"op":"recv","sock":"s1","bufsize":64}`)
			res, _ := ev["result"].(map[string]any)
			n, _ := res["n"].(float64)
			if ev["ok"] != true || n == 0 {
				t.Fatalf("%s: recv through nginx: %v", node, ev)
			}
			got += int(n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, ws(px.url)+"/api/sessions/"+sessionOn["node-a"]+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer " + token}}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("a WebSocket from another site's page, through nginx: %v %v", resp, err)
	}

	// A watch link through the proxy: its page, and its stream.
	watched := "node-b"
	code, body := request(t, "POST", px.url+"/api/sessions/"+sessionOn[watched]+"/watch", token, browserOrigin)
	watchToken, _ := body["token"].(string)
	if code != 201 || sockets.NodeOf(watchToken) != watched {
		t.Fatalf("a watch link through nginx: %d %v", code, body)
	}
	if code, _ := request(t, "GET", px.url+"/w/"+watchToken, "", nil); code != 200 {
		t.Fatalf("the watch page through nginx: %d", code)
	}
	watcher := wsDial(t, ws(px.url)+"/api/watch/"+watchToken+"/ws", http.Header{"Origin": {public}})
	if ev := wsOp(t, conns[watched], 30, `{"op":"getsockname","sock":"s1"}`); ev["ok"] != true {
		t.Fatal(ev)
	}
	for {
		m := wsNext(t, watcher)
		if m["op"] == "getsockname" {
			if _, ok := m["reply"]; ok {
				t.Fatalf("the watcher got the owner's reply: %v", m)
			}
			break
		}
	}

	// What the school's proxy keeps from everyone.
	for _, c := range []struct {
		path, code string
	}{{"/api/admin/drain", "not_found"}, {"/metrics", "not_found"}, {"/s/node-z.abcdefghijklmnop", "no_session"}} {
		code, body := request(t, "POST", px.url+c.path, token, nil)
		if c.path == "/metrics" || strings.HasPrefix(c.path, "/s/") {
			code, body = request(t, "GET", px.url+c.path, token, nil)
		}
		if e, _ := body["error"].(map[string]any); code != 404 || e["code"] != c.code {
			t.Errorf("%s through nginx: %d %v, want 404 %s", c.path, code, body, c.code)
		}
	}

	// The page through the proxy, in a browser at a projector's size.
	var page *schoolPage
	parent := t
	t.Run("page", func(t *testing.T) {
		page = openSchoolPage(parent, t, public, token)
		made[page.node]++
		page.do(t, "connect to the echo lab", testkit.ClickStill(`.lab-connect[data-lab=echo][data-proto=tcp]`))
		page.waitFor(t, "s1 connected", `(() => { const c = document.querySelector("#sock-s1"); return !!c && c.textContent.includes("connected"); })()`)
		// The page's Python, loaded through the proxy, runs a call over
		// its worker's own WebSocket (?replies=1).
		out := page.eval(t, `sockplay.python.run("import socket\nprint('host', socket.gethostname())").then(r => JSON.stringify(r))`)
		if !strings.Contains(out, `"stdout":"host `) || !strings.Contains(out, `"exception":null`) {
			t.Fatalf("Python in the page, through nginx: %s", out)
		}
		page.shot(t, "nginx-page-1280x800.png")
		page.noErrors(t)
	})

	// The node to drain: the page's, if there is a page.
	drained := "node-a"
	if page != nil {
		drained = page.node
	}
	serving := other(order, drained)

	// Each node's metrics count what was done on it.
	for _, node := range order {
		sm := testkit.Scrape(t, bases[node]+"/metrics", token)
		made := made[node]
		socks := 1.0 // the WebSocket's
		if page != nil && page.node == node {
			socks++ // the page's lab connect
		}
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"sockplay_sessions_created_total", nil, float64(made)},
			{"sockplay_sessions_open", nil, float64(made)},
			{"sockplay_ops_total", []string{"op", "socket", "outcome", "ok"}, socks},
			{"sockplay_ops_total", []string{"op", "sendall", "outcome", "ok"}, 1},
			{"sockplay_socket_bytes_total", []string{"direction", "sent"}, float64(sent[node])},
			{"sockplay_socket_bytes_total", []string{"direction", "received"}, float64(sent[node])},
			{"sockplay_ready", nil, 1},
		} {
			if got := sm.Value(c.name, c.labels...); got != c.want {
				t.Errorf("%s's %s%v = %v, want %v", node, c.name, c.labels, got, c.want)
			}
		}
		if got := sm.Value("sockplay_websocket_write_lag_seconds_count"); got < 1 {
			t.Errorf("%s wrote no live events to a WebSocket, by its metrics", node)
		}
		wantWatchers := 0.0
		if node == watched {
			wantWatchers = 1
		}
		if got := sm.Value("sockplay_watchers"); got != wantWatchers {
			t.Errorf("%s's watchers: %v, want %v", node, got, wantWatchers)
		}
	}

	// Drain one node, as an operator does on the node itself.
	if code, body := request(t, "POST", bases[drained]+"/api/admin/drain", token, nil); code != 202 || body["node"] != drained {
		t.Fatalf("draining %s: %d %v", drained, code, body)
	}
	readiness := func() map[string]int {
		out := map[string]int{}
		for _, node := range order {
			out[node], _ = request(t, "GET", bases[node]+"/readyz", "", nil)
		}
		return out
	}
	if r := readiness(); r[drained] != 503 || r[serving] != 200 {
		t.Fatalf("/readyz with %s drained: %v", drained, r)
	}
	if m := wsUntil(t, conns[drained], "draining"); !strings.Contains(m["msg"].(string), drained) {
		t.Errorf("the page of a session on %s was told %v", drained, m)
	}
	if page != nil {
		page.waitFor(t, "the page told its node drains", `document.getElementById("conn").textContent.includes("draining: ends by")`)
		page.shot(t, "nginx-page-draining-1280x800.png")
	}
	// New sessions go to the node that serves: nginx asks it when the
	// drained one refuses.
	for range 4 {
		code, body := request(t, "POST", px.url+"/api/sessions", token, browserOrigin)
		if id, _ := body["id"].(string); code != 201 || sockets.NodeOf(id) != serving {
			t.Fatalf("a new session through nginx while %s drains: %d %v", drained, code, body)
		}
		made[serving]++
	}
	// The drained node's sessions go on meanwhile.
	if ev := wsOp(t, conns[drained], 40, `{"op":"getsockname","sock":"s1"}`); ev["ok"] != true {
		t.Fatalf("an op on %s while it drains: %v", drained, ev)
	}

	// The deadline brought to now: the drained node's sessions end, and
	// their pages say why; the other node's go on.
	if code, _ := request(t, "POST", bases[drained]+"/api/admin/drain?timeout=0s", token, nil); code != 202 {
		t.Fatalf("ending %s's drain now: %d", drained, code)
	}
	ended := wsUntil(t, conns[drained], "ended")
	if r, _ := ended["end_reason"].(string); !strings.Contains(r, "node "+drained+" was drained") {
		t.Errorf("the page of a session on %s was told it ended: %q", drained, r)
	}
	if page != nil {
		page.waitFor(t, "the page told its session ended", `document.getElementById("conn").textContent.includes("was drained")`)
		page.shot(t, "nginx-page-drained-1280x800.png")
	}
	if ev := wsOp(t, conns[serving], 41, `{"op":"getsockname","sock":"s1"}`); ev["ok"] != true {
		t.Fatalf("an op on %s after %s drained: %v", serving, drained, ev)
	}
	if code, body := request(t, "POST", px.url+"/api/sessions", token, browserOrigin); code != 201 || sockets.NodeOf(body["id"].(string)) != serving {
		t.Fatalf("a session through nginx after the drain: %d %v", code, body)
	}
	made[serving]++
	if r := readiness(); r[drained] != 503 || r[serving] != 200 {
		t.Fatalf("/readyz once %s has drained: %v", drained, r)
	}
	sm := testkit.Scrape(t, bases[drained]+"/metrics", token)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sockplay_sessions_ended_total", []string{"reason", "drain"}, float64(made[drained])},
		{"sockplay_sessions_open", nil, 0},
		{"sockplay_ready", nil, 0},
	} {
		if got := sm.Value(c.name, c.labels...); got != c.want {
			t.Errorf("%s's %s%v = %v, want %v", drained, c.name, c.labels, got, c.want)
		}
	}
	if sm.Value("sockplay_refusals_total", "limit", "draining") < 1 {
		t.Errorf("%s refused no new session while it drained, by its metrics", drained)
	}
	if got := testkit.Scrape(t, bases[serving]+"/metrics", token).Value("sockplay_sessions_created_total"); got != float64(made[serving]) {
		t.Errorf("%s made %v sessions by its metrics, want %d", serving, got, made[serving])
	}
	if page != nil {
		page.noErrors(t)
	}
}

func other(order []string, node string) string {
	for _, n := range order {
		if n != node {
			return n
		}
	}
	return ""
}

// schoolPage is a session's page in headless Chromium, opened through
// the proxy, at a projector's 1280×800.
type schoolPage struct {
	ctx   context.Context
	node  string // the node its session landed on
	shots string // where its screenshots go
	log   *testkit.PageLog
}

// openSchoolPage opens the public URL with the token as a student
// would, and waits for the session's page to be live. The browser lasts
// until parent ends; t (a subtest of parent) is skipped when there is no
// Chromium (or fails, with SOCKPLAY_REQUIRE_BROWSER).
func openSchoolPage(parent, t *testing.T, public, token string) *schoolPage {
	t.Helper()
	testkit.Chromium(t) // without one, t skips (or fails), not parent
	ctx := testkit.BrowserTab(parent, 1280, 800)
	p := &schoolPage{ctx: ctx, log: testkit.WatchPage(ctx), shots: os.Getenv("SOCKPLAY_SCREENSHOTS")}
	if p.shots == "" {
		p.shots = parent.TempDir()
	} else if err := os.MkdirAll(p.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	p.do(t, "open the school's address", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(public+"/?token="+token))
	p.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(loc, public+"/s/")
	if !ok || sockets.NodeOf(id) == "" {
		t.Fatalf("the page is at %s: not a session of a node, through the proxy", loc)
	}
	p.node = sockets.NodeOf(id)
	return p
}

func (p *schoolPage) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript condition until it is true.
func (p *schoolPage) waitFor(t *testing.T, what, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(25*time.Second))); err != nil {
		conn, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("conn") ? document.getElementById("conn").textContent : "(no #conn)"`))
		t.Fatalf("waiting for %s: %v (the page says %q)", what, err, conn)
	}
}

// eval evaluates js, awaiting the string its promise resolves with.
func (p *schoolPage) eval(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// shot saves what the window shows as name, from the page's top: its
// header says how the session is.
func (p *schoolPage) shot(t *testing.T, name string) {
	t.Helper()
	p.do(t, "scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(p.shots, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// noErrors fails the test if the page logged an error or threw.
func (p *schoolPage) noErrors(t *testing.T) {
	t.Helper()
	if errs := p.log.Errors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %v", errs)
	}
}
