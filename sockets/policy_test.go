package sockets

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets/policy"
	"golang.org/x/sys/unix"
)

// Tests of the egress and listener policy in the engine. Every address
// these tests expect refused is on loopback, so that a broken check can
// only ever reach this machine; the other forbidden classes are tested in
// a fresh network namespace (policy_netns_test.go).

// labsExempt is the exempt list the server builds: every lab's address.
func labsExempt(t *testing.T, l *labs.Server) []policy.Endpoint {
	t.Helper()
	var out []policy.Endpoint
	for _, lab := range l.Labs() {
		ap, err := netip.ParseAddrPort(lab.Addr)
		if err != nil {
			t.Fatalf("lab %s address %q: %v", lab.Name, lab.Addr, err)
		}
		out = append(out, policy.Endpoint{Proto: lab.Proto, Addr: ap})
	}
	return out
}

// wantRefused fails unless ev is the policy's PermissionError, its
// message holding each of msgs.
func wantRefused(t *testing.T, ev Event, msgs ...string) {
	t.Helper()
	wantErr(t, ev, "PermissionError", "EACCES")
	if ev.Error.Num != 13 || !strings.HasPrefix(ev.Error.Msg, "Permission denied: ") {
		t.Fatalf("%s: error %+v, want [Errno 13] Permission denied: ...", ev.Op, ev.Error)
	}
	for _, m := range msgs {
		if !strings.Contains(ev.Error.Msg, m) {
			t.Fatalf("%s: %q does not say %q", ev.Op, ev.Error.Msg, m)
		}
	}
}

func newPolicySession(t *testing.T, p *policy.Policy, r Resolver) *Session {
	t.Helper()
	s, err := newTestManager(t, Config{Policy: p, Resolver: r, UnixDir: t.TempDir()}).Create()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exposedDefaults is the policy the server uses when it listens beyond
// loopback and no policy flag is given.
func exposedDefaults(t *testing.T, exempt []policy.Endpoint) *policy.Policy {
	t.Helper()
	binds, _ := policy.ParsePorts("0,1024-65535")
	return &policy.Policy{Mode: policy.ModePublic, Exempt: exempt,
		BindPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		BindPorts:    binds}
}

func TestPolicyRefusesLoopbackKeepsLabs(t *testing.T) {
	l := testkit.Labs(t)
	s := newPolicySession(t, exposedDefaults(t, labsExempt(t, l)), nil)
	closed := testkit.ClosedPort(t)
	const rule = `is a loopback address (this host); the egress policy is "public" (-egress)`

	tcp := newSock(t, s, "", "")
	wantRefused(t, do(t, s, op("connect", tcp, Args{Addr: closed})), strings.Split(closed, ":")[0]+" "+rule)
	if st := stateOf(t, s, tcp); st.State != "new" {
		t.Fatalf("a refused connect left the socket %q", st.State)
	}
	udp := newSock(t, s, "", "dgram")
	wantRefused(t, do(t, s, op("sendto", udp, Args{Data: text("x"), Addr: closed})), rule)
	wantRefused(t, do(t, s, op("connect", udp, Args{Addr: closed})), rule)
	wantRefused(t, do(t, s, op("connect", newSock(t, s, "", ""), Args{Addr: "localhost:" + strings.Split(closed, ":")[1]})), rule)

	// The labs stay reachable, over TCP and UDP.
	echo := connected(t, s, l.Addr("echo"))
	mustOK(t, s, op("sendall", echo, Args{Data: text("ping")}))
	if ev := mustOK(t, s, op("recvall", echo, Args{Bufsize: ip(4)})); string(ev.Result.Data) != "ping" {
		t.Fatalf("echo lab answered %q", ev.Result.Data)
	}
	uecho, _ := l.Find("echo", "udp")
	mustOK(t, s, op("settimeout", udp, Args{Timeout: seconds(5)}))
	mustOK(t, s, op("sendto", udp, Args{Data: text("dgram"), Addr: uecho.Addr}))
	if ev := mustOK(t, s, op("recvfrom", udp, Args{Bufsize: ip(64)})); string(ev.Result.Data) != "dgram" {
		t.Fatalf("udp echo lab answered %q", ev.Result.Data)
	}
}

// rebinder answers each lookup of a name from its list in turn, and
// counts the lookups.
type rebinder struct {
	mu      sync.Mutex
	answers []netip.Addr
	calls   int
}

func (r *rebinder) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if host != "rebind.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := r.answers[r.calls%len(r.answers)]
	r.calls++
	return []netip.Addr{a}, nil
}

