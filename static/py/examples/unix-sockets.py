"""Unix-domain sockets: a path, not host and port.

An AF_UNIX stream server and its client in one
program. The socket's file stays after close until
someone removes it, so each run binds a fresh name.
"""
import socket
import uuid

PATH = f"demo-{uuid.uuid4().hex[:8]}.sock"

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
