// Package labs runs sockplay's built-in lab servers: small, real servers on
// loopback that give a playground session something to talk to with
// nothing else installed. Each one makes one lesson of socket programming
// visible:
//
//	offset  lab         proto  demonstrates
//	0       echo        tcp    the simplest server: bytes come back as sent
//	0       echo        udp    datagrams: one sendto, one recvfrom, same port
//	1       drip        tcp    one write on one side is many reads on the other
//	2       upper       udp    a request/reply protocol over datagrams
//	3       hello       tcp    the server sees your address; EOF ends a reply
//	4       fragmenter  tcp    random write sizes and pauses: recv until done
//	5       chat        tcp    a multi-client server: lines fan out to others
//	6       daytime     tcp    RFC 867: one line, then the server closes
//	7       discard     tcp    RFC 863: sends succeed though nothing replies
//	8       sink        tcp    nobody reads: the window fills and send blocks
//	9       http        tcp    HTTP/1.0 by hand: request line, headers, body
//	10      file        tcp    a transfer is complete only at EOF; check SHA-256
//	11      backlog     tcp    listen(1) and no accept: connects stay pending
//
// A lab listens on Config.Host at BasePort+offset; the two echo labs share
// a port number (TCP and UDP ports are separate name spaces). A port that
// is taken, or a BasePort of 0, gives the lab a free port instead, so a
// second sockplay on the machine still starts; Labs reports the real
// addresses.
//
// The labs are servers for sessions to talk to over real sockets, like any
// other server: the engine (sockets/) does not import this package, and
// this package knows nothing of the engine. The server starts them and
// tells the engine their addresses only as an egress policy exemption.
package labs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
)

