package sockets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// MaxBufsize caps recv's bufsize: a larger request is served with this
// much and the event says so, rather than allocating what a typo asked for.
const MaxBufsize = 1 << 20

// DefaultAutoBufsize is autorecv's bufsize when none is given.
const DefaultAutoBufsize = 4096

// call is one submitted op on its way to its event.
type call struct {
	s     *Session
	id    int64
	op    Op
	from  Origin
	start int64
	sock  *Socket
	// tmo is the socket's mode when the call was made: a call queued
	// behind a pending one keeps it, as a Python call reads sock_timeout
	// when it starts.
	tmo time.Duration
	// data is the op's bytes, decoded once.
	data []byte
}

// finish turns the outcome into the op's one event.
func (c *call) finish(res *Result, err error) {
	ev := Event{Call: c.id, Start: c.start, Sock: c.op.Sock, Op: c.op.Op, Args: argsOf(c.op),
		Reply: c.from.Reply, Origin: c.from.Conn, Result: res}
	if err != nil {
		ev.Error = asError(err)
	} else {
		ev.OK = true
	}
	if c.sock != nil {
		c.sock.refresh()
	}
	c.s.append(ev, true)
}

// argsOf is the args echo: the op's arguments, or nil when it had none.
func argsOf(op Op) *Args {
	if op.Args == (Args{}) {
		return nil
	}
	a := op.Args
	return &a
}

// lane says which of a socket's queues an op waits in; control ops
// (settimeout, close, ...) never block and run at once.
type lane int

const (
	laneNone lane = iota
	laneRead
	laneWrite
	laneBoth
)

var opLanes = map[string]lane{
	"recv": laneRead, "send": laneWrite, "sendall": laneWrite, "sendchunks": laneWrite, "connect": laneBoth,
}

// lane is where this call waits. A half-close of the write side waits for
// the sends before it ("send, then shutdown(SHUT_WR)" must deliver the
// data); SHUT_RD acts at once, as it is how a blocked recv is woken.
func (c *call) lane() lane {
	if c.op.Op == "shutdown" && *c.op.How != unix.SHUT_RD {
		return laneWrite
	}
	return opLanes[c.op.Op]
}

func (c *call) dispatch() {
	if c.op.Op == "socket" {
		c.finish(c.s.newSocketOp(c))
		return
	}
	if !Ops[c.op.Op] {
		c.finish(nil, errType("unknown op %q", c.op.Op))
		return
	}
	if c.op.Sock == "" {
		c.finish(nil, errType("%s() needs a socket: \"sock\" is missing", c.op.Op))
		return
	}
	c.sock = c.s.socket(c.op.Sock)
	if c.sock == nil {
		c.finish(nil, &Error{Exc: "NameError", Msg: fmt.Sprintf("name '%s' is not defined: there is no socket %s in this session", c.op.Sock, c.op.Sock)})
		return
	}
	if err := c.validate(); err != nil {
		c.finish(nil, err)
		return
	}
	l := c.lane()
	if l == laneNone {
		c.finish(c.control())
		return
	}
	k := c.sock
	var check func() error
	if c.op.Op == "recv" {
		check = func() error {
			if k.auto != nil {
				return &Error{Exc: "RuntimeError", Msg: fmt.Sprintf("autorecv is on for %s: turn it off to recv by hand", k.id)}
			}
			return nil
		}
	}
	c.tmo = k.getTimeout()
	waits, done, err := k.enqueue(l == laneRead || l == laneBoth, l == laneWrite || l == laneBoth, check)
	if err != nil {
		c.finish(nil, err)
		return
	}
	c.s.mu.Lock()
	c.s.pending[c.id] = Pending{Call: c.id, Sock: c.op.Sock, Op: c.op.Op, Args: argsOf(c.op), Start: c.start}
	c.s.notifyLocked(true)
	c.s.mu.Unlock()
	started := c.s.goRun(func() {
		defer close(done)
		for _, w := range waits {
			<-w
		}
		c.finish(c.blockingOp())
	})
	if !started {
		close(done)
		c.finish(nil, errSessionEnded())
	}
}

func errSessionEnded() *Error { return &Error{Exc: "OSError", Msg: "this session has ended"} }

