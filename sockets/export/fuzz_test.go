package export

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/sockplay/sockplay/sockets"
)

// FuzzExportPython exports sessions of random and hostile events, built
// directly rather than through the engine so that values it would never
// log reach the exporter too: every string of an event (socket names, the
// op, option names and levels, addresses, hosts, data, results, errors)
// comes from the fuzzer. The script must be text Python reads as source
// whatever is in it, and python3's ast must find in it only the calls an
// export makes (testdata/checkscript.py).
func FuzzExportPython(f *testing.F) {
	c := pyChecker(f)
	f.Add(uint8(255), "setsockopt", "s1", attack, "SOL_SOCKET", "1", []byte("x"), int64(1), 0.5, true)
	f.Add(uint8(255), "setsockopt", "s1", "SO_REUSEADDR", attack, `"`+attack+`"`, []byte{}, int64(0), 0.0, false)
	for i, p := range payloads {
		raw, _ := json.Marshal(p)
		f.Add(uint8(i), p, p, p, p, string(raw), []byte(p), int64(i), float64(i), i%2 == 0)
	}
	f.Add(uint8(255), "connect", "s1", "[::1]:99999999999999999999999999", "a'b:80", "99999999999999999999999999999", []byte("\x00\xff'\""), int64(math.MaxInt64), math.MaxFloat64, true)
	f.Add(uint8(255), "connect", "s1", "/tmp/x\n:80", "\u202e\u2066evil", "1e999999", []byte("\\"), int64(math.MinInt64), math.Inf(1), false)
	f.Add(uint8(255), "sendto", "s01", "\\\\'\\", "host:port", `{"onoff": 1, "linger": 99999999999}`, []byte("\r\n"), int64(-1), math.NaN(), true)
	f.Add(uint8(255), "python", "s2", "# -*- coding: latin-1 -*-", "\x1c\x1d\x1e\x0b\x0c", `["x"]`, []byte(nil), int64(1<<40), -0.0, false)
	f.Add(uint8(255), "recv", "s1\n", "x'''", `"""`, "null", []byte("'''"), int64(4), 1e-300, true)
	f.Fuzz(func(t *testing.T, pick uint8, op, sock, s1, s2, raw string, data []byte, n int64, x float64, ok bool) {
		script := exportFuzzed(t, pick, op, sock, s1, s2, raw, data, n, x, ok)
		checkScript(t, c, script)
	})
}

// exportFuzzed builds a session around one fuzzed event and exports it:
// a socket, a bind whose port later addresses name, the event, and an
// autorecv run on its socket, with a call pending.
func exportFuzzed(t *testing.T, pick uint8, op, sock, s1, s2, raw string, data []byte, n int64, x float64, ok bool) string {
	t.Helper()
	names := sockets.OpNames()
	if int(pick) < 2*len(names) {
		op = names[int(pick)%len(names)]
	}
	choose := func(opts ...string) string { return opts[uint64(n)%uint64(len(opts))] }
	i := int(n)
	how := sockets.How(n)
	hexs, b64 := s1, s2
	d := &sockets.Data{}
	switch uint64(n) % 4 {
	case 0:
		d.Text = &s1
	case 1:
		d.Hex = &hexs
	case 2:
		d.B64 = &b64
	default:
		d = sockets.B64Data(data)
	}
	if n%3 == 0 {
		d.Repeat = &i
	}
	a := &sockets.Args{
		Family:  choose("", "inet", "inet6", "unix", s1),
		Type:    choose("", "stream", "dgram", s2),
		Addr:    s1,
		Backlog: &i,
		Bufsize: &i,
		Chunk:   &i,
		Delay:   &x,
		Timeout: sockets.Timeout{Set: ok || n%2 == 0, None: n%5 == 0, Seconds: x},
		Flag:    &ok,
		On:      &ok,
		How:     &how,
		Data:    d,
		Level:   choose("", s2, "SOL_SOCKET"),
		Name:    s1,
		Value:   json.RawMessage(raw),
		Host:    s2,
		Port:    json.RawMessage(raw),
		More: &sockets.More{RList: []string{sock, s1}, WList: []string{s2}, Kind: s1, Text: s2,
			Focus: &sockets.Focus{Sock: s1, View: s2, Lesson: sock, File: s1}},
	}
	res := &sockets.Result{N: &i, Data: data, Sock: choose(sock, s1, "s2"), Family: s1, Type: s2,
		Local: choose(s1, "127.0.0.1:"+s2, "[::1]:40000"), Peer: s2, Mode: s1, Timeout: &x, Addr: s1,
		EOF: ok, Truncated: n%2 == 1, Value: choose(s2, "131072", ""),
		AddrInfo: []sockets.AddrInfo{{Family: s1, Type: s2, Addr: s1}},
		Ready:    &sockets.Ready{RList: []string{s1}, XList: []string{sock}}}
	ev := sockets.Event{Seq: 3, Sock: sock, Op: op, Args: a, OK: ok, Result: res,
		Error: &sockets.Error{Errno: s2, Num: i, Exc: s1, Msg: s2}, Auto: n%7 == 0}
	if n%11 == 0 {
		ev.Args = nil
	}
	if n%13 == 0 {
		ev.Result = nil
	}
	evs := []sockets.Event{
		{Seq: 1, Sock: "s1", Op: "socket", OK: true, Result: &sockets.Result{Sock: "s1", Family: "inet", Type: "stream"}},
		{Seq: 2, Sock: "s1", Op: "bind", Args: &sockets.Args{Addr: "127.0.0.1:0"}, OK: true, Result: &sockets.Result{Local: "127.0.0.1:40000"}},
		ev,
		{Seq: 4, Sock: sock, Op: "recv", Auto: true, Args: a, OK: true, Result: res},
		{Seq: 5, Sock: sock, Op: "recv", Auto: true, Args: a, OK: true, Result: &sockets.Result{EOF: true}},
		{Seq: 6, Sock: "s1", Op: "connect", Args: &sockets.Args{Addr: s2 + ":40000"}, OK: ok, Error: ev.Error},
	}
	var b bytes.Buffer
	if err := WritePython(&b, Script{Session: s2, Events: evs, Pending: []sockets.Pending{{Sock: sock, Op: op, Args: a}}}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