// Lab describes one running lab server, as GET /api/labs lists it.
type Lab struct {
	Name        string `json:"name"`
	Proto       string `json:"proto"`
	Addr        string `json:"addr"`
	Description string `json:"description"`
	// Size and SHA256 describe what the file lab sends, so that a
	// receiver can check it got every byte.
	Size   int    `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Config says where the labs listen: Host, and the first of consecutive
// ports (a taken port falls back to a free one). Zero values of the lab
// settings mean their defaults.
type Config struct {
	Host     string
	BasePort int
	Logger   *slog.Logger
	// DripPiece and DripPause shape the drip lab.
	DripPiece int
	DripPause time.Duration
	// Seed drives the fragmenter: every connection draws its write sizes
	// and pauses from a new PCG source seeded with Seed (see Fragments), so
	// a given seed always splits the message the same way. Zero is a seed
	// like any other.
	Seed int64
	// FragmenterMaxPiece and FragmenterMaxPause bound the fragmenter's
	// writes (1..max bytes) and the pauses between them (0..max).
	FragmenterMaxPiece int
	FragmenterMaxPause time.Duration
	// FileSize is how many bytes the file lab sends (see FileContent).
	FileSize int
	// HTTPReadTimeout bounds how long the http lab waits for a request
	// head, so a silent client cannot hold a connection forever; long
	// enough for a person who types a request by hand and talks to a
	// class meanwhile (five minutes, as Apache's Timeout).
	HTTPReadTimeout time.Duration
	// BacklogQuiet is how long the backlog lab's accept queue may stay
	// full and unchanged before the lab resets it for the next person.
	BacklogQuiet time.Duration
	// Admit, when set, is asked for each connection a lab accepts, which
	// it closes at once when told no, and release is called once it is
	// closed: the labs run in the server's process, and their side of a
	// session's connection is a descriptor of that process as the
	// session's is, to count against the same budget.
	Admit func() (release func(), ok bool)
}

// Defaults for the zero values of Config.
const (
	DefaultDripPiece          = 4
	DefaultDripPause          = 80 * time.Millisecond
	DefaultFragmenterMaxPiece = 16
	DefaultFragmenterMaxPause = 60 * time.Millisecond
	DefaultFileSize           = 256 << 10
	DefaultHTTPReadTimeout    = 5 * time.Minute
	DefaultBacklogQuiet       = 30 * time.Second
)

// Greeting is what the drip lab sends first, a few bytes at a time.
const Greeting = "Hello from the drip lab! This line arrives a few bytes at a time.\n"

// Server owns the lab listeners and every connection they accepted.
type Server struct {
	log     *slog.Logger
	cfg     Config
	labs    []Lab
	closers []io.Closer
	file    []byte
	chat    chatRoom
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	stop   chan struct{}
}

// spec is one lab before it listens. A TCP lab has serve (one call per
// accepted connection) unless it never accepts; a UDP lab has answer (the
// reply to one datagram).
type spec struct {
	name, proto, desc string
	offset            int
	serve             func(c net.Conn)
	answer            func(b []byte) []byte
	neverAccept       bool
	size              int
	sha256            string
}

// Start listens for every lab and serves them until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DripPiece <= 0 {
		cfg.DripPiece = DefaultDripPiece
	}
	if cfg.DripPause <= 0 {
		cfg.DripPause = DefaultDripPause
	}
	if cfg.FragmenterMaxPiece <= 0 {
		cfg.FragmenterMaxPiece = DefaultFragmenterMaxPiece
	}
	if cfg.FragmenterMaxPause <= 0 {
		cfg.FragmenterMaxPause = DefaultFragmenterMaxPause
	}
	if cfg.FileSize <= 0 {
		cfg.FileSize = DefaultFileSize
	}
	if cfg.BacklogQuiet <= 0 {
		cfg.BacklogQuiet = DefaultBacklogQuiet
	}
	if cfg.HTTPReadTimeout <= 0 {
		cfg.HTTPReadTimeout = DefaultHTTPReadTimeout
	}
	s := &Server{
		log:   cfg.Logger,
		cfg:   cfg,
		file:  FileContent(cfg.FileSize),
		chat:  chatRoom{members: map[*chatMember]struct{}{}},
		conns: map[net.Conn]struct{}{},
		stop:  make(chan struct{}),
	}
	// ports maps an offset to the port its first lab got, so that a second
	// lab on the same offset (UDP echo) takes the same number.
	ports := map[int]int{}
	for _, sp := range s.specs() {
		want := 0
		if cfg.BasePort > 0 {
			want = cfg.BasePort + sp.offset
		}
		if p, ok := ports[sp.offset]; ok {
			want = p
		}
		addr, err := s.open(sp, want)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("lab %s/%s: %w", sp.name, sp.proto, err)
		}
		if _, ok := ports[sp.offset]; !ok {
			ports[sp.offset] = portOf(addr)
		}
		s.labs = append(s.labs, Lab{Name: sp.name, Proto: sp.proto, Addr: addr.String(),
			Description: sp.desc, Size: sp.size, SHA256: sp.sha256})
	}
	return s, nil
}

// specs lists the labs in port order; the package comment's table must
// match it.
func (s *Server) specs() []spec {
	cfg := s.cfg
	sum := fileSHA256(s.file)
	return []spec{
		{name: "echo", proto: "tcp", offset: 0, serve: serveEcho,
			desc: "sends back every byte it receives, as it receives it"},
		{name: "echo", proto: "udp", offset: 0, answer: func(b []byte) []byte { return b },
			desc: "sends every datagram back to its sender, unchanged"},
		{name: "drip", proto: "tcp", offset: 1,
			serve: func(c net.Conn) { s.serveDrip(c, cfg.DripPiece, cfg.DripPause) },
			desc:  fmt.Sprintf("sends a greeting %d bytes at a time with %v pauses, then drips back what you send", cfg.DripPiece, cfg.DripPause)},
		{name: "upper", proto: "udp", offset: 2, answer: asciiUpper,
			desc: "replies to every datagram with its ASCII letters upper-cased"},
		{name: "hello", proto: "tcp", offset: 3, serve: s.serveHello,
			desc: `sends "Hello <your IP>\n" as the server sees you, then closes`},
		{name: "fragmenter", proto: "tcp", offset: 4, serve: s.serveFragmenter,
			desc: fmt.Sprintf("sends a %d-byte message as writes of 1-%d bytes with 0-%v pauses (seed %d), then closes: one send is not one recv",
				len(FragmenterMessage), cfg.FragmenterMaxPiece, cfg.FragmenterMaxPause, cfg.Seed)},
		{name: "chat", proto: "tcp", offset: 5, serve: s.serveChat,
			desc: fmt.Sprintf("sends every line you end with \\n to all other clients as \"[your addr] line\"; joins and leaves come as \"* ...\" lines; a client %d lines behind is dropped", chatQueue)},
		{name: "daytime", proto: "tcp", offset: 6, serve: s.serveDaytime,
			desc: "RFC 867: sends the date and time as one line ending in \\r\\n, then closes"},
		{name: "discard", proto: "tcp", offset: 7, serve: serveDiscard,
			desc: "RFC 863: reads and throws away everything you send, never replies"},
		{name: "sink", proto: "tcp", offset: 8, serve: s.serveSink,
			desc: "accepts but never reads, so its receive window and your send buffer fill and send blocks"},
		{name: "http", proto: "tcp", offset: 9, serve: s.serveHTTP,
			desc: "a tiny HTTP/1.0 server for HTTP by hand: try GET / and GET /hello, then an empty line"},
		{name: "file", proto: "tcp", offset: 10, serve: s.serveFile, size: len(s.file), sha256: sum,
			desc: fmt.Sprintf("sends a %d-byte file (SHA-256 %s), then closes: receive until EOF", len(s.file), sum)},
		{name: "backlog", proto: "tcp", offset: 11, neverAccept: true,
			desc: fmt.Sprintf("listens with backlog 1 and never accepts: two connects complete, the rest stay in SYN_SENT (the queue is reset after %v unchanged)", cfg.BacklogQuiet)},
	}
}

// open starts one lab on port want, or on a free port when want is 0 or
// taken, and returns its real address.
func (s *Server) open(sp spec, want int) (net.Addr, error) {
	host := s.cfg.Host
	try := func(port int) (net.Addr, error) {
		hp := net.JoinHostPort(host, strconv.Itoa(port))
		switch {
		case sp.proto == "udp":
			pc, err := net.ListenPacket("udp", hp)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, pc)
			s.wg.Add(1)
			go s.serveUDP(pc, sp)
			return pc.LocalAddr(), nil
		case sp.neverAccept:
			l, err := listenBacklog(host, port, 1)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, l)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				l.recycle(s.stop, s.cfg.BacklogQuiet, s.log)
			}()
			return l.addr, nil
		default:
			ln, err := net.Listen("tcp", hp)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, ln)
			s.wg.Add(1)
			go s.acceptLoop(ln, sp)
			return ln.Addr(), nil
		}
	}
	if want > 0 {
		if a, err := try(want); err == nil {
			return a, nil
		}
	}
	return try(0)
}

func portOf(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	return 0
}

// Labs lists the running labs with their real addresses.
func (s *Server) Labs() []Lab { return append([]Lab(nil), s.labs...) }

// Addr is the address of the named TCP lab, "" if there is none.
func (s *Server) Addr(name string) string {
	l, _ := s.Find(name, "tcp")
	return l.Addr
}

// AddrOf is the address of the lab with that name and proto, as the
// lessons runner looks labs up.
func (s *Server) AddrOf(name, proto string) (string, bool) {
	l, ok := s.Find(name, proto)
	return l.Addr, ok
}

// Find is the lab with that name and proto ("tcp" or "udp"); two labs may
// share a name, as echo does.
func (s *Server) Find(name, proto string) (Lab, bool) {
	for _, l := range s.labs {
		if l.Name == name && l.Proto == proto {
			return l, true
		}
	}
	return Lab{}, false
}

func (s *Server) acceptLoop(ln net.Listener, sp spec) {
	defer s.wg.Done()
	// An accept error such as EMFILE must not end the lab for good; back
	// off as net/http does and try again.
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("lab accept failed", "lab", sp.name, "err", err, "retry_in", backoff)
			if !s.pause(backoff) {
				return
			}
			continue
		}
		backoff = 0
		release := func() {}
		if s.cfg.Admit != nil {
			var ok bool
			if release, ok = s.cfg.Admit(); !ok {
				c.Close()
				continue
			}
		}
		if !s.track(c) {
			c.Close()
			release()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer release()
			defer s.untrack(c)
			sp.serve(c)
		}()
	}
}

// serveUDP answers every datagram to its sender. One reader suffices: a
// UDP lab has no connections, only datagrams.
func (s *Server) serveUDP(pc net.PacketConn, sp spec) {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("lab read failed", "lab", sp.name, "proto", sp.proto, "err", err)
			if !s.pause(10 * time.Millisecond) {
				return
			}
			continue
		}
		if _, err := pc.WriteTo(sp.answer(buf[:n]), from); err != nil {
			s.log.Debug("lab reply failed", "lab", sp.name, "proto", sp.proto, "to", from, "err", err)
		}
	}
}

// pause waits d, or less if the server stops; it reports whether to go on.
func (s *Server) pause(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops every lab and closes every connection, then waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for _, c := range s.closers {
		c.Close()
	}
	s.wg.Wait()
	return nil
}

// finish ends a connection after the lab's reply as a careful server does:
// FIN first, then read and drop what the client still sends for a moment.
// Closing a socket with unread data makes Linux send RST at once, and a RST
// can destroy the reply before the client has read it.
func (s *Server) finish(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return
		}
	}
	if err := c.SetReadDeadline(time.Now().Add(lingerTime)); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, lingerBytes))
}

const (
	lingerTime  = 2 * time.Second
	lingerBytes = 1 << 20
)

func serveEcho(c net.Conn) {
	// The reader wrapped, so that io.Copy does not splice(2) between the
	// two ends of c: a splice holds a pipe, two more descriptors for
	// every connection.
	_, _ = io.Copy(c, struct{ io.Reader }{c})
}

// asciiUpper upper-cases ASCII letters only, so that every other byte,
// including invalid UTF-8, comes back as sent and the length never changes.
func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// serveDrip writes the greeting in small pieces with pauses, then drips
// back whatever arrives, so each piece is its own TCP segment (Go sets
// TCP_NODELAY) and a recv sees how the stream really arrives.
func (s *Server) serveDrip(c net.Conn, piece int, pause time.Duration) {
	if !s.drip(c, []byte(Greeting), piece, pause) {
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 && !s.drip(c, buf[:n], piece, pause) {
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) drip(c net.Conn, b []byte, piece int, pause time.Duration) bool {
	for off := 0; off < len(b); off += piece {
		if off > 0 && !s.pause(pause) {
			return false
		}
		if _, err := c.Write(b[off:min(off+piece, len(b))]); err != nil {
			return false
		}
	}
	return true
}

// serveHello greets the client by the IP the server sees, which behind NAT
// or a proxy is not the one the client thinks it has.
func (s *Server) serveHello(c net.Conn) {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		host = c.RemoteAddr().String()
	}
	if _, err := io.WriteString(c, "Hello "+host+"\n"); err != nil {
		return
	}
	s.finish(c)
}

// DaytimeLayout is the daytime lab's format: RFC 867 leaves it free and
// suggests "Weekday, Month Day, Year Time-Zone"; a numeric zone keeps it
// parseable.
const DaytimeLayout = "Monday, January 2, 2006 15:04:05 -0700"

func (s *Server) serveDaytime(c net.Conn) {
	if _, err := io.WriteString(c, time.Now().Format(DaytimeLayout)+"\r\n"); err != nil {
		return
	}
	s.finish(c)
}

func serveDiscard(c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
}

func (s *Server) serveFile(c net.Conn) {
	if _, err := c.Write(s.file); err != nil {
		return
	}
	s.finish(c)
}
