package sockets

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// sockopt is one socket option sockplay knows by its Python name.
type sockopt struct {
	level    int
	name     int
	linger   bool // value is struct linger: {"onoff": 1, "linger": 0}
	readOnly bool
}

var sockLevels = map[string]int{
	"SOL_SOCKET":   unix.SOL_SOCKET,
	"IPPROTO_TCP":  unix.IPPROTO_TCP,
	"IPPROTO_IP":   unix.IPPROTO_IP,
	"IPPROTO_IPV6": unix.IPPROTO_IPV6,
}

var sockopts = map[string]sockopt{
	"SO_RCVBUF":         {level: unix.SOL_SOCKET, name: unix.SO_RCVBUF},
	"SO_SNDBUF":         {level: unix.SOL_SOCKET, name: unix.SO_SNDBUF},
	"SO_REUSEADDR":      {level: unix.SOL_SOCKET, name: unix.SO_REUSEADDR},
	"SO_REUSEPORT":      {level: unix.SOL_SOCKET, name: unix.SO_REUSEPORT},
	"SO_KEEPALIVE":      {level: unix.SOL_SOCKET, name: unix.SO_KEEPALIVE},
	"SO_LINGER":         {level: unix.SOL_SOCKET, name: unix.SO_LINGER, linger: true},
	"SO_BROADCAST":      {level: unix.SOL_SOCKET, name: unix.SO_BROADCAST},
	"SO_RCVLOWAT":       {level: unix.SOL_SOCKET, name: unix.SO_RCVLOWAT},
	"SO_ERROR":          {level: unix.SOL_SOCKET, name: unix.SO_ERROR, readOnly: true},
	"SO_TYPE":           {level: unix.SOL_SOCKET, name: unix.SO_TYPE, readOnly: true},
	"SO_ACCEPTCONN":     {level: unix.SOL_SOCKET, name: unix.SO_ACCEPTCONN, readOnly: true},
	"TCP_NODELAY":       {level: unix.IPPROTO_TCP, name: unix.TCP_NODELAY},
	"TCP_KEEPIDLE":      {level: unix.IPPROTO_TCP, name: unix.TCP_KEEPIDLE},
	"TCP_KEEPINTVL":     {level: unix.IPPROTO_TCP, name: unix.TCP_KEEPINTVL},
	"TCP_KEEPCNT":       {level: unix.IPPROTO_TCP, name: unix.TCP_KEEPCNT},
	"TCP_MAXSEG":        {level: unix.IPPROTO_TCP, name: unix.TCP_MAXSEG},
	"IP_TTL":            {level: unix.IPPROTO_IP, name: unix.IP_TTL},
	"IP_TOS":            {level: unix.IPPROTO_IP, name: unix.IP_TOS},
	"IPV6_V6ONLY":       {level: unix.IPPROTO_IPV6, name: unix.IPV6_V6ONLY},
	"IPV6_UNICAST_HOPS": {level: unix.IPPROTO_IPV6, name: unix.IPV6_UNICAST_HOPS},
}

// SockoptNames lists the options sockplay knows, for the UI and errors.
func SockoptNames() []string {
	names := make([]string, 0, len(sockopts))
	for n := range sockopts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SockoptLevels lists the option levels sockplay knows.
func SockoptLevels() []string {
	levels := make([]string, 0, len(sockLevels))
	for n := range sockLevels {
		levels = append(levels, n)
	}
	sort.Strings(levels)
	return levels
}

func levelName(level int) string {
	for n, l := range sockLevels {
		if l == level {
			return n
		}
	}
	return fmt.Sprint(level)
}

// lookupSockopt resolves level and name as Python spells them. An unknown
// name is Python's AttributeError on the socket module; a name at the
// wrong level is refused (Python would silently set another option with
// the same number).
func lookupSockopt(level, name string) (sockopt, *Error) {
	opt, ok := sockopts[name]
	if !ok {
		return opt, &Error{Exc: "AttributeError", Msg: fmt.Sprintf("module 'socket' has no attribute '%s' (sockplay knows %s)", name, strings.Join(SockoptNames(), ", "))}
	}
	if level == "" {
		return opt, nil
	}
	lv, ok := sockLevels[level]
	if !ok {
		return opt, &Error{Exc: "AttributeError", Msg: fmt.Sprintf("module 'socket' has no attribute '%s' (levels: %s)", level, strings.Join(SockoptLevels(), ", "))}
	}
	if lv != opt.level {
		return opt, errValue("%s is an option of level %s, not %s", name, levelName(opt.level), level)
	}
	return opt, nil
}

// Linger is SO_LINGER's value.
type Linger struct {
	Onoff  int `json:"onoff"`
	Linger int `json:"linger"`
}

// sockoptValue decodes a setsockopt value: a number or a boolean, or for
// SO_LINGER an object; other types are TypeError, as in Python.
func sockoptValue(opt sockopt, raw json.RawMessage) (int, *Linger, *Error) {
	if len(raw) == 0 {
		return 0, nil, errType("setsockopt() missing required argument 'value'")
	}
	if opt.linger {
		var l Linger
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return 0, nil, errType(`SO_LINGER takes {"onoff": 0 or 1, "linger": seconds}, not %s`, raw)
		}
		return 0, &l, nil
	}
	switch string(raw) {
	case "true":
		return 1, nil, nil
	case "false":
		return 0, nil, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, nil, errType("'%s' object cannot be interpreted as an integer: %s", jsonTypeName(raw), raw)
	}
	if f != float64(int64(f)) {
		return 0, nil, errType("'float' object cannot be interpreted as an integer")
	}
	if f != float64(int32(f)) {
		// CPython tries an int that does not fit a C int as a buffer.
		return 0, nil, errType("a bytes-like object is required, not 'int'")
	}
	return int(f), nil, nil
}

func jsonTypeName(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 'n':
		return "NoneType"
	}
	return "float"
}

func (k *Socket) setsockopt(name string, opt sockopt, v int, l *Linger) error {
	if opt.readOnly {
		return unix.ENOPROTOOPT
	}
	err := k.control(func(fd int) error {
		if l != nil {
			return unix.SetsockoptLinger(fd, opt.level, opt.name, &unix.Linger{Onoff: int32(l.Onoff), Linger: int32(l.Linger)})
		}
		return unix.SetsockoptInt(fd, opt.level, opt.name, v)
	})
	if err == nil {
		k.mu.Lock()
		if k.opts == nil {
			k.opts = map[string]any{}
		}
		if l != nil {
			k.opts[name] = *l
		} else {
			k.opts[name] = v
		}
		k.mu.Unlock()
	}
	return err
}

func (k *Socket) getsockopt(opt sockopt) (any, error) {
	var out any
	err := k.control(func(fd int) error {
		if opt.linger {
			l, err := unix.GetsockoptLinger(fd, opt.level, opt.name)
			if err == nil {
				out = Linger{Onoff: int(l.Onoff), Linger: int(l.Linger)}
			}
			return err
		}
		v, err := unix.GetsockoptInt(fd, opt.level, opt.name)
		out = v
		return err
	})
	return out, err
}
