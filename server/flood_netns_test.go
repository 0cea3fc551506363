package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
)

// floodNet is the network the namespace puts on its loopback interface:
// sockplay listens on floodNet.1, exposed (beyond loopback, so with a
// token), and each client of the flood dials from an address of its own.
const floodNet = "10.9.0"

// TestFloodInNetns floods an exposed sockplay with connections and
// checks that it holds: past the caps connections are closed at once,
// /healthz is still answered, idle and partial requests are closed by
// the timeouts while a WebSocket lives on, and unauthenticated requests
// that announce a large body are answered without it. sockplay listens
// beyond loopback only inside a new network namespace whose one
// interface is loopback, so nothing of it is reachable from elsewhere
// (testkit.InNetns).
func TestFloodInNetns(t *testing.T) {
	if testkit.InNetns(t, "ip addr add "+floodNet+".1/24 dev lo") {
		floodInsideNetns(t)
	}
}

const floodToken = "flood-token"

// startExposed runs sockplay on floodNet.1 with a token and args, and
// returns its address and its warnings; it stops when the test ends.
func startExposed(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"-addr", floodNet + ".1:0", "-labs=false", "-token", floodToken, "-log-level", "warn"}, args...)
	logs := &syncBuffer{}
	go func() {
		done <- Run(ctx, nil, args, pw, logs, env(nil))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^sockplay listening on http://(` + regexp.QuoteMeta(floodNet) + `\.1:\d+)/\?token=`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start line %q", line)
	}
	return m[1], logs
}

// dialFrom dials addr from client address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	return c
}

// flood is n connections from one client address, each of which sent
// the same bytes and reads whatever comes until the server closes it.
type flood struct {
	conns  []net.Conn
	closed atomic.Int64
}

func startFlood(t *testing.T, src, addr string, n int, send string) *flood {
	t.Helper()
	f := &flood{}
	for range n {
		c := dialFrom(t, src, addr)
		f.conns = append(f.conns, c)
		go func() {
			// A connection the server closed at once may refuse the
			// write; either way its reader sees the close.
			io.WriteString(c, send)
			io.Copy(io.Discard, c)
			f.closed.Add(1)
		}()
	}
	t.Cleanup(f.stop)
	return f
}

func (f *flood) stop() {
	for _, c := range f.conns {
		c.Close()
	}
}

// eventually polls cond until it holds, or patience has passed.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// await is eventually, failing the test if cond never held.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !eventually(cond) {
		t.Fatalf("not within %v: %s", patience, what)
	}
}

// patience bounds every wait for what must happen at once or after a
// timeout of the test's own (a second): far longer than either takes,
// far shorter than the 30 s timeouts (or the 10 s sockplay used to
// wait for headers) that must not be what ends them.
const patience = 5 * time.Second

