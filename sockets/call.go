package sockets

import (
	"fmt"
	"reflect"
	"time"
)

// call is one submitted op on its way to its event.
type call struct {
	s     *Session
	id    int64
	op    Op
	spec  *opSpec
	from  Submitter
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
		Reply: c.from.Reply, Conn: c.from.Conn, Origin: c.op.Origin, Result: res}
	if err != nil {
		ev.Error = asError(err)
	} else {
		ev.OK = true
	}
	if c.sock != nil {
		c.sock.refresh()
	}
	if c.spec != nil {
		// Counted before its event is logged: whoever has the event
		// finds the call in the metrics.
		c.s.cfg.Meter.Op(c.spec.num, ev.OK, time.Duration(c.s.now()-c.start)*time.Microsecond)
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

// dispatch runs the call as its entry in opTable says: at once, or
// pending in its socket's lane, or pending on the session.
func (c *call) dispatch() {
	c.spec = opTable[c.op.Op]
	if c.spec == nil {
		c.finish(nil, errType("unknown op %q", c.op.Op))
		return
	}
	if err := c.op.Origin.check(); err != nil {
		c.op.Origin = nil
		c.finish(nil, err)
		return
	}
	if err := checkArgs(c.op.Op, c.spec, &c.op.Args); err != nil {
		c.finish(nil, err)
		return
	}
	if !c.spec.Socket {
		if err := c.validate(); err != nil {
			c.finish(nil, err)
			return
		}
		if !c.spec.Blocks {
			c.finish(c.spec.run(c))
			return
		}
		c.goPending(func() { c.finish(c.spec.run(c)) }, nil)
		return
	}
	if c.op.Sock == "" {
		c.finish(nil, errType("%s() needs a socket: \"sock\" is missing", c.op.Op))
		return
	}
	if c.spec.connects && c.s.cfg.MaxPendingConnects > 0 {
		// Until this call is pending: two connects at once must not
		// both find the last place under -max-pending-connects free.
		c.s.admitMu.Lock()
		defer c.s.admitMu.Unlock()
	}
	c.sock = c.s.socket(c.op.Sock)
	if c.sock == nil {
		c.finish(nil, errNoSocket(c.op.Sock))
		return
	}
	if err := c.validate(); err != nil {
		c.finish(nil, err)
		return
	}
	l := c.spec.lane(&c.op.Args)
	if l == laneNone {
		if c.sock.closed.Load() && !c.spec.closedOK {
			c.finish(nil, errBadFD())
			return
		}
		c.finish(c.spec.run(c))
		return
	}
	k := c.sock
	var check func() error
	if l == laneRead {
		check = func() error {
			if k.auto != nil {
				return &Error{Exc: "RuntimeError", Msg: fmt.Sprintf("%s is on for %s: turn it off to %s by hand", k.auto.op(), k.id, c.op.Op)}
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
		c.finish(c.spec.run(c))
	}, func() { close(done) })
}

// validate runs the op's own check, if it has one.
func (c *call) validate() error {
	if c.spec.check == nil {
		return nil
	}
	return c.spec.check(c)
}

// goPending marks the call pending and runs fn on the session's goroutine;
// if the session has ended, it runs abandon and answers that instead.
func (c *call) goPending(fn, abandon func()) {
	c.s.mu.Lock()
	c.s.pending[c.id] = Pending{Call: c.id, Sock: c.op.Sock, Op: c.op.Op, Args: argsOf(c.op), Start: c.start, Origin: c.op.Origin}
	c.s.notifyLocked(true)
	c.s.mu.Unlock()
	if !c.s.goRun(fn) {
		if abandon != nil {
			abandon()
		}
		c.finish(nil, errSessionEnded())
	}
}
