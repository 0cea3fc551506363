package policy

import (
	"net/netip"
	"strconv"
)

// Class is what kind of address an IP is, as far as reaching it from this
// host goes.
type Class int

// The classes. The zero value is Invalid, so that a Class nobody set is
// never mistaken for Public.
const (
	Invalid       Class = iota // the zero netip.Addr
	Public                     // globally routed unicast: the internet
	Loopback                   // 127.0.0.0/8, ::1: this host
	Private                    // RFC 1918: 10/8, 172.16/12, 192.168/16
	UniqueLocal                // fc00::/7: IPv6's private addresses
	LinkLocal                  // 169.254/16 (cloud metadata lives here), fe80::/10
	CGNAT                      // 100.64.0.0/10, shared address space (RFC 6598)
	Multicast                  // 224.0.0.0/4, ff00::/8
	Broadcast                  // 255.255.255.255
	Unspecified                // 0.0.0.0, ::: connect(2) takes them to this host
	Documentation              // TEST-NET-1..3, 2001:db8::/32, 3fff::/20: never routed
	Reserved                   // the rest of the special-purpose registries
)

var classNames = [...]string{
	Invalid:       "invalid",
	Public:        "public",
	Loopback:      "loopback",
	Private:       "private",
	UniqueLocal:   "unique-local",
	LinkLocal:     "link-local",
	CGNAT:         "cgnat",
	Multicast:     "multicast",
	Broadcast:     "broadcast",
	Unspecified:   "unspecified",
	Documentation: "documentation",
	Reserved:      "reserved",
}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "class(" + strconv.Itoa(int(c)) + ")"
	}
	return classNames[c]
}

// phrase is the class in a sentence: "10.0.0.1 is <phrase>".
func (c Class) phrase() string {
	switch c {
	case Public:
		return "a public address"
	case Loopback:
		return "a loopback address (this host)"
	case Private:
		return "a private address"
	case UniqueLocal:
		return "a unique local address (private IPv6)"
	case LinkLocal:
		return "a link-local address"
	case CGNAT:
		return "a shared address (carrier-grade NAT, 100.64.0.0/10)"
	case Multicast:
		return "a multicast address"
	case Broadcast:
		return "the broadcast address"
	case Unspecified:
		return "the unspecified address (a connection to it reaches this host)"
	case Documentation:
		return "a documentation address (never routed)"
	case Reserved:
		return "a reserved address"
	}
	return "not a valid address"
}

// The IPv4 special-purpose blocks (RFC 6890 and its updates), most
// specific first where they nest.
var v4Table = []struct {
	p netip.Prefix
	c Class
}{
	{pfx("0.0.0.0/32"), Unspecified},
	{pfx("0.0.0.0/8"), Reserved}, // "this network"
	{pfx("10.0.0.0/8"), Private},
	{pfx("100.64.0.0/10"), CGNAT},
	{pfx("127.0.0.0/8"), Loopback},
	{pfx("169.254.0.0/16"), LinkLocal},
	{pfx("172.16.0.0/12"), Private},
	{pfx("192.0.0.0/24"), Reserved}, // IETF protocol assignments
	{pfx("192.0.2.0/24"), Documentation},
	{pfx("192.88.99.0/24"), Reserved}, // 6to4 relay anycast, deprecated
	{pfx("192.168.0.0/16"), Private},
	{pfx("198.18.0.0/15"), Reserved}, // benchmarking
	{pfx("198.51.100.0/24"), Documentation},
	{pfx("203.0.113.0/24"), Documentation},
	{pfx("224.0.0.0/4"), Multicast},
	{pfx("255.255.255.255/32"), Broadcast},
	{pfx("240.0.0.0/4"), Reserved},
}

