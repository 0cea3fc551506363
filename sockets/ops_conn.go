package sockets

import (
	"context"
	"net/netip"

	"golang.org/x/sys/unix"
)

// The ops that make a connection: connect, and accept on a listener.

func checkConnect(c *call) error {
	if err := needAddr(c); err != nil {
		return err
	}
	if err := c.s.admitConnect(); err != nil {
		return err
	}
	return nil
}

func connectOp(c *call) (*Result, error) {
	k := c.sock
	if k.closed.Load() {
		return nil, errBadFD()
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	sa, perr := c.s.sockaddrFor(ctx, k, "connect", c.op.Args.Addr)
	cancel()
	if perr != nil {
		return nil, perr
	}
	viaOwn, perr := c.s.checkDest(k, "connect", sa)
	if perr != nil {
		return nil, perr
	}
	if ap, _ := addrPortOf(sa); viaOwn {
		k.markOwnDial(netip.AddrPortFrom(ap.Addr().WithZone(linkZone(sa)), ap.Port()))
	} else {
		k.markOwnDial(netip.AddrPort{})
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
	return &Result{Local: k.local, Peer: k.peer, Note: whereUnix(sa)}, nil
}

func acceptOp(c *call) (*Result, error) {
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
