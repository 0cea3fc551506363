package sockets

import (
	"cmp"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/sockplay/sockplay/sockets/policy"
	"golang.org/x/sys/unix"
)

// checkPolicy checks the address a connect, sendto or bind on k is about
// to hand the kernel. It runs on the resolved sockaddr itself, the one the
// syscall then uses, so a name that resolved to a public address a moment
// ago and resolves to a private one now (DNS rebinding) is judged on what
// it is now. A refusal is PermissionError (EACCES) naming the rule.
func (s *Session) checkPolicy(k *Socket, op string, sa unix.Sockaddr) *Error {
	_, e := s.checkDest(k, op, sa)
	return e
}

// checkDest is checkPolicy, and viaOwn: it passed only because sa is
// the session's own (see ownsAddr).
func (s *Session) checkDest(k *Socket, op string, sa unix.Sockaddr) (viaOwn bool, e *Error) {
	p := s.cfg.Policy
	if p == nil {
		return false, nil
	}
	ap, ok := addrPortOf(sa)
	if !ok {
		return false, nil // AF_UNIX: confined to the session's directory instead
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
		return false, nil
	}
	note := ""
	if op != "bind" && r.Exemptible() {
		var own bool
		scoped := netip.AddrPortFrom(ap.Addr().WithZone(linkZone(sa)), ap.Port())
		if own, note = s.ownsAddr(k.stype, scoped); own {
			return true, nil
		}
	}
	s.logger.Info("policy refused", "op", op, "sock", k.id, "addr", ap, "rule", r.Rule)
	s.refused(r.Rule)
	e = errnoError(unix.EACCES)
	e.Msg = "Permission denied: " + r.Error()
	if note != "" {
		e.Msg += " (" + note + ")"
	}
	return false, e
}

// checkPeer checks where a send on a connected datagram socket goes. The
// connect was judged once, but each datagram is delivered anew to
// whatever holds the peer's port now: a port that was the session's own
// at the connect may since be another program's (its owner closed, or
// turned SO_REUSEADDR on and let one in), so the peer is judged again
// before each send, as a sendto's address is. A stream's peer is fixed
// by its handshake.
func (s *Session) checkPeer(k *Socket) *Error {
	if s.cfg.Policy == nil || k.stype != unix.SOCK_DGRAM || k.family == unix.AF_UNIX {
		return nil
	}
	var sa unix.Sockaddr
	if err := k.control(func(fd int) error {
		var err error
		sa, err = unix.Getpeername(fd)
		return err
	}); err != nil {
		return nil // not connected: the send itself says so
	}
	return s.checkPolicy(k, "send", sa)
}

