package sockets

import (
	"golang.org/x/sys/unix"
)

// The session's socket table: its sockets by name (s1, s2, ...), and the
// limit on how many may be open at once (Config.MaxSockets).

func (s *Session) socket(id string) *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sockets[id]
}

// socketRoom reports EMFILE if the session has no room for another socket.
func (s *Session) socketRoom() *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socketRoomLocked()
}

func (s *Session) socketRoomLocked() *Error {
	if s.closed {
		return errSessionEnded()
	}
	live := 0
	for _, k := range s.sockets {
		if !k.closed.Load() {
			live++
		}
	}
	if live >= s.cfg.MaxSockets {
		s.refused("max-sockets")
		return &Error{Errno: "EMFILE", Num: int(unix.EMFILE), Exc: "OSError",
			Msg: "Too many open files: this session may have " + itoa(s.cfg.MaxSockets) + " sockets open at once; close one first"}
	}
	if s.fds.full() {
		s.refused("max-fds")
		return errServerFull(s.fds.max)
	}
	return nil
}

// addSocketLocked makes the session's next socket with open, which gets
// its name; s.mu is held, and the session has room for it. Its descriptor
// counts against Config.MaxFDs until it is closed.
func (s *Session) addSocketLocked(open func(id string) (*Socket, error)) (*Socket, error) {
	if !s.fds.take() {
		s.refused("max-fds")
		return nil, errServerFull(s.fds.max)
	}
	id := "s" + itoa(s.nextSock+1)
	k, err := open(id)
	if err != nil {
		s.fds.give()
		return nil, err
	}
	k.onClose = func() {
		s.wakeSelects()
		s.fds.give()
	}
	s.nextSock++
	s.sockets[id] = k
	return k, nil
}

// newSocketOp is socket(): a new socket of the family and type asked for.
func newSocketOp(c *call) (*Result, error) {
	s, a := c.s, c.op.Args
	family, ferr := familyArg(a.Family, false)
	if ferr != nil {
		return nil, ferr
	}
	stype, terr := typeArg(a.Type)
	if terr != nil {
		return nil, terr
	}
	var dir string
	if family == unix.AF_UNIX {
		var err error
		if dir, err = s.unixDir(); err != nil {
			return nil, err
		}
	}
	// Count, create and insert under one lock, so that concurrent
	// socket() calls cannot overshoot the limit, and a session that is
	// closing cannot gain a socket it will never close.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.socketRoomLocked(); err != nil {
		return nil, err
	}
	k, err := s.addSocketLocked(func(id string) (*Socket, error) { return newSocket(id, family, stype, dir) })
	if err != nil {
		return nil, err
	}
	c.op.Sock = k.id
	c.sock = k
	return &Result{Sock: k.id, Family: familyNames[family], Type: typeNames[stype]}, nil
}

// adopt makes an accepted fd a socket of the session.
func (s *Session) adopt(listener *Socket, nfd int) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.socketRoomLocked(); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	opened := false
	k, err := s.addSocketLocked(func(id string) (*Socket, error) {
		opened = true
		return newSocketFromFD(id, listener.family, listener.stype, nfd, listener.unixDir)
	})
	if err != nil {
		if !opened {
			unix.Close(nfd)
		}
		return nil, err // else newSocketFromFD closed nfd
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state = "connected"
	return &Result{Sock: k.id, Local: k.local, Peer: k.peer}, nil
}
