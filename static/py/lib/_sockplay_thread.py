"""sockplay's _thread: green threads, installed as _thread before
threading is imported, so that threading.Thread, _thread.start_new_thread,
Lock, RLock, Condition, Event, Semaphore, queue.Queue and join run
unchanged on them.

A thread is its callable entered through its own callPromising from a JS
timer: its own suspendable stack. Threads switch only where one waits (a
socket call, time.sleep, a lock, join, input), each wait a run_sync on a
promise; a thread that never waits holds the others, as under a GIL that
is never released.
"""

import sys
import weakref
from collections import deque

import _sockplay
import _sockplay_js as _js
from pyodide.ffi import create_proxy

error = RuntimeError
TIMEOUT_MAX = 9223372036.0

_MAIN = 1
_next_ident = 2
_running = {}  # ident → _ThreadHandle of every started thread not yet done
_owners = {}  # ident → who started it: "run" (a program) or "console"


def get_ident():
    return _sockplay.current


def get_native_id():
    return _sockplay.current


def _get_main_thread_ident():
    return _MAIN


def _is_main_interpreter():
    return True


def daemon_threads_allowed():
    return True


def _count():
    return len(_running)


def stack_size(size=0):
    if size and size < 32768:
        raise ValueError("size not valid: %d bytes" % size)
    return 0


def _wait(timeout):
    """A one-shot wake-up and the promise to wait on (timeout in seconds,
    negative for none)."""
    return _js.waiter(timeout)


class LockType:
    """A green lock: a blocked acquire waits for release, which hands the
    lock to the first waiter still waiting."""

    __slots__ = ("_locked", "_waiters", "__weakref__")

    def __init__(self):
        self._locked = False
        self._waiters = deque()

    def acquire(self, blocking=True, timeout=-1):
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if not self._locked:
            self._locked = True
            return True
        if not blocking:
            return False
        if _sockplay.SYNC:
            # One thread: nothing can release it meanwhile.
            if timeout < 0:
                raise RuntimeError("this lock is held and the program would wait for it for ever: " + _sockplay.NO_JSPI)
            _sockplay.sleep(timeout)
            return False
        w = _wait(timeout)
        self._waiters.append(w)
        got = False
        try:
            got = bool(_sockplay.wait(w))
        finally:
            if not got:
                try:
                    self._waiters.remove(w)
                except ValueError:
                    # Woken with the lock as we were stopped: pass it on.
                    if w.done:
                        self.release()
        return got

    acquire_lock = acquire
    __enter__ = acquire

    def release(self):
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        while self._waiters:
            if self._waiters.popleft().wake():
                return  # the lock passes to it, still locked
        self._locked = False

    release_lock = release

    def __exit__(self, *exc):
        self.release()

    def locked(self):
        return self._locked

    locked_lock = locked

    def _at_fork_reinit(self):
        self._locked = False
        self._waiters.clear()

    def __repr__(self):
        return "<%s _thread.lock object at %#x>" % ("locked" if self._locked else "unlocked", id(self))


allocate_lock = allocate = lock = LockType


class _ThreadHandle:
    __slots__ = ("ident", "_done", "_daemon", "_waiters")

    def __init__(self):
        self.ident = None
        self._done = False
        self._daemon = True
        self._waiters = []

    def is_done(self):
        return self._done

    def _set_done(self):
        self._done = True
        ws, self._waiters = self._waiters, []
        for w in ws:
            w.wake()

    def join(self, timeout=None):
        if self._done:
            return
        if self.ident == _sockplay.current:
            raise RuntimeError("Cannot join current thread")
        if timeout is not None and timeout <= 0:
            return
        w = _wait(-1 if timeout is None else timeout)
        self._waiters.append(w)
        try:
            _sockplay.wait(w)
        finally:
            if w in self._waiters:
                self._waiters.remove(w)

    def __repr__(self):
        return "<_thread._ThreadHandle object: ident=%s>" % self.ident


def _patch(self):
    """Give self the __dict__ of the thread running now (made, and
    __init__ called, the first time that thread looks)."""
    dicts = object.__getattribute__(self, "_local__dicts")
    d = dicts.get(_sockplay.current)
    if d is not None:
        object.__setattr__(self, "__dict__", d)
        return
    d = dicts[_sockplay.current] = {}
    object.__setattr__(self, "__dict__", d)
    cls = type(self)
    if cls.__init__ is not object.__init__:
        args, kw = object.__getattribute__(self, "_local__args")
        cls.__init__(self, *args, **kw)


class _local:
    """threading.local: attributes of their own for each green thread."""

    __slots__ = ("_local__dicts", "_local__args", "__dict__", "__weakref__")

    def __new__(cls, /, *args, **kw):
        if (args or kw) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        d = {}
        object.__setattr__(self, "_local__dicts", {_sockplay.current: d})
        object.__setattr__(self, "_local__args", (args, kw))
        object.__setattr__(self, "__dict__", d)
        _locals.add(self)
        return self

    def __getattribute__(self, name):
        _patch(self)
        return object.__getattribute__(self, name)

    def __setattr__(self, name, value):
        if name == "__dict__":
            raise AttributeError("%r object attribute '__dict__' is read-only" % type(self).__name__)
        _patch(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name == "__dict__":
            raise AttributeError("%r object attribute '__dict__' is read-only" % type(self).__name__)
        _patch(self)
        object.__delattr__(self, name)


_locals = weakref.WeakSet()


def _make_thread_handle(ident):
    h = _ThreadHandle()
    h.ident = ident
    return h


def _spawn(function, handle, daemon):
    global _next_ident
    if _sockplay.SYNC:
        raise RuntimeError("can't start new thread: " + _sockplay.NO_JSPI)
    ident = _next_ident
    _next_ident += 1
    handle.ident = ident
    handle._daemon = daemon
    _running[ident] = handle
    _owners[ident] = _sockplay.owner_of(_sockplay.current)

    def entry():
        _sockplay.enter(ident)
        try:
            function()
        except _sockplay.ThreadEnded:
            pass
        finally:
            _running.pop(ident, None)
            _owners.pop(ident, None)
            _sockplay.ended.discard(ident)
            for loc in list(_locals):
                object.__getattribute__(loc, "_local__dicts").pop(ident, None)
            handle._set_done()

    _js.spawn(create_proxy(entry))
    return handle


def start_joinable_thread(function, handle=None, daemon=True):
    if handle is None:
        handle = _ThreadHandle()
    elif handle.ident is not None:
        raise RuntimeError("thread already started")
    return _spawn(function, handle, daemon)


def start_new_thread(function, args, kwargs=None, /):
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")

    def run():
        try:
            function(*args, **(kwargs or {}))
        except SystemExit:
            pass
        except BaseException as e:
            import traceback

            print("Exception ignored in thread started by: %r" % (function,), file=sys.stderr)
            traceback.print_exception(e, file=sys.stderr)

    return _spawn(run, _ThreadHandle(), True).ident


start_new = start_new_thread


def exit():
    raise SystemExit


exit_thread = exit


def _shutdown():
    """Wait for every non-daemon thread, as the interpreter does at exit."""
    while True:
        left = [h for h in _running.values() if not h._daemon and not h._done]
        if not left:
            return
        for h in left:
            h.join()


def alive():
    return len(_running)


def end_program():
    """The program has ended: its threads still alive stop where they
    next wake up, as CPython ends daemon threads at exit. The console's
    live on. Returns how many were ended."""
    mine = [i for i in _running if _owners.get(i) == "run"]
    _sockplay.ended.update(mine)
    return len(mine)
