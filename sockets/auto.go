package sockets

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// autorecv turns the recv loop on (restarting it with a new bufsize if it
// already runs) or off; autoaccept does the same for an accept loop.
func (c *call) autoLoop(accept bool) (*Result, error) {
	k, a := c.sock, c.op.Args
	on := a.On == nil || *a.On
	k.stopAuto()
	if !on {
		f := false
		return &Result{On: &f}, nil
	}
	bufsize := DefaultAutoBufsize
	if a.Bufsize != nil {
		bufsize = *a.Bufsize
	}
	loop := &autoLoop{bufsize: bufsize, accept: accept, done: make(chan struct{}), stopCh: make(chan struct{})}
	// Marking the socket and taking the place in the read lane happen
	// under one lock, so a recv can never slip in behind the loop.
	waits, done, _ := k.enqueue(true, false, func() error { k.auto = loop; return nil })
	started := c.s.goRun(func() {
		defer close(done)
		for _, w := range waits {
			<-w
		}
		c.s.runAutoLoop(k, loop)
	})
	if !started {
		close(done)
		k.autoMu.Lock()
		loop.finish()
		k.autoMu.Unlock()
		return nil, errSessionEnded()
	}
	t := true
	if accept {
		return &Result{On: &t}, nil
	}
	return &Result{On: &t, Bufsize: bufsize}, nil
}

// stopAuto stops the socket's auto loop, if any, and waits until it has
// ended. A loop still waiting for its turn in the read lane is told to
// stop and let go at once: expiring the read deadline then would hit the
// call that holds the lane instead.
func (k *Socket) stopAuto() {
	k.mu.Lock()
	loop := k.auto
	k.mu.Unlock()
	if loop == nil {
		return
	}
	k.autoMu.Lock()
	loop.requestStop()
	switch {
	case !loop.started:
		loop.finish()
	case !k.closed.Load():
		_ = k.f.SetReadDeadline(time.Unix(1, 0))
	}
	k.autoMu.Unlock()
	<-loop.done
	k.mu.Lock()
	if k.auto == loop {
		k.auto = nil
	}
	k.mu.Unlock()
}

// waitForRoom holds an auto loop while its readers are far behind: the
// data stays in the kernel (and TCP's flow control slows the sender), as
// it would for a Python program that is slow to call recv. next is the
// most the loop's next event can weigh in the log. It reports false if the
// loop was stopped or the socket closed meanwhile.
func (s *Session) waitForRoom(k *Socket, loop *autoLoop, next int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomLocked(k, loop, next)
}

// roomLocked waits, s.mu held (and let go while it waits), until readers
// are near enough for an event of size bytes, showing the socket as
// paused meanwhile. It reports false if the loop was stopped or the socket
// closed first.
func (s *Session) roomLocked(k *Socket, loop *autoLoop, size int64) bool {
	paused := false
	setPaused := func(on bool) {
		paused = on
		k.mu.Lock()
		k.autoPaused = on
		k.mu.Unlock()
		s.notifyLocked(true)
	}
	defer func() {
		if paused {
			setPaused(false)
		}
	}()
	for s.behindLocked(paused, size) {
		if !paused {
			setPaused(true)
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
		case <-loop.stopCh:
			s.mu.Lock()
			return false
		case <-k.closedCh:
			s.mu.Lock()
			return false
		}
		s.mu.Lock()
	}
	return true
}

// beforeRecv, when a test sets it, is called by an autorecv loop that has
// found room in the log and is about to recv: the only way to know that a
// loop has passed its room check and not yet got its bytes.
var beforeRecv atomic.Pointer[func()]

// appendInRoom appends a recv's event once readers are near enough for
// it. waitForRoom looked before the recv, but each loop looks for itself:
// two loops could both find the last room and, together, push events no
// reader has read out of the log. Looking again here, in the same hold of
// the lock as the append, makes that impossible. It seldom waits, and
// then with one recv's bytes in hand (a bounded amount), shown as paused
// like any pause. The event keeps the time its recv returned (or the
// last event's, if that is later: times never go back along the log).
//
// A stop or a close while it waits puts the event in all the same: the
// bytes are out of the kernel, and losing them, or holding the stop up
// until a stalled tab reads, would be worse than the one event that may
// then push an unread one out (its reader is told of the gap).
func (s *Session) appendInRoom(k *Socket, loop *autoLoop, ev Event) {
	returned := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roomLocked(k, loop, eventSize(len(ev.Result.payload()), ev.extra))
	// An auto event answers no call, and its EOF is shown by the loop's
	// end: logging it changes no state.
	ev, _ = s.logLocked(ev, max(returned, ev.Start, s.log.lastT()))
	s.holdLocked(ev)
}

