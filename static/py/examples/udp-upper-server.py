"""UDP uppercase server: recvfrom, upper, sendto.

Kurose and Ross's UDPServer, bound to a free port,
answering three datagrams from a client thread of
the same program. Each recvfrom returns one whole
datagram and who sent it.
"""
import threading
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(("", 0))
serverPort = serverSocket.getsockname()[1]
print("The server is ready to receive")


def client():
    s = socket(AF_INET, SOCK_DGRAM)
    for word in ("one", "two", "three"):
        s.sendto(word.encode(), ("127.0.0.1", serverPort))
        reply, _ = s.recvfrom(2048)
        print("client got", reply.decode())
    s.close()


threading.Thread(target=client).start()
for _ in range(3):
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
serverSocket.close()