// validate checks arguments before an op is queued, so that bad input is
// answered at once and never waits behind a pending call.
func (c *call) validate() error {
	a := &c.op.Args
	switch c.op.Op {
	case "recv":
		if a.Bufsize == nil {
			return errType("recv() missing required argument 'bufsize'")
		}
		if *a.Bufsize < 0 {
			return errValue("negative buffersize in recv")
		}
		if *a.Bufsize > MaxBufsize {
			req := *a.Bufsize
			a.Requested = &req
			a.Bufsize = intp(MaxBufsize)
		}
	case "send", "sendall", "sendchunks":
		if a.Data == nil {
			return errType("%s() missing required argument 'data'", c.op.Op)
		}
		b, err := a.Data.Bytes()
		if err != nil {
			return errValue("%v", err)
		}
		c.data = b
		// Echo the bytes in one canonical form, whatever the client sent.
		if a.Data.B64 == nil {
			a.Data = B64Data(b)
		}
		if c.op.Op == "sendchunks" {
			if a.Chunk == nil || *a.Chunk < 1 {
				return errValue("sendchunks() needs chunk, a size of at least 1 byte")
			}
			if a.Delay != nil && (*a.Delay < 0 || *a.Delay > 60 || math.IsNaN(*a.Delay)) {
				return errValue("sendchunks() delay must be between 0 and 60 seconds")
			}
		}
	case "connect":
		if a.Addr == "" {
			return errType("connect() missing required argument 'address' (host:port)")
		}
	case "settimeout":
		if !a.Timeout.Set {
			return errType("settimeout() missing required argument 'timeout' (seconds, or null for None)")
		}
		if !a.Timeout.None && (a.Timeout.Seconds < 0 || math.IsNaN(a.Timeout.Seconds) || a.Timeout.Seconds > 1e9) {
			return errValue("Timeout value out of range")
		}
	case "setblocking":
		if a.Flag == nil {
			return errType("setblocking() missing required argument 'flag' (true or false)")
		}
	case "shutdown":
		if a.How == nil {
			return errType("shutdown() missing required argument 'how' (SHUT_RD, SHUT_WR or SHUT_RDWR)")
		}
	case "autorecv":
		if a.Bufsize != nil && (*a.Bufsize < 1 || *a.Bufsize > MaxBufsize) {
			return errValue("autorecv bufsize must be between 1 and %d", MaxBufsize)
		}
	}
	return nil
}

func (s *Session) newSocketOp(c *call) (*Result, error) {
	a := c.op.Args
	family := unix.AF_INET
	switch a.Family {
	case "", "inet", "AF_INET":
	case "inet6", "AF_INET6":
		family = unix.AF_INET6
	default:
		return nil, errValue("family must be inet or inet6, not %q", a.Family)
	}
	stype := unix.SOCK_STREAM
	switch a.Type {
	case "", "stream", "SOCK_STREAM":
	case "dgram", "SOCK_DGRAM":
		stype = unix.SOCK_DGRAM
	default:
		return nil, errValue("type must be stream or dgram, not %q", a.Type)
	}
	// Count, create and insert under one lock, so that concurrent
	// socket() calls cannot overshoot the limit, and a session that is
	// closing cannot gain a socket it will never close.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errSessionEnded()
	}
	live := 0
	for _, k := range s.sockets {
		if !k.closed.Load() {
			live++
		}
	}
	if live >= s.cfg.MaxSockets {
		return nil, &Error{Errno: "EMFILE", Num: int(unix.EMFILE), Exc: "OSError",
			Msg: fmt.Sprintf("Too many open files: this session may have %d sockets open at once; close one first", s.cfg.MaxSockets)}
	}
	id := fmt.Sprintf("s%d", s.nextSock+1)
	k, err := newSocket(id, family, stype)
	if err != nil {
		return nil, err
	}
	s.nextSock++
	s.sockets[id] = k
	c.op.Sock = id
	c.sock = k
	return &Result{Sock: id, Family: familyNames[family], Type: typeNames[stype]}, nil
}

