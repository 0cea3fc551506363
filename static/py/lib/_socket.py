"""sockplay's _socket: the part of CPython's socket module written in C,
rebuilt on the session's ops, so that the standard library's own
socket.py (makefile, accept, create_connection, create_server, the enums)
runs unchanged on top of it.

Each method that makes a system call in CPython sends the op of the same
name; its event gives the return value or the exception, with CPython's
class, errno and message. File descriptors are this module's own table,
numbered from 3 as a process's are, so that select() and selectors work.
"""

import base64
import ipaddress
import math
import struct
import weakref

import _sockplay
import _sockplay_js as _js

__all__ = []  # filled in below: what `from _socket import *` exports

# Linux's values, as CPython 3 on Linux x86-64 has them (made from its
# _socket module: every upper-case integer constant).
_CONSTANTS = dict(
    AF_ALG=38, AF_APPLETALK=5, AF_ASH=18, AF_ATMPVC=8, AF_ATMSVC=20, AF_AX25=3,
    AF_BRIDGE=7, AF_CAN=29, AF_ECONET=19, AF_INET=2, AF_INET6=10, AF_IPX=4, AF_IRDA=23,
    AF_KEY=15, AF_LLC=26, AF_NETBEUI=13, AF_NETLINK=16, AF_NETROM=6, AF_PACKET=17,
    AF_PPPOX=24, AF_QIPCRTR=42, AF_RDS=21, AF_ROSE=11, AF_ROUTE=16, AF_SECURITY=14,
    AF_SNA=22, AF_TIPC=30, AF_UNIX=1, AF_UNSPEC=0, AF_VSOCK=40, AF_WANPIPE=25,
    AF_X25=9, AI_ADDRCONFIG=32, AI_ALL=16, AI_CANONNAME=2, AI_NUMERICHOST=4,
    AI_NUMERICSERV=1024, AI_PASSIVE=1, AI_V4MAPPED=8, ALG_OP_DECRYPT=0,
    ALG_OP_ENCRYPT=1, ALG_OP_SIGN=2, ALG_OP_VERIFY=3, ALG_SET_AEAD_ASSOCLEN=4,
    ALG_SET_AEAD_AUTHSIZE=5, ALG_SET_IV=2, ALG_SET_KEY=1, ALG_SET_OP=3,
    ALG_SET_PUBKEY=6, CAN_BCM=2, CAN_BCM_CAN_FD_FRAME=2048,
    CAN_BCM_RX_ANNOUNCE_RESUME=256, CAN_BCM_RX_CHANGED=12, CAN_BCM_RX_CHECK_DLC=64,
    CAN_BCM_RX_DELETE=6, CAN_BCM_RX_FILTER_ID=32, CAN_BCM_RX_NO_AUTOTIMER=128,
    CAN_BCM_RX_READ=7, CAN_BCM_RX_RTR_FRAME=1024, CAN_BCM_RX_SETUP=5,
    CAN_BCM_RX_STATUS=10, CAN_BCM_RX_TIMEOUT=11, CAN_BCM_SETTIMER=1,
    CAN_BCM_STARTTIMER=2, CAN_BCM_TX_ANNOUNCE=8, CAN_BCM_TX_COUNTEVT=4,
    CAN_BCM_TX_CP_CAN_ID=16, CAN_BCM_TX_DELETE=2, CAN_BCM_TX_EXPIRED=9,
    CAN_BCM_TX_READ=3, CAN_BCM_TX_RESET_MULTI_IDX=512, CAN_BCM_TX_SEND=4,
    CAN_BCM_TX_SETUP=1, CAN_BCM_TX_STATUS=8, CAN_EFF_FLAG=2147483648,
    CAN_EFF_MASK=536870911, CAN_ERR_FLAG=536870912, CAN_ERR_MASK=536870911,
    CAN_ISOTP=6, CAN_J1939=7, CAN_RAW=1, CAN_RAW_FD_FRAMES=5, CAN_RAW_FILTER=1,
    CAN_RAW_JOIN_FILTERS=6, CAN_RAW_LOOPBACK=3, CAN_RAW_RECV_OWN_MSGS=4,
    CAN_RTR_FLAG=1073741824, CAN_SFF_MASK=2047, EAI_ADDRFAMILY=-9, EAI_AGAIN=-3,
    EAI_BADFLAGS=-1, EAI_FAIL=-4, EAI_FAMILY=-6, EAI_MEMORY=-10, EAI_NODATA=-5,
    EAI_NONAME=-2, EAI_OVERFLOW=-12, EAI_SERVICE=-8, EAI_SOCKTYPE=-7, EAI_SYSTEM=-11,
    INADDR_ALLHOSTS_GROUP=3758096385, INADDR_ANY=0, INADDR_BROADCAST=4294967295,
    INADDR_LOOPBACK=2130706433, INADDR_MAX_LOCAL_GROUP=3758096639,
    INADDR_NONE=4294967295, INADDR_UNSPEC_GROUP=3758096384,
    IOCTL_VM_SOCKETS_GET_LOCAL_CID=1977, IPPORT_RESERVED=1024,
    IPPORT_USERRESERVED=5000, IPPROTO_AH=51, IPPROTO_DSTOPTS=60, IPPROTO_EGP=8,
    IPPROTO_ESP=50, IPPROTO_FRAGMENT=44, IPPROTO_GRE=47, IPPROTO_HOPOPTS=0,
    IPPROTO_ICMP=1, IPPROTO_ICMPV6=58, IPPROTO_IDP=22, IPPROTO_IGMP=2, IPPROTO_IP=0,
    IPPROTO_IPIP=4, IPPROTO_IPV6=41, IPPROTO_MPTCP=262, IPPROTO_NONE=59,
    IPPROTO_PIM=103, IPPROTO_PUP=12, IPPROTO_RAW=255, IPPROTO_ROUTING=43,
    IPPROTO_RSVP=46, IPPROTO_SCTP=132, IPPROTO_TCP=6, IPPROTO_TP=29, IPPROTO_UDP=17,
    IPPROTO_UDPLITE=136, IPV6_CHECKSUM=7, IPV6_DONTFRAG=62, IPV6_DSTOPTS=59,
    IPV6_HOPLIMIT=52, IPV6_HOPOPTS=54, IPV6_JOIN_GROUP=20, IPV6_LEAVE_GROUP=21,
    IPV6_MULTICAST_HOPS=18, IPV6_MULTICAST_IF=17, IPV6_MULTICAST_LOOP=19,
    IPV6_NEXTHOP=9, IPV6_PATHMTU=61, IPV6_PKTINFO=50, IPV6_RECVDSTOPTS=58,
    IPV6_RECVHOPLIMIT=51, IPV6_RECVHOPOPTS=53, IPV6_RECVPATHMTU=60,
    IPV6_RECVPKTINFO=49, IPV6_RECVRTHDR=56, IPV6_RECVTCLASS=66, IPV6_RTHDR=57,
    IPV6_RTHDRDSTOPTS=55, IPV6_RTHDR_TYPE_0=0, IPV6_TCLASS=67, IPV6_UNICAST_HOPS=16,
    IPV6_V6ONLY=26, IP_ADD_MEMBERSHIP=35, IP_BIND_ADDRESS_NO_PORT=24,
    IP_DEFAULT_MULTICAST_LOOP=1, IP_DEFAULT_MULTICAST_TTL=1, IP_DROP_MEMBERSHIP=36,
    IP_HDRINCL=3, IP_MAX_MEMBERSHIPS=20, IP_MULTICAST_IF=32, IP_MULTICAST_LOOP=34,
    IP_MULTICAST_TTL=33, IP_OPTIONS=4, IP_RECVOPTS=6, IP_RECVRETOPTS=7, IP_RECVTOS=13,
    IP_RETOPTS=7, IP_TOS=1, IP_TRANSPARENT=19, IP_TTL=2, J1939_EE_INFO_NONE=0,
    J1939_EE_INFO_TX_ABORT=1, J1939_FILTER_MAX=512, J1939_IDLE_ADDR=254,
    J1939_MAX_UNICAST_ADDR=253, J1939_NLA_BYTES_ACKED=1, J1939_NLA_PAD=0,
    J1939_NO_ADDR=255, J1939_NO_NAME=0, J1939_NO_PGN=262144,
    J1939_PGN_ADDRESS_CLAIMED=60928, J1939_PGN_ADDRESS_COMMANDED=65240,
    J1939_PGN_MAX=262143, J1939_PGN_PDU1_MAX=261888, J1939_PGN_REQUEST=59904,
    MSG_CMSG_CLOEXEC=1073741824, MSG_CONFIRM=2048, MSG_CTRUNC=8, MSG_DONTROUTE=4,
    MSG_DONTWAIT=64, MSG_EOR=128, MSG_ERRQUEUE=8192, MSG_FASTOPEN=536870912,
    MSG_MORE=32768, MSG_NOSIGNAL=16384, MSG_OOB=1, MSG_PEEK=2, MSG_TRUNC=32,
    MSG_WAITALL=256, NETLINK_CRYPTO=21, NETLINK_DNRTMSG=14, NETLINK_FIREWALL=3,
    NETLINK_IP6_FW=13, NETLINK_NFLOG=5, NETLINK_ROUTE=0, NETLINK_USERSOCK=2,
    NETLINK_XFRM=6, NI_DGRAM=16, NI_MAXHOST=1025, NI_MAXSERV=32, NI_NAMEREQD=8,
    NI_NOFQDN=4, NI_NUMERICHOST=1, NI_NUMERICSERV=2, PACKET_BROADCAST=1,
    PACKET_FASTROUTE=6, PACKET_HOST=0, PACKET_LOOPBACK=5, PACKET_MULTICAST=2,
    PACKET_OTHERHOST=3, PACKET_OUTGOING=4, PF_CAN=29, PF_PACKET=17, PF_RDS=21,
    SCM_CREDENTIALS=2, SCM_J1939_DEST_ADDR=1, SCM_J1939_DEST_NAME=2,
    SCM_J1939_ERRQUEUE=4, SCM_J1939_PRIO=3, SCM_RIGHTS=1, SHUT_RD=0, SHUT_RDWR=2,
    SHUT_WR=1, SOCK_CLOEXEC=524288, SOCK_DGRAM=2, SOCK_NONBLOCK=2048, SOCK_RAW=3,
    SOCK_RDM=4, SOCK_SEQPACKET=5, SOCK_STREAM=1, SOL_ALG=279, SOL_CAN_BASE=100,
    SOL_CAN_RAW=101, SOL_IP=0, SOL_RDS=276, SOL_SOCKET=1, SOL_TCP=6, SOL_TIPC=271,
    SOL_UDP=17, SOMAXCONN=4096, SO_ACCEPTCONN=30, SO_BINDTODEVICE=25, SO_BROADCAST=6,
    SO_DEBUG=1, SO_DOMAIN=39, SO_DONTROUTE=5, SO_ERROR=4, SO_INCOMING_CPU=49,
    SO_J1939_ERRQUEUE=4, SO_J1939_FILTER=1, SO_J1939_PROMISC=2, SO_J1939_SEND_PRIO=3,
    SO_KEEPALIVE=9, SO_LINGER=13, SO_MARK=36, SO_OOBINLINE=10, SO_PASSCRED=16,
    SO_PASSSEC=34, SO_PEERCRED=17, SO_PEERSEC=31, SO_PRIORITY=12, SO_PROTOCOL=38,
    SO_RCVBUF=8, SO_RCVLOWAT=18, SO_RCVTIMEO=20, SO_REUSEADDR=2, SO_REUSEPORT=15,
    SO_SNDBUF=7, SO_SNDLOWAT=19, SO_SNDTIMEO=21, SO_TYPE=3,
    SO_VM_SOCKETS_BUFFER_MAX_SIZE=2, SO_VM_SOCKETS_BUFFER_MIN_SIZE=1,
    SO_VM_SOCKETS_BUFFER_SIZE=0, TCP_CONGESTION=13, TCP_CORK=3, TCP_DEFER_ACCEPT=9,
    TCP_FASTOPEN=23, TCP_INFO=11, TCP_KEEPCNT=6, TCP_KEEPIDLE=4, TCP_KEEPINTVL=5,
    TCP_LINGER2=8, TCP_MAXSEG=2, TCP_NODELAY=1, TCP_NOTSENT_LOWAT=25, TCP_QUICKACK=12,
    TCP_SYNCNT=7, TCP_USER_TIMEOUT=18, TCP_WINDOW_CLAMP=10, TIPC_ADDR_ID=3,
    TIPC_ADDR_NAME=2, TIPC_ADDR_NAMESEQ=1, TIPC_CFG_SRV=0, TIPC_CLUSTER_SCOPE=2,
    TIPC_CONN_TIMEOUT=130, TIPC_CRITICAL_IMPORTANCE=3, TIPC_DEST_DROPPABLE=129,
    TIPC_HIGH_IMPORTANCE=2, TIPC_IMPORTANCE=127, TIPC_LOW_IMPORTANCE=0,
    TIPC_MEDIUM_IMPORTANCE=1, TIPC_NODE_SCOPE=3, TIPC_PUBLISHED=1,
    TIPC_SRC_DROPPABLE=128, TIPC_SUBSCR_TIMEOUT=3, TIPC_SUB_CANCEL=4, TIPC_SUB_PORTS=1,
    TIPC_SUB_SERVICE=2, TIPC_TOP_SRV=1, TIPC_WAIT_FOREVER=-1, TIPC_WITHDRAWN=2,
    TIPC_ZONE_SCOPE=1, UDPLITE_RECV_CSCOV=11, UDPLITE_SEND_CSCOV=10,
    VMADDR_CID_ANY=4294967295, VMADDR_CID_HOST=2, VMADDR_PORT_ANY=4294967295,
    VM_SOCKETS_INVALID_VERSION=4294967295, AF_DECnet=12
)
globals().update(_CONSTANTS)
has_ipv6 = True