// get sends one request on a new connection from src and returns its
// status and JSON error code, or an error if the connection was closed
// unanswered.
func get(t *testing.T, src, addr, path string, token bool) (int, string, error) {
	t.Helper()
	c := dialFrom(t, src, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	auth := ""
	if token {
		auth = "Authorization: Bearer " + floodToken + "\r\n"
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, addr, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body struct{ Error struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.Code, nil
}

// partialGet is a request whose headers never end.
const partialGet = "GET /healthz HTTP/1.1\r\nHost: flood\r\n"

func floodInsideNetns(t *testing.T) {
	client := func(n int) string { return fmt.Sprintf("%s.%d", floodNet, n) }

	t.Run("caps", func(t *testing.T) {
		// The timeouts are long: here only the caps may close anything.
		const maxConns, perClient = 100, 60
		addr, logs := startExposed(t, "-max-conns", fmt.Sprint(maxConns), "-max-conns-per-client", fmt.Sprint(perClient),
			"-header-timeout", "30s", "-idle-timeout", "30s", "-body-timeout", "30s")

		// One client past its share: the connections past it are
		// closed at once, and the rest are held.
		one := startFlood(t, client(11), addr, perClient+40, partialGet)
		await(t, "40 of one client's 100 connections closed at once (-max-conns-per-client 60)", func() bool { return one.closed.Load() == 40 })

		// Two more clients, each within its share, past the cap in
		// all: past it 16 are kept for /healthz, given a second to ask,
		// and the rest closed at once.
		two := startFlood(t, client(12), addr, perClient, partialGet)
		three := startFlood(t, client(13), addr, perClient, partialGet)
		heldByTwo := func() int64 { return 2*perClient - two.closed.Load() - three.closed.Load() }
		await(t, "the cap holds: 40 more of the two clients' 120 connections held, no more", func() bool { return heldByTwo() == maxConns-perClient })

		// The 100 connections of the flood are held (their headers have
		// 30 s): /healthz is still answered, through the reserve, and
		// nothing else is.
		code, _, err := get(t, client(20), addr, "/healthz", true)
		if err != nil || code != 200 {
			t.Fatalf("/healthz during the flood: %d %v, want 200", code, err)
		}
		code, errCode, err := get(t, client(20), addr, "/api/labs", true)
		if err != nil || code != 503 || errCode != "too_many_connections" {
			t.Fatalf("the API during the flood, with the token: %d %q %v, want 503 too_many_connections", code, errCode, err)
		}
		if held := int64(len(one.conns)) - one.closed.Load() + heldByTwo(); held != maxConns {
			t.Fatalf("the flood holds %d connections after the probes, want %d", held, maxConns)
		}

		// Each limit said once that it closed connections, not once a
		// connection.
		for _, limit := range []string{"-max-conns-per-client", "-max-conns"} {
			n := 0
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, `msg="connections closed at once: past the limit"`) && strings.Contains(l, " limit="+limit+" ") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d warnings that %s closed connections, want one:\n%s", n, limit, logs.String())
			}
		}

		// Once the flood goes, everything is served again.
		one.stop()
		two.stop()
		three.stop()
		await(t, "the API served again after the flood", func() bool {
			code, _, err := get(t, client(20), addr, "/api/labs", true)
			return err == nil && code == 200
		})

	})

	t.Run("large bodies", func(t *testing.T) {
		// Unauthenticated requests that announce a large body and send
		// none are answered at once, not after their 30 s body timeout,
		// and their connections closed.
		addr, _ := startExposed(t, "-header-timeout", "30s", "-idle-timeout", "30s", "-body-timeout", "30s")
		const posts = 300
		c := make([]net.Conn, posts)
		for i := range c {
			c[i] = dialFrom(t, client(14), addr)
			defer c[i].Close()
			fmt.Fprintf(c[i], "POST /api/sessions HTTP/1.1\r\nHost: %s\r\nContent-Length: 200000\r\n\r\n", addr)
		}
		for i := range c {
			c[i].SetDeadline(time.Now().Add(patience))
			br := bufio.NewReader(c[i])
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 401 {
				t.Fatalf("POST %d of %d with a 200000-byte body announced and no token: %v %v, want 401 at once", i+1, posts, resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			if _, err := br.ReadByte(); err == nil || isTimeout(err) {
				t.Fatalf("POST %d: the connection was kept after the 401 (%v)", i+1, err)
			}
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		// Timeouts of a second, caps out of the way.
		addr, _ := startExposed(t, "-max-conns", "2000", "-max-conns-per-client", "1000",
			"-header-timeout", "1s", "-idle-timeout", "1s", "-body-timeout", "1s")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		// A session, and its WebSocket opened before the flood.
		c := dialFrom(t, client(30), addr)
		c.SetDeadline(time.Now().Add(patience))
		fmt.Fprintf(c, "POST /api/sessions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n", addr, floodToken)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("creating a session: %v %v", resp, err)
		}
		var s struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&s)
		c.Close()
		ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/sessions/"+s.ID+"/ws", &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + floodToken}},
			HTTPClient: &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client(30))}}).DialContext}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if _, _, err := ws.Read(ctx); err != nil { // hello
			t.Fatal(err)
		}

		partial := startFlood(t, client(31), addr, 300, partialGet)
		idle := startFlood(t, client(32), addr, 300, "GET /api/labs HTTP/1.1\r\nHost: "+addr+"\r\nAuthorization: Bearer "+floodToken+"\r\n\r\n")
		refused := startFlood(t, client(33), addr, 300, "GET /api/labs HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		slowBody := startFlood(t, client(34), addr, 100, "POST /api/sessions/"+s.ID+"/ops HTTP/1.1\r\nHost: "+addr+"\r\nAuthorization: Bearer "+floodToken+"\r\nContent-Length: 100\r\n\r\n{\"op\":")

		code, _, err := get(t, client(20), addr, "/healthz", true)
		if err != nil || code != 200 {
			t.Fatalf("/healthz during the flood: %d %v, want 200", code, err)
		}
		for _, f := range []struct {
			name string
			f    *flood
		}{{"partial requests (-header-timeout)", partial}, {"idle connections after a 200 (-idle-timeout)", idle},
			{"connections after a 401", refused}, {"bodies cut short (-body-timeout)", slowBody}} {
			if !eventually(func() bool { return f.f.closed.Load() == int64(len(f.f.conns)) }) {
				t.Errorf("not within %v: all %s closed by the server (%d of %d were)", patience, f.name, f.f.closed.Load(), len(f.f.conns))
			}
		}

		// The WebSocket has outlived every timeout, and works.
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":"after","op":"socket"}`)); err != nil {
			t.Fatalf("the WebSocket after the timeouts: %v", err)
		}
		for {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("the WebSocket after the timeouts: %v", err)
			}
			var ev struct{ Reply string }
			json.Unmarshal(msg, &ev)
			if ev.Reply == "after" {
				break
			}
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
