package sockets

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	"golang.org/x/sys/unix"
)

// MaxBufsize caps recv's bufsize: a larger request is served with this
// much and the event says so, rather than allocating what a typo asked for.
const MaxBufsize = 1 << 20

// MaxChunks bounds the pieces one sendchunks may make.
const MaxChunks = 10_000

// DefaultAutoBufsize is autorecv's bufsize when none is given.
const DefaultAutoBufsize = 4096

// DefaultBacklog is listen()'s backlog when none is given, as Python's
// min(SOMAXCONN, 128).
const DefaultBacklog = 128

// resolveTimeout bounds a name lookup made inside a call.
const resolveTimeout = 10 * time.Second

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
	if reflect.ValueOf(op.Args).IsZero() {
		return nil
	}
	a := op.Args
	return &a
}

// lane says which of a socket's queues an op waits in. Calls that can
// block wait their turn per direction (recvs in order, sends in order);
// calls that never block run at once, even while an earlier call on the
// socket is pending, as they would from a second Python thread.
type lane int

const (
	laneNone lane = iota
	laneRead
	laneWrite
	laneBoth
)

var opLanes = map[string]lane{
	"recv": laneRead, "recvfrom": laneRead, "recvall": laneRead, "accept": laneRead,
	"send": laneWrite, "sendall": laneWrite, "sendto": laneWrite, "sendchunks": laneWrite,
	"connect": laneBoth,
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
	if !Ops[c.op.Op] {
		c.finish(nil, errType("unknown op %q", c.op.Op))
		return
	}
	if err := checkArgs(c.op); err != nil {
		c.finish(nil, err)
		return
	}
	switch {
	case c.op.Op == "socket":
		c.finish(c.s.newSocketOp(c))
		return
	case sessionOps[c.op.Op]:
		c.runSessionOp()
		return
	case c.op.Sock == "":
		c.finish(nil, errType("%s() needs a socket: \"sock\" is missing", c.op.Op))
		return
	}
	if c.op.Op == "connect" && c.s.cfg.MaxPendingConnects > 0 {
		// Until this call is pending: two connects at once must not
		// both find the last place under -max-pending-connects free.
		c.s.admitMu.Lock()
		defer c.s.admitMu.Unlock()
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
	if l == laneRead {
		check = func() error {
			if k.auto != nil {
				what := "autorecv"
				if k.auto.accept {
					what = "autoaccept"
				}
				return &Error{Exc: "RuntimeError", Msg: fmt.Sprintf("%s is on for %s: turn it off to %s by hand", what, k.id, c.op.Op)}
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
	c.goPending(func() {
		defer close(done)
		for _, w := range waits {
			<-w
		}
		c.finish(c.blockingOp())
	}, func() { close(done) })
}

// goPending marks the call pending and runs fn on the session's goroutine;
// if the session has ended, it runs abandon and answers that instead.
func (c *call) goPending(fn, abandon func()) {
	c.s.mu.Lock()
	c.s.pending[c.id] = Pending{Call: c.id, Sock: c.op.Sock, Op: c.op.Op, Args: argsOf(c.op), Start: c.start}
	c.s.notifyLocked(true)
	c.s.mu.Unlock()
	if !c.s.goRun(fn) {
		if abandon != nil {
			abandon()
		}
		c.finish(nil, errSessionEnded())
	}
}

// runSessionOp runs the ops that need no socket: name lookups, which may
// take a while and so are pending like any blocking call.
func (c *call) runSessionOp() {
	c.goPending(func() {
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		defer cancel()
		if c.op.Op == "getaddrinfo" {
			c.finish(c.s.getaddrinfo(ctx, c.op.Args))
		} else {
			c.finish(c.s.gethostbyname(ctx, c.op.Args))
		}
	}, nil)
}

func errSessionEnded() *Error { return &Error{Exc: "OSError", Msg: "this session has ended"} }

// validate checks arguments before an op is queued, so that bad input is
// answered at once and never waits behind a pending call.
func (c *call) validate() error {
	a := &c.op.Args
	switch c.op.Op {
	case "recv", "recvfrom", "recvall":
		if a.Bufsize == nil {
			return errType("%s() missing required argument 'bufsize'", c.op.Op)
		}
		if *a.Bufsize < 0 {
			return errValue("negative buffersize in %s", c.op.Op)
		}
		if *a.Bufsize > MaxBufsize {
			req := *a.Bufsize
			a.Requested = &req
			a.Bufsize = intp(MaxBufsize)
		}
	case "send", "sendall", "sendto", "sendchunks":
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
			a.Data, _ = a.Data.canonical()
		}
		if c.op.Op == "sendto" && a.Addr == "" {
			return errType("sendto() missing required argument 'address'")
		}
		if c.op.Op == "sendchunks" {
			if a.Chunk == nil || *a.Chunk < 1 {
				return errValue("sendchunks() needs chunk, a size of at least 1 byte")
			}
			// Each piece is a system call and an event: bound them, as
			// a single op must not flood the session's log.
			if pieces := (len(b) + *a.Chunk - 1) / *a.Chunk; pieces > MaxChunks {
				return errValue("sendchunks() of %d bytes in chunks of %d is %d sends; at most %d: use a bigger chunk", len(b), *a.Chunk, pieces, MaxChunks)
			}
			if a.Delay != nil && (*a.Delay < 0 || *a.Delay > 60 || math.IsNaN(*a.Delay)) {
				return errValue("sendchunks() delay must be between 0 and 60 seconds")
			}
		}
		// Last: an op refused for its arguments spends none of the rate.
		if err := c.s.admitSend(c.op.Op, len(b)); err != nil {
			return err
		}
	case "connect", "bind":
		if a.Addr == "" {
			return errType("%s() missing required argument 'address'", c.op.Op)
		}
		if c.op.Op == "connect" {
			if err := c.s.admitConnect(); err != nil {
				return err
			}
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
	case "setsockopt", "getsockopt":
		if a.Name == "" {
			return errType("%s() missing required argument 'optname' (\"name\", such as \"SO_SNDBUF\")", c.op.Op)
		}
	}
	return nil
}

func (s *Session) newSocketOp(c *call) (*Result, error) {
	a := c.op.Args
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
	id := "s" + itoa(s.nextSock+1)
	k, err := newSocket(id, family, stype, dir)
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
		// auto loop queued behind it can end too.
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
	case "bind":
		return c.bind()
	case "listen":
		backlog := DefaultBacklog
		if a.Backlog != nil {
			backlog = max(*a.Backlog, 0) // Python clamps a negative backlog to 0
		}
		if perr := c.s.checkImplicitBind(k); perr != nil {
			return nil, perr
		}
		if err := k.control(func(fd int) error { return unix.Listen(fd, backlog) }); err != nil {
			return nil, err
		}
		k.mu.Lock()
		k.state, k.backlog = "listening", backlog
		k.mu.Unlock()
		return &Result{}, nil
	case "setsockopt":
		opt, perr := lookupSockopt(a.Level, a.Name)
		if perr != nil {
			return nil, perr
		}
		v, l, verr := sockoptValue(opt, a.Value)
		if verr != nil {
			return nil, verr
		}
		return &Result{}, k.setsockopt(a.Name, opt, v, l)
	case "getsockopt":
		opt, perr := lookupSockopt(a.Level, a.Name)
		if perr != nil {
			return nil, perr
		}
		v, err := k.getsockopt(opt)
		if err != nil {
			return nil, err
		}
		return &Result{Value: v}, nil
	case "autorecv":
		return c.autoLoop(false)
	case "autoaccept":
		return c.autoLoop(true)
	}
	return nil, errType("unknown op %q", c.op.Op)
}

// bind binds to an address: a name lookup can only be of /etc/hosts or a
// literal in practice, so it runs at once, which keeps "bind, then listen"
// in order.
func (c *call) bind() (*Result, error) {
	k := c.sock
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	sa, perr := c.s.sockaddrFor(ctx, k, "bind", c.op.Args.Addr)
	if perr != nil {
		return nil, perr
	}
	if perr := c.s.checkPolicy(k, "bind", sa); perr != nil {
		return nil, perr
	}
	if err := k.control(func(fd int) error { return unix.Bind(fd, sa) }); err != nil {
		return nil, err
	}
	k.refresh()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.state == "new" {
		k.state = "bound"
	}
	return &Result{Local: k.local}, nil
}

// name asks the kernel for one of the socket's addresses.
func (k *Socket) name(get func(fd int) (unix.Sockaddr, error)) (string, error) {
	var addr string
	err := k.control(func(fd int) error {
		sa, err := get(fd)
		if err == nil {
			addr = k.fmtAddr(sa)
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
	case "recv", "recvfrom":
		return c.recv()
	case "recvall":
		return c.recvall()
	case "send", "sendto":
		var to unix.Sockaddr
		if c.op.Op == "sendto" {
			ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
			sa, perr := c.s.sockaddrFor(ctx, k, "sendto", a.Addr)
			cancel()
			if perr != nil {
				return nil, perr
			}
			if perr := c.s.checkPolicy(k, "sendto", sa); perr != nil {
				return nil, perr
			}
			to = sa
		}
		n, err := k.send(c.data, tmo, to)
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
	case "accept":
		return c.accept()
	case "connect":
		return c.connect()
	}
	return nil, errType("unknown op %q", c.op.Op)
}

func (c *call) recv() (*Result, error) {
	k, a := c.sock, c.op.Args
	if *a.Bufsize == 0 && c.op.Op == "recv" {
		// CPython answers recv(0) with b'' before it looks at the socket,
		// whatever its type: it never waits, never fails and takes no
		// datagram. (recvfrom(0) does make the call, and so do we.)
		return &Result{N: intp(0), Note: "recv(0) returns b'' at once without reading: this is not EOF"}, nil
	}
	r, err := k.recv(*a.Bufsize, c.tmo)
	if err != nil {
		return nil, err
	}
	res := &Result{N: intp(len(r.data)), B64: r.data}
	if c.op.Op == "recvfrom" && r.from != nil {
		res.Addr = k.fmtAddr(r.from)
	}
	if k.stype == unix.SOCK_DGRAM {
		if r.size > len(r.data) {
			res.Truncated, res.Size = true, r.size
			res.Note = fmt.Sprintf("the datagram had %d bytes: the %d past bufsize are gone", r.size, r.size-len(r.data))
		}
	} else if len(r.data) == 0 {
		res.EOF = true
		k.mu.Lock()
		k.eof = true
		k.mu.Unlock()
	}
	if a.Requested != nil {
		res.Note = fmt.Sprintf("bufsize %d capped at %d", *a.Requested, MaxBufsize)
	}
	return res, nil
}

// recvall is the loop every framing lesson writes: recv until bufsize
// bytes have come, or EOF. Each recv is its own event (auto); the op's
// event has all the bytes, or the error with what came before it.
func (c *call) recvall() (*Result, error) {
	k, want := c.sock, *c.op.Args.Bufsize
	var got []byte
	for len(got) < want {
		start := c.s.now()
		n := want - len(got)
		r, err := k.recv(n, c.tmo)
		ev := Event{Start: start, Sock: k.id, Op: "recv", Args: &Args{Bufsize: intp(n)}, Auto: true, Parent: c.id}
		if err != nil {
			ev.Error = asError(err)
			c.s.append(ev, false)
			return &Result{N: intp(len(got)), B64: got}, err
		}
		ev.OK, ev.Result = true, &Result{N: intp(len(r.data)), B64: r.data, EOF: len(r.data) == 0}
		c.s.append(ev, false)
		if len(r.data) == 0 {
			k.mu.Lock()
			k.eof = true
			k.mu.Unlock()
			return &Result{N: intp(len(got)), B64: got, EOF: true,
				Note: fmt.Sprintf("EOF after %d of %d bytes", len(got), want)}, nil
		}
		got = append(got, r.data...)
	}
	return &Result{N: intp(len(got)), B64: got}, nil
}

func (c *call) accept() (*Result, error) {
	k := c.sock
	// Refuse before accepting, so the connection stays in the kernel's
	// queue rather than being taken and dropped.
	if err := c.s.socketRoom(); err != nil {
		return nil, err
	}
	nfd, _, err := k.accept(c.tmo)
	if err != nil {
		return nil, err
	}
	return c.s.adopt(k, nfd)
}

func (c *call) connect() (*Result, error) {
	k := c.sock
	if k.closed.Load() {
		return nil, unix.EBADF
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	sa, perr := c.s.sockaddrFor(ctx, k, "connect", c.op.Args.Addr)
	cancel()
	if perr != nil {
		return nil, perr
	}
	if perr := c.s.checkPolicy(k, "connect", sa); perr != nil {
		return nil, perr
	}
	k.mu.Lock()
	prev := k.state
	if k.stype == unix.SOCK_STREAM {
		k.state = "connecting"
	}
	k.mu.Unlock()
	err := k.connect(sa, c.tmo)
	if err != nil && err != unix.EINPROGRESS && err != unix.EALREADY {
		k.mu.Lock()
		if k.state == "connecting" {
			k.state = prev
		}
		k.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	k.refresh()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stype == unix.SOCK_DGRAM {
		// A datagram socket's connect only fixes its peer.
		k.state = "connected"
	}
	return &Result{Local: k.local, Peer: k.peer}, nil
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
		n, err := k.send(data[off:end], tmo, nil)
		ev := Event{Start: start, Sock: k.id, Op: "send", Args: &Args{Data: B64Data(data[off:end])}, Auto: true, Parent: c.id}
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
