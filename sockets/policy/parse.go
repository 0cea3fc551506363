package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Mode is the egress policy's base rule: which classes of address connect
// and sendto may reach.
type Mode int

const (
	// ModeAny reaches every address: sockplay on a laptop, for its owner.
	ModeAny Mode = iota
	// ModePublic reaches only public internet addresses: nothing on this
	// host, its networks or its cloud's metadata service, whatever form
	// the address takes. The exempt addresses (the labs) stay reachable.
	ModePublic
	// ModeLocal reaches only this host and private networks: loopback,
	// RFC 1918 and unique local IPv6 addresses. Everything else, the
	// internet included, is refused: a classroom server that must not
	// be a way out.
	ModeLocal
)

var modeNames = map[Mode]string{ModeAny: "any", ModePublic: "public", ModeLocal: "local"}

func (m Mode) String() string {
	if n, ok := modeNames[m]; ok {
		return n
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode reads "any", "public" or "local".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "any":
		return ModeAny, nil
	case "public":
		return ModePublic, nil
	case "local":
		return ModeLocal, nil
	}
	return 0, fmt.Errorf("%q is not a mode: want any, public or local", s)
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes. A bare
// address is a prefix of one address (/32 or /128); blanks around items
// are ignored, and "" is the empty list.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if strings.TrimSpace(s) == "" {
				break
			}
			return nil, fmt.Errorf("%q: an empty item (two commas?)", s)
		}
		p, err := parsePrefix(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(item string) (netip.Prefix, error) {
	if !strings.Contains(item, "/") {
		a, err := netip.ParseAddr(item)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix such as 10.0.0.0/8", item)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: a zone (%%%s) has no place in a policy", item, a.Zone())
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(item)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8 or fd00::/8", item)
	}
	// A prefix with host bits set is most likely a typo for a narrower
	// one (10.1.2.3/8 for 10.1.2.3/32); say so rather than guess.
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its /%d; the network is %s (or write a bare address for just that one)", item, p.Bits(), m)
	}
	return p, nil
}

// PortRange is the ports Lo through Hi, both included.
type PortRange struct{ Lo, Hi uint16 }

func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi))
}

// PortSet is a set of ports, kept as sorted, disjoint, non-adjacent
// ranges. Its zero value is the empty set.
type PortSet struct{ ranges []PortRange }

// ParsePorts reads a comma-separated list of ports and ranges, such as
// "80,443,8000-9000". Blanks around items are ignored; "" is the empty set.
func ParsePorts(s string) (PortSet, error) {
	var rs []PortRange
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if strings.TrimSpace(s) == "" {
				break
			}
			return PortSet{}, fmt.Errorf("%q: an empty item (two commas?)", s)
		}
		lo, hi, isRange := strings.Cut(item, "-")
		l, err := parsePort(item, lo)
		if err != nil {
			return PortSet{}, err
		}
		h := l
		if isRange {
			if h, err = parsePort(item, hi); err != nil {
				return PortSet{}, err
			}
			if h < l {
				return PortSet{}, fmt.Errorf("port range %q runs backwards; did you mean %d-%d?", item, h, l)
			}
		}
		rs = append(rs, PortRange{l, h})
	}
	return Ports(rs...), nil
}

func parsePort(item, s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 32)
	switch {
	case s == "":
		return 0, fmt.Errorf("port range %q is missing a number", item)
	case err != nil && strings.Trim(s, "0123456789") == "":
		return 0, fmt.Errorf("port %s in %q is out of range 0-65535", s, item)
	case err != nil:
		return 0, fmt.Errorf("%q is not a port number or a range such as 8000-9000", item)
	case n > 65535:
		return 0, fmt.Errorf("port %d in %q is out of range 0-65535", n, item)
	}
	return uint16(n), nil
}

// Ports makes a set of the given ranges, in any order, overlapping or not.
func Ports(rs ...PortRange) PortSet {
	rs = slices.Clone(rs)
	for i, r := range rs {
		if r.Hi < r.Lo {
			rs[i] = PortRange{r.Hi, r.Lo}
		}
	}
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.Lo) - int(b.Lo) })
	var out []PortRange
	for _, r := range rs {
		if n := len(out); n > 0 && int(r.Lo) <= int(out[n-1].Hi)+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return PortSet{ranges: out}
}

// Empty says whether the set has no ports.
func (p PortSet) Empty() bool { return len(p.ranges) == 0 }

// Contains says whether port is in the set.
func (p PortSet) Contains(port uint16) bool {
	_, ok := p.find(port)
	return ok
}

// find returns the range holding port.
func (p PortSet) find(port uint16) (PortRange, bool) {
	i, _ := slices.BinarySearchFunc(p.ranges, port, func(r PortRange, port uint16) int {
		if r.Hi < port {
			return -1
		}
		if r.Lo > port {
			return 1
		}
		return 0
	})
	if i < len(p.ranges) && p.ranges[i].Lo <= port && port <= p.ranges[i].Hi {
		return p.ranges[i], true
	}
	return PortRange{}, false
}

// Ranges returns the set's ranges, sorted.
func (p PortSet) Ranges() []PortRange { return slices.Clone(p.ranges) }

// String is the set as ParsePorts reads it.
func (p PortSet) String() string {
	parts := make([]string, len(p.ranges))
	for i, r := range p.ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// FormatPrefixes is a prefix list as ParsePrefixes reads it.
func FormatPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ",")
}
