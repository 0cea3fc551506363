package sockets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets/policy"
)

// sockaddrFor parses addr for socket k: host:port for inet and inet6, a
// path inside the session's directory for unix.
func (s *Session) sockaddrFor(ctx context.Context, k *Socket, op, addr string) (unix.Sockaddr, *Error) {
	if k.family == unix.AF_UNIX {
		p, err := s.unixPath(op, addr)
		if err != nil {
			return nil, err
		}
		return &unix.SockaddrUnix{Name: p}, nil
	}
	return resolve(ctx, s.resolver(), k.family, op, addr)
}

// resolver is the session's resolver: under an egress policy, a name
// answers only the addresses the session may reach (see mayAnswer), for
// connect and sendto as for getaddrinfo, so that neither an answer nor a
// refusal naming the address it resolved to maps the network.
func (s *Session) resolver() Resolver {
	if s.cfg.Policy == nil {
		return s.cfg.Resolver
	}
	return answering{s}
}

type answering struct{ s *Session }

func (a answering) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	ips, err := a.s.cfg.Resolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	kept := slices.DeleteFunc(slices.Clone(ips), func(ip netip.Addr) bool { return !a.s.mayAnswer(ip.Unmap()) })
	if n := len(ips) - len(kept); n > 0 {
		a.s.logger.Info("policy left out answers", "host", host, "left_out", n, "kept", len(kept))
	}
	if len(kept) == 0 {
		// As a name that does not exist: "no address" (EAI_NODATA)
		// would tell that it does, which is a piece of the map.
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return kept, nil
}

// AF_UNIX names live in the session's own directory D, removed with the
// session: a relative name ("demo.sock") is a file of D/cwd, as for a
// program that runs there; an absolute one ("/tmp/foo") is the same path
// under D/root, so that a program's own paths work unchanged and still
// stay inside D. A socket's name is shown as the program gave it.
const (
	unixCwd  = "cwd"
	unixRoot = "root"
)

// unixPath maps an AF_UNIX name into the session's directory. A relative
// name that climbs out of it ("../x") is refused, and so is the abstract
// namespace, which the host shares. For bind, the directories an absolute
// path names are made, as they would be there on a machine where the
// program runs (/tmp, say).
func (s *Session) unixPath(op, name string) (string, *Error) {
	if name == "" {
		return "", errType("%s(): an AF_UNIX address is a path, such as \"demo.sock\"", op)
	}
	if name[0] == 0 || name[0] == '@' {
		return "", &Error{Exc: "PermissionError", Msg: fmt.Sprintf("%s(): abstract AF_UNIX names are not allowed here; use a file name such as \"demo.sock\"", op)}
	}
	// The kernel reads the path up to its first NUL (as Python passes it):
	// that part is what must stay inside the directory.
	visible, _, _ := strings.Cut(name, "\x00")
	under := unixCwd
	if filepath.IsAbs(visible) {
		under, visible = unixRoot, strings.TrimPrefix(filepath.Clean(visible), "/")
		if visible == "" {
			return "", errnoError(unix.EISDIR)
		}
	} else if !filepath.IsLocal(visible) {
		return "", &Error{Exc: "PermissionError", Msg: fmt.Sprintf("%s(): %q is outside this session's directory: AF_UNIX paths are names inside it, such as \"demo.sock\"", op, name)}
	}
	dir, err := s.unixDir()
	if err != nil {
		return "", asError(err)
	}
	full := filepath.Join(dir, under, visible)
	if len(full) >= len(unix.RawSockaddrUnix{}.Path) {
		return "", &Error{Exc: "OSError", Msg: fmt.Sprintf("AF_UNIX path too long (in this session's directory it takes %d bytes of the %d the kernel has room for)", len(full), len(unix.RawSockaddrUnix{}.Path)-1)}
	}
	if op == "bind" && under == unixRoot {
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return "", asError(err)
		}
	}
	return full, nil
}

