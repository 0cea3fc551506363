"""Unix-domain sockets: a path, not host and port.

An AF_UNIX stream server and its client in one
program. The socket's file stays after close, so the
server removes an old one before it binds, as a
server that is run again must.
"""
import os
import socket

PATH = "./echo.sock"

try:
    os.unlink(PATH)
except FileNotFoundError:
    pass

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(PATH)
server.listen(1)

client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect(PATH)
conn, _ = server.accept()

client.sendall(b"ping")
print("server got", conn.recv(1024))
conn.sendall(b"pong")
print("client got", client.recv(1024))
for s in (client, conn, server):
    s.close()