// heldMax bounds how long viewers may not be woken for autorecv's events
// while its socket never runs dry: in events, bytes and µs of the
// session's clock; a quarter of the lag limits, if less, so that a loop
// is never paused for readers it has not woken. A variable so that tests
// can make each the first met.
var heldMax = struct {
	events, bytes int
	micros        int64
}{4096, 2 << 20, 5000}

// holdLocked counts a logged recv event that viewers are not woken for
// yet. They are woken when the loop is about to wait for more data (see
// wakeHeld), or sooner once heldMax is reached, or by any other change;
// at once while a watcher looks on: a watcher is closed when it falls
// -max-watcher-lag events behind, and a burst it was not woken for would
// count against it.
// The writer of a WebSocket then runs once per burst instead of once per
// recv, and runs as the loop stops: on the same core, where the bytes it
// sends were just received. The bulk comparison gained 6% by it.
func (s *Session) holdLocked(ev Event) {
	if s.held == 0 {
		s.heldSince = ev.T
	}
	s.held++
	s.heldBytes += len(ev.Result.B64)
	if s.watchers > 0 || s.held >= min(heldMax.events, s.cfg.MaxLagEvents/4) || int64(s.heldBytes) >= min(int64(heldMax.bytes), s.cfg.MaxLagBytes/4) ||
		ev.T-s.heldSince >= heldMax.micros {
		s.notifyLocked(false)
	}
}

// wakeHeld wakes viewers for the events holdLocked kept back, if any.
func (s *Session) wakeHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held > 0 {
		s.notifyLocked(false)
	}
}

