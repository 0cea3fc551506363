package policy

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	ps, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func mustPorts(t *testing.T, s string) PortSet {
	t.Helper()
	ps, err := ParsePorts(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// refusal checks err against the expectation: "" is allowed, anything
// else must be a *Refusal by that rule whose message holds msg.
func checkRefusal(t *testing.T, what string, err error, rule, msg string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Errorf("%s: refused (%v), want allowed", what, err)
		}
		return
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Errorf("%s: %v, want a refusal by -%s", what, err, rule)
		return
	}
	if r.Rule != rule || !strings.Contains(r.Error(), msg) {
		t.Errorf("%s: refused by -%s: %q\nwant -%s and a message holding %q", what, r.Rule, r.Error(), rule, msg)
	}
}

func TestCheckDialModes(t *testing.T) {
	// Every class against every mode: which get through.
	addrs := map[string]Class{
		"8.8.8.8:53":              Public,
		"[2606:4700::1111]:443":   Public,
		"127.0.0.1:80":            Loopback,
		"[::1]:80":                Loopback,
		"10.0.0.1:80":             Private,
		"192.168.1.1:80":          Private,
		"[fd00::1]:80":            UniqueLocal,
		"169.254.169.254:80":      LinkLocal,
		"[fe80::1%lo]:80":         LinkLocal,
		"100.64.0.1:80":           CGNAT,
		"224.0.0.1:80":            Multicast,
		"[ff02::1]:80":            Multicast,
		"255.255.255.255:80":      Broadcast,
		"0.0.0.0:80":              Unspecified,
		"[::]:80":                 Unspecified,
		"192.0.2.1:80":            Documentation,
		"240.0.0.1:80":            Reserved,
		"[::ffff:10.0.0.1]:80":    Private,
		"[64:ff9b::a00:1]:80":     Private,
		"[2002:a00:1::1]:80":      Private,
		"[::ffff:127.0.0.1]:80":   Loopback,
		"[64:ff9b::808:808]:80":   Public,
		"[::ffff:8.8.8.8]:80":     Public,
		"[2002:a9fe:a9fe::1]:80":  LinkLocal,
		"[::ffff:100.64.0.1]:80":  CGNAT,
		"[64:ff9b::e000:1]:80":    Multicast,
		"[2002::1]:80":            Unspecified,
		"[64:ff9b:1::a00:1]:80":   Private,
		"[2001:db8::1]:80":        Documentation,
		"[::ffff:0.0.0.0]:80":     Unspecified,
		"[::ffff:192.0.2.1]:80":   Documentation,
		"[64:ff9b::c633:6407]:80": Documentation,
	}
	modes := map[Mode]func(Class) bool{
		ModeAny:    func(Class) bool { return true },
		ModePublic: func(c Class) bool { return c == Public },
		ModeLocal:  func(c Class) bool { return c == Loopback || c == Private || c == UniqueLocal },
	}
	for mode, ok := range modes {
		p := &Policy{Mode: mode}
		for s, class := range addrs {
			ap := netip.MustParseAddrPort(s)
			if got := Classify(ap.Addr()); got != class {
				t.Fatalf("table is wrong: %s is %v, not %v", s, got, class)
			}
			err := p.CheckDial("tcp", ap)
			if ok(class) {
				checkRefusal(t, mode.String()+" "+s, err, "", "")
			} else {
				checkRefusal(t, mode.String()+" "+s, err, RuleEgress, `the egress policy is "`+mode.String()+`" (-egress)`)
			}
		}
	}
}