// The IPv6 blocks that are neither tunnels to IPv4 (see embedded) nor
// global unicast.
var v6Table = []struct {
	p netip.Prefix
	c Class
}{
	{pfx("::/128"), Unspecified},
	{pfx("::1/128"), Loopback},
	{pfx("::/8"), Reserved},      // IPv4-compatible (deprecated) and the rest of ::/8
	{pfx("100::/64"), Reserved},  // discard-only
	{pfx("2001::/23"), Reserved}, // IETF protocol assignments, Teredo among them
	{pfx("2001:db8::/32"), Documentation},
	{pfx("3fff::/20"), Documentation},
	{pfx("fc00::/7"), UniqueLocal},
	{pfx("fe80::/10"), LinkLocal},
	{pfx("fec0::/10"), Reserved}, // site-local, deprecated
	{pfx("ff00::/8"), Multicast},
}

var global6 = pfx("2000::/3")

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Classify says what kind of address a is. An IPv6 address that carries an
// IPv4 address a packet to it would end up at (IPv4-mapped ::ffff:a.b.c.d,
// the NAT64 prefixes 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16) is
// classed as that IPv4 address, so that ::ffff:10.0.0.1 is as private as
// 10.0.0.1. A zone is ignored.
func Classify(a netip.Addr) Class {
	c, _, _ := classify(a)
	return c
}

// classify is Classify, also telling through which IPv4 address (and
// which kind of tunnel to it) the class was decided, for messages.
func classify(a netip.Addr) (Class, netip.Addr, string) {
	if !a.IsValid() {
		return Invalid, netip.Addr{}, ""
	}
	a = a.WithZone("")
	if a.Is4() {
		return classify4(a), netip.Addr{}, ""
	}
	if form, v4s := embedded(a); form != "" {
		// Several readings (64:ff9b:1::/48): the first that is not
		// public decides, as any of them may be the translator's.
		for _, v4 := range v4s {
			if c := classify4(v4); c != Public {
				return c, v4, form
			}
		}
		return Public, v4s[0], form
	}
	for _, e := range v6Table {
		if e.p.Contains(a) {
			return e.c, netip.Addr{}, ""
		}
	}
	if !global6.Contains(a) {
		return Reserved, netip.Addr{}, ""
	}
	return Public, netip.Addr{}, ""
}

func classify4(a netip.Addr) Class {
	for _, e := range v4Table {
		if e.p.Contains(a) {
			return e.c
		}
	}
	return Public
}

var (
	mapped     = pfx("::ffff:0:0/96")
	translated = pfx("::ffff:0:0:0/96") // SIIT, RFC 2765
	nat64      = pfx("64:ff9b::/96")
	nat64Local = pfx("64:ff9b:1::/48")
	sixToFour  = pfx("2002::/16")
)

// embedded returns the IPv4 addresses that IPv6 address a stands for, and
// the name of the mechanism, or "" when a stands for itself.
//
// The local-use NAT64 prefix 64:ff9b:1::/48 may be used with any of the
// RFC 6052 prefix lengths from /48 to /96, which put the IPv4 address in
// different places; as nothing in the address says which one a network
// chose, every reading is returned.
func embedded(a netip.Addr) (string, []netip.Addr) {
	a = a.WithZone("")
	if !a.Is6() {
		return "", nil
	}
	b := a.As16()
	v4 := func(p, q, r, s byte) netip.Addr { return netip.AddrFrom4([4]byte{p, q, r, s}) }
	switch {
	case mapped.Contains(a):
		return "IPv4-mapped", []netip.Addr{v4(b[12], b[13], b[14], b[15])}
	case translated.Contains(a):
		return "IPv4-translated", []netip.Addr{v4(b[12], b[13], b[14], b[15])}
	case nat64.Contains(a):
		return "NAT64", []netip.Addr{v4(b[12], b[13], b[14], b[15])}
	case nat64Local.Contains(a):
		// RFC 6052 section 2.2: bits 64-71 (byte 8) are always skipped.
		return "NAT64", []netip.Addr{
			v4(b[12], b[13], b[14], b[15]), // /96
			v4(b[6], b[7], b[9], b[10]),    // /48
			v4(b[7], b[9], b[10], b[11]),   // /56
			v4(b[9], b[10], b[11], b[12]),  // /64
		}
	case sixToFour.Contains(a):
		return "6to4", []netip.Addr{v4(b[2], b[3], b[4], b[5])}
	}
	return "", nil
}
