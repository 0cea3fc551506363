"""Installing sockplay's modules into Pyodide, running a program, and the
console.

install() puts the shim's _socket, select and _thread in place of
Pyodide's (which know nothing of the session, and have no threads), then
imports the standard library's socket, selectors and threading on top of
them; time.sleep, stdin, stdout and stderr go through the page. run()
runs one program as `python3 main.py` would: a fresh __main__, a
traceback on stderr, non-daemon threads joined at the end, the others
ended, and the sockets it left open closed, as a process's are when it
exits. console() takes the lines typed at the console's prompt as
CPython's interactive console does (code.InteractiveConsole): its
variables, threads and sockets live on from line to line, and across
programs.
"""

import builtins
import code
import importlib.util
import io
import json
import linecache
import os
import sys
import time
import types

import _sockplay
import _sockplay_js as _js

SHIM = "/lib/sockplay/"

# Modules that hold the stock socket, select or threads once imported:
# dropped, so that importing them again finds the shim's.
_STALE = ("socket", "_socket", "select", "selectors", "threading", "_thread", "queue", "socketserver",
          "asyncio", "concurrent", "http", "urllib", "ssl", "_threading_local", "logging")


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, SHIM + file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class _Out(io.TextIOBase):
    """stdout or stderr: whole lines go to the page as they are written,
    the rest when flushed (print's flush, input's prompt)."""

    def __init__(self, name):
        self._name = name
        self._buf = ""
        self.partial = ""

    @property
    def encoding(self):
        return "utf-8"

    @property
    def name(self):
        return "<%s>" % self._name

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        self._buf += s
        nl = self._buf.rfind("\n")
        if nl >= 0:
            _js.write(self._name, self._buf[: nl + 1])
            self._buf = self._buf[nl + 1 :]
            self.partial = ""
        return len(s)

    def flush(self):
        if self._buf:
            _js.write(self._name, self._buf)
            self.partial += self._buf
            self._buf = ""


class _In(io.TextIOBase):
    """stdin: each line is asked of the page (input() reads it here)."""

    @property
    def encoding(self):
        return "utf-8"

    @property
    def name(self):
        return "<stdin>"

    def readable(self):
        return True

    def isatty(self):
        return False

    def readline(self, size=-1):
        sys.stdout.flush()
        sys.stderr.flush()
        line = _sockplay.read_line(sys.stdout.partial)
        sys.stdout.partial = ""
        return line

    def read(self, size=-1):
        out = []
        while True:
            line = self.readline()
            if not line:
                return "".join(out)
            out.append(line)


def sleep(secs):
    """time.sleep: this green thread waits, the others run."""
    if not isinstance(secs, (int, float)):
        raise TypeError("'%s' object cannot be interpreted as an integer or float" % type(secs).__name__)
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    _sockplay.sleep(secs)


def install(sync=False):
    """sync: the browser has no JSPI (see _sockplay.SYNC)."""
    _sockplay.SYNC = bool(sync)
    _sockplay.webloop = _sockplay._get_running_loop()
    # The asyncio Pyodide's run_sync calls, before it is dropped below.
    _sockplay.direct_waits(sys.modules["asyncio"])
    for name in list(sys.modules):
        if name.split(".")[0] in _STALE:
            del sys.modules[name]
    _load("_socket", "_socket.py")
    _load("select", "select.py")
    _thread = _load("_thread", "_sockplay_thread.py")
    import queue
    import socket  # noqa: F401
    import threading  # noqa: F401

    # queue's C SimpleQueue would block the whole worker.
    queue.SimpleQueue = queue._PySimpleQueue
    # os.sendfile needs a kernel socket; socket.sendfile then falls back
    # to send() in a loop, as CPython does where sendfile is missing.
    def _sendfile_use_sendfile(self, file, offset=0, count=None):
        raise socket._GiveupOnSendfile("sockplay's sockets are the session's, not this process's")

    socket.socket._sendfile_use_sendfile = _sendfile_use_sendfile
    # A server removes its AF_UNIX socket's old file before it binds
    # (os.unlink or os.remove): that file is in the session's directory
    # on the host, not in this Python's file system. A file that is here
    # is removed here.
    _unlink = os.unlink

    def unlink(path, *, dir_fd=None):
        if dir_fd is None and isinstance(path, (str, bytes, os.PathLike)) and not os.path.lexists(path):
            _sockplay.result({"op": "unlink", "addr": os.fsdecode(path)})
            return
        _unlink(path, dir_fd=dir_fd)

    os.unlink = os.remove = unlink
    time.sleep = sleep
    sys.stdout = _Out("stdout")
    sys.stderr = _Out("stderr")
    sys.stdin = _In()
    global _threads
    _threads = _thread


