package sockets

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
)

// DefaultAutoBufsize is autorecv's bufsize when none is given.
const DefaultAutoBufsize = 4096

// autorecvOp turns the recv loop on (restarting it with a new bufsize if
// it already runs) or off.
func autorecvOp(c *call) (*Result, error) {
	bufsize := DefaultAutoBufsize
	if b := c.op.Args.Bufsize; b != nil {
		bufsize = *b
	}
	return c.startAuto("autorecv", bufsize, c.s.runAutorecv)
}

func checkAutorecv(c *call) error {
	if b := c.op.Args.Bufsize; b != nil && (*b < 1 || *b > MaxBufsize) {
		return errValue("autorecv bufsize must be between 1 and %d", MaxBufsize)
	}
	return nil
}

// recvResult is an autorecv event's Result with the N it points to, kept
// with the recv's bytes by the log (see eventlog.Recvs).
type recvResult struct {
	r Result
	n int
}

// beforeRecv, when a test sets it, is called by an autorecv loop that has
// found room in the log and is about to recv: the only way to know that a
// loop has passed its room check and not yet got its bytes.
var beforeRecv atomic.Pointer[func()]

// runAutorecv is autorecv's loop: wait until readable, one recv, one
// event, until EOF, an error, a stop or a close.
func (s *Session) runAutorecv(k *Socket, loop *autoLoop) {
	recvs := eventlog.NewRecvs[recvResult](s.log, &s.mu, loop.bufsize)
	defer recvs.Close()
	// One recv function, made once, for every recv: a closure made per
	// turn of the loop (and the variables it shares) would be
	// allocations for every event.
	var (
		buf   []byte
		n     int
		from  unix.Sockaddr
		serr  error
		dgram = k.stype == unix.SOCK_DGRAM
	)
	try := func(fd uintptr) bool {
		if dgram {
			n, from, serr = unix.Recvfrom(int(fd), buf, 0)
		} else {
			n, serr = recvStream(int(fd), buf)
		}
		if wouldBlock(serr) {
			// The socket has run dry and the loop will wait: now is
			// when viewers take what it held back. (This takes s.mu
			// inside the socket's read: a socket must never be closed
			// with s.mu held, as Close waits for the read.)
			s.wakeHeld()
			return false
		}
		return true
	}
	// Every event of the loop echoes the same arguments: one value,
	// shared, never changed once made.
	args := &Args{Bufsize: intp(loop.bufsize)}
	for {
		if !s.waitForRoom(k, loop, recvs.NextWeight()) || !loop.begin(k) {
			return
		}
		buf = recvs.Next()
		if f := beforeRecv.Load(); f != nil {
			(*f)()
		}
		start := s.now()
		n, from, serr = 0, nil, nil
		err, quit, again := loop.ready(k, try, &serr)
		if quit {
			return
		}
		if again {
			continue
		}
		ev := Event{Start: start, Sock: k.id, Op: "recv", Args: args, Auto: true}
		if err != nil {
			ev.Error = asError(err)
			s.append(ev, true)
			return
		}
		data, x, h := recvs.Keep(n)
		x.n = n
		x.r = Result{N: &x.n, Data: data, EOF: n == 0 && !dgram}
		if from != nil && dgram {
			x.r.Addr = k.fmtAddr(from)
		}
		ev.OK, ev.Result = true, &x.r
		s.appendInRoom(k, loop, ev, h)
		if ev.Result.EOF {
			// Only now: the state must not show an EOF the log has not.
			k.setEOF()
			s.touch()
			return
		}
	}
}

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
func (s *Session) appendInRoom(k *Socket, loop *autoLoop, ev Event, h eventlog.Holding) {
	returned := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roomLocked(k, loop, h.Weight())
	// An auto event answers no call, and its EOF is shown by the loop's
	// end: logging it changes no state.
	ev.T = max(returned, ev.Start, s.lastT)
	s.logLocked(ev, h)
	s.holdLocked(&ev)
}

// The wake rule. Autorecv does not wake viewers at every recv: it holds
// its events back while its socket has more to read, and wakes them when
// the socket runs dry (wakeHeld, just before the loop waits), or sooner,
// at the bounds below, for a stream that never runs dry. Any other change
// (an op's event, a pause, the loop's end) wakes them too, held events
// and all (notifyLocked). A WebSocket's writer then runs once per burst
// instead of once per recv, and runs as the loop stops: on the same core,
// where the bytes it sends were just received.
//
// While a watcher looks on, every event wakes: a watcher is closed when
// it falls -max-watcher-lag events behind, and a burst it was not woken
// for would count against it.

// heldBack counts the events logged without waking viewers.
type heldBack struct {
	events, bytes int
	since         int64 // the first one's T
}

// heldBounds are how much autorecv may hold back: a quarter of the lag
// limit's events and an eighth of its bytes (1,024 events and 2 MiB by
// default; the lag counts an event's weight, about three times its bytes,
// so either bound comes well before a pause), and heldMicros of the
// session's clock. Should a pause come first all the same (small events
// weigh more than three times their bytes), the pause wakes viewers.
func (cfg *Config) heldBounds() (events int, bytes int) {
	return cfg.MaxLagEvents / 4, int(cfg.MaxLagBytes / 8)
}

// heldMicros bounds how long viewers wait for events held back: 5 ms. A
// variable so that a test can make it the first bound met.
var heldMicros int64 = 5000

// holdLocked applies the wake rule to an event just logged; s.mu is held.
func (s *Session) holdLocked(ev *Event) {
	h := &s.held
	if h.events == 0 {
		h.since = ev.T
	}
	h.events++
	h.bytes += len(ev.Result.Data)
	maxEvents, maxBytes := s.cfg.heldBounds()
	if s.log.Watchers() > 0 || h.events >= maxEvents || h.bytes >= maxBytes || ev.T-h.since >= heldMicros {
		s.notifyLocked(false)
	}
}

// wakeHeld wakes viewers for the events held back, if any.
func (s *Session) wakeHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held.events > 0 {
		s.notifyLocked(false)
	}
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
