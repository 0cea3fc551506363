package labs

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// serveSink never reads, so what the client sends piles up in this
// socket's receive queue, the advertised window shrinks to zero, the
// client's send queue fills behind it, and its send blocks or fails with
// EAGAIN.
//
// It still has to notice when the client goes away, without reading: it
// waits on the netpoller for the socket to become readable and checks
// with poll(2) whether that readiness was a hang-up (POLLRDHUP: the
// client's FIN, or POLLHUP/POLLERR: a reset). A FIN queued behind unread
// data never arrives, so a client that closes with a full pipe is seen
// only by its RST or by TCP keepalive (on by default for Go's accepted
// connections); Close ends every sink connection in any case.
func (s *Server) serveSink(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	err = rc.Read(func(fd uintptr) bool { return hungUp(int(fd)) })
	if err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("sink wait failed", "err", err)
	}
}

// hungUp reports, without waiting, whether the peer has shut down or
// reset the connection on fd (or whether fd is unusable).
func hungUp(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return true
		}
		return n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
	}
}
