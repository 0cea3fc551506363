// Package export turns a session's event log into other forms: a Python
// script that replays the session's calls with the same arguments, and
// the Python text of each call and of its result.
package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sockplay/sockplay/sockets"
)

// Script is a session to export: its id, its events in seq order, and the
// calls still pending when it was exported.
type Script struct {
	Session string
	Events  []sockets.Event
	Pending []sockets.Pending
}

// header defines show(), which prints each result as "[seq] repr", so a
// replay can be read by a person and compared with the session by a
// program; recv_total and send_chunks replay the playground's helpers;
// unix_path and the directory the script moves into keep AF_UNIX names
// where the engine kept them.
const header = `#!/usr/bin/env python3
# A sockplay session, exported as the Python calls that make it.
#
# Each call prints its result as "[seq] value", where seq is the call's
# event in the session, and the comment after it says what sockplay got.
# Run it while the servers it talks to are up (the lab servers, for the
# addresses they had). Calls that take part of a stream (recv) may split
# the bytes differently from run to run; what arrives in total is the same.
import fcntl
import os
import select
import socket
import struct
import tempfile
import termios
import time

# The session's AF_UNIX names were files of a directory of its own (an
# absolute name under its root/); the replay's are too, in a new
# directory, so that it binds, reaches and unlinks no other file.
_unix_dir = tempfile.TemporaryDirectory(prefix="sockplay-")
os.chdir(_unix_dir.name)


def unix_path(name):
    """An absolute AF_UNIX name, as the session had it: under root/."""
    path = os.path.join("root", os.path.normpath(name).lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def show(seq, value):
    if isinstance(value, BaseException):
        value = f"{type(value).__name__}: {value}"
    else:
        value = repr(value)
    print(f"[{seq}] {value}", flush=True)


def wait_for(s, n, timeout=5.0):
    """Wait until n bytes wait in s's receive queue, as they did when the
    session called recv (the recv itself is the session's call). For a
    datagram socket, n is 1: a datagram is waiting."""
    def queued():
        return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and queued() < n:
            readable, _, _ = select.select([s], [], [], 0.005)
            # Readable with nothing queued is EOF: no more will come.
            if readable and s.type == socket.SOCK_STREAM and queued() == 0:
                return
            if readable:
                time.sleep(0.002)  # some came, not all: don't spin
    except OSError:
        return


def recv_total(seq, s, bufsize, total, eof=False):
    """sockplay's autorecv: recv(bufsize) until total bytes (and EOF) came."""
    got = b""
    while len(got) < total:
        chunk = s.recv(bufsize)
        if not chunk:
            break
        got += chunk
    if eof and len(got) >= total:
        s.recv(bufsize)
    show(seq, got)


def recvall(s, n):
    """The loop framing needs: recv until n bytes have come, or EOF."""
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def send_chunks(seq, s, data, chunk, delay):
    """sockplay's sendchunks: send data in chunk-byte pieces with a pause."""
    sent = 0
    for i in range(0, len(data), chunk):
        if i:
            time.sleep(delay)
        sent += s.send(data[i:i + chunk])
    show(seq, sent)

`

// trailer closes what the script left open.
const trailer = "\nfor _s in list(globals().values()):\n    if isinstance(_s, socket.socket):\n        _s.close()\n"