// runAutoLoop is autorecv's and autoaccept's loop: wait until readable,
// one recv (or accept), one event, until EOF, an error, a stop or a close.
func (s *Session) runAutoLoop(k *Socket, loop *autoLoop) {
	defer func() { // its touch also wakes viewers for held events
		k.autoMu.Lock()
		loop.finish()
		k.autoMu.Unlock()
		k.mu.Lock()
		if k.auto == loop {
			k.auto = nil
		}
		k.mu.Unlock()
		s.touch()
	}()
	stopped := func() bool {
		k.autoMu.Lock()
		defer k.autoMu.Unlock()
		return loop.stop || k.closed.Load()
	}
	arena := newRecvArena(loop.bufsize, s.swapArena)
	defer arena.close()
	// One call, made once, for every recv or accept: a closure made per
	// turn of the loop (and the variables it shares) would be allocations
	// for every event.
	var (
		buf       []byte
		n, nfd    int
		from      unix.Sockaddr
		serr      error
		dgram     = k.stype == unix.SOCK_DGRAM
		tryAccept = func(fd uintptr) bool {
			nfd, from, serr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			return !wouldBlock(serr) && serr != unix.ECONNABORTED
		}
		tryRecv = func(fd uintptr) bool {
			if dgram {
				n, from, serr = unix.Recvfrom(int(fd), buf, 0)
			} else {
				n, serr = recvStream(int(fd), buf)
			}
			if wouldBlock(serr) {
				// The socket has run dry and the loop will wait: now
				// is when viewers take what it has logged. (This takes
				// s.mu inside the socket's read: a socket must never be
				// closed with s.mu held, as Close waits for the read.)
				s.wakeHeld()
				return false
			}
			return true
		}
		try = tryRecv
	)
	if loop.accept {
		try = tryAccept
	}
	// Every event of the loop echoes the same arguments: one value,
	// shared, never changed once made.
	recvArgs := &Args{Bufsize: intp(loop.bufsize)}
	for {
		next := eventSize(0, 0)
		if !loop.accept {
			next = eventSize(loop.bufsize, arena.nextExtra())
		}
		if !s.waitForRoom(k, loop, next) {
			return
		}
		if loop.accept {
			if err := s.socketRoom(); err != nil {
				// At the limit: stop here and leave the connections in
				// the kernel's accept queue.
				s.append(Event{Start: s.now(), Sock: k.id, Op: "accept", Auto: true, Error: err}, true)
				return
			}
		}
		k.autoMu.Lock()
		if loop.stop || k.closed.Load() {
			k.autoMu.Unlock()
			return
		}
		loop.started = true
		// Cleared under autoMu: a stopper's expired deadline always comes
		// after this, so it can never be lost.
		err := k.f.SetReadDeadline(time.Time{})
		k.autoMu.Unlock()
		if err != nil {
			return
		}
		if !loop.accept {
			buf = arena.next()
			if f := beforeRecv.Load(); f != nil {
				(*f)()
			}
		}
		start := s.now()
		n, nfd, from, serr = 0, 0, nil, nil
		err = k.rc.Read(try)
		if err == nil {
			err = serr
		}
		if err != nil && stopped() {
			// Stopped or closed while waiting: the stop or the close is
			// the event; a call that never happened has none.
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		op, args := "recv", recvArgs
		if loop.accept {
			op, args = "accept", nil
		}
		ev := Event{Start: start, Sock: k.id, Op: op, Args: args, Auto: true}
		if err != nil {
			ev.Error = asError(err)
			s.append(ev, true)
			return
		}
		if loop.accept {
			res, err := s.adopt(k, nfd)
			ev.Result, ev.Error, ev.OK = res, asError(err), err == nil
			s.append(ev, true)
			if err != nil {
				return
			}
			continue
		}
		var data []byte
		data, ev.arena, ev.blk, ev.extra = arena.keep(n)
		ev.OK = true
		ev.Result, ev.enc = arena.result(n, ev.blk)
		ev.Result.B64, ev.Result.EOF = data, n == 0 && k.stype == unix.SOCK_STREAM
		if from != nil && k.stype == unix.SOCK_DGRAM {
			ev.Result.Addr = k.fmtAddr(from)
		}
		s.appendInRoom(k, loop, ev)
		if ev.Result.EOF {
			// Only now: the state must not show an EOF the log has not.
			k.mu.Lock()
			k.eof = true
			k.mu.Unlock()
			s.touch()
			return
		}
	}
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
		return &Error{Errno: "EMFILE", Num: int(unix.EMFILE), Exc: "OSError",
			Msg: "Too many open files: this session may have " + itoa(s.cfg.MaxSockets) + " sockets open at once; close one first"}
	}
	return nil
}

// adopt makes an accepted fd a socket of the session.
func (s *Session) adopt(listener *Socket, nfd int) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.socketRoomLocked(); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	id := "s" + itoa(s.nextSock+1)
	k, err := newSocketFromFD(id, listener.family, listener.stype, nfd, listener.unixDir)
	if err != nil {
		return nil, err
	}
	s.nextSock++
	s.sockets[id] = k
	k.mu.Lock()
	k.state = "connected"
	res := &Result{Sock: id, Local: k.local, Peer: k.peer}
	k.mu.Unlock()
	return res, nil
}

// recvStream is recvfrom(2) on a stream socket, which has no sender to
// report: unix.Recvfrom would allocate room for an address on every call.
func recvStream(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// resultSlab hands out an autorecv loop's Results (with their N) for
// small recvs a few dozen at a time: one allocation for many events, not
// one or two each. A slab lives as long as any of its events is in the
// log, and with it their bytes: small ones only.
type resultSlab struct{ free []recvResult }

const resultSlabLen = 32

// recvResult is a recv's Result with the things it points to: its N and
// the cache of its JSON.
type recvResult struct {
	r   Result
	n   int
	enc encoding
}

func (sl *resultSlab) next(n int) (*Result, *encoding) {
	var x *recvResult
	if n > smallCopy {
		// A big recv's Result gets its own: a slab would keep the
		// bytes of up to 31 dropped events alive with it, and an
		// allocation is nothing next to the bytes.
		x = &recvResult{}
	} else {
		if len(sl.free) == 0 {
			sl.free = make([]recvResult, resultSlabLen)
		}
		x = &sl.free[0]
		sl.free = sl.free[1:]
	}
	x.n = n
	x.r.N = &x.n
	return &x.r, &x.enc
}
