package sockets

import (
	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
)

// autoacceptOp turns the accept loop on or off.
func autoacceptOp(c *call) (*Result, error) {
	return c.startAuto("autoaccept", 0, c.s.runAutoaccept)
}

// runAutoaccept is autoaccept's loop: wait until a connection is queued,
// accept it as a socket of the session, one event, until an error, a
// stop, a close, or the session's socket limit.
func (s *Session) runAutoaccept(k *Socket, loop *autoLoop) {
	var (
		nfd  int
		serr error
	)
	// Made once, as autorecv's recv is.
	try := func(fd uintptr) bool {
		nfd, _, serr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		// A connection reset while queued is skipped, as Linux's
		// blocking accept does.
		return !wouldBlock(serr) && serr != unix.ECONNABORTED
	}
	for {
		if !s.waitForRoom(k, loop, eventlog.Weight(0, 0)) {
			return
		}
		if err := s.socketRoom(); err != nil {
			// At the limit: stop here and leave the connections in the
			// kernel's accept queue.
			s.append(Event{Start: s.now(), Sock: k.id, Op: "accept", Auto: true, Error: err}, true)
			return
		}
		if !loop.begin(k) {
			return
		}
		start := s.now()
		nfd, serr = 0, nil
		err, quit, again := loop.ready(k, try, &serr)
		if quit {
			return
		}
		if again {
			continue
		}
		ev := Event{Start: start, Sock: k.id, Op: "accept", Auto: true}
		if err == nil {
			ev.Result, err = s.adopt(k, nfd)
		}
		ev.Error, ev.OK = asError(err), err == nil
		s.append(ev, true)
		if err != nil {
			return
		}
	}
}
