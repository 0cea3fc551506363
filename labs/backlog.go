package labs

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// backlogListener is a listening socket that nobody accepts on. It is a
// raw fd rather than a net.Listener because Go's net.Listen always asks
// for the system's somaxconn as the backlog, and the lesson needs a
// backlog of 1: the accept queue then holds two connections (Linux allows
// backlog+1) and the SYNs of further clients are dropped, so their
// connects stay pending in SYN_SENT.
type backlogListener struct {
	addr *net.TCPAddr
	sa   unix.Sockaddr
	fam  int

	mu sync.Mutex
	fd int // -1 once closed
}

// listenBacklog opens a TCP socket on host:port, as net.Listen would (with
// SO_REUSEADDR, close-on-exec), but listening with the given backlog.
func listenBacklog(host string, port, backlog int) (*backlogListener, error) {
	a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	family, sa, err := sockaddr(a)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := bindListen(fd, sa, backlog); err != nil {
		unix.Close(fd)
		return nil, err
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	l := &backlogListener{fd: fd, addr: &net.TCPAddr{IP: a.IP, Zone: a.Zone}, sa: got, fam: family}
	switch got := got.(type) {
	case *unix.SockaddrInet4:
		l.addr.Port = got.Port
	case *unix.SockaddrInet6:
		l.addr.Port = got.Port
	}
	return l, nil
}

// recycle watches the accept queue: the lab is shared, and connections
// that nobody accepts stay queued even after their clients close them, so
// after quiet with a queue that has not changed, the lab closes its
// listener (Linux resets the queued connections) and listens again on the
// same port, so that the next person finds an empty queue.
func (l *backlogListener) recycle(stop <-chan struct{}, quiet time.Duration, log *slog.Logger) {
	t := time.NewTicker(max(quiet/4, 10*time.Millisecond))
	defer t.Stop()
	last, since := -1, time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			q := l.queued()
			if q != last {
				last, since = q, now
				continue
			}
			if q > 0 && now.Sub(since) >= quiet {
				if err := l.relisten(); err != nil {
					log.Warn("backlog lab: listening again failed", "err", err)
					return
				}
				log.Info("backlog lab: reset its accept queue", "queued", q)
				last, since = 0, now
			}
		}
	}
}

// queued is the length of the accept queue (TCP_INFO's tcpi_unacked on a
// listener), or -1.
func (l *backlogListener) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return -1
	}
	ti, err := unix.GetsockoptTCPInfo(l.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return -1
	}
	return int(ti.Unacked)
}

func (l *backlogListener) relisten() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return nil
	}
	unix.Close(l.fd)
	l.fd = -1
	fd, err := unix.Socket(l.fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	if err := bindListen(fd, l.sa, 1); err != nil {
		unix.Close(fd)
		return err
	}
	l.fd = fd
	return nil
}

func bindListen(fd int, sa unix.Sockaddr, backlog int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

// sockaddr picks the family from the address, as Go does: IPv4 (or no
// address, meaning all IPv4 ones) on AF_INET, anything else on AF_INET6.
func sockaddr(a *net.TCPAddr) (int, unix.Sockaddr, error) {
	if a.IP == nil || a.IP.To4() != nil {
		sa := &unix.SockaddrInet4{Port: a.Port}
		if a.IP != nil {
			copy(sa.Addr[:], a.IP.To4())
		}
		return unix.AF_INET, sa, nil
	}
	sa := &unix.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	if a.Zone != "" {
		ifi, err := net.InterfaceByName(a.Zone)
		if err != nil {
			return 0, nil, err
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return unix.AF_INET6, sa, nil
}

// Close closes the socket; Linux resets the connections still queued.
func (l *backlogListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return nil
	}
	err := unix.Close(l.fd)
	l.fd = -1
	return err
}
