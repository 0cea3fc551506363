package sockets

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets/policy"
)

// TestPolicyInNetns sends connect and sendto to every forbidden class of
// address and checks each is refused with the rule named. It runs them
// only inside a new network namespace whose one interface is loopback, so
// that were the check broken, nothing could leave this machine
// (testkit.InNetns).
func TestPolicyInNetns(t *testing.T) {
	if testkit.InNetns(t, "") {
		policyInsideNetns(t)
	}
}

func policyInsideNetns(t *testing.T) {
	l := testkit.Labs(t)
	deny, err := policy.ParsePrefixes("203.0.113.0/24")
	if err != nil {
		t.Fatal(err)
	}
	p := exposedDefaults(t, labsExempt(t, l))
	p.Deny = deny
	p.DenyPorts = policy.Ports(policy.PortRange{Lo: 25, Hi: 25})
	r := &rebinder{answers: []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.0.0.1")}}
	s := newPolicySession(t, p, r)
	loPort := strings.Split(testkit.ClosedPort(t), ":")[1]

	const public = `; the egress policy is "public" (-egress)`
	cases := []struct {
		family, addr, msg string
	}{
		{"inet", "10.0.0.1:80", "10.0.0.1 is a private address" + public},
		{"inet", "172.16.5.4:80", "172.16.5.4 is a private address" + public},
		{"inet", "192.168.1.1:80", "192.168.1.1 is a private address" + public},
		{"inet", "169.254.169.254:80", "169.254.169.254 is the cloud metadata service's address (link-local)" + public},
		{"inet", "169.254.1.1:80", "169.254.1.1 is a link-local address" + public},
		{"inet", "100.64.0.1:80", "100.64.0.1 is a shared address (carrier-grade NAT, 100.64.0.0/10)" + public},
		{"inet", "224.0.0.1:80", "224.0.0.1 is a multicast address" + public},
		{"inet", "255.255.255.255:80", "255.255.255.255 is the broadcast address" + public},
		{"inet", "0.0.0.0:80", "0.0.0.0 is the unspecified address (a connection to it reaches this host)" + public},
		{"inet", "127.0.0.1:" + loPort, "127.0.0.1 is a loopback address (this host)" + public},
		{"inet", "192.0.2.1:80", "192.0.2.1 is a documentation address (never routed)" + public},
		{"inet6", "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1 is a private address (the IPv4-mapped form of 10.0.0.1)" + public},
		{"inet6", "[::ffff:169.254.169.254]:80", "(the IPv4-mapped form of 169.254.169.254)" + public},
		{"inet6", "[64:ff9b::a00:1]:80", "64:ff9b::a00:1 is a private address (the NAT64 form of 10.0.0.1)" + public},
		{"inet6", "[64:ff9b:1::a00:1]:80", "(the NAT64 form of 10.0.0.1)" + public},
		{"inet6", "[2002:a00:1::1]:80", "2002:a00:1::1 is a private address (the 6to4 form of 10.0.0.1)" + public},
		{"inet6", "[fd00::1]:80", "fd00::1 is a unique local address (private IPv6)" + public},
		{"inet6", "[fe80::1%lo]:80", "fe80::1 is a link-local address" + public},
		{"inet6", "[ff02::1]:80", "ff02::1 is a multicast address" + public},
		{"inet6", "[::]:80", ":: is the unspecified address (a connection to it reaches this host)" + public},
		{"inet6", "[::1]:" + loPort, "::1 is a loopback address (this host)" + public},
		{"inet", "203.0.113.5:80", "203.0.113.5 is denied by -deny-cidrs 203.0.113.0/24"},
		{"inet", "8.8.8.8:25", "port 25 is denied by -deny-ports 25"},
		{"inet6", "[2001:4860:4860::8888]:25", "port 25 is denied by -deny-ports 25"},
	}
	refused := 0
	for _, tc := range cases {
		for _, o := range []struct{ typ, op string }{{"stream", "connect"}, {"dgram", "connect"}, {"dgram", "sendto"}} {
			id := newSock(t, s, tc.family, o.typ)
			mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(5)}))
			a := Args{Addr: tc.addr}
			if o.op == "sendto" {
				a.Data = text("x")
			}
			wantRefused(t, do(t, s, op(o.op, id, a)), tc.msg)
			refused++
			mustOK(t, s, op("close", id, Args{}))
		}
	}

	t.Logf("%d connects and sendtos to %d forbidden addresses refused, each naming its rule", refused, len(cases))

	t.Run("own ports", func(t *testing.T) { ownPortsInsideNetns(t, l, p) })
	t.Run("names", func(t *testing.T) { namesInsideNetns(t, p) })

	// The labs stay reachable.
	echo := connected(t, s, l.Addr("echo"))
	mustOK(t, s, op("sendall", echo, Args{Data: text("still here")}))
	if ev := mustOK(t, s, op("recvall", echo, Args{Bufsize: ip(10)})); string(ev.Result.Data) != "still here" {
		t.Fatalf("echo lab answered %q", ev.Result.Data)
	}

	// A public address passes the policy, and then finds no route: the
	// namespace has none.
	wantErr(t, do(t, s, op("connect", newSock(t, s, "", ""), Args{Addr: "8.8.8.8:80"})), "OSError", "ENETUNREACH")

	// DNS rebinding: the name answers public, then private, then public
	// again ... Each op looks it up once and is judged on that answer:
	// the private one is left out of it, so the name reads as one that
	// does not exist (no refusal names the address it resolved to); the
	// public one passes the policy and finds no route.
	for _, o := range []struct{ typ, op string }{{"stream", "connect"}, {"dgram", "sendto"}, {"dgram", "connect"}} {
		for _, private := range []bool{false, true} {
			if (r.count()%2 == 1) != private {
				t.Fatalf("resolver out of step at %d", r.count())
			}
			a := Args{Addr: "rebind.test:80"}
			if o.op == "sendto" {
				a.Data = text("x")
			}
			before := r.count()
			ev := do(t, s, op(o.op, newSock(t, s, "", o.typ), a))
			if n := r.count() - before; n != 1 {
				t.Fatalf("%s %s looked the name up %d times; the address checked must be the one used", o.typ, o.op, n)
			}
			if private {
				wantErr(t, ev, "gaierror", "EAI_NONAME")
				if ev.Error.Num != -2 || strings.Contains(ev.Error.Msg, "10.0.0.1") {
					t.Fatalf("%s %s: %+v, want [Errno -2] Name or service not known", o.typ, o.op, ev.Error)
				}
			} else {
				wantErr(t, ev, "OSError", "ENETUNREACH")
			}
		}
	}
}

