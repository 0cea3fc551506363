package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sockplay/sockplay/sockets"
)

// Call is the Python text of a call on socket s, from the op's Python
// form in the engine's op table (static/ops.js renders the same forms
// for the page). It is for reading: a value that is no Python (an option
// name sockplay does not know, say) reads as it was given; the script
// writes only calls whose every value is a literal or a known name (see
// pyCall).
func Call(s, op string, a *sockets.Args) string {
	text, _ := pyCall(s, op, a, "")
	return text
}

// pyCall is the call's text, and problem: why it is not Python to run
// ("" when every value in it is a literal or a known name). addr, when
// not "", is the Python for the addr argument, instead of the address.
func pyCall(s, op string, a *sockets.Args, addr string) (text, problem string) {
	if a == nil {
		a = &sockets.Args{}
	}
	info, ok := sockets.LookupOp(op)
	if !ok {
		return s + "." + op + "()", "an op sockplay does not have"
	}
	form := info.Py
	if info.PyOff != "" && a.On != nil && !*a.On {
		form = info.PyOff
	}
	return renderForm(form, s, a, addr)
}

// renderForm fills a Python form's placeholders (see sockets' "A call's
// Python form"); problem is the first value that is not Python to run.
func renderForm(form, s string, a *sockets.Args, addr string) (string, string) {
	var b strings.Builder
	problem := ""
	arg := func(name string) string {
		if name == "addr" && addr != "" {
			return addr
		}
		text, p := pyArg(a, name)
		if problem == "" {
			problem = p
		}
		return text
	}
	for {
		i := strings.IndexByte(form, '{')
		if i < 0 {
			b.WriteString(form)
			return b.String(), problem
		}
		j := strings.IndexByte(form[i:], '}') + i
		b.WriteString(form[:i])
		ph := form[i+1 : j]
		form = form[j+1:]
		name, def, hasDef := strings.Cut(ph, "|")
		switch {
		case name == "sock":
			if !isVar(s) && problem == "" {
				problem = "a socket name sockplay does not give"
			}
			b.WriteString(s)
		case strings.HasSuffix(name, "=?"):
			if n := strings.TrimSuffix(name, "=?"); hasArg(a, n) {
				b.WriteString(", " + n + "=" + arg(n))
			}
		case strings.HasSuffix(name, "?"):
			if n := strings.TrimSuffix(name, "?"); hasArg(a, n) {
				b.WriteString(arg(n))
			} else {
				trimSep(&b)
			}
		case hasDef && !hasArg(a, name):
			b.WriteString(def)
		default:
			b.WriteString(arg(name))
		}
	}
}

// trimSep drops the ", " an absent optional argument leaves behind.
func trimSep(b *strings.Builder) {
	if s := b.String(); strings.HasSuffix(s, ", ") {
		b.Reset()
		b.WriteString(s[:len(s)-2])
	}
}

// hasArg reports whether the call was given the argument.
func hasArg(a *sockets.Args, name string) bool {
	switch name {
	case "family":
		return a.Family != ""
	case "type":
		return a.Type != ""
	case "backlog":
		return a.Backlog != nil
	case "bufsize":
		return a.Bufsize != nil
	case "delay":
		return a.Delay != nil
	case "port":
		return len(a.Port) > 0
	case "timeout":
		return a.Timeout.Set
	}
	return true
}

// pyArg writes one argument as Python does; problem says why the text is
// not a literal or a known name. kind and focus only ever appear in a
// comment form, which the script writes as a comment.
func pyArg(a *sockets.Args, name string) (text, problem string) {
	switch name {
	case "family":
		return pyFamily(a.Family), ""
	case "type":
		return pyType(a.Type), ""
	case "addr":
		return pyAddr(a.Addr, a.Family)
	case "backlog":
		return strconv.Itoa(deref(a.Backlog)), ""
	case "bufsize":
		return strconv.Itoa(deref(a.Bufsize)), ""
	case "chunk":
		return strconv.Itoa(deref(a.Chunk)), ""
	case "delay":
		return floatLiteral(deref(a.Delay))
	case "data":
		return pyData(a)
	case "timeout":
		if a.Timeout.None {
			return "None", ""
		}
		return floatLiteral(a.Timeout.Seconds)
	case "flag":
		return pyBool(a.Flag != nil && *a.Flag), ""
	case "how":
		if a.How != nil && *a.How >= 0 && int(*a.How) < 2 {
			return []string{"socket.SHUT_RD", "socket.SHUT_WR"}[*a.How], ""
		}
		return "socket.SHUT_RDWR", ""
	case "level":
		return constant(level(a), "an option level")
	case "name":
		return constant(a.Name, "an option name")
	case "value":
		return optValue(a)
	case "host":
		return pyStr(a.Host), ""
	case "port":
		return portValue(a)
	case "rlist":
		return pyList(more(a).RList)
	case "wlist":
		return pyList(more(a).WList)
	case "xlist":
		return pyList(more(a).XList)
	case "kind":
		return more(a).Kind, ""
	case "text":
		return pyStr(more(a).Text), ""
	case "focus":
		if f := more(a).Focus; f != nil {
			return f.String(), ""
		}
		return "", ""
	}
	return name, ""
}

