package policy

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		addr string
		want Class
	}{
		// IPv4, each block and its edges.
		{"0.0.0.0", Unspecified},
		{"0.0.0.1", Reserved},
		{"0.255.255.255", Reserved},
		{"1.0.0.0", Public},
		{"8.8.8.8", Public},
		{"9.255.255.255", Public},
		{"10.0.0.0", Private},
		{"10.0.0.1", Private},
		{"10.255.255.255", Private},
		{"11.0.0.0", Public},
		{"100.63.255.255", Public},
		{"100.64.0.0", CGNAT},
		{"100.64.0.1", CGNAT},
		{"100.127.255.255", CGNAT},
		{"100.128.0.0", Public},
		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"128.0.0.0", Public},
		{"169.253.255.255", Public},
		{"169.254.0.1", LinkLocal},
		{"169.254.169.254", LinkLocal},
		{"169.255.0.0", Public},
		{"172.15.255.255", Public},
		{"172.16.0.0", Private},
		{"172.31.255.255", Private},
		{"172.32.0.0", Public},
		{"192.0.0.8", Reserved},
		{"192.0.2.1", Documentation},
		{"192.88.99.1", Reserved},
		{"192.167.255.255", Public},
		{"192.168.0.1", Private},
		{"192.168.255.255", Private},
		{"192.169.0.0", Public},
		{"198.18.0.1", Reserved},
		{"198.19.255.255", Reserved},
		{"198.20.0.0", Public},
		{"198.51.100.7", Documentation},
		{"203.0.113.5", Documentation},
		{"223.255.255.255", Public},
		{"224.0.0.1", Multicast},
		{"239.255.255.250", Multicast},
		{"240.0.0.1", Reserved},
		{"255.255.255.254", Reserved},
		{"255.255.255.255", Broadcast},

		// IPv6 of its own.
		{"::", Unspecified},
		{"::1", Loopback},
		{"::2", Reserved},
		{"::10.0.0.1", Reserved}, // IPv4-compatible, deprecated
		{"::8.8.8.8", Reserved},
		{"100::1", Reserved},
		{"2001::1", Reserved}, // Teredo
		{"2001:1ff::1", Reserved},
		{"2001:200::1", Public},
		{"2001:db8::1", Documentation},
		{"2001:4860:4860::8888", Public},
		{"2606:4700::1111", Public},
		{"3fff::1", Documentation},
		{"4000::1", Reserved}, // outside 2000::/3: not allocated
		{"fc00::1", UniqueLocal},
		{"fd00::1", UniqueLocal},
		{"fd00:ec2::254", UniqueLocal},
		{"fe80::1", LinkLocal},
		{"fe80::1%eth0", LinkLocal},
		{"febf::1", LinkLocal},
		{"fec0::1", Reserved},
		{"ff02::1", Multicast},
		{"ff0e::1", Multicast},

		// IPv6 standing for IPv4: the IPv4 address decides.
		{"::ffff:10.0.0.1", Private},
		{"::ffff:127.0.0.1", Loopback},
		{"::ffff:169.254.169.254", LinkLocal},
		{"::ffff:100.64.0.1", CGNAT},
		{"::ffff:224.0.0.1", Multicast},
		{"::ffff:0.0.0.0", Unspecified},
		{"::ffff:255.255.255.255", Broadcast},
		{"::ffff:8.8.8.8", Public},
		{"::ffff:0:10.0.0.1", Private}, // SIIT
		{"64:ff9b::a00:1", Private},
		{"64:ff9b::7f00:1", Loopback},
		{"64:ff9b::a9fe:a9fe", LinkLocal},
		{"64:ff9b::808:808", Public},
		{"64:ff9b::1:0:0:a00:1", Reserved},      // in 64:ff9b::/32 but not the /96
		{"64:ff9b:1::a00:1", Private},           // local-use prefix, /96 reading
		{"64:ff9b:1:a00:1:0:808:808", Private},  // local-use prefix: /96 reads 8.8.8.8, /48 10.0.1.0
		{"64:ff9b:1:808:8:808:808:808", Public}, // 8.8.8.8 in every reading
		{"2002:a00:1::1", Private},
		{"2002:a9fe:a9fe::", LinkLocal},
		{"2002:7f00:1::1", Loopback},
		{"2002:808:808::1", Public},
		{"2002:6440:1::", CGNAT},
	}
	for _, tc := range cases {
		a := netip.MustParseAddr(tc.addr)
		if got := Classify(a); got != tc.want {
			t.Errorf("Classify(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if got := Classify(netip.Addr{}); got != Invalid {
		t.Errorf("Classify(zero) = %v, want invalid", got)
	}
}

// TestClassifyNAT64LocalReadings: for 64:ff9b:1::/48 every RFC 6052
// placement of the IPv4 address is a possible reading, and a forbidden one
// anywhere decides.
func TestClassifyNAT64LocalReadings(t *testing.T) {
	v4 := netip.MustParseAddr("10.1.2.3").As4()
	for _, tc := range []struct {
		bits int
		put  func(b *[16]byte)
	}{
		{48, func(b *[16]byte) { b[6], b[7], b[9], b[10] = v4[0], v4[1], v4[2], v4[3] }},
		{56, func(b *[16]byte) { b[7], b[9], b[10], b[11] = v4[0], v4[1], v4[2], v4[3] }},
		{64, func(b *[16]byte) { b[9], b[10], b[11], b[12] = v4[0], v4[1], v4[2], v4[3] }},
		{96, func(b *[16]byte) { b[12], b[13], b[14], b[15] = v4[0], v4[1], v4[2], v4[3] }},
	} {
		b := netip.MustParseAddr("64:ff9b:1::").As16()
		// Public-looking bytes everywhere else, so only the placement
		// under test can make the address private.
		for i := 6; i < 16; i++ {
			b[i] = 8
		}
		b[8] = 0
		tc.put(&b)
		a := netip.AddrFrom16(b)
		if got := Classify(a); got != Private {
			t.Errorf("/%d reading of %s: %v, want private", tc.bits, a, got)
		}
	}
}

func TestClassString(t *testing.T) {
	for c := Invalid; c <= Reserved; c++ {
		if c.String() == "" || c.phrase() == "" {
			t.Errorf("class %d has no name", int(c))
		}
	}
	if got := Class(99).String(); got != "class(99)" {
		t.Errorf("Class(99) = %q", got)
	}
}