error = OSError
timeout = TimeoutError


class herror(OSError):
    pass


class gaierror(OSError):
    pass


herror.__module__ = gaierror.__module__ = "socket"

_FAMILIES = {AF_INET: "inet", AF_INET6: "inet6", AF_UNIX: "unix"}
_TYPES = {SOCK_STREAM: "stream", SOCK_DGRAM: "dgram"}
_TYPE_NUMBERS = {"stream": SOCK_STREAM, "dgram": SOCK_DGRAM, "raw": SOCK_RAW}
_FAMILY_NUMBERS = {v: k for k, v in _FAMILIES.items()}
_PROTOS = {SOCK_STREAM: (0, IPPROTO_TCP), SOCK_DGRAM: (0, IPPROTO_UDP)}

# setsockopt's level and option as the engine names them.
_LEVELS = {SOL_SOCKET: ("SOL_SOCKET", "SO_"), IPPROTO_TCP: ("IPPROTO_TCP", "TCP_"),
           IPPROTO_IP: ("IPPROTO_IP", "IP_"), IPPROTO_IPV6: ("IPPROTO_IPV6", "IPV6_"),
           IPPROTO_UDP: ("IPPROTO_UDP", "UDP_")}

_default_timeout = None

# fd → the engine's socket id; the sockets of this run still open; and
# their socket objects, to close them when the run ends.
_fds = {}
open_socks = {}
_objects = weakref.WeakValueDictionary()


