"""TCP echo client: connect, send, read the echo.

The client of the classic socket tutorial, pointed
at the echo lab, which sends back every byte it
gets.
"""
import socket

HOST, PORT = "127.0.0.1", 7007  # the echo lab (TCP)

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    s.sendall(b"Hello, world")
    data = s.recv(1024)

print(f"Received {data!r}")
