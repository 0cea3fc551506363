package sockets

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fuzzFamilies maps the fuzzer's family byte onto the three families an
// address can be parsed for.
var fuzzFamilies = []int{unix.AF_INET, unix.AF_INET6, unix.AF_UNIX}

// fuzzNames is all the fuzzer's resolver knows; every other name is
// unknown, as it would be to a resolver with no network.
var fuzzNames = fakeResolver{
	"box.test":    {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")},
	"v4.test":     {netip.MustParseAddr("127.0.0.2")},
	"v6.test":     {netip.MustParseAddr("::1")},
	"mapped.test": {netip.MustParseAddr("::ffff:127.0.0.3")},
}

// askedResolver answers from fuzzNames and notes what it was asked, so the
// fuzzer can check that address literals never reach a resolver.
type askedResolver struct{ asked []string }

func (r *askedResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.asked = append(r.asked, host)
	return fuzzNames.LookupNetIP(ctx, network, host)
}

// pythonExceptions are the exceptions an address can fail with: the
// argument errors, socket.gaierror, and the OSError family.
var pythonExceptions = func() map[string]bool {
	m := map[string]bool{"TypeError": true, "ValueError": true, "OverflowError": true, "gaierror": true, "OSError": true}
	for _, exc := range pyExceptions {
		m[exc] = true
	}
	return m
}()

// FuzzResolve parses arbitrary addresses for each family: host:port and
// [v6]:port with resolve, AF_UNIX names with the session's confinement.
// It must never panic; errors must carry a Python exception and a message;
// an accepted inet address must round-trip through its printed form; an
// accepted AF_UNIX path must stay inside the session's directory as the
// kernel reads it (up to the first NUL), and abstract names are refused.
func FuzzResolve(f *testing.F) {
	m := NewManager(Config{Resolver: fuzzNames, UnixDir: f.TempDir()})
	f.Cleanup(m.Close)
	s, err := m.Create()
	if err != nil {
		f.Fatal(err)
	}
	dir, err := s.unixDir()
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range []string{
		"127.0.0.1:80", "[::1]:8080", ":0", "[::]:0", "[]:1", "0:0",
		"box.test:7", "v4.test:1", "v6.test:2", "mapped.test:3", "nowhere.test:4",
		"[fe80::1%lo]:80", "[fe80::1%1]:80", "[fe80::1%nosuchif]:80", "[fe80::1%-1]:80",
		"[::ffff:127.0.0.1]:5", "[127.0.0.1]:80", "127.0.0.1", "[::1]", "::1:80",
		"127.0.0.1:65535", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:http",
		"127.0.0.1:99999999999999999999", "1.2.3.4%eth0:1", "127.1:1", "[::1%]:1", "",
	} {
		for fam := range 2 {
			f.Add(uint8(fam), a)
		}
	}
	for _, name := range []string{
		"demo.sock", "a/b/c.sock", "a/../b.sock", ".", "./x", "", "../x", "a/../../x",
		"/etc/passwd", "@abstract", "\x00abstract", "x\x00y", strings.Repeat("n", 200),
	} {
		f.Add(uint8(2), name)
	}
	f.Fuzz(func(t *testing.T, famByte uint8, addr string) {
		family := fuzzFamilies[int(famByte)%len(fuzzFamilies)]
		if family == unix.AF_UNIX {
			checkUnixPath(t, s, dir, addr)
			return
		}
		r := &askedResolver{}
		sa, perr := resolve(context.Background(), r, family, "connect", addr)
		for _, h := range r.asked {
			if _, err := netip.ParseAddr(h); err == nil {
				t.Fatalf("%q: the literal %q was sent to the resolver", addr, h)
			}
		}
		if perr != nil {
			checkPythonError(t, addr, perr)
			return
		}
		checkRoundTrip(t, family, addr, sa)
	})
}

func checkPythonError(t *testing.T, addr string, e *Error) {
	t.Helper()
	if !pythonExceptions[e.Exc] {
		t.Fatalf("%q: exception %q is not one Python raises here (%s)", addr, e.Exc, e.Msg)
	}
	if e.Msg == "" {
		t.Fatalf("%q: %s with no message", addr, e.Exc)
	}
}

// checkRoundTrip: the sockaddr's printed form (as events show it) parses
// back to the same sockaddr, of the socket's own family, with the port
// that was asked for.
func checkRoundTrip(t *testing.T, family int, addr string, sa unix.Sockaddr) {
	t.Helper()
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q is accepted, but is not host:port: %v", addr, err)
	}
	want, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("%q is accepted with port %q: %v", addr, portStr, err)
	}
	var port int
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		if family != unix.AF_INET {
			t.Fatalf("%q: an AF_INET address for an AF_INET6 socket", addr)
		}
		port = a.Port
	case *unix.SockaddrInet6:
		if family != unix.AF_INET6 {
			t.Fatalf("%q: an AF_INET6 address for an AF_INET socket", addr)
		}
		port = a.Port
	default:
		t.Fatalf("%q: a %T for an inet socket", addr, sa)
	}
	if port != want {
		t.Fatalf("%q: port %d, asked for %d", addr, port, want)
	}
	printed := formatSockaddr(sa)
	back, perr := resolve(context.Background(), &askedResolver{}, family, "connect", printed)
	if perr != nil {
		t.Fatalf("%q was accepted as %s, which is refused: %v", addr, printed, perr)
	}
	if !reflect.DeepEqual(back, sa) {
		t.Fatalf("%q → %s → %#v, want %#v", addr, printed, back, sa)
	}
}

// checkUnixPath: a name is refused, or confined to dir as the kernel will
// read it; the kernel stops at the first NUL, so that is where the check
// stops too.
func checkUnixPath(t *testing.T, s *Session, dir, name string) {
	t.Helper()
	p, perr := s.unixPath("bind", name)
	abstract := name != "" && (name[0] == 0 || name[0] == '@')
	if perr != nil {
		checkPythonError(t, name, perr)
		if abstract && perr.Exc != "PermissionError" {
			t.Fatalf("%q: abstract name refused with %s, want PermissionError", name, perr.Exc)
		}
		return
	}
	if abstract {
		t.Fatalf("abstract name %q accepted as %q", name, p)
	}
	if len(p) >= len(unix.RawSockaddrUnix{}.Path) {
		t.Fatalf("%q: path of %d bytes does not fit sun_path", name, len(p))
	}
	kernel, _, _ := strings.Cut(p, "\x00")
	clean := filepath.Clean(kernel)
	if clean != dir && !strings.HasPrefix(clean, dir+string(filepath.Separator)) {
		t.Fatalf("%q is accepted as %q, which the kernel reads as %q: outside %s", name, p, clean, dir)
	}
}
