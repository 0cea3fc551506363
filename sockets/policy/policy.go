// Package policy decides which addresses sockplay's sockets may reach and
// where they may listen: the egress policy for connect and sendto, and the
// listener policy for bind. It owns the address classifier (loopback,
// private, link-local, ... seen through IPv4-mapped, NAT64 and 6to4
// forms), the parsers for the flag values that configure it, and the
// refusals, whose messages name the rule (the flag) that refused.
//
// It decides on IP values only. The engine checks the exact address each
// syscall is about to use, after name resolution, so a name that resolves
// to a public address once and to a private one the next time (DNS
// rebinding) is checked each time on what it really is.
package policy

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
)

// The rules, named as the server's flags that set them (without the "-"),
// so that a refusal tells the operator what to change.
const (
	RuleEgress     = "egress"
	RuleAllowCIDRs = "allow-cidrs"
	RuleDenyCIDRs  = "deny-cidrs"
	RuleAllowPorts = "allow-ports"
	RuleDenyPorts  = "deny-ports"
	RuleBindCIDRs  = "bind-cidrs"
	RuleBindPorts  = "bind-ports"
)

// Policy is the egress and listener policy. Its zero value, and a nil
// *Policy, allow everything.
type Policy struct {
	// Mode is the base rule for connect and sendto.
	Mode Mode
	// Deny refuses these addresses whatever else says, the exempt ones
	// included. Allow admits these addresses even where Mode refuses them.
	Deny, Allow []netip.Prefix
	// DenyPorts refuses these destination ports, whatever else says.
	// AllowPorts, when not empty, is the only destination ports allowed
	// (exempt addresses aside).
	DenyPorts, AllowPorts PortSet
	// Exempt endpoints pass Mode and AllowPorts: the built-in labs, which
	// listen on loopback and must stay reachable in ModePublic. Each is
	// exempt for its own protocol only: a UDP lab's port on TCP may be
	// another program's.
	Exempt []Endpoint

	// BindPrefixes, when not empty, is where sockets may bind (a
	// wildcard 0.0.0.0 or :: only if listed, as 0.0.0.0/32 or ::/128
	// or a prefix holding them).
	BindPrefixes []netip.Prefix
	// BindPorts, when not empty, is which ports sockets may bind. Port 0
	// (the kernel picks a free one) is always allowed: what to listen on
	// is the lesson, not which number the kernel hands out.
	BindPorts PortSet
}

// Refusal is the error for an address the policy refuses.
type Refusal struct {
	// Addr is the refused address, as checked.
	Addr netip.AddrPort
	// Rule is the rule that refused it: one of the Rule constants.
	Rule string
	// Class is Addr's class, when Rule is RuleEgress.
	Class Class
	msg   string
}

func (r *Refusal) Error() string { return r.msg }

// Exemptible says whether an exempt address would have passed: the
// refusal came from the mode or -allow-ports, not from a deny list or the
// listener policy. The engine uses it to let a session reach its own
// sockets.
func (r *Refusal) Exemptible() bool { return r.Rule == RuleEgress || r.Rule == RuleAllowPorts }

// CheckDial decides whether connect or sendto over proto ("tcp" or "udp")
// may reach ap. The order is:
// the deny lists; then the exempt list; then -allow-ports; then the allow
// list; then the mode.
func (p *Policy) CheckDial(proto string, ap netip.AddrPort) error {
	if p == nil {
		return nil
	}
	a, port := ap.Addr().WithZone(""), ap.Port()
	if !a.IsValid() {
		return &Refusal{Addr: ap, Rule: RuleEgress, Class: Invalid, msg: "no valid address to check"}
	}
	if r := p.denied(ap, a); r != nil {
		return r
	}
	if r, ok := p.DenyPorts.find(port); ok {
		return &Refusal{Addr: ap, Rule: RuleDenyPorts,
			msg: fmt.Sprintf("port %d is denied by -%s %s", port, RuleDenyPorts, r)}
	}
	if p.exempt(proto, netip.AddrPortFrom(a, port)) {
		return nil
	}
	if !p.AllowPorts.Empty() && !p.AllowPorts.Contains(port) {
		return &Refusal{Addr: ap, Rule: RuleAllowPorts,
			msg: fmt.Sprintf("port %d is not in -%s %s", port, RuleAllowPorts, p.AllowPorts)}
	}
	return p.modeRefuses(ap, a)
}

// CheckAddr decides on an address alone, with no port and no protocol:
// the deny list, then the allow list, then the mode. It is what a name's
// answers are judged by, so that a lookup tells nothing of the addresses
// a session could not reach; connect and sendto still judge each port
// by CheckDial. An address refused here may still be exempt on some
// port: a lab's, or the session's own.
func (p *Policy) CheckAddr(a netip.Addr) error {
	if p == nil {
		return nil
	}
	a = a.WithZone("")
	ap := netip.AddrPortFrom(a, 0)
	if !a.IsValid() {
		return &Refusal{Addr: ap, Rule: RuleEgress, Class: Invalid, msg: "no valid address to check"}
	}
	if r := p.denied(ap, a); r != nil {
		return r
	}
	return p.modeRefuses(ap, a)
}

// denied is the deny list's refusal of a, if it names a.
func (p *Policy) denied(ap netip.AddrPort, a netip.Addr) *Refusal {
	hit, ok := matchAny(p.Deny, a)
	if !ok {
		return nil
	}
	return &Refusal{Addr: ap, Rule: RuleDenyCIDRs,
		msg: fmt.Sprintf("%s is denied by -%s %s", a, RuleDenyCIDRs, FormatPrefixes([]netip.Prefix{hit}))}
}