func checkUnlink(c *call) error {
	if c.op.Args.Addr == "" {
		return errType("unlink() missing required argument 'path'")
	}
	return nil
}

// unlinkOp is os.unlink of an AF_UNIX path, in the session's directory
// where the session's sockets have their files: a server that removes its
// old socket file before it binds (as the tutorials' do) runs unchanged.
func unlinkOp(c *call) (*Result, error) {
	name := c.op.Args.Addr
	if strings.IndexByte(name, 0) >= 0 {
		return nil, errValue("embedded null byte")
	}
	notFound := func() error {
		e := errnoError(unix.ENOENT)
		e.Msg += ": " + pyRepr(name) // os.unlink's message names the file
		return e
	}
	if !c.s.hasUnixDir() {
		return nil, notFound() // nothing was ever made there
	}
	p, perr := c.s.unixPath("unlink", name)
	if perr != nil {
		return nil, perr
	}
	if err := unix.Unlink(p); err != nil {
		if err == unix.ENOENT {
			return nil, notFound()
		}
		e := errnoError(err.(unix.Errno))
		e.Msg += ": " + pyRepr(name)
		return nil, e
	}
	return &Result{}, nil
}

// unixName is how a socket's AF_UNIX path reads: as the program gave it.
func unixName(dir, path string) (string, bool) {
	if dir == "" {
		return "", false
	}
	if rel, ok := strings.CutPrefix(path, filepath.Join(dir, unixCwd)+"/"); ok {
		return rel, true
	}
	if rel, ok := strings.CutPrefix(path, filepath.Join(dir, unixRoot)+"/"); ok {
		return "/" + rel, true
	}
	return "", false
}

// hasUnixDir reports whether the session has made its AF_UNIX directory.
func (s *Session) hasUnixDir() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir != ""
}

// unixDir is the session's directory for AF_UNIX sockets, made on first
// use and removed with the session.
func (s *Session) unixDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return s.dir, nil
	}
	if s.closed {
		return "", errSessionEnded()
	}
	// Its name says nothing of the session's id: the events that say
	// where a socket's file is reach watchers, who must not learn it.
	dir, err := os.MkdirTemp(s.cfg.UnixDir, "sockplay-")
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, unixCwd), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	s.dir = dir
	return dir, nil
}

// getaddrinfo lists every address of host (and port) with each socket
// type, as glibc's getaddrinfo does when type is not given.
func (s *Session) getaddrinfo(ctx context.Context, a Args) (*Result, error) {
	if a.Host == "" {
		return nil, errType("getaddrinfo() missing required argument 'host'")
	}
	port, perr := portArg(a.Port)
	if perr != nil {
		return nil, perr
	}
	family, ferr := familyArg(a.Family, true)
	if ferr != nil {
		return nil, ferr
	}
	types := []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_RAW}
	if a.Type != "" {
		t, terr := typeArg(a.Type)
		if terr != nil {
			return nil, terr
		}
		types = []int{t}
	}
	ips, gerr := s.lookupAll(ctx, family, a.Host)
	if gerr != nil {
		return nil, gerr
	}
	res := &Result{}
	for _, ip := range ips {
		fam := unix.AF_INET
		if !ip.Is4() {
			fam = unix.AF_INET6
		}
		for _, t := range types {
			proto := map[int]int{unix.SOCK_STREAM: unix.IPPROTO_TCP, unix.SOCK_DGRAM: unix.IPPROTO_UDP}[t]
			name := map[int]string{unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram", unix.SOCK_RAW: "raw"}[t]
			res.AddrInfo = append(res.AddrInfo, AddrInfo{Family: familyNames[fam], Type: name, Proto: proto,
				Addr: netip.AddrPortFrom(ip, uint16(port)).String()})
		}
	}
	return res, nil
}

