package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeConn is a connection from a given address, for clientKey.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		remote string
		key    string // "" for not counted apart
	}{
		{"192.0.2.7:5000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7/32"}, // one client, however it is written
		{"[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:5000", "2001:db8:1:2::/64"}, // one site's /64
		{"127.0.0.1:5000", ""},
		{"127.9.9.9:5000", ""},
		{"[::1]:5000", ""},
		{"[::ffff:127.0.0.1]:5000", ""},
		{"10.2.0.5:5000", ""}, // a trusted proxy
		{"10.3.0.5:5000", "10.3.0.5/32"},
	} {
		proxies := []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}
		key, counted := clientKey(fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tc.remote))}, proxies)
		got := ""
		if counted {
			got = key.String()
		}
		if got != tc.key {
			t.Errorf("%s is counted as %q, want %q", tc.remote, got, tc.key)
		}
	}
}

// TestRunRaisesFileLimit: started with a soft limit on descriptors below
// the hard one, sockplay raises it to the hard one, and says so.
func TestRunRaisesFileLimit(t *testing.T) {
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &orig) })
	low := orig
	low.Cur = min(orig.Max/2, 1024)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, nil, []string{"-addr", "127.0.0.1:0", "-labs=false"}, pw, &logs, env(nil))
		pw.Close()
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatalf("no start line: %v (run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != orig.Max {
		t.Errorf("the soft limit on descriptors is %d once sockplay runs, want the hard limit %d", now.Cur, orig.Max)
	}
	want := "soft=" + strconv.FormatUint(orig.Max, 10) + " hard=" + strconv.FormatUint(orig.Max, 10) + " raised_from=" + strconv.FormatUint(low.Cur, 10)
	if line := logLine(logs.String(), "descriptor limit"); !strings.Contains(line, want) {
		t.Errorf("the descriptor limit's log line %q lacks %q", line, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// logLine is the last line of logs whose message is msg.
func logLine(logs, msg string) string {
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="`+msg+`"`) {
			line = l
		}
	}
	return line
}

// countingMeter counts refusals by limit.
type countingMeter map[string]int

func (m countingMeter) Refused(limit string) { m[limit]++ }

// TestConnRefusalsCounted: a connection closed at once is counted by the
// limit's flag; a trusted proxy's connections are no one client's.
func TestConnRefusalsCounted(t *testing.T) {
	meter := countingMeter{}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}
	l := newLimitListener(nil, ConnLimits{MaxConnsPerClient: 1}, 0, proxies, meter, slog.New(slog.DiscardHandler))
	from := func(addr string) net.Conn {
		return fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))}
	}
	if l.admit(from("192.0.2.7:1")) == nil || l.admit(from("192.0.2.7:2")) != nil {
		t.Fatal("-max-conns-per-client 1 let a second connection of one client in, or not the first")
	}
	for i := range 3 {
		if l.admit(from("10.2.0.5:"+strconv.Itoa(i+1))) == nil {
			t.Fatalf("a trusted proxy's connection %d was refused", i+1)
		}
	}
	if meter["max-conns-per-client"] != 1 || len(meter) != 1 || l.Open() != 4 {
		t.Errorf("refusals %v, open %d; want one by max-conns-per-client, 4 open", meter, l.Open())
	}
}