def _new_fd(sid):
    fd = 3
    while fd in _fds:
        fd += 1
    _fds[fd] = sid
    return fd


def _ebadf():
    return OSError(9, "Bad file descriptor")


def _timeout_value(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = value.__index__()
        except AttributeError:
            raise TypeError("'%s' object cannot be interpreted as an integer" % type(value).__name__) from None
    value = float(value)
    if math.isnan(value):
        raise ValueError("Invalid value NaN (not a number)")
    if value < 0:
        raise ValueError("Timeout value out of range")
    return value


def _data(b):
    if isinstance(b, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    try:
        m = memoryview(b)
    except TypeError:
        raise TypeError("a bytes-like object is required, not '%s'" % type(b).__name__) from None
    return {"b64": base64.b64encode(m.cast("B") if m.ndim != 1 or m.format != "B" else m).decode("ascii")}


def _host(h, family):
    if isinstance(h, (bytes, bytearray)):
        h = h.decode("idna")
    if not isinstance(h, str):
        raise TypeError("str, bytes or bytearray expected, not %s" % type(h).__name__)
    if h == "":
        return "" if family == AF_INET else "[::]"
    if h == "<broadcast>":
        return "255.255.255.255"
    if family == AF_INET6 and ":" in h:
        return "[%s]" % h
    return h


def _port(p, fn):
    if isinstance(p, bool) or not isinstance(p, int):
        try:
            p = p.__index__()
        except AttributeError:
            raise TypeError("'%s' object cannot be interpreted as an integer" % type(p).__name__) from None
    if not 0 <= p <= 65535:
        raise OverflowError("%s(): port must be 0-65535." % fn)
    return p


def _to_addr(family, address, fn):
    """A Python address as the engine writes it: 'host:port', '[v6]:port'
    or a unix path."""
    if family == AF_UNIX:
        if isinstance(address, (bytes, bytearray)):
            return bytes(address).decode("utf-8", "surrogateescape")
        if not isinstance(address, str):
            raise TypeError("%s(): AF_UNIX address must be str or bytes, not %s" % (fn, type(address).__name__))
        return address
    name = "AF_INET" if family == AF_INET else "AF_INET6"
    if not isinstance(address, tuple):
        raise TypeError("%s(): %s address must be tuple, not %s" % (fn, name, type(address).__name__))
    if family == AF_INET and len(address) != 2:
        raise TypeError("%s(): AF_INET address must be a pair (host, port)" % fn)
    if family == AF_INET6 and not 2 <= len(address) <= 4:
        raise TypeError("%s(): AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])" % fn)
    return "%s:%d" % (_host(address[0], family), _port(address[1], fn))


def _from_addr(family, s):
    """The engine's address as Python gives it: a tuple, or a unix path."""
    if family == AF_UNIX:
        return s or ""
    if not s:
        return None
    host, _, port = s.rpartition(":")
    if host.startswith("["):
        return (host[1:-1], int(port), 0, 0)
    if family == AF_INET6:
        return (host, int(port), 0, 0)
    return (host, int(port))


def _opname(level, optname):
    """The names of an option's level and number. Several options of other
    protocols share numbers with SOL_SOCKET's (SO_J1939_PROMISC is
    SO_REUSEADDR's 2): the plain socket-level name is the one meant."""
    names = _LEVELS.get(level)
    if names:
        found = [n for n, v in _CONSTANTS.items()
                 if v == optname and n.startswith(names[1]) and not n.startswith("SOL_")
                 and not any(p in n for p in ("J1939", "_VM_", "ALG_", "TIPC", "CAN_"))]
        if found:
            return names[0], min(found, key=len)
    raise OSError(92, "Protocol not available")


class socket:
    """socket(family=AF_INET, type=SOCK_STREAM, proto=0, fileno=None)"""

    __slots__ = ("_fd", "_sid", "_family", "_type", "_proto", "_timeout")

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is not None:
            if not isinstance(fileno, int) or fileno not in _fds:
                raise _ebadf()
            sid = _fds[fileno]
            meta = open_socks[sid]
            family = meta["family"] if family == -1 else family
            type = meta["type"] if type == -1 else type
            proto = 0 if proto == -1 else proto
            self._fd, self._sid = fileno, sid
            self._family, self._type, self._proto = family, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), proto
            self._timeout = meta.get("timeout")
        else:
            family = AF_INET if family == -1 else family
            type = SOCK_STREAM if type == -1 else type
            proto = 0 if proto == -1 else proto
            nonblock = type & SOCK_NONBLOCK
            type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC)
            if family not in _FAMILIES:
                raise OSError(97, "Address family not supported by protocol")
            if type not in _TYPES:
                raise OSError(94, "Socket type not supported")
            if proto not in _PROTOS[type] and not (family == AF_UNIX and proto == 0):
                raise OSError(93, "Protocol not supported")
            r = _sockplay.result({"op": "socket", "family": _FAMILIES[family], "type": _TYPES[type]})
            self._sid = r["sock"]
            self._fd = _new_fd(self._sid)
            self._family, self._type, self._proto = family, type, proto
            self._timeout = None
            open_socks[self._sid] = {"family": family, "type": type, "owner": _sockplay.owner_of(_sockplay.current)}
            _js.sock(self._sid, True)
            if nonblock:
                self._set_timeout(0.0)
        try:
            _objects[self._sid] = self
        except TypeError:
            pass  # the bare _socket.socket of socketpair, detached at once
        # CPython gives every new socket object the default timeout, an
        # accepted one included.
        if _default_timeout is not None and self._timeout is None:
            self._set_timeout(_default_timeout)

    # ---- what the socket is -------------------------------------------
    @property
    def family(self):
        return self._family

    @property
    def type(self):
        return self._type

    @property
    def proto(self):
        return self._proto

    @property
    def timeout(self):
        return self._timeout

    def fileno(self):
        return self._fd

    def gettimeout(self):
        return self._timeout

    def getblocking(self):
        return self._timeout != 0.0

    def __repr__(self):
        return "<socket object, fd=%d, family=%d, type=%d, proto=%d>" % (self._fd, self._family, self._type, self._proto)

    # ---- ops ------------------------------------------------------------
    def _op(self, op, **args):
        if self._fd == -1:
            raise _ebadf()
        args["op"] = op
        args["sock"] = self._sid
        return _sockplay.result(args)

    def _set_timeout(self, t):
        self._op("settimeout", timeout=t)
        self._timeout = t
        open_socks[self._sid]["timeout"] = t

    def settimeout(self, value):
        self._set_timeout(_timeout_value(value))

    def setblocking(self, flag):
        self._op("setblocking", flag=bool(flag))
        self._timeout = None if flag else 0.0
        open_socks[self._sid]["timeout"] = self._timeout

    def bind(self, address):
        self._op("bind", addr=_to_addr(self._family, address, "bind"))

    def connect(self, address):
        self._op("connect", addr=_to_addr(self._family, address, "connect"))

    def connect_ex(self, address):
        addr = _to_addr(self._family, address, "connect_ex")
        try:
            self._op("connect", addr=addr)
        except gaierror:
            raise
        except TimeoutError:
            return 11  # EWOULDBLOCK, as CPython's connect_ex says for a timeout
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def listen(self, backlog=None):
        if backlog is None:
            self._op("listen")
        else:
            # The engine answers for a C int's range as CPython does;
            # past a C long, CPython fails before it looks at the range.
            b = backlog.__index__()
            if not -(2**63) <= b < 2**63:
                raise OverflowError("Python int too large to convert to C long")
            self._op("listen", backlog=b)

    def _accept(self):
        r = self._op("accept")
        sid = r["sock"]
        open_socks[sid] = {"family": self._family, "type": self._type, "owner": _sockplay.owner_of(_sockplay.current)}
        _js.sock(sid, True)
        return _new_fd(sid), _from_addr(self._family, r.get("peer"))

    def send(self, data, flags=0):
        self._no_flags(flags)
        return self._op("send", data=_data(data)).get("n", 0)

    def sendall(self, data, flags=0):
        self._no_flags(flags)
        self._op("sendall", data=_data(data))

    def sendto(self, data, flags_or_addr, addr=None):
        if addr is None:
            addr, flags = flags_or_addr, 0
        else:
            flags = flags_or_addr
        self._no_flags(flags)
        return self._op("sendto", data=_data(data), addr=_to_addr(self._family, addr, "sendto")).get("n", 0)

    def recv(self, bufsize, flags=0):
        self._no_flags(flags)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        r = self._op("recv", bufsize=bufsize.__index__())
        return base64.b64decode(r.get("b64", ""))

    def recvfrom(self, bufsize, flags=0):
        self._no_flags(flags)
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        r = self._op("recvfrom", bufsize=bufsize.__index__())
        return base64.b64decode(r.get("b64", "")), _from_addr(self._family, r.get("addr"))

    def recv_into(self, buffer, nbytes=0, flags=0):
        m = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes > len(m):
            raise ValueError("buffer too small for requested bytes")
        b = self.recv(nbytes or len(m), flags)
        m[: len(b)] = b
        return len(b)

    def recvfrom_into(self, buffer, nbytes=0, flags=0):
        m = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recvfrom_into")
        if nbytes > len(m):
            raise ValueError("nbytes is greater than the length of the buffer")
        b, addr = self.recvfrom(nbytes or len(m), flags)
        m[: len(b)] = b
        return len(b), addr

    def getsockname(self):
        return _from_addr(self._family, self._op("getsockname").get("local", ""))

    def getpeername(self):
        return _from_addr(self._family, self._op("getpeername").get("peer", ""))

    def setsockopt(self, level, optname, value, optlen=None):
        lname, oname = _opname(level, optname)
        if value is None:
            raise TypeError("setsockopt() takes an int or a bytes-like value here")
        if isinstance(value, int):
            v = int(value)
        else:
            b = bytes(memoryview(value))
            if oname == "SO_LINGER" and len(b) == 8:
                onoff, linger = struct.unpack("ii", b)
                v = {"onoff": onoff, "linger": linger}
            elif len(b) == 4:
                v = struct.unpack("i", b)[0]
            else:
                raise OSError(22, "Invalid argument")
        self._op("setsockopt", level=lname, name=oname, value=v)

    def getsockopt(self, level, optname, buflen=0):
        lname, oname = _opname(level, optname)
        v = self._op("getsockopt", level=lname, name=oname).get("value", 0)
        if not buflen:
            if isinstance(v, dict):
                return v.get("onoff", 0)
            return int(v)
        if isinstance(v, dict):
            b = struct.pack("ii", v.get("onoff", 0), v.get("linger", 0))
        else:
            b = struct.pack("i", int(v))
        return b[:buflen]

    def shutdown(self, how):
        self._op("shutdown", how=how.__index__())

    def close(self):
        if self._fd == -1:
            return
        fd, sid = self._fd, self._sid
        self._fd = -1
        del _fds[fd]
        open_socks.pop(sid, None)
        _js.sock(sid, False)
        try:
            _sockplay.result({"op": "close", "sock": sid})
        except ConnectionResetError:
            pass

    def __del__(self):
        # As CPython's socket objects do, one that is garbage is closed
        # (without waiting: a finalizer may run where Python cannot).
        fd = getattr(self, "_fd", -1)
        if fd == -1:
            return
        self._fd = -1
        _fds.pop(fd, None)
        if open_socks.pop(self._sid, None) is not None:
            _js.sock(self._sid, False)
            _sockplay.send_nowait({"op": "close", "sock": self._sid})

    def detach(self):
        fd, self._fd = self._fd, -1
        return fd

    def _no_flags(self, flags):
        if flags:
            raise OSError(95, "Operation not supported: sockplay's socket calls take no flags (got %r)" % flags)


