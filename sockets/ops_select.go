package sockets

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// select.select: wait until some of the sockets are ready to read, to
// write, or have an exceptional condition, or until the timeout passes.
// The event lists the ready ones. It takes no lane: like select(2) it
// reads nothing, so a recv on the same socket may go on meanwhile.

// The conditions select(2) reports, as Linux's fs/select.c has them: a
// socket is readable at EOF, with a connection queued, or on an error;
// writable on an error too. (Sockets set RDNORM and WRNORM with IN and
// OUT, which stand for them here.)
const (
	pollRead   = unix.POLLIN | unix.POLLHUP | unix.POLLERR
	pollWrite  = unix.POLLOUT | unix.POLLERR
	pollExcept = unix.POLLPRI
)

func checkSelect(c *call) error {
	a := c.op.Args
	if err := checkSeconds(a.Timeout, "timeout must be non-negative"); err != nil {
		return err
	}
	m := a.more()
	for _, l := range [][]string{m.RList, m.WList, m.XList} {
		for _, id := range l {
			k := c.s.socket(id)
			if k == nil {
				return errNoSocket(id)
			}
			if k.closed.Load() {
				// A closed Python socket's fileno() is -1.
				return errValue("file descriptor cannot be a negative integer (-1)")
			}
		}
	}
	return nil
}

func selectOp(c *call) (*Result, error) {
	s, a := c.s, c.op.Args
	m := a.more()
	lists := [3][]string{m.RList, m.WList, m.XList}
	want := [3]int16{pollRead, pollWrite, pollExcept}
	var socks []*Socket
	index := map[string]int{} // socket id → its place in socks
	var events []int16
	for l, ids := range lists {
		for _, id := range ids {
			i, ok := index[id]
			if !ok {
				k := s.socket(id)
				if k == nil {
					return nil, errNoSocket(id)
				}
				i = len(socks)
				index[id] = i
				socks = append(socks, k)
				events = append(events, 0)
			}
			events[i] |= want[l] &^ (unix.POLLHUP | unix.POLLERR) // poll reports those anyway
		}
	}
	wake, err := s.addWaker()
	if err != nil {
		return nil, err
	}
	defer s.dropWaker(wake)
	if s.isClosing() {
		// It ended before the waker was there to be woken.
		return nil, errSessionEnded()
	}
	var deadline time.Time
	if t := a.Timeout; t.Set && !t.None {
		deadline = time.Now().Add(time.Duration(t.Seconds * float64(time.Second)))
	}
	var revents []int16
	err = holdFDs(socks, nil, func(fds []int) error {
		pfds := make([]unix.PollFd, len(fds)+1)
		for i, fd := range fds {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: events[i]}
		}
		pfds[len(fds)] = unix.PollFd{Fd: int32(wake), Events: unix.POLLIN}
		for {
			var ts *unix.Timespec
			if !deadline.IsZero() {
				t := unix.NsecToTimespec(max(time.Until(deadline), 0).Nanoseconds())
				ts = &t
			}
			n, err := unix.Ppoll(pfds, ts, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if pfds[len(fds)].Revents != 0 {
				// The session is ending, or a socket of it was closed: a
				// select on a closed socket is EBADF, as select(2) gives
				// it.
				var b [8]byte
				_, _ = unix.Read(wake, b[:])
				if s.isClosing() {
					return errSessionEnded()
				}
				for _, k := range socks {
					if k.closed.Load() {
						return errBadFD()
					}
				}
				pfds[len(fds)].Revents = 0
				continue
			}
			if n == 0 && !deadline.IsZero() && !time.Now().Before(deadline) {
				return nil // timed out: nothing is ready
			}
			revents = make([]int16, len(fds))
			for i := range fds {
				revents[i] = pfds[i].Revents
			}
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Ready: &Ready{}}
	if revents == nil {
		return res, nil
	}
	ready := [3]*[]string{&res.RList, &res.WList, &res.XList}
	for l, ids := range lists {
		for _, id := range ids {
			if revents[index[id]]&want[l] != 0 {
				*ready[l] = append(*ready[l], id)
			}
		}
	}
	return res, nil
}

// holdFDs runs fn with the fds of socks, each held open meanwhile: a close
// of one of them then waits to release its fd number until fn returns, so
// that fn never polls a number the kernel has given to another file. It
// is EBADF if a socket is closed already.
func holdFDs(socks []*Socket, fds []int, fn func(fds []int) error) error {
	if len(socks) == 0 {
		return fn(fds)
	}
	if socks[0].closed.Load() {
		return errBadFD()
	}
	var ferr error
	if err := socks[0].rc.Control(func(fd uintptr) { ferr = holdFDs(socks[1:], append(fds, int(fd)), fn) }); err != nil {
		return errBadFD()
	}
	return ferr
}

// addWaker makes an eventfd that wakes a select when a socket of the
// session is closed or the session ends. It is a descriptor like a
// socket's: it counts against Config.MaxFDs, and a session may have no
// more selects waiting than it may have sockets, or one session's
// selects could hold every descriptor the sessions share.
func (s *Session) addWaker() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.wakers) >= s.cfg.MaxSockets {
		s.refused("max-sockets")
		return -1, &Error{Exc: "OSError", Msg: fmt.Sprintf("%d selects are already waiting in this session, the most it may have (-max-sockets)", len(s.wakers))}
	}
	if !s.fds.take() {
		s.refused("max-fds")
		return -1, errServerFull(s.fds.max)
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		s.fds.give()
		return -1, err
	}
	if s.wakers == nil {
		s.wakers = map[int]struct{}{}
	}
	s.wakers[fd] = struct{}{}
	return fd, nil
}

func (s *Session) dropWaker(fd int) {
	s.mu.Lock()
	delete(s.wakers, fd)
	s.mu.Unlock()
	unix.Close(fd)
	s.fds.give()
}

// wakeSelects wakes every select waiting in the session.
func (s *Session) wakeSelects() {
	s.mu.Lock()
	defer s.mu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for fd := range s.wakers {
		_, _ = unix.Write(fd, one)
	}
}