// decoyTCP is a host service on addr that answers every connection with
// "decoy", its socket made with the options given set to 1 (SO_REUSEPORT,
// say, as a service that shares its port among workers does). It returns
// the port.
func decoyTCP(t *testing.T, network, addr string, opts ...int) string {
	t.Helper()
	lc := net.ListenConfig{Control: setOpts(opts)}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		t.Fatalf("decoy on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("decoy"))
			c.Close()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// decoyUDP is a host service on addr that answers every datagram with
// "decoy", as decoyTCP; a wildcard one with SO_REUSEADDR is how mDNS and
// SSDP daemons listen, sharing their port with any user's socket that
// sets SO_REUSEADDR too.
func decoyUDP(t *testing.T, addr string, opts ...int) string {
	t.Helper()
	lc := net.ListenConfig{Control: setOpts(opts)}
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		t.Fatalf("decoy on %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte("decoy"), from)
		}
	}()
	return strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
}

func setOpts(opts []int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			for _, o := range opts {
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 1)
				}
			}
		}); err != nil {
			return err
		}
		return serr
	}
}

func sockOpt(name string, v int) Args {
	return Args{Level: "SOL_SOCKET", Name: name, Value: json.RawMessage(strconv.Itoa(v))}
}

// ownPortsInsideNetns: a session's own sockets make their ports reachable
// where the mode refuses loopback only while they hold them alone. A
// port the kernel may share with another program, by SO_REUSEPORT (or
// SO_REUSEADDR for UDP) on at the bind or since, or a port the socket
// no longer holds (closed, or a listener shut down), is not the
// session's, whatever the socket's options say now. Each case first
// checks the kernel let the session onto the decoy's port: otherwise it
// would prove nothing.
func ownPortsInsideNetns(t *testing.T, l *labs.Server, p *policy.Policy) {
	const loopback = `127.0.0.1 is a loopback address (this host); the egress policy is "public" (-egress)`
	dial := func(t *testing.T, s *Session, typ, addr string) Event {
		t.Helper()
		id := newSock(t, s, "inet", typ)
		mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(5)}))
		if typ == "dgram" {
			return do(t, s, op("sendto", id, Args{Data: text("x"), Addr: addr}))
		}
		return do(t, s, op("connect", id, Args{Addr: addr}))
	}

	t.Run("SO_REUSEPORT onto a TCP service, cleared, then closed", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		addr := "127.0.0.1:" + decoyTCP(t, "tcp4", "127.0.0.1:0", unix.SO_REUSEPORT)
		k := newSock(t, s, "inet", "stream")
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEPORT", 1)))
		mustOK(t, s, op("bind", k, Args{Addr: addr})) // shared: same user, both SO_REUSEPORT
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEPORT", 0)))
		wantRefused(t, dial(t, s, "stream", addr), loopback)
		mustOK(t, s, op("close", k, Args{}))
		wantRefused(t, dial(t, s, "stream", addr), loopback)
	})

	t.Run("SO_REUSEPORT onto a TCP service, listening, cleared", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		addr := "127.0.0.1:" + decoyTCP(t, "tcp4", "127.0.0.1:0", unix.SO_REUSEPORT)
		k := newSock(t, s, "inet", "stream")
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEPORT", 1)))
		mustOK(t, s, op("bind", k, Args{Addr: addr}))
		mustOK(t, s, op("listen", k, Args{}))
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEPORT", 0)))
		wantRefused(t, dial(t, s, "stream", addr), loopback)
	})

	t.Run("SO_REUSEADDR onto a UDP service on 0.0.0.0, cleared, then closed", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		addr := "127.0.0.1:" + decoyUDP(t, "0.0.0.0:0", unix.SO_REUSEADDR)
		k := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEADDR", 1)))
		mustOK(t, s, op("bind", k, Args{Addr: addr})) // shared: both SO_REUSEADDR, any user
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEADDR", 0)))
		wantRefused(t, dial(t, s, "dgram", addr), loopback)
		mustOK(t, s, op("close", k, Args{}))
		wantRefused(t, dial(t, s, "dgram", addr), loopback)
	})

	t.Run("SO_REUSEADDR turned on after the bind, a service joins, cleared", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		k := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("bind", k, Args{Addr: "127.0.0.1:0"}))
		addr := stateOf(t, s, k).Local
		wantOK(t, dial(t, s, "dgram", addr)) // its own, while it holds the port alone
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEADDR", 1)))
		decoyUDP(t, addr, unix.SO_REUSEADDR)
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEADDR", 0)))
		wantRefused(t, dial(t, s, "dgram", addr), loopback)
	})

	t.Run("a TCP listener shut down, and a service listening on its port", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		k := newSock(t, s, "inet", "stream")
		mustOK(t, s, op("setsockopt", k, sockOpt("SO_REUSEADDR", 1)))
		mustOK(t, s, op("bind", k, Args{Addr: "127.0.0.1:0"}))
		mustOK(t, s, op("listen", k, Args{}))
		addr := stateOf(t, s, k).Local
		h := How(unix.SHUT_RD)
		mustOK(t, s, op("shutdown", k, Args{How: &h})) // no longer listening, the port still bound
		decoyTCP(t, "tcp4", addr, unix.SO_REUSEADDR)
		wantRefused(t, dial(t, s, "stream", addr), loopback)
	})

	t.Run("a closed client's ephemeral port", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		c := connected(t, s, l.Addr("echo"))
		addr := stateOf(t, s, c).Local
		wantRefused(t, dial(t, s, "stream", addr), loopback) // a client's port is no server
		mustOK(t, s, op("close", c, Args{}))
		wantRefused(t, dial(t, s, "stream", addr), loopback)

		uecho, _ := l.Find("echo", "udp")
		u := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("sendto", u, Args{Data: text("x"), Addr: uecho.Addr})) // the kernel binds it
		// Bound to 0.0.0.0 by the kernel: reached on loopback.
		uaddr := "127.0.0.1:" + strings.Split(stateOf(t, s, u).Local, ":")[1]
		wantOK(t, dial(t, s, "dgram", uaddr)) // open, it holds its port alone
		mustOK(t, s, op("close", u, Args{}))
		wantRefused(t, dial(t, s, "dgram", uaddr), loopback, "had that port, but is closed")
	})

	t.Run("a socket bound to a multicast group", func(t *testing.T) {
		mp := *p
		mp.BindPrefixes = append(slices.Clone(p.BindPrefixes), netip.MustParsePrefix("224.0.0.0/4"))
		s := newPolicySession(t, &mp, nil)
		k := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("bind", k, Args{Addr: "224.0.0.251:0"}))
		// A datagram to the group leaves the host, whoever else is in it.
		wantRefused(t, dial(t, s, "dgram", stateOf(t, s, k).Local), "224.0.0.251 is a multicast address")
	})

	t.Run("what stays the session's own", func(t *testing.T) {
		s := newPolicySession(t, p, nil)
		srv := newSock(t, s, "inet", "stream")
		mustOK(t, s, op("setsockopt", srv, sockOpt("SO_REUSEADDR", 1))) // shares no TCP listener's port
		mustOK(t, s, op("bind", srv, Args{Addr: "127.0.0.1:0"}))
		mustOK(t, s, op("listen", srv, Args{}))
		wantOK(t, dial(t, s, "stream", stateOf(t, s, srv).Local))

		// SO_REUSEADDR set and cleared before the bind: the kernel gave
		// the port with it off.
		u := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("setsockopt", u, sockOpt("SO_REUSEADDR", 1)))
		mustOK(t, s, op("setsockopt", u, sockOpt("SO_REUSEADDR", 0)))
		mustOK(t, s, op("bind", u, Args{Addr: "127.0.0.1:0"}))
		wantOK(t, dial(t, s, "dgram", stateOf(t, s, u).Local))

		// A connected UDP socket holds its port alone: a stranger's
		// datagram to it is the kernel's to drop (lesson 09).
		c := newSock(t, s, "inet", "dgram")
		uecho, _ := l.Find("echo", "udp")
		mustOK(t, s, op("connect", c, Args{Addr: uecho.Addr}))
		wantOK(t, dial(t, s, "dgram", stateOf(t, s, c).Local))
	})
}