def restored():
    """After a boot from a memory snapshot (static/py/snapshot.js), which
    holds a Python just as install() left it: what must differ from one
    Python to the next is made afresh. random's seed (every worker would
    draw the same numbers); sys.path as install left it (Pyodide's loader
    puts its "" in front again)."""
    random = sys.modules.get("random")
    if random is not None:
        random.seed()
    while sys.path.count("") > 1:
        sys.path.remove("")


def probe():
    """What this Python can do, entered as a program is."""
    from pyodide.ffi import can_run_sync

    return json.dumps({"can_run_sync": bool(can_run_sync()), "version": sys.version.split()[0]})


def _trim(e, seen=None):
    """e with the shim's frames left out of its traceback (and of the
    exceptions it chains), as CPython shows a call into C."""
    seen = seen if seen is not None else set()
    if e is None or id(e) in seen:
        return
    seen.add(id(e))
    frames = []
    tb = e.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(SHIM):
            frames.append(tb)
        tb = tb.tb_next
    new = None
    for t in reversed(frames):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    e.__traceback__ = new
    _trim(e.__cause__, seen)
    _trim(e.__context__, seen)


def run(source, filename, step=False):
    """Run one program (a call at a time, each waiting at the gate, if
    step); returns JSON: {"exception": null or {type, message},
    "threads": how many of its threads were still alive, now ended}."""
    import _socket
    import traceback

    _sockplay.enter(_threads._MAIN)
    _sockplay.owner = "run"
    _sockplay.stepping = bool(step)
    main = types.ModuleType("__main__")
    main.__file__ = filename
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exc = None
    # A program is a script: no event loop runs (enter() took Pyodide's
    # away), so asyncio.run() starts a selector loop on the shim's select.
    for step in (lambda: exec(compile(source, filename, "exec"), main.__dict__), _threads._shutdown):
        try:
            step()
        except SystemExit as e:
            if e.code not in (None, 0) and exc is None:
                if not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
                exc = {"type": "SystemExit", "message": str(e.code)}
        except BaseException as e:
            _trim(e)
            traceback.print_exception(e, file=sys.stderr)
            if exc is None:
                exc = {"type": type(e).__name__, "message": str(e)}
    _sockplay.stepping = False
    sys.stdout.flush()
    sys.stderr.flush()
    threads = _threads.end_program()
    for sid, meta in list(_socket.open_socks.items()):
        if meta.get("owner") != "run":
            continue
        obj = _socket._objects.get(sid)
        try:
            if obj is not None:
                obj.close()
                continue
            for fd, s in list(_socket._fds.items()):
                if s == sid:
                    del _socket._fds[fd]
            _socket.open_socks.pop(sid, None)
            _js.sock(sid, False)
            _sockplay.call({"op": "close", "sock": sid})
        except (OSError, _sockplay.EngineRefused):
            pass
    return json.dumps({"exception": exc, "threads": threads})


class _Console(code.InteractiveConsole):
    """CPython's interactive console, with tracebacks that leave out the
    shim's frames as they leave out C's."""

    def showtraceback(self):
        _trim(sys.exc_info()[1])
        super().showtraceback()


_console = None


def console(line):
    """One line typed at the console's prompt. Returns JSON {"more": true}
    while the statement it is part of goes on (the prompt is then
    "..."), else {"more": false, "exception": the type of an exception
    it raised, or null}."""
    global _console
    if _console is None:
        _console = _Console(filename="<console>")
    _sockplay.enter(_threads._MAIN)
    _sockplay.owner = "console"
    _sockplay.stepping = False
    sys.last_exc = None
    try:
        more = _console.push(line)
    except SystemExit:
        # exit() or quit(): the console starts afresh; Python stays.
        _console = None
        print("the console starts afresh: its variables are gone", file=sys.stderr)
        more = False
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    exc = getattr(sys, "last_exc", None)
    return json.dumps({"more": bool(more), "exception": type(exc).__name__ if exc is not None and not more else None})