func (r *rebinder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// TestPolicyRebinding: a name that looked public when asked about
// resolves to loopback when connect uses it; the check is on what connect
// really dials.
func TestPolicyRebinding(t *testing.T) {
	r := &rebinder{answers: []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("127.0.0.1")}}
	s := newPolicySession(t, &policy.Policy{Mode: policy.ModePublic}, r)
	if ev := mustOK(t, s, op("gethostbyname", "", Args{Host: "rebind.test"})); ev.Result.Addr != "8.8.8.8" {
		t.Fatalf("first answer %q", ev.Result.Addr)
	}
	port := strings.Split(testkit.ClosedPort(t), ":")[1]
	for _, o := range []Op{
		op("connect", newSock(t, s, "", ""), Args{Addr: "rebind.test:" + port}),
		op("sendto", newSock(t, s, "", "dgram"), Args{Data: text("x"), Addr: "rebind.test:" + port}),
	} {
		// Line the resolver up so that this op's one lookup says loopback.
		if r.count()%2 == 0 {
			mustOK(t, s, op("gethostbyname", "", Args{Host: "rebind.test"}))
		}
		before := r.count()
		wantRefused(t, do(t, s, o), "127.0.0.1 is a loopback address")
		if n := r.count() - before; n != 1 {
			t.Fatalf("%s looked the name up %d times; the address checked must be the one used", o.Op, n)
		}
	}
}

func TestPolicyBind(t *testing.T) {
	s := newPolicySession(t, exposedDefaults(t, nil), nil)
	for _, tc := range []struct {
		family, addr string
		msg          string // "" when allowed
	}{
		{"inet", "127.0.0.1:0", ""},
		{"inet", "localhost:0", ""},
		{"inet", "0.0.0.0:0", "0.0.0.0 is not in -bind-cidrs 127.0.0.0/8,::1"},
		{"inet", ":0", "0.0.0.0 is not in -bind-cidrs"},
		{"inet", "127.0.0.1:80", "port 80 is not in -bind-ports 0,1024-65535"},
		{"inet6", "[::]:0", ":: is not in -bind-cidrs"},
		{"inet6", "[::ffff:127.0.0.1]:0", ""},
	} {
		id := newSock(t, s, tc.family, "")
		ev := do(t, s, op("bind", id, Args{Addr: tc.addr}))
		if tc.msg != "" {
			wantRefused(t, ev, tc.msg)
			if st := stateOf(t, s, id); st.State != "new" {
				t.Errorf("bind %s refused, yet the socket is %q", tc.addr, st.State)
			}
			continue
		}
		if !ev.OK {
			t.Errorf("bind %s %s: %v", tc.family, tc.addr, ev.Error)
		}
	}
	// AF_UNIX has its own confinement; the IP policy does not touch it.
	mustOK(t, s, op("bind", newSock(t, s, "unix", ""), Args{Addr: "a.sock"}))

	// listen() without bind() binds to the wildcard: judged like bind.
	id := newSock(t, s, "inet", "")
	wantRefused(t, do(t, s, op("listen", id, Args{})), "0.0.0.0 is not in -bind-cidrs", "bind() it to an allowed address first")
	if st := stateOf(t, s, id); st.State != "new" {
		t.Errorf("listen refused, yet the socket is %q", st.State)
	}
	mustOK(t, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, s, op("listen", id, Args{}))
	// A datagram socket never listens: the kernel's answer, not the
	// policy's.
	udp := newSock(t, s, "inet", "dgram")
	if ev := do(t, s, op("listen", udp, Args{})); ev.OK || ev.Error.Num != 95 { // EOPNOTSUPP, which Python names ENOTSUP on Linux
		t.Errorf("listen on UDP: %+v, want the kernel's EOPNOTSUPP", ev.Error)
	}
}

