"""TCP echo server: accept, then echo until EOF.

The tutorial's server. So that it has someone to
talk to, its client runs in a thread of the same
program: one program runs at a time here. Port 0
asks the kernel for a free port.
"""
import socket
import threading

HOST = "127.0.0.1"
PORT = 0  # 0: the kernel picks a free port


def client(port):
    with socket.create_connection((HOST, port)) as c:
        for word in (b"hello", b"echo", b"bye"):
            c.sendall(word)
            print("client got", c.recv(1024))


with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((HOST, PORT))
    s.listen()
    port = s.getsockname()[1]
    t = threading.Thread(target=client, args=(port,))
    t.start()
    conn, addr = s.accept()
    with conn:
        print(f"Connected by {addr[0]}")
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
print("server done")