// linkZone is the interface a link-local IPv6 sockaddr names, as a
// zone; "" for any other address, whose scope the kernel ignores.
func linkZone(sa unix.Sockaddr) string {
	a, ok := sa.(*unix.SockaddrInet6)
	if !ok || a.ZoneId == 0 || !netip.AddrFrom16(a.Addr).IsLinkLocalUnicast() {
		return ""
	}
	return strconv.Itoa(int(a.ZoneId))
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

// ownsAddr says whether ap is this session's own: one of its open
// sockets of the same type holds that port alone and takes what is sent
// there. A student's own echo server on loopback must stay reachable
// where the mode refuses loopback, or no lesson works on an exposed
// server. If not, note says why a socket of the session that had that
// port does not count, for the refusal to tell.
//
// It asks the kernel, not the socket's record, what holds now: the
// address and port (getsockname) and, for TCP, that it listens
// (SO_ACCEPTCONN: a listener shut down keeps its port but takes no
// connections, and a program with SO_REUSEADDR may then listen there).
// A closed socket holds nothing: its port may be anyone's now, the
// classic "dead" port (bind, close, connect) included. What the kernel
// cannot tell is whether it let another socket share the port:
// SO_REUSEPORT, or for UDP SO_REUSEADDR, on at the bind or at any time
// since does that, as mayShare records, and such a socket does not
// count whatever its options say now. A TCP listener with SO_REUSEADDR counts: no other
// socket can listen on its port while it does.
//
// The answer holds for the moment it is given: a socket closed in the
// microseconds before the connect or sendto that asked is an accepted
// risk, since another program would have to take exactly that port in
// that instant.
func (s *Session) ownsAddr(stype int, ap netip.AddrPort) (own bool, note string) {
	if ap.Port() == 0 {
		return false, ""
	}
	// A link-local target keeps its interface (see linkZone): the same
	// address on another interface may be another program's.
	target := ap.Addr().Unmap()
	if !thisHost(target.WithZone("")) {
		// A multicast group or a broadcast address a socket is bound
		// to is no reason to send there: the datagram leaves the host.
		return false, ""
	}
	socks := s.socketList()
	slices.SortFunc(socks, func(a, b *Socket) int { return cmp.Compare(a.id, b.id) })
	for _, k := range socks {
		if k.stype != stype || k.family == unix.AF_UNIX {
			continue
		}
		k.mu.Lock()
		shared, last := k.mayShare, k.local
		k.mu.Unlock()
		h, open := k.held()
		if !open {
			if had, err := netip.ParseAddrPort(last); err == nil && covers(had.Addr(), false, target, ap.Port(), had.Port()) && note == "" {
				note = k.id + " had that port, but is closed: a closed socket's port is no longer the session's"
			}
			continue
		}
		if !covers(h.addr, h.v6only, target, ap.Port(), h.port) {
			continue
		}
		switch {
		case shared:
			if note == "" {
				note = k.id + " is bound there, but " + k.shareOption() + " was on at its bind or since, which lets other programs share its port"
			}
		case stype == unix.SOCK_STREAM && !h.listening:
			if note == "" {
				note = k.id + " is bound there, but does not listen"
			}
		default:
			return true, ""
		}
	}
	return false, note
}

// markOwnDial records that k's connect to ap was allowed only because
// the session's own listener holds ap (see ownsAddr).
func (k *Socket) markOwnDial(ap netip.AddrPort) {
	k.mu.Lock()
	k.ownDial, k.dialOff = ap, false
	k.mu.Unlock()
}

// callOffOwnDials calls off each connect of the session still waiting for
// its handshake whose only permission was the session's own listener,
// once that listener no longer holds the port alone (closed, shut down,
// or sharing it). A SYN the listener's full queue dropped is sent again
// for minutes, to whatever listens on the port by then: another program,
// once the session's listener has gone. Shutdown in SYN_SENT disconnects
// without sending anything more; a connect waiting on it fails with
// ECONNRESET.
func (s *Session) callOffOwnDials() {
	if s.cfg.Policy == nil {
		return
	}
	socks := s.socketList()
	for _, k := range socks {
		k.mu.Lock()
		ap := k.ownDial
		k.mu.Unlock()
		if !ap.IsValid() || k.stype != unix.SOCK_STREAM {
			continue
		}
		if own, _ := s.ownsAddr(unix.SOCK_STREAM, ap); own {
			continue
		}
		_ = k.control(func(fd int) error {
			info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
			if err == nil && info.State == unix.BPF_TCP_SYN_SENT {
				k.mu.Lock()
				k.dialOff = true
				k.mu.Unlock()
				return unix.Shutdown(fd, unix.SHUT_RDWR)
			}
			return err
		})
	}
}

// thisHost says whether a connection or datagram to a reaches this host
// only: loopback, the unspecified address, or an address of one of its
// interfaces.
func thisHost(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	if a.IsMulticast() {
		return false
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// covers says whether a socket with the local address addr and port
// takes what is sent to target on port. Link-local addresses carry their
// interface as a zone, and match only on the same one: a socket bound to
// fe80::1 on one interface does not hold the port of fe80::1 on another.
func covers(addr netip.Addr, v6only bool, target netip.Addr, port, have uint16) bool {
	if have != port {
		return false
	}
	addr = addr.Unmap()
	if addr == target {
		return true
	}
	// A wildcard holds the port on this host's loopback only for its
	// own family: 0.0.0.0 for IPv4; :: for IPv6, and for IPv4 too
	// unless IPV6_V6ONLY. Otherwise another process may hold the same
	// port in the other family, and this socket would vouch for it.
	here := target.IsLoopback() || target.IsUnspecified()
	switch {
	case !addr.IsUnspecified() || !here:
		return false
	case addr.Is4() && target.Is4(), addr.Is6() && target.Is6(), addr.Is6() && target.Is4() && !v6only:
		return true
	}
	return false
}

// sharesPort says whether opt, on, lets the kernel give k's port to
// other sockets too: SO_REUSEPORT (to the same user's), and on a UDP
// socket SO_REUSEADDR (to anyone's that sets it). A TCP socket's
// SO_REUSEADDR shares no listener's port.
func (k *Socket) sharesPort(opt sockopt) bool {
	if opt.level != unix.SOL_SOCKET {
		return false
	}
	return opt.name == unix.SO_REUSEPORT || (opt.name == unix.SO_REUSEADDR && k.stype == unix.SOCK_DGRAM)
}

// shareOption names the options sharesPort counts, for a refusal.
func (k *Socket) shareOption() string {
	if k.stype == unix.SOCK_DGRAM {
		return "SO_REUSEADDR or SO_REUSEPORT"
	}
	return "SO_REUSEPORT"
}

// setSharing runs set, a setsockopt of an option that sharesPort counts,
// keeping mayShare true whenever the kernel may share the port: set true
// before the option goes on; cleared after it goes off only if the
// socket has no port yet and neither option is on, for then the port
// the kernel gives later is its alone.
func (k *Socket) setSharing(on bool, set func() error) error {
	k.shareMu.Lock()
	defer k.shareMu.Unlock()
	if on {
		k.mu.Lock()
		k.mayShare = true
		k.mu.Unlock()
		return set()
	}
	if err := set(); err != nil {
		return err
	}
	alone := false
	_ = k.control(func(fd int) error {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		if ap, _ := addrPortOf(sa); ap.Port() != 0 {
			return nil
		}
		for _, name := range []int{unix.SO_REUSEPORT, unix.SO_REUSEADDR} {
			if !k.sharesPort(sockopt{level: unix.SOL_SOCKET, name: name}) {
				continue
			}
			if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, name); err != nil || v != 0 {
				return nil
			}
		}
		alone = true
		return nil
	})
	if alone {
		k.mu.Lock()
		k.mayShare = false
		k.mu.Unlock()
	}
	return nil
}

// portHold is what the kernel says an open socket holds.
type portHold struct {
	addr      netip.Addr
	port      uint16
	listening bool
	v6only    bool
}

// held asks the kernel what k holds now; open is false once k is closed.
func (k *Socket) held() (h portHold, open bool) {
	err := k.control(func(fd int) error {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		ap, _ := addrPortOf(sa)
		h.addr, h.port = ap.Addr().WithZone(linkZone(sa)), ap.Port()
		if k.stype == unix.SOCK_STREAM {
			v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
			h.listening = err == nil && v != 0
		}
		if k.family == unix.AF_INET6 {
			// Unknown is taken as v6-only, the narrower claim.
			v, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
			h.v6only = err != nil || v != 0
		}
		return nil
	})
	return h, err == nil
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
