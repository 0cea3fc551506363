"""The bridge between Python and the session: every socket call is an op
sent to sockplay's engine, and Python waits for its event.

Waiting is pyodide.ffi.run_sync on a JS promise (JSPI): it suspends this
green thread's stack and lets the others run. Every blocking point goes
through wait() below, which also keeps track of which green thread runs.

A browser without JSPI cannot suspend Python: there (SYNC) the worker
answers ops, sleeps and input() with synchronous requests, the program
runs on one thread, and anything that would wait for another thread
raises a RuntimeError saying so.
"""

import json
import sys
from _asyncio import _get_running_loop, _set_running_loop

import _sockplay_js as js
from pyodide.ffi import run_sync

# Python's own files and the shim's: an op's origin is the first frame
# outside them, the line of the user's program that made the call.
_LIB = "/lib/"

# Pyodide's event loop, which runs the promises Python waits on (set by
# _sockplay_run.install).
webloop = None

# Where the last op was made (what a Step shows as the current line).
last_origin = None

# The green thread running now (its ident); set by the scheduler in
# _sockplay_thread, restored by wait() after every switch.
current = 1

# True where the browser has no JSPI: waits are the worker's synchronous
# requests, and there is one thread (set by _sockplay_run.install).
SYNC = False

NO_JSPI = ("this browser cannot switch between Python threads: it lacks JSPI "
           "(WebAssembly JavaScript Promise Integration), so programs run on "
           "one thread here; run threads in a browser with JSPI, such as "
           "Chromium 137 or later")

# Who is running: "run" (a program) or "console" (a line typed at the
# console). Threads and sockets belong to whoever made them: a program's
# are ended when it ends, the console's live on with its variables.
owner = "run"

# In a Step, each call waits at the gate until the page says go on.
stepping = False


class ThreadEnded(SystemExit):
    """Raised in a thread of a program that has ended, where the thread
    waits: as CPython ends daemon threads at exit. A SystemExit, which
    threads end on in silence."""


# Threads (idents) whose program has ended: they stop where they next
# wake up.
ended = set()


def wait(box):
    """Block this green thread until box.promise settles, and return what
    it resolves with; the others run meanwhile.

    The worker's functions that Python waits on return the promise in a
    box ({promise}): the promise a JS call returns comes to Python as a
    Future of it, while one read from an object's attribute stays the JS
    promise, which run_sync awaits itself (see direct_waits). Should that
    not be in place, run_sync wraps it in a Task of the running loop:
    that must be Pyodide's (WebLoop), which JS drives, and not a loop of
    the program's (asyncio.run's), which waits right here and would never
    run it. The program's is put back after."""
    global current, _direct
    if SYNC:
        raise RuntimeError(NO_JSPI)
    me = current
    loop = _get_running_loop()
    if loop is not webloop:
        _set_running_loop(webloop)
    try:
        _direct = box.promise
        got = run_sync(_direct)
    finally:
        _direct = None
        current = me
        if _get_running_loop() is not loop:
            _set_running_loop(loop)
    if me in ended:
        raise ThreadEnded()
    return got


# The promise wait() hands to run_sync now.
_direct = None


def direct_waits(asyncio):
    """Make run_sync await wait()'s promises directly.

    Pyodide's run_sync passes its argument to asyncio.ensure_future (of
    the asyncio it imported at start, given here) and suspends on what
    comes back, converted to JS. A JS promise comes back as a Task that
    awaits it, whose end resolves another promise: every socket call
    would pay for the Task, and for turns of the event loop (each a task
    of the worker) after its answer is there before Python runs again.
    For the promise wait() waits on, ensure_future gives it back as it
    is, which converts to the JS promise itself, and run_sync suspends on
    that: Python runs again as soon as the answer is there. Any other
    awaitable goes the usual way, so asyncio behaves as ever; should
    run_sync change, wait() still works, only slower."""
    usual = asyncio.ensure_future

    def ensure_future(obj, *, loop=None):
        global _direct
        if obj is _direct and _direct is not None and loop is None:
            _direct = None
            return obj
        return usual(obj, loop=loop)

    ensure_future.__doc__ = usual.__doc__
    ensure_future.__wrapped__ = usual
    asyncio.ensure_future = ensure_future


