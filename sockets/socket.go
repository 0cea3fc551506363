package sockets

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// blocking is the timeout value meaning Python's None: wait forever.
const blocking time.Duration = -1

// Socket wraps one OS socket. The fd is always O_NONBLOCK; Python's modes
// are emulated per call (see io), which is also how CPython implements
// timeout mode. Ops are ordered per socket through two lanes (read and
// write) so that a pending recv never holds up a send, as with two Python
// threads, while recvs run in order and sends run in order.
type Socket struct {
	id     string
	family int
	stype  int
	// unixDir is the session's directory for AF_UNIX paths: names inside
	// it are shown relative to it.
	unixDir string

	f  *os.File
	rc syscall.RawConn

	closed   atomic.Bool
	closedCh chan struct{} // closed with the socket, to cut helper pauses short
	onClose  func()        // the session's, told as the socket closes

	// autoMu orders autorecv's "clear deadline, then wait" against the
	// stopper's "set stop, then expire deadline", so a stop is never lost.
	autoMu sync.Mutex

	// shareMu orders setsockopt's changes to the options that let the
	// kernel share a port (SO_REUSEPORT, SO_REUSEADDR) with the record
	// of them in mayShare.
	shareMu sync.Mutex

	mu sync.Mutex // guards everything below
	// mayShare: the kernel may let another socket hold this socket's
	// port too, because an option that allows it (see sharesPort) was on
	// when the kernel gave the port, or has been on since. It is set
	// before such an option goes on and cleared only while the socket
	// has no port, so it never says less than the kernel did.
	mayShare bool
	// ownDial is where the last connect went when only the session's
	// own listener there let it (see callOffOwnDials).
	ownDial    netip.AddrPort
	dialOff    bool // callOffOwnDials disconnected the connect to ownDial
	timeout    time.Duration
	state      string
	local      string
	peer       string
	shut       string
	eof        bool
	auto       *autoLoop
	autoPaused bool
	opts       map[string]any // options set, for the netstat view
	backlog    int
	stats      *KStats // last kernel stats sent
	readTail   chan struct{}
	writeTail  chan struct{}
}

var familyNames = map[int]string{unix.AF_INET: "inet", unix.AF_INET6: "inet6", unix.AF_UNIX: "unix"}
var typeNames = map[int]string{unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram"}

func newSocket(id string, family, stype int, unixDir string) (*Socket, error) {
	fd, err := unix.Socket(family, stype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return newSocketFromFD(id, family, stype, fd, unixDir)
}

// newSocketFromFD wraps a non-blocking fd (from socket or accept4).
func newSocketFromFD(id string, family, stype, fd int, unixDir string) (*Socket, error) {
	// os.NewFile registers a non-blocking fd with the runtime poller, which
	// gives us readiness waits, deadlines and wake-up on Close for free.
	f := os.NewFile(uintptr(fd), "socket")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	k := &Socket{id: id, family: family, stype: stype, unixDir: unixDir, f: f, rc: rc, timeout: blocking, state: "new", closedCh: make(chan struct{})}
	k.refresh()
	return k, nil
}

// enqueue reserves this op's place in the socket's lanes and returns what
// to wait for and the channel to close when done. check, if given, runs
// under the same lock first, so that a condition it tests (autorecv is
// off, say) still holds when the place is taken.
func (k *Socket) enqueue(read, write bool, check func() error) (waits []chan struct{}, done chan struct{}, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if check != nil {
		if err := check(); err != nil {
			return nil, nil, err
		}
	}
	done = make(chan struct{})
	if read {
		if k.readTail != nil {
			waits = append(waits, k.readTail)
		}
		k.readTail = done
	}
	if write {
		if k.writeTail != nil {
			waits = append(waits, k.writeTail)
		}
		k.writeTail = done
	}
	return waits, done, nil
}

func (k *Socket) getTimeout() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.timeout
}

// control runs fn on the fd, unless the socket is closed.
func (k *Socket) control(fn func(fd int) error) error {
	if k.closed.Load() {
		return unix.EBADF
	}
	var ferr error
	if err := k.rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return unix.EBADF
	}
	return ferr
}

