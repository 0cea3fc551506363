package sockets

import (
	"reflect"
	"slices"
	"sort"
	"strings"
)

// opArgs are the arguments each op takes, by their JSON names. An argument
// an op does not take is a TypeError, as Python's is: silently ignoring
// it would let recv(4, timeout=0) block forever when it was meant not to.
var opArgs = map[string]string{
	"socket": "family type", "bind": "addr", "connect": "addr", "listen": "backlog",
	"accept": "", "autoaccept": "on",
	"send": "data", "sendall": "data", "sendto": "data addr", "sendchunks": "data chunk delay",
	"recv": "bufsize", "recvfrom": "bufsize", "recvall": "bufsize", "autorecv": "bufsize on",
	"settimeout": "timeout", "gettimeout": "", "setblocking": "flag",
	"setsockopt": "level name value", "getsockopt": "level name", "shutdown": "how",
	"close": "", "getsockname": "", "getpeername": "",
	"getaddrinfo": "host port family type", "gethostbyname": "host",
}

// opTakes is opArgs as lists, split once.
var opTakes = func() map[string][]string {
	m := make(map[string][]string, len(opArgs))
	for op, args := range opArgs {
		m[op] = strings.Fields(args)
		sort.Strings(m[op])
	}
	return m
}()

// argNames are Args' JSON names, by field index.
var argNames = func() []string {
	t := reflect.TypeFor[Args]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()

// checkArgs refuses arguments the op does not take.
func checkArgs(op Op) *Error {
	allowed := opTakes[op.Op]
	v := reflect.ValueOf(op.Args)
	for i, name := range argNames {
		if name == "requested" || v.Field(i).IsZero() || slices.Contains(allowed, name) {
			continue
		}
		takes := "no arguments"
		if len(allowed) > 0 {
			takes = strings.Join(allowed, ", ")
		}
		hint := ""
		if name == "timeout" {
			hint = "; a socket's timeout is set with settimeout"
		}
		return errType("%s() got an unexpected argument '%s' (it takes %s%s)", op.Op, name, takes, hint)
	}
	return nil
}