// WritePython writes the session as a Python script. Every value in it is
// a Python literal or a name sockplay knows (see literal.go); a call with
// a value that is neither is written as a comment, not as code.
func WritePython(w io.Writer, sc Script) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, header)
	fmt.Fprintf(bw, "# session %s\n\n", comment(sc.Session))
	evs := sc.Events
	known := replayNames(evs)
	for i := 0; i < len(evs); i++ {
		ev := evs[i]
		switch {
		case ev.Op == "stats", ev.Parent != 0:
			// Kernel stats are not calls; a helper's parts replay with it.
			continue
		case ev.Auto && ev.Op == "recv" && isVar(ev.Sock) && ev.Args != nil && ev.Args.Bufsize != nil:
			// A run of autorecv calls on one socket becomes one loop that
			// reads the same bytes in total.
			j, total, eof := i, 0, false
			for ; j < len(evs) && (evs[j].Op == "stats" || (evs[j].Auto && evs[j].Parent == 0 && evs[j].Op == "recv" && evs[j].Sock == ev.Sock && evs[j].OK && evs[j].Result != nil)); j++ {
				if evs[j].Op == "recv" {
					total += len(evs[j].Result.Data)
					eof = eof || evs[j].Result.EOF
				}
			}
			if j == i {
				writeCall(bw, ev, known)
				continue
			}
			last := evs[j-1]
			for last.Op == "stats" {
				j--
				last = evs[j-1]
			}
			fmt.Fprintf(bw, "recv_total(%q, %s, %d, %d, eof=%s)  # sockplay: %d bytes in %s\n",
				seqRange(ev.Seq, last.Seq), ev.Sock, *ev.Args.Bufsize, total, pyBool(eof), total, "autorecv calls")
			i = j - 1
		default:
			writeCall(bw, ev, known)
		}
	}
	for _, p := range sc.Pending {
		fmt.Fprintf(bw, "# still pending when exported: %s\n", comment(Call(p.Sock, p.Op, p.Args)))
	}
	fmt.Fprint(bw, trailer)
	return bw.Flush()
}

func seqRange(a, b int64) string {
	if a == b {
		return strconv.FormatInt(a, 10)
	}
	return fmt.Sprintf("%d-%d", a, b)
}

// names is what the script knows of the session's sockets: ports maps
// each port a socket was bound to onto that socket (a replay gets other
// ports for port 0, so an address with such a port is written as the
// replayed socket's own, s4_port, kept at bind); unix marks the AF_UNIX
// sockets, whose addresses are names of files.
type names struct {
	ports map[string]string
	unix  map[string]bool
}

func replayNames(evs []sockets.Event) names {
	n := names{ports: map[string]string{}, unix: map[string]bool{}}
	for _, ev := range evs {
		if !ev.OK || ev.Result == nil {
			continue
		}
		switch {
		case ev.Op == "socket" && ev.Result.Family == "unix":
			n.unix[ev.Result.Sock] = true
		case ev.Op == "accept":
			n.unix[ev.Result.Sock] = n.unix[ev.Sock]
		case ev.Op == "bind" && isVar(ev.Sock) && ev.Result.Local != "":
			if _, port, ok := splitHostPort(ev.Result.Local); ok && !n.unix[ev.Sock] {
				n.ports[port] = ev.Sock
			}
		}
	}
	return n
}

func portOf(addr string) string {
	_, port, _ := splitHostPort(addr)
	return port
}

// symbolic writes an address whose port a session socket was bound to
// with that socket's port variable; "" for any other address.
func symbolic(addr string, ports map[string]string) string {
	host, port, ok := splitHostPort(addr)
	if !ok || ports[port] == "" {
		return ""
	}
	if strings.Contains(host, ":") {
		return fmt.Sprintf("(%s, %s_port, 0, 0)", pyStr(host), ports[port])
	}
	return fmt.Sprintf("(%s, %s_port)", pyStr(host), ports[port])
}

