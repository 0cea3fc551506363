package sockets

import (
	"context"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// The ops that set a socket up, ask about it, or end it: none of them
// waits for the kernel.

// DefaultBacklog is listen()'s backlog when none is given, as Python's
// min(SOMAXCONN, 128).
const DefaultBacklog = 128

// resolveTimeout bounds a name lookup made inside a call.
const resolveTimeout = 10 * time.Second

func needAddr(c *call) error {
	if c.op.Args.Addr == "" {
		return errType("%s() missing required argument 'address'", c.op.Op)
	}
	return nil
}

// bindOp binds to an address: a name lookup can only be of /etc/hosts or
// a literal in practice, so it runs at once, which keeps "bind, then
// listen" in order.
func bindOp(c *call) (*Result, error) {
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
	return &Result{Local: k.local, Note: whereUnix(sa)}, nil
}

// whereUnix says where an AF_UNIX socket's file really is.
func whereUnix(sa unix.Sockaddr) string {
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		return "the file is " + u.Name + ", in this session's directory"
	}
	return ""
}

// checkBacklog refuses a backlog that is no C int, as CPython's argument
// parsing does before it looks at the socket.
func checkBacklog(c *call) error {
	b := c.op.Args.Backlog
	switch {
	case b == nil:
	case *b > math.MaxInt32:
		return &Error{Exc: "OverflowError", Msg: "signed integer is greater than maximum"}
	case *b < math.MinInt32:
		return &Error{Exc: "OverflowError", Msg: "signed integer is less than minimum"}
	}
	return nil
}

func listenOp(c *call) (*Result, error) {
	k, a := c.sock, c.op.Args
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
}

func checkTimeout(c *call) error {
	t := c.op.Args.Timeout
	if !t.Set {
		return errType("settimeout() missing required argument 'timeout' (seconds, or null for None)")
	}
	if err := checkSeconds(t, "Timeout value out of range"); err != nil {
		return err
	}
	return nil
}

// maxSeconds is the longest timeout there is, in seconds: CPython keeps
// time in int64 nanoseconds, as a time.Duration does.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// checkSeconds refuses a timeout as CPython does: NaN, negative (with
// negative's own message, which differs between calls), or past what it
// can hold.
func checkSeconds(t Timeout, negative string) *Error {
	switch {
	case !t.Set || t.None:
	case math.IsNaN(t.Seconds):
		return errValue("Invalid value NaN (not a number)")
	case t.Seconds < 0:
		return errValue("%s", negative)
	case t.Seconds > maxSeconds:
		return &Error{Exc: "OverflowError", Msg: "timestamp out of range for platform time_t"}
	}
	return nil
}

func needFlag(c *call) error {
	if c.op.Args.Flag == nil {
		return errType("setblocking() missing required argument 'flag' (true or false)")
	}
	return nil
}

// settimeoutOp is settimeout and setblocking. On a closed socket CPython
// sets the timeout and then fails to set the fd's mode: EBADF, with
// gettimeout() answering the new timeout all the same.
func settimeoutOp(c *call) (*Result, error) {
	k, a := c.sock, c.op.Args
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
	if k.closed.Load() {
		return nil, errBadFD()
	}
	mode, tv := modeOf(t)
	return &Result{Mode: mode, Timeout: tv}, nil
}

func gettimeoutOp(c *call) (*Result, error) {
	mode, tv := modeOf(c.sock.getTimeout())
	return &Result{Mode: mode, Timeout: tv}, nil
}

func needOptname(c *call) error {
	if c.op.Args.Name == "" {
		return errType("%s() missing required argument 'optname' (\"name\", such as \"SO_SNDBUF\")", c.op.Op)
	}
	return nil
}

func setsockoptOp(c *call) (*Result, error) {
	a := c.op.Args
	opt, perr := lookupSockopt(a.Level, a.Name)
	if perr != nil {
		return nil, perr
	}
	v, l, verr := sockoptValue(opt, a.Value)
	if verr != nil {
		return nil, verr
	}
	k := c.sock
	if k.sharesPort(opt) {
		err := k.setSharing(v != 0, func() error { return k.setsockopt(a.Name, opt, v, l) })
		c.s.callOffOwnDials() // a listener sharing its port vouches for no pending connect
		return &Result{}, err
	}
	return &Result{}, k.setsockopt(a.Name, opt, v, l)
}

func getsockoptOp(c *call) (*Result, error) {
	a := c.op.Args
	opt, perr := lookupSockopt(a.Level, a.Name)
	if perr != nil {
		return nil, perr
	}
	v, err := c.sock.getsockopt(opt)
	if err != nil {
		return nil, err
	}
	return &Result{Value: v}, nil
}

func needHow(c *call) error {
	if c.op.Args.How == nil {
		return errType("shutdown() missing required argument 'how' (SHUT_RD, SHUT_WR or SHUT_RDWR)")
	}
	return nil
}

// shutdownLane: a half-close of the write side waits for the sends before
// it ("send, then shutdown(SHUT_WR)" must deliver the data), in the lane
// the table gives; SHUT_RD acts at once, as it is how a blocked recv is
// woken.
func shutdownLane(a *Args) lane {
	if a.How != nil && *a.How == unix.SHUT_RD {
		return laneNone
	}
	return laneWrite
}

func shutdownOp(c *call) (*Result, error) {
	k, how := c.sock, *c.op.Args.How
	if err := k.control(func(fd int) error { return unix.Shutdown(fd, int(how)) }); err != nil {
		return nil, err
	}
	c.s.callOffOwnDials() // a listener shut down no longer listens
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

func closeOp(c *call) (*Result, error) {
	// Close first: that ends whatever holds the read lane, so an auto
	// loop queued behind it can end too.
	c.sock.close()
	c.sock.stopAuto()
	c.s.callOffOwnDials()
	return &Result{}, nil
}

func getsocknameOp(c *call) (*Result, error) {
	local, err := c.sock.name(unix.Getsockname)
	if err != nil {
		return nil, err
	}
	return &Result{Local: local}, nil
}

func getpeernameOp(c *call) (*Result, error) {
	peer, err := c.sock.name(unix.Getpeername)
	if err != nil {
		return nil, err
	}
	return &Result{Peer: peer}, nil
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
