package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/web"
)

// ConnLimits bound the HTTP server's connections, so that a flood of
// them, authenticated or not, cannot take sockplay down: each limit
// holds only what a client sends quickly, and no client holds more than
// its share. Zero is no limit.
type ConnLimits struct {
	// HeaderTimeout is how long a request's line and headers may take to
	// arrive.
	HeaderTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request. A WebSocket, once upgraded, is no longer the HTTP
	// server's: neither timeout applies to it.
	IdleTimeout time.Duration
	// MaxConns is how many connections may be open at once, WebSockets
	// included. Past it a new one is closed at once, unless it is one of
	// the livenessReserve kept for /healthz.
	MaxConns int
	// MaxConnsPerClient is how many of them one client address (an
	// IPv6 client's /64) may have. Loopback clients are not counted
	// apart: a proxy on this host is every client at once.
	MaxConnsPerClient int
}

// DefaultConnLimits are the connection limits as sockplay runs when told
// nothing else; the server's flags take their defaults from here.
func DefaultConnLimits() ConnLimits {
	return ConnLimits{
		HeaderTimeout:     10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxConns:          4096,
		MaxConnsPerClient: 256,
	}
}

const (
	// livenessReserve is how many connections past MaxConns are let in
	// for /healthz alone (web.LivenessOnly), so that an orchestrator's
	// probe or an operator still gets an answer in a flood.
	livenessReserve = 16
	// reserveGrace is how long a connection in the reserve may take to
	// send its request: a flood that takes the reserve too gives it back
	// this often. (HeaderTimeout, when shorter, bounds it instead.)
	reserveGrace = time.Second
)

// limitListener counts the connections it has accepted that are still
// open, in all and per client, and closes at once those past the limits.
type limitListener struct {
	net.Listener
	lim   ConnLimits
	grace time.Duration
	// write bounds each write's progress (writeChunk bytes at most):
	// net/http has no such bound but WriteTimeout, which would also end
	// a slow but steady download and a WebSocket, and without one a
	// client that stops reading (its receive window shut) holds its
	// connection, one of MaxConns, for good.
	write time.Duration
	// proxies are -trusted-proxies: each is every client at once, and
	// counts apart from no one, as loopback does.
	proxies []netip.Prefix
	meter   refusals
	log     *slog.Logger

	mu      sync.Mutex
	open    int
	clients map[netip.Prefix]int
	// warned is, for each limit, how many connections it closed at once
	// since its last warning, and when that was: each is logged at most
	// once per warnEvery.
	warned map[string]*warning
}

type warning struct {
	refused int
	last    time.Time
}

// warnEvery spaces the warnings about connections refused: a flood must
// not become a flood of logs.
const warnEvery = 10 * time.Second

// refusals is told of each connection closed at once, by the limit's
// flag (the metrics).
type refusals interface{ Refused(limit string) }

func newLimitListener(ln net.Listener, lim ConnLimits, write time.Duration, proxies []netip.Prefix, meter refusals, log *slog.Logger) *limitListener {
	grace := reserveGrace
	if lim.HeaderTimeout > 0 && lim.HeaderTimeout < grace {
		grace = lim.HeaderTimeout
	}
	return &limitListener{Listener: ln, lim: lim, grace: grace, write: write, proxies: proxies, meter: meter, log: log,
		clients: map[netip.Prefix]int{}, warned: map[string]*warning{}}
}

// Open is how many of its connections are open now.
func (l *limitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept returns the next connection within the limits, closing those
// past them as they come.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
		c.Close()
	}
}