SocketType = socket


def close(fd):
    socket(fileno=fd).close()


def getdefaulttimeout():
    return _default_timeout


def setdefaulttimeout(timeout):
    global _default_timeout
    _default_timeout = _timeout_value(timeout)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    op = {"op": "getaddrinfo"}
    if host is not None:
        op["host"] = host.decode("idna") if isinstance(host, (bytes, bytearray)) else host
    elif flags & AI_PASSIVE:
        op["host"] = "0.0.0.0" if family == AF_INET else ("::" if family == AF_INET6 else "")
    else:
        op["host"] = "localhost"
    if isinstance(port, (bytes, bytearray)):
        port = port.decode()
    if port is not None and not isinstance(port, (int, str)):
        raise OSError("Int or String expected")
    op["port"] = port
    if family:
        if family not in _FAMILIES:
            raise gaierror(EAI_FAMILY, "ai_family not supported")
        op["family"] = _FAMILIES[family]
    if type:
        if type not in _TYPES:
            raise gaierror(EAI_SOCKTYPE, "ai_socktype not supported")
        op["type"] = _TYPES[type]
    out = []
    for ai in _sockplay.result(op).get("addrinfo", []):
        fam = _FAMILY_NUMBERS.get(ai["family"], 0)
        if proto and ai.get("proto") != proto:
            continue
        out.append((fam, _TYPE_NUMBERS.get(ai["type"], 0), ai.get("proto", 0), "", _from_addr(fam, ai["addr"])))
    return out


