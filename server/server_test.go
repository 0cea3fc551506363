package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Labs && c.LabsAddr == "127.0.0.1:7007" && c.MaxSockets == 64 && c.SessionIdle == time.Hour
		}, ""},
		{"env", nil, map[string]string{"SOCKPLAY_ADDR": "127.0.0.1:9999", "SOCKPLAY_LABS": "false", "SOCKPLAY_MAX_SOCKETS": "3"}, func(c Config) bool {
			return c.Addr == "127.0.0.1:9999" && !c.Labs && c.MaxSockets == 3
		}, ""},
		{"flag beats env", []string{"-addr", "127.0.0.1:0"}, map[string]string{"SOCKPLAY_ADDR": "127.0.0.1:9999"}, func(c Config) bool {
			return c.Addr == "127.0.0.1:0"
		}, ""},
		{"bad env value", nil, map[string]string{"SOCKPLAY_MAX_SOCKETS": "lots"}, nil, "SOCKPLAY_MAX_SOCKETS"},
		{"bad addr", []string{"-addr", "8080"}, nil, nil, "-addr"},
		{"bad level", []string{"-log-level", "loud"}, nil, nil, "-log-level"},
		{"stray argument", []string{"serve"}, nil, nil, "unexpected argument"},
		{"zero sockets", []string{"-max-sockets", "0"}, nil, nil, "-max-sockets"},
		{"zero log", []string{"-max-event-log-mb", "0"}, nil, nil, "-max-event-log-mb"},
	}
	for _, tc := range cases {
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
	if _, err := ParseConfig([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestRunServesAndShutsDown starts sockplay as main does, on a free port,
// uses it, then stops it: Run must return and close WebSockets with 1001.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-addr", "127.0.0.1:0", "-labs-addr", "127.0.0.1:0", "-log-level", "error"}, pw, io.Discard, env(nil))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line: %v (run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^sockplay listening on (http://127\.0\.0\.1:(\d+))/\n$`).FindStringSubmatch(line)
	if m == nil || m[2] == "0" {
		t.Fatalf("start line %q", line)
	}
	base := m[1]

	resp, err := http.Get(base + "/api/labs")
	if err != nil {
		t.Fatal(err)
	}
	var labs []struct{ Name, Proto, Addr string }
	json.NewDecoder(resp.Body).Decode(&labs)
	resp.Body.Close()
	if len(labs) < 2 || labs[0].Name != "echo" || labs[0].Proto != "tcp" {
		t.Fatalf("labs %+v: echo over TCP should come first", labs)
	}
	c, err := net.Dial("tcp", labs[0].Addr)
	if err != nil {
		t.Fatalf("echo lab not reachable: %v", err)
	}
	c.Close()

	resp, err = http.Post(base+"/api/sessions", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	ws, _, err := websocket.Dial(wctx, strings.Replace(base, "http", "ws", 1)+"/api/sessions/"+s.ID+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(wctx); err != nil { // hello
		t.Fatal(err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for {
		if _, _, err = ws.Read(wctx); err != nil {
			break
		}
	}
	if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
		t.Fatalf("websocket closed with %v (%v), want 1001 going away", st, err)
	}
	if _, err := net.Dial("tcp", labs[0].Addr); err == nil {
		t.Error("echo lab still listening after shutdown")
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), []string{"-addr", ln.Addr().String(), "-labs=false"}, io.Discard, io.Discard, env(nil))
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("err = %v", err)
	}
}

func TestAccessFor(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		token   string
		exposed bool
		host    string
	}{
		{"127.0.0.1:8080", "", false, ""},
		{"[::1]:8080", "", false, ""},
		{"127.0.0.1:8080", "given", false, ""},
		{"0.0.0.0:8080", "", true, ""},
		{"192.0.2.10:8080", "", true, "192.0.2.10"},
		{"0.0.0.0:8080", "given", true, ""},
	} {
		a, exposed := accessFor(Config{Token: tc.token}, mustTCPAddr(t, tc.addr))
		if exposed != tc.exposed {
			t.Errorf("%s: exposed %v", tc.addr, exposed)
		}
		switch {
		case tc.token != "" && a.Token != tc.token:
			t.Errorf("%s: token %q, want the one given", tc.addr, a.Token)
		case tc.token == "" && tc.exposed && len(a.Token) != 32:
			t.Errorf("%s: exposed without a generated token (%q)", tc.addr, a.Token)
		case tc.token == "" && !tc.exposed && a.Token != "":
			t.Errorf("%s: loopback needs no token, got %q", tc.addr, a.Token)
		}
		if tc.host != "" && (len(a.Hosts) != 1 || a.Hosts[0] != tc.host) {
			t.Errorf("%s: allowed hosts %v", tc.addr, a.Hosts)
		}
	}
	a1, _ := accessFor(Config{}, mustTCPAddr(t, "0.0.0.0:1"))
	a2, _ := accessFor(Config{}, mustTCPAddr(t, "0.0.0.0:1"))
	if a1.Token == a2.Token {
		t.Error("two generated tokens are the same")
	}
}

func mustTCPAddr(t *testing.T, s string) net.Addr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRunWithToken: a token given on loopback is required, and printed in
// the start URL.
func TestRunWithToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-addr", "127.0.0.1:0", "-labs=false", "-log-level", "error"}, pw, io.Discard, env(map[string]string{"SOCKPLAY_TOKEN": "tok"}))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^sockplay listening on (http://127\.0\.0\.1:\d+)/\?token=tok\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start line %q", line)
	}
	if resp, err := http.Get(m[1] + "/api/labs"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without the token: %v %v", resp, err)
	}
	req, _ := http.NewRequest("GET", m[1]+"/api/labs", nil)
	req.Header.Set("Authorization", "Bearer tok")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("with the token: %v %v", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
