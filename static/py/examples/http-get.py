"""HTTP by hand: a GET request written as bytes.

HTTP/1.0 is text over TCP: a request line, headers,
an empty line. The server answers and closes its
end, so read until recv returns b'' (EOF).
"""
import socket

HOST, PORT = "127.0.0.1", 7016  # the http lab (TCP)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((HOST, PORT))
s.send(b"GET /hello HTTP/1.0\r\nHost: localhost\r\n\r\n")
reply = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
s.close()
head, _, body = reply.partition(b"\r\n\r\n")
print(head.decode())
print(body.decode(), end="")