// writeCall writes one event's call: a plain statement when it succeeded,
// wrapped in try/except when sockplay raised, a comment when it is not
// Python to run.
func writeCall(w io.Writer, ev sockets.Event, n names) {
	result := "  # sockplay: " + comment(ResultRepr(ev))
	if ev.Op == "socket" && !ev.OK {
		fmt.Fprintf(w, "# sockplay refused socket(): %s\n", comment(errText(ev.Error)))
		return
	}
	if ev.Op == "autorecv" || ev.Op == "autoaccept" {
		fmt.Fprintf(w, "# %s: the calls it made follow\n", comment(Call(ev.Sock, ev.Op, ev.Args)))
		return
	}
	if info, ok := sockets.LookupOp(ev.Op); ok && strings.HasPrefix(info.Py, "#") {
		// What a program did that is no socket call reads as a comment.
		fmt.Fprintf(w, "# %s\n", comment(strings.TrimPrefix(Call(ev.Sock, ev.Op, ev.Args), "# ")))
		return
	}
	stmt, shown, problem := statement(ev, n)
	if problem != "" {
		fmt.Fprintf(w, "# not replayed (%s): %s%s\n", problem, comment(Call(ev.Sock, ev.Op, ev.Args)), result)
		return
	}
	if (ev.Op == "recv" || ev.Op == "recvfrom") && ev.OK && ev.Result != nil && ev.Result.N != nil && *ev.Result.N > 0 {
		n := *ev.Result.N
		if ev.Result.Truncated || ev.Op == "recvfrom" || isDgram(ev) {
			n = 1
		}
		fmt.Fprintf(w, "wait_for(%s, %d)  # as in the session: the bytes had arrived\n", ev.Sock, n)
	}
	if ev.OK {
		if shown {
			fmt.Fprintf(w, "show(%d, %s)%s\n", ev.Seq, stmt, result)
		} else {
			fmt.Fprintf(w, "%s%s\n", stmt, result)
		}
		if ev.Op == "accept" {
			fmt.Fprintf(w, "show(%d, %s_addr)\n", ev.Seq, ev.Result.Sock)
		}
		if ev.Op == "bind" && ev.Result != nil && !n.unix[ev.Sock] && n.ports[portOf(ev.Result.Local)] == ev.Sock {
			// Kept now: the socket may be closed before the port is used.
			fmt.Fprintf(w, "%s_port = %s.getsockname()[1]\n", ev.Sock, ev.Sock)
		}
		return
	}
	fmt.Fprintf(w, "try:\n    %s\nexcept Exception as e:\n    show(%d, e)%s\n", stmt, ev.Seq, result)
}

// isDgram reports whether a recv's result came from a datagram socket:
// the engine gives such results an address or marks truncation only there,
// so look at what the session knew.
func isDgram(ev sockets.Event) bool {
	return ev.Result != nil && (ev.Result.Addr != "" || ev.Result.Truncated)
}

// statement is the Python for the call; shown says whether its value is
// printed (calls that return None are plain statements); problem, when
// not "", why it cannot be written as code. The script's own needs (names
// for what a call makes, a seq to print) come on top of the call's Python
// form.
func statement(ev sockets.Event, n names) (stmt string, shown bool, problem string) {
	s, a := ev.Sock, ev.Args
	if a == nil {
		a = &sockets.Args{}
	}
	addr := ""
	switch ev.Op {
	case "bind", "connect", "sendto", "unlink":
		// An address that reads as a str is an AF_UNIX name on any socket
		// (on another, Python raises TypeError as the session did).
		if text, _ := pyAddr(a.Addr, a.Family); ev.Op == "unlink" || n.unix[s] || strings.HasPrefix(text, "'") {
			if addr, problem = unixName(a.Addr); problem != "" {
				return "", false, problem
			}
		} else if ev.Op != "bind" {
			addr = symbolic(a.Addr, n.ports)
		}
	}
	call, problem := pyCall(s, ev.Op, a, addr)
	if problem != "" {
		return "", false, problem
	}
	switch ev.Op {
	case "socket":
		if !isVar(s) {
			return "", false, "a socket name sockplay does not give"
		}
		return s + " = " + call, false, ""
	case "accept":
		if ev.OK {
			if ev.Result == nil || !isVar(ev.Result.Sock) {
				return "", false, "a socket name sockplay does not give"
			}
			return fmt.Sprintf("%s, %s_addr = %s", ev.Result.Sock, ev.Result.Sock, call), false, ""
		}
	case "getsockopt":
		if a.Name == "SO_LINGER" {
			return fmt.Sprintf("struct.unpack('ii', %s, 8))", strings.TrimSuffix(call, ")")), true, ""
		}
		return call, true, ""
	case "sendchunks":
		if a.Chunk == nil {
			return "", false, "no chunk size"
		}
		data, p1 := pyArg(a, "data")
		delay, p2 := pyArg(a, "delay")
		if p := p1 + p2; p != "" {
			return "", false, p
		}
		return fmt.Sprintf("send_chunks(%d, %s, %s, %d, %s)", ev.Seq, s, data, *a.Chunk, delay), false, ""
	}
	info, _ := sockets.LookupOp(ev.Op)
	return call, info.Result != "none", ""
}

