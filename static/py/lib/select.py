"""sockplay's select: select.select and select.poll on the session's
sockets, through the engine's select op (one op, one event with the ready
lists), so that selectors, socketserver and asyncio's selector loop run
on it. selectors.DefaultSelector is then PollSelector (there is no epoll).
"""

import _sockplay
import _sockplay_js as _js

error = OSError
PIPE_BUF = 4096
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 1, 2, 4, 8, 16, 32
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLMSG, POLLRDHUP = 64, 128, 256, 512, 1024, 8192


def _fd(obj):
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            fd = obj.fileno()
        except AttributeError:
            raise TypeError("argument must be an int, or have a fileno() method.") from None
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError("file descriptor cannot be a negative integer (%d)" % fd)
    return fd


def _sid(fd):
    import _socket

    sid = _socket._fds.get(fd)
    if sid is None:
        raise OSError(9, "Bad file descriptor")
    return sid


def _select(rfds, wfds, xfds, timeout):
    """The engine's select on fds: the three lists of ready fds."""
    if not (rfds or wfds or xfds):
        # Nothing to wait for: select() only sleeps, as on Linux.
        if timeout is None:
            _sockplay.wait(_js.waiter(-1))
        elif timeout > 0:
            _sockplay.sleep(timeout)
        return [], [], []
    by_sid = {}
    op = {"op": "select"}
    for name, fds in (("rlist", rfds), ("wlist", wfds), ("xlist", xfds)):
        sids = []
        for fd in fds:
            sid = _sid(fd)
            by_sid[sid] = fd
            sids.append(sid)
        op[name] = sids
    op["timeout"] = timeout
    r = _sockplay.result(op)
    return tuple([by_sid[s] for s in r.get(name) or []] for name in ("rlist", "wlist", "xlist"))


def select(rlist, wlist, xlist, timeout=None, /):
    """select(rlist, wlist, xlist[, timeout]) -> (rlist, wlist, xlist)"""
    if timeout is not None:
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise TypeError("timeout must be a float or None") from None
        if timeout < 0:
            raise ValueError("timeout must be non-negative")
    lists = [list(rlist), list(wlist), list(xlist)]
    fds = [[_fd(o) for o in l] for l in lists]
    ready = _select(*fds, timeout)
    out = []
    for objs, fdl, rdy in zip(lists, fds, ready):
        rs = set(rdy)
        out.append([o for o, fd in zip(objs, fdl) if fd in rs])
    return tuple(out)


class poll:
    """poll() on the engine's select op: POLLIN and POLLPRI wait to read,
    POLLOUT to write."""

    def __init__(self):
        self._fds = {}

    def register(self, fd, eventmask=POLLIN | POLLPRI | POLLOUT, /):
        self._fds[_fd(fd)] = eventmask

    def modify(self, fd, eventmask, /):
        fd = _fd(fd)
        if fd not in self._fds:
            raise FileNotFoundError(2, "No such file or directory")
        self._fds[fd] = eventmask

    def unregister(self, fd, /):
        del self._fds[_fd(fd)]

    def poll(self, timeout=None, /):
        if timeout is not None:
            timeout = float(timeout)
            timeout = None if timeout < 0 else timeout / 1000
        r = [fd for fd, m in self._fds.items() if m & (POLLIN | POLLRDNORM)]
        w = [fd for fd, m in self._fds.items() if m & (POLLOUT | POLLWRNORM)]
        x = [fd for fd, m in self._fds.items() if m & POLLPRI]
        rr, ww, xx = (set(l) for l in _select(r, w, x, timeout))
        out = []
        for fd, m in self._fds.items():
            ev = (POLLIN & m if fd in rr else 0) | (POLLOUT & m if fd in ww else 0) | (POLLPRI if fd in xx else 0)
            if ev:
                out.append((fd, ev))
        return out
