package sockets

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets/policy"
)

// netnsChild marks the copy of the test binary that runs inside a fresh
// network namespace.
const netnsChild = "SOCKPLAY_POLICY_NETNS_CHILD"

// TestPolicyInNetns sends connect and sendto to every forbidden class of
// address and checks each is refused with the rule named. It runs them
// only inside a new network namespace whose one interface is loopback, so
// that were the check broken, nothing could leave this machine: the test
// binary runs itself again under unshare -n.
//
// Where namespaces are not permitted it skips, unless
// SOCKPLAY_REQUIRE_NETNS=1 (as in CI), where it fails.
func TestPolicyInNetns(t *testing.T) {
	if os.Getenv(netnsChild) == "1" {
		policyInsideNetns(t)
		return
	}
	skip := t.Skipf
	if os.Getenv("SOCKPLAY_REQUIRE_NETNS") == "1" {
		skip = t.Fatalf
	} else if testing.Short() {
		t.Skip("-short: not starting a network namespace")
	}
	const up = "ip link set lo up"
	if out, err := exec.Command("unshare", "-n", "sh", "-c", up).CombinedOutput(); err != nil {
		skip("cannot make a network namespace here (unshare -n sh -c %q: %v %s); the refusals of non-loopback addresses are not tested", up, err, out)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", up+` && exec "$0" "$@"`,
		exe, "-test.run=^TestPolicyInNetns$", "-test.count=1", "-test.v", "-test.timeout=90s")
	cmd.Env = append(os.Environ(), netnsChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("inside the namespace: %v\n%s", err, out)
	}
	// A child that ran no test (a filter gone wrong) proves nothing.
	if !strings.Contains(string(out), "--- PASS: TestPolicyInNetns") {
		t.Fatalf("the namespace run did not pass the test:\n%s", out)
	}
	t.Logf("inside the namespace:\n%s", out)
}

// requireFreshNetns refuses to go on unless this process is in a network
// namespace with loopback as its only interface: the guard that makes
// the dials below safe, whoever sets the environment variable.
func requireFreshNetns(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Flags&net.FlagLoopback == 0 || ifs[0].Flags&net.FlagUp == 0 {
		t.Fatalf("%s is set but this is not a fresh network namespace (interfaces %v): refusing to dial", netnsChild, ifs)
	}
}

func policyInsideNetns(t *testing.T) {
	requireFreshNetns(t)
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
	// the private one is refused, the public one passes the policy and
	// finds no route.
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
				wantRefused(t, ev, "10.0.0.1 is a private address"+public)
			} else {
				wantErr(t, ev, "OSError", "ENETUNREACH")
			}
		}
	}
}
