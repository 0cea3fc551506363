package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets/policy"
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
		{"allowed host with a scheme", []string{"-allowed-hosts", "http://class.example/"}, nil, nil, `-allowed-hosts: "http://class.example/" is not a host name`},
		{"allowed host with a port", []string{"-allowed-hosts", "class.example:8080"}, nil, nil, `-allowed-hosts: "class.example:8080"`},
		{"allowed hosts", []string{"-allowed-hosts", "class.example, 10.0.0.5,::1,[fe80::1]"}, nil, func(c Config) bool {
			return strings.Join(c.AllowedHosts, " ") == "class.example 10.0.0.5 ::1 [fe80::1]"
		}, ""},
		// Shifted into bytes, these would overflow.
		{"huge send rate", []string{"-max-send-mb-per-sec", "99999999999999"}, nil, nil, "-max-send-mb-per-sec must be at most 1048576"},
		{"huge log", []string{"-max-event-log-mb", "99999999999999"}, nil, nil, "-max-event-log-mb must be at most"},
		{"huge message", []string{"-max-message-kb", "99999999999999"}, nil, nil, "-max-message-kb must be at most"},

		{"connection limits", []string{"-header-timeout", "2s", "-body-timeout", "0", "-idle-timeout", "5s", "-max-conns", "10", "-max-conns-per-client", "0"}, nil, func(c Config) bool {
			return c.Conns == ConnLimits{HeaderTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second, MaxConns: 10} &&
				c.BodyTimeout == 0 && webConfig(c).BodyTimeout < 0
		}, ""},
		{"connection limits env", nil, map[string]string{"SOCKPLAY_MAX_CONNS_PER_CLIENT": "7", "SOCKPLAY_HEADER_TIMEOUT": "3s"}, func(c Config) bool {
			return c.Conns.MaxConnsPerClient == 7 && c.Conns.HeaderTimeout == 3*time.Second
		}, ""},
		{"negative timeout", []string{"-idle-timeout", "-1s"}, nil, nil, "-idle-timeout must not be negative"},
		{"negative conns", []string{"-max-conns", "-1"}, nil, nil, "-max-conns must be at least 0"},
		{"policy defaults", nil, nil, func(c Config) bool {
			p := c.Egress
			return c.EgressAuto && c.BindAuto && p.BindPorts.String() == "0,1024-65535" &&
				p.AllowPorts.Empty() && p.DenyPorts.Empty() && len(p.Allow)+len(p.Deny)+len(p.BindPrefixes) == 0
		}, ""},
		{"policy flags", []string{"-egress", "local", "-allow-cidrs", "8.8.8.8, 1.1.1.0/24", "-deny-cidrs", "10.9.0.0/16",
			"-allow-ports", "80,443", "-deny-ports", "25", "-bind-cidrs", "0.0.0.0/0,::/0", "-bind-ports", "8000-9000"}, nil, func(c Config) bool {
			p := c.Egress
			return !c.EgressAuto && !c.BindAuto && p.Mode == policy.ModeLocal &&
				policy.FormatPrefixes(p.Allow) == "8.8.8.8,1.1.1.0/24" && policy.FormatPrefixes(p.Deny) == "10.9.0.0/16" &&
				p.AllowPorts.String() == "80,443" && p.DenyPorts.String() == "25" &&
				policy.FormatPrefixes(p.BindPrefixes) == "0.0.0.0/0,::/0" && p.BindPorts.String() == "8000-9000"
		}, ""},
		{"policy env", nil, map[string]string{"SOCKPLAY_EGRESS": "public", "SOCKPLAY_DENY_PORTS": "25,6000-6063", "SOCKPLAY_BIND_CIDRS": "127.0.0.1"}, func(c Config) bool {
			return c.Egress.Mode == policy.ModePublic && !c.EgressAuto && c.Egress.DenyPorts.String() == "25,6000-6063" &&
				!c.BindAuto && policy.FormatPrefixes(c.Egress.BindPrefixes) == "127.0.0.1"
		}, ""},
		{"egress any is a choice", []string{"-egress", "any"}, nil, func(c Config) bool {
			return c.Egress.Mode == policy.ModeAny && !c.EgressAuto
		}, ""},
		{"policy flag beats env", []string{"-egress", "public"}, map[string]string{"SOCKPLAY_EGRESS": "bogus"}, func(c Config) bool {
			return c.Egress.Mode == policy.ModePublic
		}, ""},
		{"bad egress", []string{"-egress", "publik"}, nil, nil, `-egress: "publik" is not a mode: want any, public or local`},
		{"bad egress env", nil, map[string]string{"SOCKPLAY_EGRESS": "open"}, nil, `SOCKPLAY_EGRESS: "open" is not a mode`},
		{"bad allow-cidrs", []string{"-allow-cidrs", "example.com"}, nil, nil, `-allow-cidrs: "example.com" is neither an IP address nor a CIDR prefix`},
		{"bad deny-cidrs", []string{"-deny-cidrs", "10.0.0.0/8,,"}, nil, nil, "-deny-cidrs: "},
		{"bad bind-cidrs", []string{"-bind-cidrs", "10.1.2.3/8"}, nil, nil, "-bind-cidrs: \"10.1.2.3/8\" has bits set past its /8; the network is 10.0.0.0/8"},
		{"bad allow-ports", []string{"-allow-ports", "http"}, nil, nil, "-allow-ports: "},
		{"bad deny-ports env", nil, map[string]string{"SOCKPLAY_DENY_PORTS": "9-1"}, nil, `SOCKPLAY_DENY_PORTS: port range "9-1" runs backwards`},
		{"bad bind-ports", []string{"-bind-ports", "1024-70000"}, nil, nil, "-bind-ports: port 70000"},
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
		done <- Run(ctx, nil, []string{"-addr", "127.0.0.1:0", "-labs-addr", "127.0.0.1:0", "-log-level", "error"}, pw, io.Discard, env(nil))
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
	err = Run(context.Background(), nil, []string{"-addr", ln.Addr().String(), "-labs=false"}, io.Discard, io.Discard, env(nil))
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
		done <- Run(ctx, nil, []string{"-addr", "127.0.0.1:0", "-labs=false", "-log-level", "error"}, pw, io.Discard, env(map[string]string{"SOCKPLAY_TOKEN": "t&k n"}))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	// The token is escaped in the URL, so that opening it gives the whole
	// token, not what comes before its "&".
	m := regexp.MustCompile(`^sockplay listening on ((http://127\.0\.0\.1:\d+)/\?token=t%26k\+n)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start line %q", line)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	taken := slices.ContainsFunc(resp.Cookies(), func(c *http.Cookie) bool { return c.Value == "t&k n" })
	if resp.StatusCode != http.StatusSeeOther || !taken {
		t.Fatalf("opening the printed URL: %s, cookies %v: want the whole token taken into a cookie and a redirect", resp.Status, resp.Cookies())
	}
	base := m[2]
	if resp, err := http.Get(base + "/api/labs"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without the token: %v %v", resp, err)
	}
	req, _ := http.NewRequest("GET", base+"/api/labs", nil)
	req.Header.Set("Authorization", "Bearer t&k n")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("with the token: %v %v", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPolicyFor(t *testing.T) {
	ls := []labs.Lab{
		{Name: "echo", Proto: "tcp", Addr: "127.0.0.1:7007"},
		{Name: "echo", Proto: "udp", Addr: "127.0.0.1:7007"},
		{Name: "drip", Proto: "tcp", Addr: "127.0.0.1:7008"},
	}
	parse := func(args ...string) Config {
		t.Helper()
		c, err := ParseConfig(args, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		exposed bool
		mode    policy.Mode
		binds   string
	}{
		{"loopback defaults", parse(), false, policy.ModeAny, ""},
		{"exposed defaults", parse(), true, policy.ModePublic, "127.0.0.0/8,::1"},
		{"exposed, chosen", parse("-egress", "any", "-bind-cidrs", "0.0.0.0/0"), true, policy.ModeAny, "0.0.0.0/0"},
		{"loopback, chosen", parse("-egress", "local"), false, policy.ModeLocal, ""},
	} {
		p := policyFor(tc.cfg, tc.exposed, ls)
		if p.Mode != tc.mode || policy.FormatPrefixes(p.BindPrefixes) != tc.binds {
			t.Errorf("%s: mode %v, binds %q; want %v, %q", tc.name, p.Mode, policy.FormatPrefixes(p.BindPrefixes), tc.mode, tc.binds)
		}
		if fmt.Sprint(p.Exempt) != "[127.0.0.1:7007/tcp 127.0.0.1:7007/udp 127.0.0.1:7008/tcp]" {
			t.Errorf("%s: exempt %v, want each lab address once, with its protocol", tc.name, p.Exempt)
		}
		if p.BindPorts.String() != "0,1024-65535" {
			t.Errorf("%s: bind ports %s", tc.name, p.BindPorts)
		}
	}
	// Exposed, labs exempt: they pass; anything else on loopback does not.
	p := policyFor(parse(), true, ls)
	if err := p.CheckDial("tcp", netip.MustParseAddrPort("127.0.0.1:7008")); err != nil {
		t.Errorf("a lab refused: %v", err)
	}
	if err := p.CheckDial("tcp", netip.MustParseAddrPort("127.0.0.1:5432")); err == nil || !strings.Contains(err.Error(), `"public" (-egress)`) {
		t.Errorf("loopback non-lab: %v", err)
	}
	if err := p.CheckDial("udp", netip.MustParseAddrPort("127.0.0.1:7008")); err == nil {
		t.Error("a TCP lab's port is exempt for UDP too")
	}
	// Labs on a wildcard address are reached through loopback.
	wild := policyFor(parse(), true, []labs.Lab{{Proto: "tcp", Addr: "0.0.0.0:7007"}, {Proto: "tcp", Addr: "[::]:7010"}, {Addr: "not an address"}})
	var got []string
	for _, e := range wild.Exempt {
		got = append(got, e.String())
	}
	if want := "0.0.0.0:7007/tcp 127.0.0.1:7007/tcp [::]:7010/tcp [::1]:7010/tcp 127.0.0.1:7010/tcp"; strings.Join(got, " ") != want {
		t.Errorf("wildcard labs exempt %v, want %s", got, want)
	}
	// The flags' policy is not changed by settling it.
	c := parse()
	policyFor(c, true, ls)
	if c.Egress.Mode != policy.ModeAny || c.Egress.BindPrefixes != nil || c.Egress.Exempt != nil {
		t.Errorf("policyFor changed the config: %+v", c.Egress)
	}
}

// syncBuffer is a bytes.Buffer safe for Run's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRunPolicy: the effective policy is logged at start, and a bad
// policy flag stops the start with an error, before anything listens.
func TestRunPolicy(t *testing.T) {
	err := Run(context.Background(), nil, []string{"-addr", "127.0.0.1:0", "-labs=false", "-deny-cidrs", "10.0.0.0/33"}, io.Discard, io.Discard, env(nil))
	if err == nil || !strings.Contains(err.Error(), "-deny-cidrs") {
		t.Fatalf("bad -deny-cidrs: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, nil, []string{"-addr", "127.0.0.1:0", "-labs-addr", "127.0.0.1:0", "-deny-ports", "25"}, pw, &logs, env(nil))
		pw.Close()
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatalf("no start line: %v (run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="egress policy"`) {
			line = l
		}
	}
	for _, want := range []string{"exposed=false", "policy.egress=any", "policy.deny-ports=25", "policy.bind-ports=0,1024-65535", `policy.exempt="[127.0.0.1:`} {
		if !strings.Contains(line, want) {
			t.Errorf("policy log line %q lacks %q", line, want)
		}
	}
}

func TestShownAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"[::1]:8080":     "[::1]:8080",
		"0.0.0.0:8080":   "localhost:8080",
		"[::]:8080":      "localhost:8080",
	} {
		if got := shownAddr(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))); got != want {
			t.Errorf("%s is shown as %s, want %s", addr, got, want)
		}
	}
}