// io runs one syscall the way Python does in the given mode. fn reports
// again=true when the call would block (EAGAIN) and should be retried once
// the fd is ready.
//
// The first try is made at once, with no deadline: a socket that is ready
// never times out, however short the timeout (CPython polls first, with the
// same outcome). Non-blocking mode (tmo 0) stops there, which is why this
// is RawConn and not deadlines: Go never tries a syscall once its deadline
// has passed. The wait then always sets the deadline, zero for none, since
// an earlier call's expired deadline may still be on the fd.
func (k *Socket) io(write bool, tmo time.Duration, deadline time.Time, fn func(fd int) (again bool)) error {
	if k.closed.Load() {
		return unix.EBADF
	}
	again := true
	if err := k.rc.Control(func(fd uintptr) { again = fn(int(fd)) }); err != nil {
		return unix.EBADF
	}
	if !again || tmo == 0 {
		return nil
	}
	if tmo > 0 && deadline.IsZero() {
		deadline = time.Now().Add(tmo)
	}
	cb := func(fd uintptr) bool { return !fn(int(fd)) }
	var err error
	if write {
		if err = k.f.SetWriteDeadline(deadline); err == nil {
			err = k.rc.Write(cb)
		}
	} else {
		if err = k.f.SetReadDeadline(deadline); err == nil {
			err = k.rc.Read(cb)
		}
	}
	if err != nil && k.closed.Load() {
		return unix.EBADF
	}
	return err
}

func wouldBlock(err error) bool { return err == unix.EAGAIN || err == unix.EINTR }

// received is what one recv or recvfrom got.
type received struct {
	data []byte
	from unix.Sockaddr
	// size is a datagram's real length, larger than len(data) when it was
	// truncated to bufsize.
	size int
}

