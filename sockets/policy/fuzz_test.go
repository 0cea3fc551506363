package policy

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// Run one with, for example:
//
//	go test ./sockets/policy -run '^$' -fuzz '^FuzzClassify$' -fuzztime 30s
//
// Without -fuzz they run their seeds as ordinary tests.

// FuzzParsePrefixes: parsing never panics, and what it accepts prints back
// to a list that parses to the same prefixes.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8", "1.2.3.4, ::1", "fd00::/8,0.0.0.0/0", "::ffff:10.0.0.0/104",
		"10.1.2.3/8", "fe80::1%lo", "1.2.3.4/33", ",", "a,b", "::/0", "2002::/16,64:ff9b::/96"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: an empty error", s)
			}
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p.Masked() != p || p.Addr().Zone() != "" {
				t.Fatalf("%q gave %v: not a clean prefix", s, p)
			}
		}
		again, err := ParsePrefixes(FormatPrefixes(ps))
		if err != nil || !slices.Equal(again, ps) {
			t.Fatalf("%q: %v prints as %q, which parses to %v, %v", s, ps, FormatPrefixes(ps), again, err)
		}
	})
}

// FuzzParsePorts: parsing never panics; what it accepts is sorted,
// disjoint, and prints back to the same set.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"", "80", "80,443,8000-9000", "0,1024-65535", "9000-8000", "65536", "1-2-3",
		" 5 - 6 ", "-", "0-0", "65535", "1,1,1", "7-9,8-10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePorts(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: an empty error", s)
			}
			return
		}
		rs := ps.Ranges()
		for i, r := range rs {
			if r.Hi < r.Lo || (i > 0 && int(r.Lo) <= int(rs[i-1].Hi)+1) {
				t.Fatalf("%q gave %v: not sorted, disjoint ranges", s, rs)
			}
			if !ps.Contains(r.Lo) || !ps.Contains(r.Hi) {
				t.Fatalf("%q: %v does not contain its own range %v", s, ps, r)
			}
			if r.Lo > 0 && ps.Contains(r.Lo-1) {
				t.Fatalf("%q: %v contains %d, below a range", s, ps, r.Lo-1)
			}
		}
		again, err := ParsePorts(ps.String())
		if err != nil || !slices.Equal(again.Ranges(), rs) {
			t.Fatalf("%q: %v prints as %q, which parses to %v, %v", s, rs, ps.String(), again.Ranges(), err)
		}
	})
}

// FuzzClassify: for any IPv4 address, every IPv6 form that stands for it
// (IPv4-mapped, NAT64, 6to4 with any subnet and host bits) classifies as
// it does; and the public policy refuses exactly what is not public,
// with a message naming the rule.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "0.0.0.0", "127.0.0.1",
		"8.8.8.8", "255.255.255.255", "192.0.2.1", "172.16.0.1"} {
		a := netip.MustParseAddr(s).As4()
		f.Add(a[:], []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint16(80))
	}
	f.Add([]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{}, uint16(0))
	f.Add([]byte{0x20, 0x02, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{}, uint16(443))
	pub := &Policy{Mode: ModePublic}
	f.Fuzz(func(t *testing.T, raw, fill []byte, port uint16) {
		var a netip.Addr
		switch len(raw) {
		case 4:
			a = netip.AddrFrom4([4]byte(raw))
		case 16:
			a = netip.AddrFrom16([16]byte(raw))
		default:
			return
		}
		c := Classify(a)
		if c == Invalid {
			t.Fatalf("%s classified invalid", a)
		}
		if Classify(a.WithZone("eth0")) != c && a.Is6() {
			t.Fatalf("%s: a zone changed its class", a)
		}
		err := pub.CheckDial("tcp", netip.AddrPortFrom(a, port))
		var r *Refusal
		switch {
		case c == Public && err != nil:
			t.Fatalf("public policy refused public %s: %v", a, err)
		case c != Public && (!errors.As(err, &r) || r.Rule != RuleEgress || r.Class != c ||
			!strings.Contains(r.Error(), `"public" (-egress)`) || !strings.HasPrefix(r.Error(), a.String()+" is ")):
			t.Fatalf("public policy on %s (%v): %v", a, c, err)
		}
		if !a.Is4() {
			return
		}
		v4 := a.As4()
		var rest [10]byte
		copy(rest[:], fill)
		forms := map[string]netip.Addr{
			"mapped": netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"NAT64":  netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"6to4": netip.AddrFrom16([16]byte{0x20, 0x02, v4[0], v4[1], v4[2], v4[3],
				rest[0], rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], rest[7], rest[8], rest[9]}),
		}
		for name, b := range forms {
			if got := Classify(b); got != c {
				t.Fatalf("%s form %s of %s classifies %v, the IPv4 address %v", name, b, a, got, c)
			}
			if deny := (&Policy{Deny: []netip.Prefix{netip.PrefixFrom(a, 32)}}); deny.CheckDial("tcp", netip.AddrPortFrom(b, port)) == nil {
				t.Fatalf("-deny-cidrs %s let its %s form %s through", a, name, b)
			}
		}
	})
}