def op_text(text):
    """Send one op (JSON text) and return its answer's JSON text."""
    if SYNC:
        return js.opSync(text)
    return wait(js.op(text))


def sleep(secs):
    """Wait secs seconds; the other threads run."""
    if SYNC:
        js.sleepSync(secs)
    else:
        wait(js.sleep(secs))


def read_line(prompt):
    """A line of input as readline() returns it: with its newline, or ""
    at the end of input."""
    if SYNC:
        return str(js.inputSync(prompt))
    return str(wait(js.input(prompt)))


def owner_of(ident):
    """Who a thread belongs to: the program or the console."""
    threads = sys.modules.get("_thread")
    return getattr(threads, "_owners", {}).get(ident, owner)


def gate(o):
    """In a Step: wait before the call made at o until the page says to
    make it ("step"), or to run on without stopping ("go")."""
    global stepping
    if wait(js.gate(json.dumps(o))) == "go":
        stepping = False


def enter(ident):
    """Start running green thread ident: each entry into Python is a
    thread state of its own, where the caller's (WebLoop) was running."""
    global current
    current = ident
    _set_running_loop(None)


def thread_name():
    threading = sys.modules.get("threading")
    if threading is None:
        return "MainThread"
    t = threading._active.get(current)
    return t.name if t is not None else "Thread-%d" % current


def origin():
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_LIB):
        f = f.f_back
    o = {"thread": thread_name()}
    if f is not None:
        o["file"] = f.f_code.co_filename
        o["line"] = f.f_lineno
    return o


class EngineRefused(OSError):
    """An op that never ran: the engine refused it (a malformed op), or
    the connection to the session is lost. An OSError, as a program that
    handles socket errors should handle it too."""

    def __init__(self, code, msg):
        super().__init__("sockplay could not make the call: %s" % msg)
        self.code = code


def call(op):
    """Send op (a dict) and return its event (a dict). An op refused for
    the rate limit is sent again once the limit allows; any other refusal
    raises EngineRefused."""
    global last_origin
    delay = 0.005
    op["origin"] = last_origin = origin()
    if stepping:
        gate(last_origin)
    text = json.dumps(op, separators=(",", ":"))
    while True:
        ev = json.loads(op_text(text))
        if ev.get("type") != "error":
            return ev
        err = ev["error"]
        if err["code"] == "rate_limited":
            # -max-ops-per-sec: the program slows down to the session's
            # limit, as a program on a slow link would, rather than fail.
            sleep(delay)
            delay = min(delay * 2, 0.25)
            continue
        raise EngineRefused(err["code"], err["msg"])


def send_nowait(op):
    """Send op without waiting for its event: for a close from a
    finalizer, which may run where Python cannot wait."""
    if SYNC:
        js.opSync(json.dumps(op, separators=(",", ":")))
    else:
        js.op(json.dumps(op, separators=(",", ":")))


def result(op):
    """call(op) and return its result, or raise its error as CPython would."""
    ev = call(op)
    if ev.get("ok"):
        return ev.get("result") or {}
    raise exception(ev["error"])


def exception(err):
    """The Python exception for an event's error: CPython's class, errno
    and message (`[Errno 111] Connection refused`)."""
    import builtins

    name = err.get("exc") or "OSError"
    cls = None
    if name in ("gaierror", "herror", "timeout"):
        import _socket

        cls = getattr(_socket, name)
    else:
        cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        cls = OSError
    msg = err.get("msg", "")
    num = err.get("num")
    if num is not None and issubclass(cls, OSError):
        return cls(num, msg)
    return cls(msg)
