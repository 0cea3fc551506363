// Package web is sockplay's HTTP face: the chi router, the JSON API, the
// WebSocket bridge between a browser and a session, and the wire codec of
// protocol v1. It makes no syscalls; everything socket-shaped goes through
// the sockets engine.
package web
