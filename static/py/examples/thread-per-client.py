"""A thread per client, with start_new_thread.

The classic multi-threaded server: each accepted
connection is served by a thread of its own, while
three client threads talk to it at once. Threads
here take turns where one waits (a socket call,
sleep, a lock): every blocking recv lets the others
run.
"""
import socket
import threading
from _thread import start_new_thread

HOST = "127.0.0.1"
replies = {}


def threaded(conn):
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data[::-1])  # reversed
    conn.close()


def client(i, port):
    with socket.create_connection((HOST, port)) as c:
        c.sendall(b"hello from client %d" % i)
        replies[i] = c.recv(1024)


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind((HOST, 0))
server.listen(5)
port = server.getsockname()[1]
clients = [threading.Thread(target=client, args=(i, port))
           for i in range(3)]
for t in clients:
    t.start()
for _ in range(3):
    conn, addr = server.accept()
    start_new_thread(threaded, (conn,))
for t in clients:
    t.join()
server.close()
for i in sorted(replies):
    print(i, replies[i])