// unixName is an AF_UNIX name as the replay passes it: a relative name
// as it is (a file of the directory the script moved into), an absolute
// one through unix_path, as the engine maps both into the session's
// directory. What the engine refused there (a name that climbs out of the
// directory, an abstract name, which the host shares) is not replayed.
func unixName(name string) (string, string) {
	visible, _, _ := strings.Cut(name, "\x00")
	switch {
	case visible == "" || name[0] == '@':
		return "", "an abstract or empty AF_UNIX name"
	case filepath.IsAbs(visible):
		return "unix_path(" + pyStr(name) + ")", ""
	case !filepath.IsLocal(visible):
		return "", "an AF_UNIX name outside the session's directory"
	}
	return pyStr(name), ""
}

func level(a *sockets.Args) string {
	if a.Level != "" {
		return a.Level
	}
	if strings.HasPrefix(a.Name, "TCP_") {
		return "IPPROTO_TCP"
	}
	if strings.HasPrefix(a.Name, "IPV6_") {
		return "IPPROTO_IPV6"
	}
	if strings.HasPrefix(a.Name, "IP_") {
		return "IPPROTO_IP"
	}
	return "SOL_SOCKET"
}

// optValue is setsockopt's value: a boolean as 1 or 0 (as Python code
// passes it), SO_LINGER's object as the struct it is, any other JSON
// scalar as its literal.
func optValue(a *sockets.Args) (string, string) {
	v := strings.TrimSpace(string(a.Value))
	switch {
	case v == "":
		return "", "no value"
	case v == "true":
		return "1", ""
	case v == "false":
		return "0", ""
	case strings.HasPrefix(v, "{"):
		var l map[string]int32
		if err := json.Unmarshal([]byte(v), &l); err != nil {
			return v, "a value that is not SO_LINGER's {\"onoff\": n, \"linger\": n}"
		}
		for k := range l {
			if k != "onoff" && k != "linger" {
				return v, "a value that is not SO_LINGER's {\"onoff\": n, \"linger\": n}"
			}
		}
		return fmt.Sprintf("struct.pack('ii', %d, %d)", l["onoff"], l["linger"]), ""
	}
	return jsonLiteral(a.Value)
}

// portValue is getaddrinfo's port: None, a number, or a service name.
func portValue(a *sockets.Args) (string, string) {
	v := strings.TrimSpace(string(a.Port))
	if v == "" {
		return "None", ""
	}
	return jsonLiteral(a.Port)
}

// pyData is the op's data as a Python bytes expression: b'x' * 1000000
// for a repeat or a long repeated run, not a megabyte literal. Data the engine could not decode,
// or more than one op may send, is not written.
func pyData(a *sockets.Args) (string, string) {
	if a.Data == nil {
		return "b''", ""
	}
	d := *a.Data
	d.Repeat = nil
	b, err := d.Bytes()
	if err != nil {
		return "b''", "data that is not text, hex or base64"
	}
	if n := a.Data.Repeat; n != nil {
		if *n < 0 || *n > 0 && len(b) > sockets.MaxDataBytes / *n {
			return fmt.Sprintf("%s * %d", PyBytes(b), *n), "data repeated beyond what one op may send"
		}
		return fmt.Sprintf("%s * %d", PyBytes(b), *n), ""
	}
	return pyBytesOf(b), ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// errText is an error as Python's f"{type(e).__name__}: {e}" prints it.
func errText(e *sockets.Error) string {
	if e == nil {
		return "None"
	}
	if e.Errno != "" {
		return fmt.Sprintf("%s: [Errno %d] %s", e.Exc, e.Num, e.Msg)
	}
	return e.Exc + ": " + e.Msg
}

// splitHostPort splits "host:port" with a numeric port.
func splitHostPort(addr string) (string, string, bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", false
	}
	if _, err := strconv.Atoi(addr[i+1:]); err != nil {
		return "", "", false
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:], true
}

func pyFamily(f string) string {
	switch f {
	case "inet6", "AF_INET6":
		return "socket.AF_INET6"
	case "unix", "AF_UNIX":
		return "socket.AF_UNIX"
	}
	return "socket.AF_INET"
}

func pyType(t string) string {
	if t == "dgram" || t == "SOCK_DGRAM" {
		return "socket.SOCK_DGRAM"
	}
	return "socket.SOCK_STREAM"
}
