// Package web is sockplay's HTTP face: the chi router, the JSON API, the
// WebSocket bridge between a browser and a session, and the wire codec of
// protocol v1. It makes no syscalls; everything socket-shaped goes through
// the sockets engine.
//
// The router (router.go) has one group of routes that need no token (the
// page's files, a watch link's GETs) and one of routes that do; the
// access checks are middleware (access.go: the token, the host and the
// origin, and what a trusted proxy in front says of them), as is loading
// the session a route names into the request's context (sessionctx.go).
// /healthz and /readyz are answered before any check; whether the node
// takes new sessions, and its drain, are drain.go's. Every error code is
// in one table with its HTTP status (errors.go).
package web