def gethostbyname(host):
    return _sockplay.result({"op": "gethostbyname", "host": host}).get("addr")


def gethostbyname_ex(host):
    addrs = []
    for ai in getaddrinfo(host, None, AF_INET, SOCK_STREAM):
        if ai[4][0] not in addrs:
            addrs.append(ai[4][0])
    return host, [], addrs


def gethostname():
    # The name of the host that holds the session's sockets, as a program
    # running there gets it.
    return _sockplay.result({"op": "gethostname"}).get("addr", "")


def socketpair(family=AF_UNIX, type=SOCK_STREAM, proto=0):
    """Two connected sockets, made with the session's own ops: a listener
    on a fresh name, a connect and an accept."""
    lsock = socket(family, type, proto)
    try:
        if family == AF_UNIX:
            import random

            lsock.bind("socketpair-%08x.sock" % random.getrandbits(32))
        else:
            lsock.bind(("127.0.0.1" if family == AF_INET else "::1", 0))
        lsock.listen(1)
        a = socket(family, type, proto)
        try:
            a.connect(lsock.getsockname())
            fd, _ = lsock._accept()
            b = socket(family, type, proto, fileno=fd)
        except BaseException:
            a.close()
            raise
    finally:
        lsock.close()
    return b, a


def htons(x):
    return ((x & 0xFF) << 8) | ((x >> 8) & 0xFF) if 0 <= x <= 0xFFFF else _overflow16()


