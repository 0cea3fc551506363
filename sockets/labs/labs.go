// Package labs runs sockplay's built-in lab servers: small, real servers on
// loopback that give a playground session something to talk to with
// nothing else installed.
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
}

// Config says where the labs listen: Host, and the first of consecutive
// ports (a taken port falls back to a free one).
type Config struct {
	Host     string
	BasePort int
	Logger   *slog.Logger
	// DripPiece and DripPause shape the drip lab; zero means the defaults.
	DripPiece int
	DripPause time.Duration
}

// Greeting is what the drip lab sends first, a few bytes at a time.
const Greeting = "Hello from the drip lab! This line arrives a few bytes at a time.\n"

// Server owns the lab listeners and every connection they accepted.
type Server struct {
	log  *slog.Logger
	labs []Lab
	lns  []net.Listener
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	stop   chan struct{}
}

type spec struct {
	name, desc string
	serve      func(s *Server, c net.Conn)
}

// Start listens for every lab and serves them until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DripPiece <= 0 {
		cfg.DripPiece = 4
	}
	if cfg.DripPause <= 0 {
		cfg.DripPause = 80 * time.Millisecond
	}
	s := &Server{log: cfg.Logger, conns: map[net.Conn]struct{}{}, stop: make(chan struct{})}
	specs := []spec{
		{"echo", "sends back every byte it receives, as it receives it", serveEcho},
		{"drip", fmt.Sprintf("sends a greeting %d bytes at a time with %v pauses, then drips back what you send", cfg.DripPiece, cfg.DripPause),
			func(s *Server, c net.Conn) { s.serveDrip(c, cfg.DripPiece, cfg.DripPause) }},
	}
	for i, sp := range specs {
		ln, err := listen(cfg.Host, cfg.BasePort, i)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("lab %s: %w", sp.name, err)
		}
		s.lns = append(s.lns, ln)
		s.labs = append(s.labs, Lab{Name: sp.name, Proto: "tcp", Addr: ln.Addr().String(), Description: sp.desc})
		s.wg.Add(1)
		go s.acceptLoop(ln, sp)
	}
	return s, nil
}

// listen takes host:base+i, or any free port when that one is taken (or
// base is 0), so that a second sockplay on the machine still starts.
func listen(host string, base, i int) (net.Listener, error) {
	if base > 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(base+i)))
		if err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// Labs lists the running labs with their real addresses.
func (s *Server) Labs() []Lab { return append([]Lab(nil), s.labs...) }

// Addr is the address of the named lab, "" if there is none.
func (s *Server) Addr(name string) string {
	for _, l := range s.labs {
		if l.Name == name {
			return l.Addr
		}
	}
	return ""
}

func (s *Server) acceptLoop(ln net.Listener, sp spec) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("lab accept failed", "lab", sp.name, "err", err)
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			sp.serve(s, c)
		}()
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
	for _, ln := range s.lns {
		ln.Close()
	}
	s.wg.Wait()
	return nil
}

func serveEcho(_ *Server, c net.Conn) {
	_, _ = io.Copy(c, c)
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
		if off > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return false
			}
		}
		if _, err := c.Write(b[off:min(off+piece, len(b))]); err != nil {
			return false
		}
	}
	return true
}
