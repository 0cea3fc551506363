package sockets

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// Resolver turns host names into addresses. The default is Go's resolver;
// tests inject their own so that no lookup ever leaves the machine.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolve parses "host:port" (or "[v6]:port") for a socket of the given
// family and resolves host the way Python's getaddrinfo-based setipaddr
// does, with Python's exceptions for each way it can go wrong.
func resolve(ctx context.Context, r Resolver, family int, op, addr string) (unix.Sockaddr, *Error) {
	if addr == "" {
		return nil, errType("%s(): an address is required, as host:port", op)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		if ae, ok := err.(*net.AddrError); ok && ae.Err == "missing port in address" {
			return nil, errType("%s(): %s address must be host:port, not %q", op, afName(family), addr)
		}
		return nil, errValue("%s(): bad address %q: %v", op, addr, unwrapAddrErr(err))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, errType("%s(): port must be a number, not %q", op, portStr)
	}
	if port < 0 || port > 65535 {
		return nil, &Error{Exc: "OverflowError", Msg: op + "(): port must be 0-65535."}
	}
	ip, gerr := lookup(ctx, r, family, host)
	if gerr != nil {
		return nil, gerr
	}
	return sockaddr(ip, port), nil
}

func unwrapAddrErr(err error) string {
	if ae, ok := err.(*net.AddrError); ok {
		return ae.Err
	}
	return err.Error()
}

func afName(family int) string {
	switch family {
	case unix.AF_INET6:
		return "AF_INET6"
	case unix.AF_UNIX:
		return "AF_UNIX"
	}
	return "AF_INET"
}

// lookup resolves host for family. "" is the wildcard address, as in
// Python; a literal of the other family is gaierror -9, as getaddrinfo
// with a fixed family reports it.
func lookup(ctx context.Context, r Resolver, family int, host string) (netip.Addr, *Error) {
	if host == "" {
		if family == unix.AF_INET6 {
			return netip.IPv6Unspecified(), nil
		}
		return netip.IPv4Unspecified(), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if (family == unix.AF_INET) != ip.Is4() {
			return netip.Addr{}, gaiError(-9, "Address family for hostname not supported")
		}
		return ip, nil
	}
	network := "ip4"
	if family == unix.AF_INET6 {
		network = "ip6"
	}
	ips, err := r.LookupNetIP(ctx, network, host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, gaiError(-2, "Name or service not known")
	}
	ip := ips[0]
	if family == unix.AF_INET {
		ip = ip.Unmap()
	}
	return ip, nil
}

func sockaddr(ip netip.Addr, port int) unix.Sockaddr {
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	sa := &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		}
	}
	return sa
}
