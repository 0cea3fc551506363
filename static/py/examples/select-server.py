"""A select() server: one thread, many clients.

select.select() says which sockets are ready, so one
loop serves a listener and its connections without
blocking on any one of them. Three clients connect
and send first; the loop accepts them, answers each,
and closes.
"""
import select
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(5)
server.setblocking(False)
clients = [socket.create_connection(server.getsockname())
           for _ in range(3)]
for i, c in enumerate(clients):
    c.sendall(b"message %d" % i)

inputs, served = [server], 0
while served < 3:
    readable, _, _ = select.select(inputs, [], [], 5)
    for s in readable:
        if s is server:
            conn, _ = server.accept()
            inputs.append(conn)
        else:
            data = s.recv(1024)
            s.sendall(data.upper())
            inputs.remove(s)
            s.close()
            served += 1
for c in clients:
    print(c.recv(1024))
    c.close()
server.close()