// TestPolicyOwnSockets: a session's own servers on loopback stay
// reachable where the mode refuses loopback, or no lesson would run on an
// exposed server; a deny list still wins, and a port the kernel may have
// shared is not vouched for.
func TestPolicyOwnSockets(t *testing.T) {
	s := newPolicySession(t, exposedDefaults(t, nil), nil)

	srv := newSock(t, s, "", "")
	mustOK(t, s, op("bind", srv, Args{Addr: "127.0.0.1:0"}))
	addr := stateOf(t, s, srv).Local
	// Bound but not listening is not a server: a stream socket must listen.
	wantRefused(t, do(t, s, op("connect", newSock(t, s, "", ""), Args{Addr: addr})), "loopback")
	mustOK(t, s, op("setsockopt", srv, Args{Level: "SOL_SOCKET", Name: "SO_REUSEADDR", Value: []byte("1")}))
	mustOK(t, s, op("listen", srv, Args{}))
	connected(t, s, addr) // SO_REUSEADDR cannot share a TCP listener's port: still vouched for
	// A UDP socket with the same port number is not the TCP server.
	wantRefused(t, do(t, s, op("sendto", newSock(t, s, "", "dgram"), Args{Data: text("x"), Addr: addr})), "loopback")

	// UDP: a bound socket is reachable; one bound and closed is not, as
	// its port may be anyone's now, and the refusal says so.
	u, v := newSock(t, s, "", "dgram"), newSock(t, s, "", "dgram")
	mustOK(t, s, op("bind", u, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, s, op("sendto", v, Args{Data: text("hi"), Addr: stateOf(t, s, u).Local}))
	dead := newSock(t, s, "", "dgram")
	mustOK(t, s, op("bind", dead, Args{Addr: "127.0.0.1:0"}))
	deadAddr := stateOf(t, s, dead).Local
	mustOK(t, s, op("close", dead, Args{}))
	wantRefused(t, do(t, s, op("connect", v, Args{Addr: deadAddr})), "loopback", dead+" had that port, but is closed")

	shared := newSock(t, s, "", "dgram")
	mustOK(t, s, op("setsockopt", shared, Args{Level: "SOL_SOCKET", Name: "SO_REUSEADDR", Value: []byte("1")}))
	mustOK(t, s, op("bind", shared, Args{Addr: "127.0.0.1:0"}))
	wantRefused(t, do(t, s, op("sendto", v, Args{Data: text("x"), Addr: stateOf(t, s, shared).Local})), "loopback", shared+" is bound there, but SO_REUSEADDR or SO_REUSEPORT was on")

	// A wildcard listener is reached through loopback (where the policy
	// lets it bind).
	open := exposedDefaults(t, nil)
	open.BindPrefixes = nil
	s2 := newPolicySession(t, open, nil)
	wild := newSock(t, s2, "", "")
	mustOK(t, s2, op("bind", wild, Args{Addr: "0.0.0.0:0"}))
	mustOK(t, s2, op("listen", wild, Args{}))
	port := strings.Split(stateOf(t, s2, wild).Local, ":")[1]
	connected(t, s2, "127.0.0.1:"+port)
	// ... but not from another session.
	wantRefused(t, do(t, s, op("connect", newSock(t, s, "", ""), Args{Addr: "127.0.0.1:" + port})), "loopback")

	// Deny wins over everything, own sockets included.
	deny := exposedDefaults(t, nil)
	deny.Deny = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s3 := newPolicySession(t, deny, nil)
	own := newSock(t, s3, "", "")
	mustOK(t, s3, op("bind", own, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, s3, op("listen", own, Args{}))
	wantRefused(t, do(t, s3, op("connect", newSock(t, s3, "", ""), Args{Addr: stateOf(t, s3, own).Local})), "is denied by -deny-cidrs 127.0.0.0/8")
}

// TestPolicyConnectedDatagramPeer: a UDP socket connected to the
// session's own port sends there only while that port is still the
// session's. Each datagram goes to whatever holds the port when it is
// sent: once the owner closes and another program binds the port, or the
// owner lets one in with SO_REUSEADDR, send, sendall and sendchunks are
// refused as a sendto there would be.
func TestPolicyConnectedDatagramPeer(t *testing.T) {
	s := newPolicySession(t, exposedDefaults(t, nil), nil)
	sends := func(c string) []Op {
		return []Op{
			op("send", c, Args{Data: text("send")}),
			op("sendall", c, Args{Data: text("sendall")}),
			op("sendchunks", c, Args{Data: text("chunks"), Chunk: ip(3)}),
		}
	}

	u := newSock(t, s, "inet", "dgram")
	mustOK(t, s, op("bind", u, Args{Addr: "127.0.0.1:0"}))
	addr := stateOf(t, s, u).Local
	c := newSock(t, s, "inet", "dgram")
	mustOK(t, s, op("connect", c, Args{Addr: addr})) // its own
	for _, o := range sends(c) {
		mustOK(t, s, o) // still its own
	}
	mustOK(t, s, op("close", u, Args{}))
	decoyUDP(t, addr) // another program takes the port
	for _, o := range sends(c) {
		wantRefused(t, do(t, s, o), "127.0.0.1 is a loopback address", u+" had that port, but is closed")
	}

	// The owner stays open but lets another program share its port.
	u2 := newSock(t, s, "inet", "dgram")
	mustOK(t, s, op("bind", u2, Args{Addr: "127.0.0.1:0"}))
	addr2 := stateOf(t, s, u2).Local
	c2 := newSock(t, s, "inet", "dgram")
	mustOK(t, s, op("connect", c2, Args{Addr: addr2}))
	mustOK(t, s, op("setsockopt", u2, Args{Level: "SOL_SOCKET", Name: "SO_REUSEADDR", Value: []byte("1")}))
	decoyUDP(t, addr2, unix.SO_REUSEADDR)
	for _, o := range sends(c2) {
		wantRefused(t, do(t, s, o), "127.0.0.1 is a loopback address", u2+" is bound there, but SO_REUSEADDR or SO_REUSEPORT was on")
	}
}

// TestPolicyPendingConnectToOwnListener: a connect allowed because the
// session's own listener holds the port, whose SYN that listener's full
// queue dropped, is sent again for minutes to whatever listens on the
// port by then. Once the listener closes (or shuts down, or shares its
// port), such a connect is called off: before, a program that took the
// port got the session's connection and its data.
func TestPolicyPendingConnectToOwnListener(t *testing.T) {
	tcpState := func(t *testing.T, s *Session, id string) uint8 {
		t.Helper()
		var state uint8
		if err := s.socket(id).control(func(fd int) error {
			info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
			if err == nil {
				state = info.State
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return state
	}
	for _, end := range []struct {
		name string
		op   func(l string) Op
	}{
		{"close", func(l string) Op { return op("close", l, Args{}) }},
		{"shutdown", func(l string) Op { h := How(unix.SHUT_RD); return op("shutdown", l, Args{How: &h}) }},
		{"SO_REUSEPORT", func(l string) Op {
			return op("setsockopt", l, Args{Level: "SOL_SOCKET", Name: "SO_REUSEPORT", Value: []byte("1")})
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			s := newPolicySession(t, exposedDefaults(t, nil), nil)
			l := newSock(t, s, "inet", "stream")
			mustOK(t, s, op("bind", l, Args{Addr: "127.0.0.1:0"}))
			zero := 0
			mustOK(t, s, op("listen", l, Args{Backlog: &zero}))
			addr := stateOf(t, s, l).Local
			mustOK(t, s, op("connect", newSock(t, s, "inet", "stream"), Args{Addr: addr})) // its queue's one place
			c := newSock(t, s, "inet", "stream")
			mustOK(t, s, op("setblocking", c, Args{Flag: new(bool)}))
			wantErr(t, do(t, s, op("connect", c, Args{Addr: addr})), "BlockingIOError", "EINPROGRESS") // as lesson 10 shows
			// And one in blocking mode, waiting for the handshake.
			b := newSock(t, s, "inet", "stream")
			pending := s.Submit(op("connect", b, Args{Addr: addr}), Submitter{})
			awaitPending(t, s, 1)
			// The kernel tells no one when the SYN has gone: ask it.
			for deadline := time.Now().Add(10 * time.Second); tcpState(t, s, b) != unix.BPF_TCP_SYN_SENT; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s never sent its SYN", b)
				}
			}
			if st := tcpState(t, s, c); st != unix.BPF_TCP_SYN_SENT {
				t.Fatalf("%s: TCP state %d, want SYN_SENT (2): the test proves nothing", c, st)
			}
			mustOK(t, s, end.op(l))
			wantErr(t, <-pending, "ConnectionResetError", "ECONNRESET")
			for _, k := range []string{c, b} {
				if st := tcpState(t, s, k); st != unix.BPF_TCP_CLOSE {
					t.Fatalf("%s after its listener's %s: TCP state %d, want closed (7): its SYN would go to whoever takes the port", k, end.name, st)
				}
			}
		})
	}
}

// TestPolicyAnyMode: "any" reaches loopback; the port lists still apply.
func TestPolicyAnyMode(t *testing.T) {
	s := newPolicySession(t, &policy.Policy{Mode: policy.ModeAny, DenyPorts: policy.Ports(policy.PortRange{Lo: 1, Hi: 1023})}, nil)
	srv := newSock(t, s, "", "")
	mustOK(t, s, op("bind", srv, Args{Addr: "127.0.0.1:0"}))
	mustOK(t, s, op("listen", srv, Args{}))
	connected(t, s, stateOf(t, s, srv).Local)
	wantRefused(t, do(t, s, op("connect", newSock(t, s, "", ""), Args{Addr: "127.0.0.1:22"})), "port 22 is denied by -deny-ports 1-1023")
}

// TestPolicyWildcardVouchesForItsFamilyOnly: a session's wildcard
// listener makes loopback on its port the session's own only in the
// families it holds; another process may hold the port in the other
// family, and must stay out of reach (found in review: a v6-only [::]:P
// let a session reach a host service on 127.0.0.1:P).
func TestPolicyWildcardVouchesForItsFamilyOnly(t *testing.T) {
	for _, tc := range []struct {
		name              string
		hostNet, hostAddr string // the host's own service
		family, bind      string // the session's listener
		v6only            bool
		dialFamily, dial  string
	}{
		{"v6-only [::] and a host service on 127.0.0.1", "tcp4", "127.0.0.1:0", "inet6", "[::]", true, "inet", "127.0.0.1"},
		{"0.0.0.0 and a host service on [::1]", "tcp6", "[::1]:0", "inet", "0.0.0.0", false, "inet6", "[::1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := exposedDefaults(t, nil)
			p.BindPrefixes = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
			s := newPolicySession(t, p, nil)
			// The host's service takes a free port in its family; the
			// same number in the other family may be another test's
			// (packages run in parallel): then try another.
			for try := 0; ; try++ {
				ln, err := net.Listen(tc.hostNet, tc.hostAddr)
				if err != nil {
					t.Skipf("no %s here: %v", tc.hostNet, err)
				}
				defer ln.Close()
				port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
				own := newSock(t, s, tc.family, "")
				if tc.v6only {
					mustOK(t, s, op("setsockopt", own, Args{Level: "IPPROTO_IPV6", Name: "IPV6_V6ONLY", Value: []byte("1")}))
				}
				if ev := do(t, s, op("bind", own, Args{Addr: tc.bind + ":" + port})); !ev.OK {
					if ev.Error != nil && ev.Error.Errno == "EADDRINUSE" && try < 10 {
						continue
					}
					t.Fatalf("bind %s:%s: %v", tc.bind, port, ev.Error)
				}
				mustOK(t, s, op("listen", own, Args{}))
				wantRefused(t, do(t, s, op("connect", newSock(t, s, tc.dialFamily, ""), Args{Addr: tc.dial + ":" + port})), "loopback")
				return
			}
		})
	}
}