// clientKey is what c's client is counted under: its address, or an
// IPv6 client's /64 (one site's, whose addresses are many). A loopback
// client, or one of the trusted proxies, is not counted apart (ok
// false): a proxy is all its clients at once.
func clientKey(c net.Conn, proxies []netip.Prefix) (key netip.Prefix, ok bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Prefix{}, false
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() {
		return netip.Prefix{}, false
	}
	for _, p := range proxies {
		if p.Contains(a) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p, true
}

// admit counts c in, or returns nil for a connection past the limits.
func (l *limitListener) admit(c net.Conn) *limitedConn {
	key, counted := clientKey(c, l.proxies)
	l.mu.Lock()
	defer l.mu.Unlock()
	why := ""
	reserve := false
	switch {
	case counted && l.lim.MaxConnsPerClient > 0 && l.clients[key] >= l.lim.MaxConnsPerClient:
		why = "-max-conns-per-client"
	case l.lim.MaxConns > 0 && l.open >= l.lim.MaxConns+livenessReserve:
		why = "-max-conns"
	case l.lim.MaxConns > 0 && l.open >= l.lim.MaxConns:
		reserve = true
	}
	if why != "" {
		l.meter.Refused(why[1:])
		w := l.warned[why]
		if w == nil {
			w = &warning{}
			l.warned[why] = w
		}
		w.refused++
		if now := time.Now(); now.Sub(w.last) >= warnEvery {
			l.log.Warn("connections closed at once: past the limit", "limit", why, "refused", w.refused, "open", l.open, "client", c.RemoteAddr().String())
			w.refused, w.last = 0, now
		}
		return nil
	}
	l.open++
	if counted {
		l.clients[key]++
	}
	lc := &limitedConn{Conn: c, l: l, key: key, counted: counted}
	if reserve {
		lc.until = time.Now().Add(l.grace)
		_ = c.SetReadDeadline(lc.until)
	}
	return lc
}

func (l *limitListener) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if c.counted {
		if l.clients[c.key]--; l.clients[c.key] <= 0 {
			delete(l.clients, c.key)
		}
	}
}

// limitedConn is a connection counted by its limitListener until it is
// closed.
type limitedConn struct {
	net.Conn
	l       *limitListener
	key     netip.Prefix
	counted bool
	// until, for a connection in the liveness reserve, is when its
	// request must have come: no read deadline goes past it.
	until time.Time
	once  sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	if !c.until.IsZero() && (t.IsZero() || t.After(c.until)) {
		t = c.until
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// writeChunk is how much a client must take each write timeout.
const writeChunk = 64 << 10

// Write writes p in one call (a WebSocket batch is a megabyte: cut into
// chunks it was sixteen system calls and deadlines, which cost the bulk
// stream a third of its throughput), within the write timeout for each
// writeChunk of it.
func (c *limitedConn) Write(p []byte) (n int, err error) {
	if c.l.write <= 0 {
		return c.Conn.Write(p)
	}
	chunks := time.Duration(max(1, (len(p)+writeChunk-1)/writeChunk))
	_ = c.Conn.SetWriteDeadline(time.Now().Add(chunks * c.l.write))
	return c.Conn.Write(p)
}

// CloseWrite lets net/http half-close the connection as it would a bare
// TCP one, so that an answer before a close is not lost to a reset.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom lets files be sent as a bare TCP connection sends them
// (sendfile), through the connection's own ReadFrom, writeChunk at a
// time within the write timeout as Write.
func (c *limitedConn) ReadFrom(r io.Reader) (n int64, err error) {
	if c.l.write <= 0 {
		return io.Copy(c.Conn, r)
	}
	for {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.l.write))
		m, err := io.Copy(c.Conn, io.LimitReader(r, writeChunk))
		n += m
		if err != nil || m < writeChunk {
			return n, err
		}
	}
}

// connContext marks a connection in the liveness reserve, for the web
// layer to answer /healthz alone on it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok && !lc.until.IsZero() {
		return web.LivenessOnly(ctx)
	}
	return ctx
}

// raiseFileLimit raises the soft limit on open descriptors to the hard
// one: every connection, and every session's socket, is one, and a
// server that runs out serves no one. It returns the limit it leaves,
// and the one it found.
func raiseFileLimit() (now, was unix.Rlimit, err error) {
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &was); err != nil {
		return was, was, err
	}
	now = was
	if now.Cur < now.Max {
		now.Cur = now.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &now); err != nil {
			return was, was, err
		}
	}
	return now, was, nil
}
