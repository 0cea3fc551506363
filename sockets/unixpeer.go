package sockets

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Two AF_UNIX sockets of a session are the two ends of one connection
// when the kernel says each is the other's peer: their names cannot say
// so (a client's is empty, and every client of a listener has the same
// peer name). The kernel tells a socket's peer by inode through
// sock_diag, as ss(8) asks it.

// unixDiag are the parts of linux/unix_diag.h used here.
const (
	udiagShowPeer = 0x4 // UDIAG_SHOW_PEER
	unixDiagPeer  = 2   // UNIX_DIAG_PEER: the peer's inode, a u32
	diagNoCookie  = ^uint32(0)
)

// unixInodes is the socket's inode and its peer's (0 when it has none).
func (k *Socket) unixInodes() (self, peer uint32, ok bool) {
	err := k.control(func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		self = uint32(st.Ino)
		p, err := unixPeerInode(self)
		peer = p
		return err
	})
	return self, peer, err == nil
}

// unixPeerInode asks sock_diag for the peer of the AF_UNIX socket ino.
func unixPeerInode(ino uint32) (uint32, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	// struct nlmsghdr, then struct unix_diag_req.
	req := make([]byte, 16+24)
	le := binary.NativeEndian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	req[16] = unix.AF_UNIX
	le.PutUint32(req[20:], ^uint32(0)) // every state
	le.PutUint32(req[24:], ino)
	le.PutUint32(req[28:], udiagShowPeer)
	le.PutUint32(req[32:], diagNoCookie)
	le.PutUint32(req[36:], diagNoCookie)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return 0, err
	}
	for msg := buf[:n]; len(msg) >= 16; {
		// struct nlmsghdr: its length and type lead.
		l, typ := int(le.Uint32(msg[0:])), le.Uint16(msg[4:])
		if l < 16 || l > len(msg) {
			break
		}
		data := msg[16:l]
		if next := (l + 3) &^ 3; next <= len(msg) {
			msg = msg[next:]
		} else {
			msg = nil
		}
		if typ != unix.SOCK_DIAG_BY_FAMILY || len(data) < 16 {
			continue // an error or an answer of no use: no peer known
		}
		// struct unix_diag_msg (16 bytes), then its attributes.
		attrs := data[16:]
		for len(attrs) >= 4 {
			l, typ := int(le.Uint16(attrs[0:])), le.Uint16(attrs[2:])
			if l < 4 || l > len(attrs) {
				break
			}
			if typ == unixDiagPeer && l >= 8 {
				return le.Uint32(attrs[4:]), nil
			}
			next := (l + 3) &^ 3
			if next > len(attrs) {
				break
			}
			attrs = attrs[next:]
		}
	}
	return 0, nil
}
