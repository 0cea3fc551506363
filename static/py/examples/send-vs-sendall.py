"""send vs sendall: one system call, or all bytes.

The sink lab accepts and never reads, so its receive
window and our send buffer fill up. send() is one
call: it takes what fits and returns how much.
sendall() calls send until all went; the discard lab
reads everything, so there it finishes.
"""
import socket

SINK = ("127.0.0.1", 7015)  # the sink lab (TCP)
DISCARD = ("127.0.0.1", 7014)  # the discard lab (TCP)
data = b"x" * 1_000_000

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.connect(SINK)
    s.setblocking(False)
    n = s.send(data)
    took = "all" if n == len(data) else "part"
    print("send() took", took, "of", len(data), "bytes")
    try:
        s.sendall(data)
    except BlockingIOError as e:
        print("non-blocking sendall():", type(e).__name__)
    s.settimeout(0.5)
    try:
        s.sendall(data)
    except TimeoutError as e:
        print("sendall(), 0.5 s timeout:", e)

with socket.create_connection(DISCARD) as s:
    s.sendall(data)
    print("sendall() to discard: all", len(data))
