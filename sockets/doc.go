// Package sockets is the sockplay engine: a Manager of Sessions, each owning
// real OS sockets, an append-only event log with a per-session sequence
// number, and the state its viewers render.
//
// It knows nothing of HTTP or HTML. Its reference for behaviour is Python's
// socket module on Linux: sockets are non-blocking file descriptors driven
// by raw syscalls (one recv is one recvfrom(2), one send is one sendto(2)),
// and Python's three modes (blocking, timeout, non-blocking) are emulated
// the way CPython does it, with poll-style waits on the Go netpoller.
package sockets
