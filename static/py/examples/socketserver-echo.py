"""socketserver: ThreadingTCPServer, a handler.

The standard library's server framework: a handler
class, a server that runs it in a thread per
connection, serve_forever in a thread of its own (on
select), and two clients.
"""
import socket
import socketserver
import threading


class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        self.wfile.write(line.upper())


ADDR = ("127.0.0.1", 0)  # 0: any free port
with socketserver.ThreadingTCPServer(ADDR, Upper) as srv:
    t = threading.Thread(target=srv.serve_forever)
    t.start()
    for i in range(2):
        c = socket.create_connection(srv.server_address)
        with c:
            c.sendall(b"line %d\n" % i)
            print(c.makefile("rb").readline())
    srv.shutdown()
    t.join()