// wantOK fails unless ev succeeded.
func wantOK(t *testing.T, ev Event) {
	t.Helper()
	if !ev.OK {
		t.Fatalf("%s %s: %v", ev.Op, ev.Sock, ev.Error)
	}
}

// hostsResolver answers from its table, as a private hosts file would,
// each name's addresses of the family asked for.
type hostsResolver map[string][]netip.Addr

func (h hostsResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range h[host] {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// namesInsideNetns: getaddrinfo and gethostbyname answer only addresses
// the policy lets a session reach, so that they map nothing of the
// network; a name with none left is as a name that does not exist.
func namesInsideNetns(t *testing.T, p *policy.Policy) {
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	r := hostsResolver{
		"mixed.test": addrs("10.0.0.1", "8.8.8.8", "169.254.169.254", "fe80::1", "203.0.113.5",
			"127.0.0.1", "fd00::1", "2001:4860:4860::8888", "::ffff:10.0.0.2", "100.64.0.1", "64:ff9b::7f00:1"),
		"internal.test": addrs("10.0.0.1", "169.254.169.254", "fe80::1"),
	}
	answers := func(ev Event) []string {
		var out []string
		for _, ai := range ev.Result.AddrInfo {
			out = append(out, ai.Addr)
		}
		return out
	}
	s := newPolicySession(t, p, r)

	ev := mustOK(t, s, op("getaddrinfo", "", Args{Host: "mixed.test", Port: json.RawMessage("80"), Type: "stream"}))
	// Loopback stays: it names only this host, where the labs and the
	// session's own servers are, and connect judges each port.
	if got, want := answers(ev), []string{"8.8.8.8:80", "127.0.0.1:80", "[2001:4860:4860::8888]:80"}; !slices.Equal(got, want) {
		t.Errorf("getaddrinfo mixed.test: %v, want %v", got, want)
	}
	if ev := mustOK(t, s, op("gethostbyname", "", Args{Host: "mixed.test"})); ev.Result.Addr != "8.8.8.8" {
		t.Errorf("gethostbyname mixed.test: %q, want 8.8.8.8 (the first address it may reach)", ev.Result.Addr)
	}
	for _, o := range []Op{
		op("getaddrinfo", "", Args{Host: "internal.test", Port: json.RawMessage("80")}),
		op("getaddrinfo", "", Args{Host: "internal.test", Family: "inet6"}),
		op("gethostbyname", "", Args{Host: "internal.test"}),
	} {
		ev := do(t, s, o)
		wantErr(t, ev, "gaierror", "EAI_NONAME")
		if ev.Error.Num != -2 || ev.Error.Msg != "Name or service not known" {
			t.Errorf("%s internal.test: %+v, want [Errno -2] Name or service not known, as for a name that does not exist", o.Op, ev.Error)
		}
	}
	// connect and sendto resolve the same way: no refusal names the
	// address an internal name has.
	for _, typ := range []string{"stream", "dgram"} {
		a := Args{Addr: "internal.test:80"}
		name := "connect"
		if typ == "dgram" {
			name, a.Data = "sendto", text("x")
		}
		ev := do(t, s, op(name, newSock(t, s, "inet", typ), a))
		wantErr(t, ev, "gaierror", "EAI_NONAME")
		if ev.Error.Num != -2 {
			t.Errorf("%s internal.test:80: %+v", name, ev.Error)
		}
	}
	// A literal is its own answer: it maps nothing, and connect then
	// refuses it, naming the rule.
	if got := answers(mustOK(t, s, op("getaddrinfo", "", Args{Host: "10.0.0.1", Port: json.RawMessage("80"), Type: "stream"}))); !slices.Equal(got, []string{"10.0.0.1:80"}) {
		t.Errorf("getaddrinfo 10.0.0.1: %v", got)
	}

	// The same policy: what -allow-cidrs admits is answered.
	ap := *p
	ap.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	s2 := newPolicySession(t, &ap, r)
	if ev := mustOK(t, s2, op("gethostbyname", "", Args{Host: "internal.test"})); ev.Result.Addr != "10.0.0.1" {
		t.Errorf("gethostbyname internal.test with -allow-cidrs 10.0.0.0/8: %q", ev.Result.Addr)
	}
}

// TestPolicyLinkLocalOwnPortInNetns: a link-local address is an
// interface's, and the kernel lets two sockets hold the same fe80::1 and
// port on two interfaces. A session's socket on fe80::1%d0 makes that
// port its own on d0 only: a datagram to fe80::1%d1 on the port reaches
// another program's socket, and is refused. The namespace's interfaces
// are veth pairs whose far ends go nowhere.
func TestPolicyLinkLocalOwnPortInNetns(t *testing.T) {
	const setup = "ip link add d0 type veth peer name p0 && ip link add d1 type veth peer name p1 && " +
		"for i in d0 p0 d1 p1; do ip link set $i up; done && ip addr add fe80::1/64 dev d0 nodad && ip addr add fe80::1/64 dev d1 nodad"
	if testkit.InNetns(t, setup, "d0", "p0", "d1", "p1") {
		linkLocalInsideNetns(t)
	}
}

func linkLocalInsideNetns(t *testing.T) {
	victim, err := net.ListenPacket("udp6", "[fe80::1%d1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	port := strconv.Itoa(victim.LocalAddr().(*net.UDPAddr).Port)
	p := exposedDefaults(t, nil)
	p.BindPrefixes = append(p.BindPrefixes, netip.MustParsePrefix("fe80::/10"))
	s := newPolicySession(t, p, nil)
	own := newSock(t, s, "inet6", "dgram")
	mustOK(t, s, op("bind", own, Args{Addr: "[fe80::1%d0]:" + port})) // the kernel lets it: another interface
	c := newSock(t, s, "inet6", "dgram")
	wantOK(t, do(t, s, op("sendto", c, Args{Data: text("x"), Addr: "[fe80::1%d0]:" + port}))) // its own
	wantRefused(t, do(t, s, op("sendto", c, Args{Data: text("x"), Addr: "[fe80::1%d1]:" + port})), "fe80::1 is a link-local address")
}