func TestCheckDialRules(t *testing.T) {
	labs := []Endpoint{{"tcp", netip.MustParseAddrPort("127.0.0.1:7007")}, {"tcp", netip.MustParseAddrPort("127.0.0.1:7008")}, {"udp", netip.MustParseAddrPort("127.0.0.1:7010")}}
	cases := []struct {
		name   string
		policy Policy
		addr   string
		rule   string // "" for allowed
		msg    string
	}{
		{"private in public", Policy{Mode: ModePublic}, "10.1.2.3:80",
			RuleEgress, `10.1.2.3 is a private address; the egress policy is "public" (-egress), which reaches only public internet addresses`},
		{"metadata named", Policy{Mode: ModePublic}, "169.254.169.254:80",
			RuleEgress, "169.254.169.254 is the cloud metadata service's address (link-local); the egress policy is \"public\""},
		{"metadata via mapped", Policy{Mode: ModePublic}, "[::ffff:169.254.169.254]:80",
			RuleEgress, "::ffff:169.254.169.254 is the cloud metadata service's address (link-local) (the IPv4-mapped form of 169.254.169.254)"},
		{"metadata v6", Policy{Mode: ModePublic}, "[fd00:ec2::254]:80",
			RuleEgress, "fd00:ec2::254 is the cloud metadata service's address (unique-local)"},
		{"NAT64 named", Policy{Mode: ModePublic}, "[64:ff9b::a00:1]:80",
			RuleEgress, "(the NAT64 form of 10.0.0.1)"},
		{"6to4 named", Policy{Mode: ModePublic}, "[2002:a00:1::1]:80",
			RuleEgress, "(the 6to4 form of 10.0.0.1)"},
		{"zone dropped", Policy{Mode: ModePublic}, "[fe80::1%eth0]:80",
			RuleEgress, "fe80::1 is a link-local address"},
		{"public in local", Policy{Mode: ModeLocal}, "8.8.8.8:53",
			RuleEgress, `8.8.8.8 is a public address; the egress policy is "local" (-egress), which reaches only this host and private networks`},

		{"lab exempt in public", Policy{Mode: ModePublic, Exempt: labs}, "127.0.0.1:7007", "", ""},
		{"lab exempt via mapped", Policy{Mode: ModePublic, Exempt: labs}, "[::ffff:127.0.0.1]:7008", "", ""},
		{"lab host, other port", Policy{Mode: ModePublic, Exempt: labs}, "127.0.0.1:7009", RuleEgress, "127.0.0.1 is a loopback address"},
		{"lab port, other host", Policy{Mode: ModePublic, Exempt: labs}, "127.0.0.2:7007", RuleEgress, "loopback"},
		{"a UDP lab's port over TCP", Policy{Mode: ModePublic, Exempt: labs}, "127.0.0.1:7010", RuleEgress, "loopback"},
		{"lab exempt from allow-ports", Policy{Mode: ModePublic, Exempt: labs, AllowPorts: mustPorts(t, "80,443")}, "127.0.0.1:7007", "", ""},
		{"deny beats exempt", Policy{Mode: ModePublic, Exempt: labs, Deny: mustPrefixes(t, "127.0.0.0/8")}, "127.0.0.1:7007",
			RuleDenyCIDRs, "127.0.0.1 is denied by -deny-cidrs 127.0.0.0/8"},
		{"deny-ports beats exempt", Policy{Exempt: labs, DenyPorts: mustPorts(t, "7000-7010")}, "127.0.0.1:7007",
			RuleDenyPorts, "port 7007 is denied by -deny-ports 7000-7010"},

		{"deny public", Policy{Mode: ModePublic, Deny: mustPrefixes(t, "8.8.4.4,8.8.8.0/24")}, "8.8.8.8:53",
			RuleDenyCIDRs, "8.8.8.8 is denied by -deny-cidrs 8.8.8.0/24"},
		{"deny single shown bare", Policy{Deny: mustPrefixes(t, "8.8.8.8")}, "8.8.8.8:53",
			RuleDenyCIDRs, "8.8.8.8 is denied by -deny-cidrs 8.8.8.8"},
		{"deny sees mapped", Policy{Deny: mustPrefixes(t, "10.0.0.0/8")}, "[::ffff:10.9.9.9]:80",
			RuleDenyCIDRs, "::ffff:10.9.9.9 is denied by -deny-cidrs 10.0.0.0/8"},
		{"deny sees NAT64", Policy{Deny: mustPrefixes(t, "10.0.0.0/8")}, "[64:ff9b::a00:1]:80", RuleDenyCIDRs, "10.0.0.0/8"},
		{"deny sees 6to4", Policy{Deny: mustPrefixes(t, "10.0.0.0/8")}, "[2002:a00:1::]:80", RuleDenyCIDRs, "10.0.0.0/8"},
		{"deny beats allow", Policy{Allow: mustPrefixes(t, "10.0.0.0/8"), Deny: mustPrefixes(t, "10.0.0.1")}, "10.0.0.1:80", RuleDenyCIDRs, ""},
		{"deny v6", Policy{Deny: mustPrefixes(t, "2606:4700::/32")}, "[2606:4700::1111]:443", RuleDenyCIDRs, "2606:4700::/32"},

		{"allow private in public", Policy{Mode: ModePublic, Allow: mustPrefixes(t, "10.0.0.0/8")}, "10.1.2.3:80", "", ""},
		{"allow sees mapped", Policy{Mode: ModePublic, Allow: mustPrefixes(t, "10.0.0.0/8")}, "[::ffff:10.1.2.3]:80", "", ""},
		{"allow other", Policy{Mode: ModePublic, Allow: mustPrefixes(t, "10.0.0.0/8")}, "192.168.0.1:80", RuleEgress, "private"},
		{"allow public in local", Policy{Mode: ModeLocal, Allow: mustPrefixes(t, "8.8.8.8")}, "8.8.8.8:53", "", ""},

		{"deny port", Policy{DenyPorts: mustPorts(t, "25,465,587")}, "8.8.8.8:25", RuleDenyPorts, "port 25 is denied by -deny-ports 25"},
		{"deny port range", Policy{DenyPorts: mustPorts(t, "6000-6063")}, "8.8.8.8:6010", RuleDenyPorts, "port 6010 is denied by -deny-ports 6000-6063"},
		{"deny port beats allow", Policy{Allow: mustPrefixes(t, "8.8.8.8"), DenyPorts: mustPorts(t, "25")}, "8.8.8.8:25", RuleDenyPorts, ""},
		{"allow-ports in", Policy{AllowPorts: mustPorts(t, "80,443,8000-9000")}, "8.8.8.8:8080", "", ""},
		{"allow-ports out", Policy{AllowPorts: mustPorts(t, "80,443,8000-9000")}, "8.8.8.8:22",
			RuleAllowPorts, "port 22 is not in -allow-ports 80,443,8000-9000"},
		{"allow-ports before allow", Policy{Allow: mustPrefixes(t, "10.0.0.0/8"), AllowPorts: mustPorts(t, "80")}, "10.0.0.1:22", RuleAllowPorts, ""},

		{"invalid address", Policy{}, "", RuleEgress, "no valid address"},
	}
	for _, tc := range cases {
		var ap netip.AddrPort
		if tc.addr != "" {
			ap = netip.MustParseAddrPort(tc.addr)
		}
		checkRefusal(t, tc.name, tc.policy.CheckDial("tcp", ap), tc.rule, tc.msg)
	}
}