// control runs the ops that never wait.
func (c *call) control() (*Result, error) {
	k, a := c.sock, c.op.Args
	if k.closed.Load() && c.op.Op != "close" && c.op.Op != "gettimeout" {
		return nil, unix.EBADF
	}
	switch c.op.Op {
	case "settimeout", "setblocking":
		t := blocking
		if c.op.Op == "settimeout" && !a.Timeout.None {
			t = time.Duration(a.Timeout.Seconds * float64(time.Second))
			if t == 0 && a.Timeout.Seconds > 0 {
				t = time.Nanosecond
			}
		}
		if c.op.Op == "setblocking" && !*a.Flag {
			t = 0
		}
		k.mu.Lock()
		k.timeout = t
		k.mu.Unlock()
		mode, tv := modeOf(t)
		return &Result{Mode: mode, Timeout: tv}, nil
	case "gettimeout":
		mode, tv := modeOf(k.getTimeout())
		return &Result{Mode: mode, Timeout: tv}, nil
	case "shutdown":
		return k.shutdown(*a.How)
	case "close":
		// Close first: that ends whatever holds the read lane, so an
		// autorecv queued behind it can end too.
		k.close()
		k.stopAuto()
		return &Result{}, nil
	case "getsockname":
		local, err := k.name(unix.Getsockname)
		if err != nil {
			return nil, err
		}
		return &Result{Local: local}, nil
	case "getpeername":
		peer, err := k.name(unix.Getpeername)
		if err != nil {
			return nil, err
		}
		return &Result{Peer: peer}, nil
	case "autorecv":
		return c.autorecv()
	}
	return nil, errType("unknown op %q", c.op.Op)
}

// name asks the kernel for one of the socket's addresses.
func (k *Socket) name(get func(fd int) (unix.Sockaddr, error)) (string, error) {
	var addr string
	err := k.control(func(fd int) error {
		sa, err := get(fd)
		if err == nil {
			addr = formatSockaddr(sa)
		}
		return err
	})
	return addr, err
}

func (k *Socket) shutdown(how How) (*Result, error) {
	if err := k.control(func(fd int) error { return unix.Shutdown(fd, int(how)) }); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case how == unix.SHUT_RDWR || (how == unix.SHUT_RD && k.shut == "SHUT_WR") || (how == unix.SHUT_WR && k.shut == "SHUT_RD"):
		k.shut = "SHUT_RDWR"
	case k.shut == "":
		k.shut = howNames[how]
	}
	return &Result{}, nil
}

// blockingOp runs the ops that can wait, in the mode the call was made in.
func (c *call) blockingOp() (*Result, error) {
	k, a, tmo := c.sock, c.op.Args, c.tmo
	switch c.op.Op {
	case "shutdown":
		return k.shutdown(*a.How)
	case "recv":
		if *a.Bufsize == 0 {
			// CPython answers recv(0) with b'' before it looks at the
			// socket, so it never waits and never fails.
			return &Result{N: intp(0), Note: "recv(0) returns b'' at once without reading: this is not EOF"}, nil
		}
		data, err := k.recv(*a.Bufsize, tmo)
		if err != nil {
			return nil, err
		}
		res := &Result{N: intp(len(data)), B64: data}
		if len(data) == 0 {
			res.EOF = true
			k.mu.Lock()
			k.eof = true
			k.mu.Unlock()
		}
		if a.Requested != nil {
			res.Note = fmt.Sprintf("bufsize %d capped at %d", *a.Requested, MaxBufsize)
		}
		return res, nil
	case "send":
		n, err := k.send(c.data, tmo)
		if err != nil {
			return nil, err
		}
		return &Result{N: intp(n)}, nil
	case "sendall":
		n, err := k.sendall(c.data, tmo)
		if err != nil {
			// Python's sendall loses this count; showing it is the point.
			return &Result{N: intp(n)}, err
		}
		return &Result{N: intp(n)}, nil
	case "sendchunks":
		return c.sendchunks(tmo)
	case "connect":
		if k.closed.Load() {
			return nil, unix.EBADF
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sa, perr := resolve(ctx, c.s.cfg.Resolver, k.family, "connect", a.Addr)
		cancel()
		if perr != nil {
			return nil, perr
		}
		k.setState("connecting")
		err := k.connect(sa, tmo)
		if err != nil && err != unix.EINPROGRESS && err != unix.EALREADY {
			k.mu.Lock()
			if k.state == "connecting" {
				k.state = "new"
			}
			k.mu.Unlock()
		}
		if err != nil {
			return nil, err
		}
		k.refresh()
		k.mu.Lock()
		res := &Result{Local: k.local, Peer: k.peer}
		k.mu.Unlock()
		return res, nil
	}
	return nil, errType("unknown op %q", c.op.Op)
}

// sendchunks splits data into chunk-byte sends with a pause between them.
// Each send is its own event (auto), and the op's event gives the total.
func (c *call) sendchunks(tmo time.Duration) (*Result, error) {
	k, a, data := c.sock, c.op.Args, c.data
	var delay time.Duration
	if a.Delay != nil {
		delay = time.Duration(*a.Delay * float64(time.Second))
	}
	total := 0
	for off := 0; off < len(data); off += *a.Chunk {
		if off > 0 && delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-k.closedCh:
				t.Stop()
			}
		}
		end := min(off+*a.Chunk, len(data))
		start := c.s.now()
		n, err := k.send(data[off:end], tmo)
		ev := Event{Start: start, Sock: k.id, Op: "send", Args: &Args{Data: B64Data(data[off:end])}, Auto: true}
		if err != nil {
			ev.Error = asError(err)
			c.s.append(ev, false)
			return &Result{N: intp(total)}, err
		}
		ev.OK, ev.Result = true, &Result{N: intp(n)}
		c.s.append(ev, false)
		total += n
		if n < end-off {
			return &Result{N: intp(total), Note: "a send moved only part of its chunk; stopped"}, nil
		}
	}
	return &Result{N: intp(total)}, nil
}

