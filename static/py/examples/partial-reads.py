"""Partial reads: recv(n) returns what has come.

One sendall of 11 bytes comes back to three recv(4)
calls. Then the drip lab's greeting, which arrives a
few bytes at a time: each recv(1024) returns only
what is there, so a reader loops until the line is
whole.
"""
import socket

ECHO = ("127.0.0.1", 7007)  # the echo lab (TCP)
DRIP = ("127.0.0.1", 7008)  # the drip lab (TCP)

with socket.create_connection(ECHO) as s:
    s.sendall(b"hello world")
    for _ in range(3):
        print(s.recv(4))

with socket.create_connection(DRIP) as s:
    line, calls = b"", 0
    while not line.endswith(b"\n"):
        line += s.recv(1024)
        calls += 1
print(line.decode(), end="")
print("in one recv" if calls == 1 else "in many recvs")
