"""UDP uppercase client: a datagram out, a datagram back.

Kurose and Ross's UDPClient, pointed at the upper lab, which
answers each datagram with its letters upper-cased. There is
no connection: each sendto names where it goes. input() reads
from the box under the console.
"""
from socket import *

serverName, serverPort = "127.0.0.1", 7009  # the upper lab (UDP)
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input("Input lowercase sentence: ")
clientSocket.sendto(message.encode(), (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode())
clientSocket.close()