// TestCheckAddr: an address alone is judged by the deny list, the allow
// list and the mode, as CheckDial judges it; port lists and exemptions,
// which need a port, play no part.
func TestCheckAddr(t *testing.T) {
	labs := []Endpoint{{"tcp", netip.MustParseAddrPort("127.0.0.1:7007")}}
	for _, tc := range []struct {
		name   string
		policy Policy
		addr   string
		rule   string // "" for allowed
		msg    string
	}{
		{"public in public", Policy{Mode: ModePublic}, "8.8.8.8", "", ""},
		{"private in public", Policy{Mode: ModePublic}, "10.0.0.1", RuleEgress, `10.0.0.1 is a private address; the egress policy is "public"`},
		{"metadata named", Policy{Mode: ModePublic}, "169.254.169.254", RuleEgress, "the cloud metadata service's address"},
		{"NAT64 named", Policy{Mode: ModePublic}, "64:ff9b::a00:1", RuleEgress, "(the NAT64 form of 10.0.0.1)"},
		{"zone dropped", Policy{Mode: ModePublic}, "fe80::1%lo", RuleEgress, "fe80::1 is a link-local address"},
		{"a lab's host is loopback still", Policy{Mode: ModePublic, Exempt: labs}, "127.0.0.1", RuleEgress, "loopback"},
		{"allow-cidrs admits", Policy{Mode: ModePublic, Allow: mustPrefixes(t, "10.0.0.0/8")}, "10.0.0.1", "", ""},
		{"deny beats allow", Policy{Mode: ModeAny, Allow: mustPrefixes(t, "10.0.0.0/8"), Deny: mustPrefixes(t, "10.0.0.0/24")}, "10.0.0.1",
			RuleDenyCIDRs, "10.0.0.1 is denied by -deny-cidrs 10.0.0.0/24"},
		{"port lists play no part", Policy{Mode: ModePublic, AllowPorts: mustPorts(t, "443"), DenyPorts: mustPorts(t, "0-65535")}, "8.8.8.8", "", ""},
		{"public in local", Policy{Mode: ModeLocal}, "8.8.8.8", RuleEgress, `the egress policy is "local"`},
		{"invalid", Policy{Mode: ModeAny}, "", RuleEgress, "no valid address"},
	} {
		var a netip.Addr
		if tc.addr != "" {
			a = netip.MustParseAddr(tc.addr)
		}
		checkRefusal(t, tc.name, tc.policy.CheckAddr(a), tc.rule, tc.msg)
	}
}

func TestRefusalExemptible(t *testing.T) {
	p := &Policy{Mode: ModePublic, Deny: mustPrefixes(t, "127.0.0.2"), AllowPorts: mustPorts(t, "80")}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true},  // the mode
		{"8.8.8.8:22", true},    // -allow-ports
		{"127.0.0.2:80", false}, // a deny list
	} {
		var r *Refusal
		if !errors.As(p.CheckDial("tcp", netip.MustParseAddrPort(tc.addr)), &r) {
			t.Fatalf("%s not refused", tc.addr)
		}
		if r.Exemptible() != tc.want {
			t.Errorf("%s (%s): exemptible %v", tc.addr, r.Rule, !tc.want)
		}
	}
}

