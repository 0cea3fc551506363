"""Timeouts and non-blocking sockets.

The discard lab never replies, so a recv on it would
wait for ever. settimeout(t) bounds each wait (then
socket.timeout, which is TimeoutError);
setblocking(False) makes a call that would wait fail
at once with BlockingIOError. A connect to a port
where nobody listens is refused.
"""
import socket
import time

DISCARD = ("127.0.0.1", 7014)  # the discard lab (TCP)

s = socket.create_connection(DISCARD)
s.settimeout(1.0)
start = time.monotonic()
try:
    s.recv(1024)
except socket.timeout as e:
    waited = round(time.monotonic() - start)
    print(f"recv: {e!r} after {waited} s")
s.setblocking(False)
try:
    s.recv(1024)
except BlockingIOError as e:
    print("recv, non-blocking:", e)
s.close()

try:
    socket.create_connection(("127.0.0.1", 1))
except ConnectionRefusedError as e:
    print(f"connect to port 1: {type(e).__name__}: {e}")
