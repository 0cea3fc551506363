"""UDP uppercase client: a datagram out and back.

Kurose and Ross's UDPClient, pointed at the upper
lab, which answers each datagram with its letters
upper-cased. There is no connection: each sendto
names where it goes. input() reads a line from
the console's prompt.
"""
from socket import *

server = ("127.0.0.1", 7009)  # the upper lab (UDP)
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input("Input lowercase sentence: ")
clientSocket.sendto(message.encode(), server)
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode())
clientSocket.close()