// gethostbyname is the first IPv4 address of host, as a string.
func (s *Session) gethostbyname(ctx context.Context, a Args) (*Result, error) {
	if a.Host == "" {
		return nil, errType("gethostbyname() missing required argument 'hostname'")
	}
	ips, err := s.lookupAll(ctx, unix.AF_INET, a.Host)
	if err != nil {
		return nil, err
	}
	return &Result{Addr: ips[0].String()}, nil
}

// lookupAll resolves host for family (0: both), literals without a lookup.
func (s *Session) lookupAll(ctx context.Context, family int, host string) ([]netip.Addr, *Error) {
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		ip = ip.Unmap()
		if family != 0 && (family == unix.AF_INET) != ip.Is4() {
			return nil, gaiError(-9, "Address family for hostname not supported")
		}
		return []netip.Addr{ip}, nil
	}
	network := map[int]string{0: "ip", unix.AF_INET: "ip4", unix.AF_INET6: "ip6"}[family]
	ips, err := s.resolver().LookupNetIP(ctx, network, host)
	if err != nil || len(ips) == 0 {
		var dns *net.DNSError
		if errors.As(err, &dns) && dns.IsTemporary {
			return nil, gaiError(-3, "Temporary failure in name resolution")
		}
		return nil, gaiError(-2, "Name or service not known")
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}

// mayAnswer says whether a lookup may answer ip: whether the egress
// policy lets the session reach that address on some port. A name's
// answers are the only way to learn where the network's internal hosts
// are (a literal tells nothing the caller did not know, so it is always
// its own answer). Loopback and the unspecified address stay where the
// mode refuses them: they name this host only, where the labs and the
// session's own servers are, and connect judges each port and names the
// rule.
func (s *Session) mayAnswer(ip netip.Addr) bool {
	var r *policy.Refusal
	if !errors.As(s.cfg.Policy.CheckAddr(ip), &r) {
		return true
	}
	// The address itself, not a form that stands for one (a NAT64
	// address of 127.0.0.1 is a gateway's).
	return r.Rule == policy.RuleEgress && (ip.IsLoopback() || ip.IsUnspecified())
}

// portArg reads getaddrinfo's port: absent or null (0), a number, or a
// service name from /etc/services.
func portArg(raw json.RawMessage) (int, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		if n < 0 || n > 65535 {
			return 0, &Error{Exc: "OverflowError", Msg: "getaddrinfo(): port must be 0-65535."}
		}
		return n, nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return 0, errType("getaddrinfo() port must be an int, a str or None, not %s", raw)
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n <= 65535 {
		return n, nil
	}
	n, err := net.LookupPort("tcp", name)
	if err != nil {
		return 0, gaiError(-8, "Servname not supported for ai_socktype")
	}
	return n, nil
}

// typeArg reads a socket type name; "" is SOCK_STREAM.
func typeArg(t string) (int, *Error) {
	switch t {
	case "", "stream", "SOCK_STREAM":
		return unix.SOCK_STREAM, nil
	case "dgram", "SOCK_DGRAM":
		return unix.SOCK_DGRAM, nil
	}
	return 0, errValue("type must be stream or dgram, not %q", t)
}

// familyArg reads a family name; with any=true, "" means AF_UNSPEC.
func familyArg(f string, any bool) (int, *Error) {
	switch f {
	case "":
		if any {
			return 0, nil
		}
		return unix.AF_INET, nil
	case "inet", "AF_INET":
		return unix.AF_INET, nil
	case "inet6", "AF_INET6":
		return unix.AF_INET6, nil
	case "unix", "AF_UNIX":
		if !any {
			return unix.AF_UNIX, nil
		}
	}
	return 0, errValue("family must be inet, inet6 or unix, not %q", f)
}

func getaddrinfoOp(c *call) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return c.s.getaddrinfo(ctx, c.op.Args)
}

func gethostbynameOp(c *call) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return c.s.gethostbyname(ctx, c.op.Args)
}