// recv is one recvfrom(2) of at most n bytes, after waiting for
// readability as the mode says. On a datagram socket it is recvmsg with
// MSG_TRUNC, which returns the datagram's real length, so truncation can
// be shown; the bytes returned are what Python's recv would return.
func (k *Socket) recv(n int, tmo time.Duration) (received, error) {
	buf := make([]byte, n)
	var r received
	var got int
	var serr error
	err := k.io(false, tmo, time.Time{}, func(fd int) bool {
		if k.stype == unix.SOCK_DGRAM {
			got, _, _, r.from, serr = unix.Recvmsg(fd, buf, nil, unix.MSG_TRUNC)
		} else {
			got, r.from, serr = unix.Recvfrom(fd, buf, 0)
		}
		return wouldBlock(serr)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return r, err
	}
	r.size = got
	r.data = buf[:min(got, n)]
	return r, nil
}

// accept is one accept4(2), after waiting as the mode says.
func (k *Socket) accept(tmo time.Duration) (int, unix.Sockaddr, error) {
	var nfd int
	var sa unix.Sockaddr
	var serr error
	err := k.io(false, tmo, time.Time{}, func(fd int) bool {
		nfd, sa, serr = unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		// A connection reset while queued is skipped, as Linux's
		// blocking accept does.
		return wouldBlock(serr) || serr == unix.ECONNABORTED
	})
	if err == nil {
		err = serr
	}
	return nfd, sa, err
}

// send is Python's send(). In blocking mode Linux queues the whole buffer
// before returning (blocking as needed), so we loop, and like Linux report
// what was queued before an error, which the next call then gets; in
// timeout and non-blocking modes it is one sendto(2) that may move only
// part of it.
func (k *Socket) send(data []byte, tmo time.Duration, to unix.Sockaddr) (int, error) {
	if tmo == blocking {
		n, err := k.sendLoop(data, blocking, time.Time{}, to, true)
		if n > 0 {
			return n, nil
		}
		return 0, err
	}
	var n int
	var serr error
	err := k.io(true, tmo, time.Time{}, func(fd int) bool {
		n, serr = sendto(fd, data, to)
		return wouldBlock(serr)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sendLoop sends until all of data is queued, the deadline passes or an
// error happens. It returns how much was queued. Like Linux's blocking
// send, an error after some bytes were queued still reports them. With
// keepErr, it stops before the error instead, once some bytes are queued,
// leaving it in the kernel for the next call, as Linux's blocking send
// does: a sendto that met it would take it (a reset would be lost, and
// the next send would say EPIPE). A reset that comes between the look and
// the sendto is still taken: a loop outside the kernel cannot close that
// window, only make it a few microseconds wide.
func (k *Socket) sendLoop(data []byte, tmo time.Duration, deadline time.Time, to unix.Sockaddr, keepErr bool) (int, error) {
	total := 0
	var serr error
	err := k.io(true, tmo, deadline, func(fd int) bool {
		// At least one syscall, even for b'': on an unconnected socket
		// that is EPIPE in Python too.
		for {
			if keepErr && total > 0 && pendingError(fd) {
				serr = nil
				return false
			}
			n, err := sendto(fd, data[total:], to)
			if n > 0 {
				total += n
			}
			if err != nil {
				serr = err
				return wouldBlock(err)
			}
			if total >= len(data) {
				serr = nil
				return false
			}
		}
	})
	if err == nil {
		err = serr
	}
	return total, err
}

// pendingError reports whether the kernel holds an error for the socket
// (a reset, say), without taking it as SO_ERROR or a send would.
func pendingError(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&unix.POLLERR != 0
}

// sendall is Python's sendall: send until done; in timeout mode the
// timeout bounds the whole call; in non-blocking mode it stops at EAGAIN.
func (k *Socket) sendall(data []byte, tmo time.Duration) (int, error) {
	var deadline time.Time
	if tmo > 0 {
		deadline = time.Now().Add(tmo)
	}
	return k.sendLoop(data, tmo, deadline, nil, false)
}

// sendto is send(2) with MSG_NOSIGNAL: a write to a reset connection must
// be EPIPE (Python ignores SIGPIPE too), never a signal.
func sendto(fd int, p []byte, to unix.Sockaddr) (int, error) {
	return unix.SendmsgN(fd, p, nil, to, unix.MSG_NOSIGNAL)
}

// connect is Python's connect: the syscall, then in blocking or timeout
// mode a wait for writability and SO_ERROR, as CPython's internal_connect.
func (k *Socket) connect(sa unix.Sockaddr, tmo time.Duration) error {
	err := k.control(func(fd int) error { return unix.Connect(fd, sa) })
	if err != unix.EINPROGRESS || tmo == 0 {
		return err
	}
	var cerr error
	err = k.io(true, tmo, time.Time{}, func(fd int) bool {
		v, gerr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if gerr != nil {
			cerr = gerr
			return false
		}
		switch e := unix.Errno(v); e {
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return true
		case 0:
			// The poller can wake us spuriously; only a peer name proves
			// the handshake is done (as Go's own netFD.connect checks).
			if _, perr := unix.Getpeername(fd); perr != nil {
				return true
			}
			cerr = nil
			return false
		default:
			cerr = e
			return false
		}
	})
	if err == nil {
		err = cerr
	}
	k.mu.Lock()
	off := k.dialOff
	k.mu.Unlock()
	// Not after callOffOwnDials: its shutdown left the socket unconnected,
	// where this connect would send a new SYN.
	if tmo == blocking && !off && (err == nil || errors.As(err, new(unix.Errno))) {
		// After a poll-style wait Linux still counts the socket as
		// connecting until connect is called again. A truly blocking
		// connect leaves it fully connected, so that a second connect is
		// EISCONN; or, when it failed, unconnected, so that the next
		// connect starts afresh rather than being ECONNABORTED. Calling
		// it again here settles it so.
		_ = k.control(func(fd int) error { return unix.Connect(fd, sa) })
	}
	return err
}

// close closes the fd. Ops waiting on it wake up and fail with EBADF.
func (k *Socket) close() {
	if k.closed.Swap(true) {
		return
	}
	close(k.closedCh)
	// Before the close: a select holding the fd open would make the
	// close wait for it.
	if k.onClose != nil {
		k.onClose()
	}
	k.f.Close()
	k.mu.Lock()
	k.state = "closed"
	k.mu.Unlock()
}

// refresh re-reads the socket's names from the kernel, so the state shown
// follows what really happened (a non-blocking connect completing later,
// say).
func (k *Socket) refresh() {
	if k.closed.Load() {
		return
	}
	var local, peer string
	named := false // the kernel has given it an address: a port, or a path
	_ = k.control(func(fd int) error {
		if sa, err := unix.Getsockname(fd); err == nil {
			local = k.fmtAddr(sa)
			ap, isIP := addrPortOf(sa)
			named = (isIP && ap.Port() != 0) || (!isIP && local != "")
		}
		if sa, err := unix.Getpeername(fd); err == nil {
			peer = k.fmtAddr(sa)
		}
		return nil
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	k.local = local
	if peer != "" {
		k.peer = peer
		if k.state == "new" || k.state == "connecting" || k.state == "bound" {
			k.state = "connected"
		}
	} else if named && k.state == "new" {
		// Bound by the kernel: a UDP socket's first sendto, say.
		k.state = "bound"
	}
}

// fmtAddr shows an address as users write it: host:port, [v6]:port, or a
// unix path relative to the session's directory.
func (k *Socket) fmtAddr(sa unix.Sockaddr) string {
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		// x/sys shows an unnamed socket's empty path as "@"; Python as ''.
		if u.Name == "@" {
			return ""
		}
		if name, ok := unixName(k.unixDir, u.Name); ok {
			return name
		}
	}
	return formatSockaddr(sa)
}

func formatSockaddr(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if a.ZoneId != 0 {
			ip = ip.WithZone(strconv.Itoa(int(a.ZoneId)))
		}
		return netip.AddrPortFrom(ip, uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		return a.Name
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// setEOF records that a recv read the end of the stream.
func (k *Socket) setEOF() {
	k.mu.Lock()
	k.eof = true
	k.mu.Unlock()
}