// constant is socket.NAME, a problem unless sockplay knows the name.
func constant(name, what string) (string, string) {
	if !constants[name] {
		return "socket." + name, what + " sockplay does not know"
	}
	return "socket." + name, ""
}

// more is a's arguments of select and python, zero when it has none.
func more(a *sockets.Args) sockets.More {
	if a.More == nil {
		return sockets.More{}
	}
	return *a.More
}

// pyList is a list of sockets, by their variables.
func pyList(socks []string) (string, string) {
	problem := ""
	for _, s := range socks {
		if !isVar(s) {
			problem = "a socket name sockplay does not give"
		}
	}
	return "[" + strings.Join(socks, ", ") + "]", problem
}

// ResultRepr is what Python prints for the event's result (repr of the
// returned value), or "Exc: message" for an error, from the op's result
// form in the op table.
func ResultRepr(ev sockets.Event) string {
	if !ev.OK {
		return errText(ev.Error)
	}
	r := ev.Result
	info, _ := sockets.LookupOp(ev.Op)
	if r == nil {
		return "None"
	}
	switch info.Result {
	case "socket":
		return "<socket " + r.Sock + ">"
	case "bytes":
		return pyBytesOf(r.Data)
	case "bytes_addr":
		from := "None"
		if r.Addr != "" {
			from = PyAddr(r.Addr, "")
		}
		return fmt.Sprintf("(%s, %s)", pyBytesOf(r.Data), from)
	case "n":
		return strconv.Itoa(deref(r.N))
	case "accepted":
		return fmt.Sprintf("(<socket %s>, %s)", r.Sock, PyAddr(r.Peer, ""))
	case "local":
		return PyAddr(r.Local, "")
	case "peer":
		return PyAddr(r.Peer, "")
	case "value":
		if l, ok := r.Value.(sockets.Linger); ok {
			return fmt.Sprintf("(%d, %d)", l.Onoff, l.Linger)
		}
		return fmt.Sprint(r.Value)
	case "timeout":
		if r.Timeout == nil || r.Mode == "blocking" {
			return "None"
		}
		return pyFloat(*r.Timeout)
	case "host":
		return pyStr(r.Addr)
	case "addrinfo":
		var parts []string
		for _, ai := range r.AddrInfo {
			fam := map[string]string{"inet": "<AddressFamily.AF_INET: 2>", "inet6": "<AddressFamily.AF_INET6: 10>"}[ai.Family]
			typ := map[string]string{"stream": "<SocketKind.SOCK_STREAM: 1>", "dgram": "<SocketKind.SOCK_DGRAM: 2>", "raw": "<SocketKind.SOCK_RAW: 3>"}[ai.Type]
			parts = append(parts, fmt.Sprintf("(%s, %s, %d, '', %s)", fam, typ, ai.Proto, PyAddr(ai.Addr, "")))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case "select":
		var rd sockets.Ready
		if r.Ready != nil {
			rd = *r.Ready
		}
		r, _ := pyList(rd.RList)
		w, _ := pyList(rd.WList)
		x, _ := pyList(rd.XList)
		return fmt.Sprintf("(%s, %s, %s)", r, w, x)
	}
	return "None"
}

// PyAddr writes an address (the wire's host:port, [v6]:port, or a path)
// as Python passes and prints it: ('host', port), ('host', port, 0, 0)
// for IPv6, a string for AF_UNIX and for anything else; valid Python
// whatever the text (static/ops.js's pyAddr reads it alike).
func PyAddr(addr, family string) string {
	text, _ := pyAddr(addr, family)
	return text
}

// pyAddr is PyAddr, and a problem when the port is too long a number to
// be one (Python refuses an int literal of thousands of digits).
func pyAddr(addr, family string) (string, string) {
	if host, port, v6, ok := addrParts(addr); ok && family != "unix" {
		problem := ""
		if len(port) > 20 {
			problem = "a port of more digits than any number a port is"
		}
		if v6 {
			return fmt.Sprintf("(%s, %s, 0, 0)", pyStr(host), port), problem
		}
		return fmt.Sprintf("(%s, %s)", pyStr(host), port), problem
	}
	return pyStr(addr), ""
}

// addrParts splits host:port or [v6]:port, the port written as a Python
// int (no leading zeros); not ok for anything else (a path).
func addrParts(addr string) (host, port string, v6, ok bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || !allDigits(addr[i+1:]) {
		return "", "", false, false
	}
	host, port = addr[:i], strings.TrimLeft(addr[i+1:], "0")
	if port == "" {
		port = "0"
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1], port, true, true
	}
	if strings.ContainsAny(host, ":/[]") {
		return "", "", false, false
	}
	return host, port, false, true
}

// allDigits: s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