def _overflow16():
    raise OverflowError("htons: Python int too large to convert to C 16-bit unsigned integer")


ntohs = htons


def htonl(x):
    if not 0 <= x <= 0xFFFFFFFF:
        raise OverflowError("int larger than 32 bits")
    return struct.unpack("<I", struct.pack(">I", x))[0]


ntohl = htonl


def inet_aton(s):
    try:
        return ipaddress.IPv4Address(s).packed
    except ValueError:
        raise OSError("illegal IP address string passed to inet_aton") from None


def inet_ntoa(b):
    if len(b) != 4:
        raise OSError("packed IP wrong length for inet_ntoa")
    return str(ipaddress.IPv4Address(bytes(b)))


def inet_pton(family, s):
    try:
        if family == AF_INET:
            return ipaddress.IPv4Address(s).packed
        if family == AF_INET6:
            return ipaddress.IPv6Address(s).packed
    except ValueError:
        raise OSError("illegal IP address string passed to inet_pton") from None
    raise OSError(97, "Address family not supported by protocol")


def inet_ntop(family, b):
    if family == AF_INET:
        if len(b) != 4:
            raise ValueError("invalid length of packed IP address string")
        return str(ipaddress.IPv4Address(bytes(b)))
    if family == AF_INET6:
        if len(b) != 16:
            raise ValueError("invalid length of packed IP address string")
        return str(ipaddress.IPv6Address(bytes(b)))
    raise ValueError("unknown address family %d" % family)


__all__ = sorted(_CONSTANTS) + [
    "has_ipv6", "error", "timeout", "herror", "gaierror", "socket", "SocketType", "close",
    "getdefaulttimeout", "setdefaulttimeout", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
    "gethostname", "socketpair", "htons", "ntohs", "htonl", "ntohl",
    "inet_aton", "inet_ntoa", "inet_pton", "inet_ntop",
]