func TestCheckBind(t *testing.T) {
	loop := Policy{BindPrefixes: mustPrefixes(t, "127.0.0.0/8,::1"), BindPorts: mustPorts(t, "0,1024-65535")}
	cases := []struct {
		name   string
		policy Policy
		addr   string
		rule   string
		msg    string
	}{
		{"loopback ephemeral", loop, "127.0.0.1:0", "", ""},
		{"loopback high port", loop, "127.0.0.1:8080", "", ""},
		{"v6 loopback", loop, "[::1]:0", "", ""},
		{"mapped loopback", loop, "[::ffff:127.0.0.1]:0", "", ""},
		{"wildcard", loop, "0.0.0.0:0", RuleBindCIDRs, "0.0.0.0 is not in -bind-cidrs 127.0.0.0/8,::1"},
		{"v6 wildcard", loop, "[::]:0", RuleBindCIDRs, ":: is not in -bind-cidrs"},
		{"NAT64 is no loophole", loop, "[64:ff9b::7f00:1]:0", RuleBindCIDRs, ""},
		{"low port", loop, "127.0.0.1:80", RuleBindPorts, "port 80 is not in -bind-ports 0,1024-65535"},
		{"port 1023", loop, "127.0.0.1:1023", RuleBindPorts, "port 1023"},
		{"port 1024", loop, "127.0.0.1:1024", "", ""},
		{"ephemeral always", Policy{BindPorts: mustPorts(t, "8000-8100")}, "127.0.0.1:0", "", ""},
		{"outside a narrow range", Policy{BindPorts: mustPorts(t, "8000-8100")}, "127.0.0.1:9000",
			RuleBindPorts, "port 9000 is not in -bind-ports 8000-8100 (port 0, a free port the kernel picks, is always allowed)"},
		{"no bind rules", Policy{Mode: ModePublic}, "0.0.0.0:80", "", ""},
		{"egress rules do not bind", Policy{Deny: mustPrefixes(t, "0.0.0.0/0"), DenyPorts: mustPorts(t, "0-65535")}, "0.0.0.0:80", "", ""},
		{"wildcard listed", Policy{BindPrefixes: mustPrefixes(t, "0.0.0.0")}, "0.0.0.0:5000", "", ""},
		{"invalid", loop, "", RuleBindCIDRs, "no valid address"},
	}
	for _, tc := range cases {
		var ap netip.AddrPort
		if tc.addr != "" {
			ap = netip.MustParseAddrPort(tc.addr)
		}
		checkRefusal(t, tc.name, tc.policy.CheckBind(ap), tc.rule, tc.msg)
	}
}

func TestNilPolicyAllows(t *testing.T) {
	var p *Policy
	if err := p.CheckDial("tcp", netip.MustParseAddrPort("169.254.169.254:80")); err != nil {
		t.Error(err)
	}
	if err := p.CheckBind(netip.MustParseAddrPort("0.0.0.0:1")); err != nil {
		t.Error(err)
	}
	if err := p.CheckAddr(netip.MustParseAddr("10.0.0.1")); err != nil {
		t.Error(err)
	}
	if got := p.LogValue().String(); !strings.Contains(got, "everything allowed") {
		t.Errorf("nil policy logs as %q", got)
	}
}

func TestLogValue(t *testing.T) {
	p := &Policy{Mode: ModePublic, Deny: mustPrefixes(t, "10.0.0.0/8"), BindPorts: mustPorts(t, "0,1024-65535"),
		Exempt: []Endpoint{{"tcp", netip.MustParseAddrPort("127.0.0.1:7007")}}}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("egress policy", "policy", p)
	for _, want := range []string{"policy.egress=public", "policy.deny-cidrs=10.0.0.0/8", "policy.bind-ports=0,1024-65535", "127.0.0.1:7007/tcp"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("log line %q lacks %q", b.String(), want)
		}
	}
}

// BenchmarkCheckDial is the cost the policy adds to every connect and
// sendto: a public policy with deny lists, port lists and thirteen exempt
// labs, on an allowed public address (every rule consulted) and on a
// refused NAT64 one (the message built).
func BenchmarkCheckDial(b *testing.B) {
	p := &Policy{Mode: ModePublic, Deny: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24")},
		DenyPorts: Ports(PortRange{25, 25}, PortRange{6000, 6063}), AllowPorts: Ports(PortRange{1, 65535})}
	for i := range 13 {
		p.Exempt = append(p.Exempt, Endpoint{"tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(7007+i))})
	}
	for _, tc := range []struct{ name, addr string }{{"allowed", "8.8.8.8:443"}, {"refused", "[64:ff9b::a00:1]:80"}} {
		ap := netip.MustParseAddrPort(tc.addr)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = p.CheckDial("tcp", ap)
			}
		})
	}
}
