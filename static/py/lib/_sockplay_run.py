"""Installing sockplay's modules into Pyodide, and running a program.

install() puts the shim's _socket, select and _thread in place of
Pyodide's (which know nothing of the session, and have no threads), then
imports the standard library's socket, selectors and threading on top of
them; time.sleep, stdin, stdout and stderr go through the page. run()
runs one program as `python3 main.py` would: a fresh __main__, a
traceback on stderr, non-daemon threads joined at the end, and the
sockets it left open closed, as a process's are when it exits.
"""

import builtins
import importlib.util
import io
import json
import linecache
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
        line = _sockplay.wait(_js.input, sys.stdout.partial)
        sys.stdout.partial = ""
        if line is None:
            return ""
        return str(line) + "\n"

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
    _sockplay.wait(_js.sleep, secs)


def install():
    _sockplay.webloop = _sockplay._get_running_loop()
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
    time.sleep = sleep
    sys.stdout = _Out("stdout")
    sys.stderr = _Out("stderr")
    sys.stdin = _In()
    global _threads
    _threads = _thread


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


def run(source, filename):
    """Run one program; returns JSON: {"exception": null or {type,
    message}, "threads": green threads still alive}."""
    import _socket
    import traceback

    _sockplay.enter(_threads._MAIN)
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
    sys.stdout.flush()
    sys.stderr.flush()
    for sid in list(_socket.open_socks):
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
    return json.dumps({"exception": exc, "threads": _threads.alive()})