// autorecv turns the recv loop on (restarting it with a new bufsize if it
// already runs) or off.
func (c *call) autorecv() (*Result, error) {
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
	loop := &autoLoop{bufsize: bufsize, done: make(chan struct{}), stopCh: make(chan struct{})}
	// Marking the socket and taking the place in the read lane happen
	// under one lock, so a recv can never slip in behind the loop.
	waits, done, _ := k.enqueue(true, false, func() error { k.auto = loop; return nil })
	started := c.s.goRun(func() {
		defer close(done)
		for _, w := range waits {
			<-w
		}
		c.s.autoRecvLoop(k, loop)
	})
	if !started {
		close(done)
		k.autoMu.Lock()
		loop.finish()
		k.autoMu.Unlock()
		return nil, errSessionEnded()
	}
	t := true
	return &Result{On: &t, Bufsize: bufsize}, nil
}

// stopAuto stops the socket's autorecv, if any, and waits until it has
// ended. A loop still waiting for its turn in the read lane is told to
// stop and let go at once: expiring the read deadline then would hit the
// recv that holds the lane instead.
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

// waitForRoom holds autorecv while its readers are far behind: the data
// stays in the kernel (and TCP's flow control slows the sender), as it
// would for a Python program that is slow to call recv. It reports false
// if the loop was stopped or the socket closed meanwhile.
func (s *Session) waitForRoom(k *Socket, loop *autoLoop) bool {
	paused := false
	defer func() {
		if paused {
			k.mu.Lock()
			k.autoPaused = false
			k.mu.Unlock()
			s.touch()
		}
	}()
	for {
		s.mu.Lock()
		behind, room := s.behindLocked(), s.room
		s.mu.Unlock()
		if !behind {
			return true
		}
		if !paused {
			paused = true
			k.mu.Lock()
			k.autoPaused = true
			k.mu.Unlock()
			s.touch()
		}
		select {
		case <-room:
		case <-loop.stopCh:
			return false
		case <-k.closedCh:
			return false
		}
	}
}

// autoRecvLoop is autorecv's loop: wait until readable, one recv, one
// event, until EOF, an error, a stop or a close.
func (s *Session) autoRecvLoop(k *Socket, loop *autoLoop) {
	defer func() {
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
	buf := make([]byte, loop.bufsize)
	for {
		if !s.waitForRoom(k, loop) {
			return
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
		start := s.now()
		var n int
		var serr error
		err = k.rc.Read(func(fd uintptr) bool {
			n, _, serr = unix.Recvfrom(int(fd), buf, 0)
			return !wouldBlock(serr)
		})
		if err == nil {
			err = serr
		}
		if err != nil && stopped() {
			// Stopped or closed while waiting: the stop or the close is
			// the event; a recv that never happened has none.
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		ev := Event{Start: start, Sock: k.id, Op: "recv", Args: &Args{Bufsize: intp(loop.bufsize)}, Auto: true}
		if err != nil {
			ev.Error = asError(err)
			s.append(ev, true)
			return
		}
		data := make([]byte, n)
		copy(data, buf[:n])
		ev.OK, ev.Result = true, &Result{N: intp(n), B64: data, EOF: n == 0}
		if n == 0 {
			k.mu.Lock()
			k.eof = true
			k.mu.Unlock()
		}
		s.append(ev, n == 0)
		if n == 0 {
			return
		}
	}
}
