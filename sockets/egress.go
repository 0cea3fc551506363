package sockets

import (
	"errors"
	"net/netip"

	"github.com/sockplay/sockplay/sockets/policy"
	"golang.org/x/sys/unix"
)

// checkPolicy checks the address a connect, sendto or bind on k is about
// to hand the kernel. It runs on the resolved sockaddr itself, the one the
// syscall then uses, so a name that resolved to a public address a moment
// ago and resolves to a private one now (DNS rebinding) is judged on what
// it is now. A refusal is PermissionError (EACCES) naming the rule.
func (s *Session) checkPolicy(k *Socket, op string, sa unix.Sockaddr) *Error {
	p := s.cfg.Policy
	if p == nil {
		return nil
	}
	ap, ok := addrPortOf(sa)
	if !ok {
		return nil // AF_UNIX: confined to the session's directory instead
	}
	var err error
	if op == "bind" {
		err = p.CheckBind(ap)
	} else {
		proto := "tcp"
		if k.stype == unix.SOCK_DGRAM {
			proto = "udp"
		}
		err = p.CheckDial(proto, ap)
	}
	var r *policy.Refusal
	if !errors.As(err, &r) {
		return nil
	}
	if op != "bind" && r.Exemptible() && s.ownsAddr(k.stype, ap) {
		return nil
	}
	s.logger.Info("policy refused", "op", op, "sock", k.id, "addr", ap, "rule", r.Rule)
	e := errnoError(unix.EACCES)
	e.Msg = "Permission denied: " + r.Error()
	return e
}

func addrPortOf(sa unix.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}

// ownsAddr says whether ap is this session's own: one of its sockets of
// the same type listens there, or is bound there (a datagram socket), or
// was, before it was closed. A student's own echo server on loopback, and
// the "dead" port a lesson bound and closed to show ECONNREFUSED, must
// stay reachable where the mode refuses loopback, or no lesson works on
// an exposed server.
//
// This trusts the kernel to have given the port to this session alone,
// which it does not for a socket with SO_REUSEPORT (or, for UDP,
// SO_REUSEADDR): those may share it with another process, so they do not
// count. A closed socket's port may
// be taken later by something else on the host; it would have to be
// bound by chance to exactly that port, and only this session can aim at
// it, which is an accepted risk.
func (s *Session) ownsAddr(stype int, ap netip.AddrPort) bool {
	if ap.Port() == 0 {
		return false
	}
	target := ap.Addr().WithZone("").Unmap()
	s.mu.Lock()
	socks := make([]*Socket, 0, len(s.sockets))
	for _, k := range s.sockets {
		socks = append(socks, k)
	}
	s.mu.Unlock()
	for _, k := range socks {
		if k.stype != stype || k.family == unix.AF_UNIX {
			continue
		}
		k.mu.Lock()
		local, state := k.local, k.state
		on := func(name string) bool { v, ok := k.opts[name].(int); return ok && v != 0 }
		shared := on("SO_REUSEPORT") || (stype == unix.SOCK_DGRAM && on("SO_REUSEADDR"))
		v6only := on("IPV6_V6ONLY")
		k.mu.Unlock()
		if shared {
			continue
		}
		if stype == unix.SOCK_STREAM && state != "listening" && state != "closed" {
			continue
		}
		have, err := netip.ParseAddrPort(local)
		if err != nil || have.Port() != ap.Port() {
			continue
		}
		addr := have.Addr().WithZone("").Unmap()
		if addr == target {
			return true
		}
		// A wildcard holds the port on this host's loopback only for
		// its own family: 0.0.0.0 for IPv4; :: for IPv6, and for IPv4
		// too unless IPV6_V6ONLY. Otherwise another process may hold
		// the same port in the other family, and this socket would
		// vouch for it.
		here := target.IsLoopback() || target.IsUnspecified()
		switch {
		case !addr.IsUnspecified() || !here:
		case addr.Is4() && target.Is4(), addr.Is6() && target.Is6(), addr.Is6() && target.Is4() && !v6only:
			return true
		}
	}
	return false
}

// checkImplicitBind checks listen() on a socket that was never bound: the
// kernel then binds it to the wildcard address (every interface) on a port
// of its choosing, which the listener policy must judge as it would an
// explicit bind, or "listen without bind" would get round -bind-cidrs.
func (s *Session) checkImplicitBind(k *Socket) *Error {
	// Only a stream socket listens: on a datagram one listen fails by
	// itself (EOPNOTSUPP), binding nothing.
	if s.cfg.Policy == nil || k.family == unix.AF_UNIX || k.stype != unix.SOCK_STREAM {
		return nil
	}
	var sa unix.Sockaddr
	if err := k.control(func(fd int) error {
		var err error
		sa, err = unix.Getsockname(fd)
		return err
	}); err != nil {
		return nil // listen itself will report what is wrong with the socket
	}
	ap, ok := addrPortOf(sa)
	if !ok || ap.Port() != 0 {
		return nil // bound already, and judged then
	}
	e := s.checkPolicy(k, "bind", sa)
	if e != nil {
		e.Msg += " (listen() on an unbound socket binds it to " + ap.Addr().String() + ", every interface; bind() it to an allowed address first)"
	}
	return e
}
