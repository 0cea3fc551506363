"""Reassembly: a message is whole once framed.

The fragmenter lab sends one message as small writes
with pauses: recv until EOF and join the pieces.
Then framing with a length prefix: three messages in
one sendall to the echo lab, taken apart again by
reading exactly n bytes at a time.
"""
import socket
import struct

FRAG = ("127.0.0.1", 7011)  # the fragmenter lab (TCP)
ECHO = ("127.0.0.1", 7007)  # the echo lab (TCP)

with socket.create_connection(FRAG) as s:
    pieces = []
    while chunk := s.recv(1024):
        pieces.append(chunk)
message = b"".join(pieces)
print(len(message), "bytes:", message[:40])


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the peer closed mid-message")
        data += chunk
    return data


with socket.create_connection(ECHO) as s:
    words = [b"one", b"two three", b"four five six"]
    s.sendall(b"".join(struct.pack("!H", len(w)) + w
                       for w in words))
    for _ in words:
        (n,) = struct.unpack("!H", recv_exactly(s, 2))
        print(n, recv_exactly(s, n))