// modeRefuses is the mode's refusal of a, unless the allow list admits
// it.
func (p *Policy) modeRefuses(ap netip.AddrPort, a netip.Addr) error {
	if matchAll(p.Allow, a) {
		return nil
	}
	class, via, form := classify(a)
	if p.Mode.admits(class) {
		return nil
	}
	what := class.phrase()
	if a == metadata4 || via == metadata4 || a == metadata6 {
		what = "the cloud metadata service's address (" + class.String() + ")"
	}
	if via.IsValid() {
		what += fmt.Sprintf(" (the %s form of %s)", form, via)
	}
	return &Refusal{Addr: ap, Rule: RuleEgress, Class: class,
		msg: fmt.Sprintf("%s is %s; the egress policy is %q (-%s), %s", a, what, p.Mode, RuleEgress, p.Mode.reaches())}
}

var (
	metadata4 = netip.MustParseAddr("169.254.169.254")
	metadata6 = netip.MustParseAddr("fd00:ec2::254")
)

// CheckBind decides whether a socket may bind to ap.
func (p *Policy) CheckBind(ap netip.AddrPort) error {
	if p == nil {
		return nil
	}
	a, port := ap.Addr().WithZone(""), ap.Port()
	if !a.IsValid() {
		return &Refusal{Addr: ap, Rule: RuleBindCIDRs, Class: Invalid, msg: "no valid address to check"}
	}
	if len(p.BindPrefixes) > 0 {
		// Only the address and its IPv4-mapped reading: a socket binds
		// to an address of this host, not to a tunnel's far end.
		in := func(p netip.Prefix) bool { return p.Contains(a) || p.Contains(a.Unmap()) }
		if !slices.ContainsFunc(p.BindPrefixes, in) {
			return &Refusal{Addr: ap, Rule: RuleBindCIDRs,
				msg: fmt.Sprintf("%s is not in -%s %s, where sockets may listen", a, RuleBindCIDRs, FormatPrefixes(p.BindPrefixes))}
		}
	}
	if port != 0 && !p.BindPorts.Empty() && !p.BindPorts.Contains(port) {
		return &Refusal{Addr: ap, Rule: RuleBindPorts,
			msg: fmt.Sprintf("port %d is not in -%s %s (port 0, a free port the kernel picks, is always allowed)", port, RuleBindPorts, p.BindPorts)}
	}
	return nil
}

// Endpoint is an address and port on one protocol, "tcp" or "udp".
type Endpoint struct {
	Proto string
	Addr  netip.AddrPort
}

func (e Endpoint) String() string { return e.Addr.String() + "/" + e.Proto }

func (p *Policy) exempt(proto string, ap netip.AddrPort) bool {
	return slices.ContainsFunc(p.Exempt, func(e Endpoint) bool {
		return e.Proto == proto && e.Addr.Port() == ap.Port() && e.Addr.Addr().WithZone("").Unmap() == ap.Addr().Unmap()
	})
}

// admits says whether the mode lets an address of class c through.
func (m Mode) admits(c Class) bool {
	switch m {
	case ModeAny:
		return c != Invalid
	case ModePublic:
		return c == Public
	case ModeLocal:
		return c == Loopback || c == Private || c == UniqueLocal
	}
	return false
}

// reaches ends a refusal's sentence: what the mode does allow.
func (m Mode) reaches() string {
	switch m {
	case ModePublic:
		return "which reaches only public internet addresses"
	case ModeLocal:
		return "which reaches only this host and private networks"
	}
	return "which refuses it"
}

// views is a and every IPv4 address it stands for: a deny list must catch
// 10.0.0.1 however it is written.
func views(a netip.Addr) []netip.Addr {
	_, v4s := embedded(a)
	return append([]netip.Addr{a}, v4s...)
}

// matchAny returns the first prefix holding a or any IPv4 address a
// stands for.
func matchAny(ps []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	for _, v := range views(a) {
		for _, p := range ps {
			if p.Contains(v) {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

// matchAll says whether the allow list holds a itself, or else every IPv4
// address a might stand for: allowing 10.0.0.0/8 allows ::ffff:10.0.0.1,
// but not a NAT64 address one of whose readings is outside it.
func matchAll(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return false
	}
	in := func(v netip.Addr) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(v) })
	}
	if in(a) {
		return true
	}
	_, v4s := embedded(a)
	return len(v4s) > 0 && !slices.ContainsFunc(v4s, func(v netip.Addr) bool { return !in(v) })
}

// LogValue shows the policy in the startup log, saying what an empty list
// means.
func (p *Policy) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("none: everything allowed")
	}
	or := func(s, empty string) string {
		if s == "" {
			return empty
		}
		return s
	}
	exempt := make([]string, len(p.Exempt))
	for i, e := range p.Exempt {
		exempt[i] = e.String()
	}
	return slog.GroupValue(
		slog.String(RuleEgress, p.Mode.String()),
		slog.String(RuleAllowCIDRs, or(FormatPrefixes(p.Allow), "none")),
		slog.String(RuleDenyCIDRs, or(FormatPrefixes(p.Deny), "none")),
		slog.String(RuleAllowPorts, or(p.AllowPorts.String(), "all")),
		slog.String(RuleDenyPorts, or(p.DenyPorts.String(), "none")),
		slog.String(RuleBindCIDRs, or(FormatPrefixes(p.BindPrefixes), "any")),
		slog.String(RuleBindPorts, or(p.BindPorts.String(), "any")),
		slog.Any("exempt", exempt),
	)
}
