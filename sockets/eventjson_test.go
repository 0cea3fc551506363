package sockets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wantSameJSON fails unless appendEventJSON writes ev as json.Marshal
// does (or, where json.Marshal fails, writes nothing), after what is
// already in the buffer and leaving that alone.
func wantSameJSON(t *testing.T, ev Event) {
	t.Helper()
	want, err := json.Marshal(ev)
	if err != nil {
		want = nil
	}
	prefix := []byte("prefix")
	got := appendEventJSON(append([]byte(nil), prefix...), &ev)
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("event %+v:\njson.Marshal:    %s (%v)\nappendEventJSON: %s", ev, want, err, got[min(len(prefix), len(got)):])
	}
	// What viewers get is the same, less the reply.
	noReply := ev
	noReply.Reply = nil
	if want, err := json.Marshal(noReply); err == nil {
		if got := BatchOf([]Event{ev}).JSON(0); !bytes.Equal(got, want) {
			t.Fatalf("event %+v:\njson.Marshal without reply: %s\nthe batch's JSON:        %s", ev, want, got)
		}
	}
}

// TestEventJSONMatchesMarshal runs every op, in its successes and its
// failures, with the asynchronous events (autorecv's and autoaccept's
// results, kernel stats, a reply), and holds the JSON of every event the
// session logged to json.Marshal's.
func TestEventJSONMatchesMarshal(t *testing.T) {
	s := newTestSession(t)
	v := s.Attach(0) // someone watching: the kernel stats are logged
	defer v.Detach()
	run := func(js string) Event {
		t.Helper()
		var o Op
		if err := json.Unmarshal([]byte(js), &o); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return do(t, s, o)
	}
	await := func(what string, cond func(Event) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			ch := s.Changed()
			for _, ev := range s.EventsAfter(0, 0) {
				if cond(ev) {
					return
				}
			}
			select {
			case <-ch:
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	lst := run(`{"op":"socket","family":"inet","type":"stream"}`).Result.Sock
	run(`{"op":"bind","sock":"` + lst + `","addr":"127.0.0.1:0"}`)
	run(`{"op":"listen","sock":"` + lst + `","backlog":4}`)
	addr := run(`{"op":"getsockname","sock":"` + lst + `"}`).Result.Local
	cli := run(`{"op":"socket"}`).Result.Sock
	run(`{"op":"connect","sock":"` + cli + `","addr":"` + addr + `"}`)
	srv := run(`{"op":"accept","sock":"` + lst + `"}`).Result.Sock
	for _, js := range []string{
		`{"op":"getpeername","sock":"` + cli + `"}`,
		`{"op":"send","sock":"` + cli + `","data":{"text":"<a href=\"x\">&amp;</a>\u2028\t\n\u0001é"}}`,
		`{"op":"sendall","sock":"` + cli + `","data":{"hex":"00 ff 10"}}`,
		`{"op":"sendall","sock":"` + cli + `","data":{"b64":"aGVsbG8=","repeat":3}}`,
		`{"op":"recv","sock":"` + srv + `","bufsize":4}`,
		`{"op":"recvall","sock":"` + srv + `","bufsize":5}`,
		`{"op":"recvfrom","sock":"` + srv + `","bufsize":1000000000}`,
		`{"op":"settimeout","sock":"` + srv + `","timeout":0.25}`,
		`{"op":"gettimeout","sock":"` + srv + `"}`,
		`{"op":"settimeout","sock":"` + srv + `","timeout":1e-7}`,
		`{"op":"recv","sock":"` + srv + `","bufsize":1}`,
		`{"op":"settimeout","sock":"` + srv + `","timeout":null}`,
		`{"op":"setblocking","sock":"` + srv + `","flag":false}`,
		`{"op":"recv","sock":"` + srv + `","bufsize":1}`,
		`{"op":"setblocking","sock":"` + srv + `","flag":true}`,
		`{"op":"setsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_SNDBUF","value":65536}`,
		`{"op":"getsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_SNDBUF"}`,
		`{"op":"setsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_KEEPALIVE","value":true}`,
		`{"op":"getsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_KEEPALIVE"}`,
		`{"op":"setsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_LINGER","value": {"onoff" : 1, "linger":0}}`,
		`{"op":"getsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_LINGER"}`,
		`{"op":"setsockopt","sock":"` + cli + `","level":"SOL_SOCKET","name":"SO_NOPE","value":1}`,
		`{"op":"sendchunks","sock":"` + cli + `","data":{"text":"abcdef"},"chunk":2,"delay":0.001}`,
		`{"op":"select","rlist":["` + srv + `","` + lst + `"],"wlist":["` + cli + `"],"xlist":["` + srv + `"],"timeout":1}`,
		`{"op":"python","kind":"stdout","text":"<b>hi</b>\n\u2028"}`,
		`{"op":"gethostname"}`,
		`{"op":"focus","focus":{"sock":"` + srv + `","view":"ruler","lesson":"partial-reads","step":2,"file":"echo.py","line":12}}`,
		`{"op":"unlink","addr":"/tmp/nothing.sock"}`,
		`{"op":"autorecv","sock":"` + srv + `","bufsize":16}`,
	} {
		run(js)
	}
	await("autorecv's results", func(ev Event) bool { return ev.Auto && ev.Op == "recv" && ev.OK })
	run(`{"op":"shutdown","sock":"` + cli + `","how":"SHUT_WR"}`)
	await("autorecv's EOF", func(ev Event) bool { return ev.Auto && ev.Op == "recv" && ev.OK && ev.Result.EOF })
	run(`{"op":"autorecv","sock":"` + srv + `","on":false}`)
	run(`{"op":"autoaccept","sock":"` + lst + `","on":true}`)
	other := run(`{"op":"socket"}`).Result.Sock
	run(`{"op":"connect","sock":"` + other + `","addr":"` + addr + `"}`)
	await("an auto accept", func(ev Event) bool { return ev.Auto && ev.Op == "accept" })
	await("a listener's kernel stats", func(ev Event) bool { return ev.Op == "stats" && ev.Result.Stats.Backlog != nil })
	await("a connection's kernel stats", func(ev Event) bool { return ev.Op == "stats" && ev.Result.Stats.TCPState == "ESTABLISHED" })
	for _, js := range []string{
		`{"op":"autoaccept","sock":"` + lst + `","on":false}`,
		`{"op":"recv","sock":"` + srv + `","bufsize":100}`,
		`{"op":"shutdown","sock":"` + cli + `","how":7}`,
		`{"op":"recv","sock":"` + srv + `","bufsize":4,"timeout":1}`,
		`{"op":"close","sock":"` + cli + `"}`,
		`{"op":"close","sock":"` + cli + `"}`,
		`{"op":"connect","sock":"` + other + `","addr":"127.0.0.1:1"}`,
		`{"op":"getaddrinfo","host":"127.0.0.1","port":80,"type":"stream"}`,
		`{"op":"getaddrinfo","host":"127.0.0.1","port":null}`,
		`{"op":"gethostbyname","host":"127.0.0.1"}`,
		`{"op":"socket","family":"inet","type":"dgram"}`,
		`{"op":"socket","family":"unix","type":"stream"}`,
		`{"op":"socket","family":"bogus"}`,
	} {
		run(js)
	}
	udp := run(`{"op":"socket","type":"dgram"}`).Result.Sock
	run(`{"op":"bind","sock":"` + udp + `","addr":"127.0.0.1:0"}`)
	uaddr := run(`{"op":"getsockname","sock":"` + udp + `"}`).Result.Local
	run(`{"op":"sendto","sock":"` + udp + `","data":{"text":"a datagram"},"addr":"` + uaddr + `"}`)
	run(`{"op":"recvfrom","sock":"` + udp + `","bufsize":4}`)
	reply := s.Submit(Op{Op: "getsockname", Sock: udp, Origin: &Origin{File: "main.py", Line: 3, Thread: "MainThread"}},
		Submitter{Conn: 1, Reply: json.RawMessage(`{"id" : "<7>"}`)})
	<-reply

	evs := s.EventsAfter(0, 0)
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Op] = true
		wantSameJSON(t, ev)
	}
	for _, name := range OpNames() {
		if !seen[name] {
			t.Errorf("no %s event: the table must run every op", name)
		}
	}
	// The shapes the engine made, so that a change to what it logs
	// cannot leave one out unnoticed. The engine echoes data as b64, and
	// an idle loopback connection's queues and retransmits are all zero.
	// No socket here has urgent data: nothing is ever in select's xlist.
	covered(t, evs, "Args.Data.Text", "Args.Data.Hex", "Result.Stats.RecvQ", "Result.Stats.SendQ", "Result.Stats.Retrans", "Result.Ready.XList")
}

// covered fails unless each field of an event (and of its args, result,
// error, data, addrinfo and stats) but except is set in at least one of
// evs.
func covered(t *testing.T, evs []Event, except ...string) {
	t.Helper()
	set := map[string]bool{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			for i := range v.Len() {
				walk(prefix, v.Index(i))
			}
			return
		}
		if v.Kind() != reflect.Struct {
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" || f.Type == reflect.TypeFor[Timeout]() && !v.Field(i).Interface().(Timeout).Set {
				continue
			}
			name := prefix + f.Name
			if !v.Field(i).IsZero() {
				set[name] = true
			}
			walk(name+".", v.Field(i))
		}
	}
	var all []string
	var names func(prefix string, t reflect.Type)
	names = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[Timeout]() {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			all = append(all, prefix+f.Name)
			names(prefix+f.Name+".", f.Type)
		}
	}
	names("", reflect.TypeFor[Event]())
	for _, ev := range evs {
		walk("", reflect.ValueOf(ev))
	}
	var missing []string
	for _, n := range all {
		if !set[n] && !slices.Contains(except, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no event has %s", strings.Join(missing, ", "))
	}
}

// shapeStrings are strings that take each of encoding/json's ways: plain,
// escaped (quotes, backslashes, control bytes, HTML), multi-byte, invalid
// UTF-8, and the two line separators JavaScript cannot take raw.
var shapeStrings = []string{
	"", "s1", "recv", `a"b\c`, "<script>&amp;</script>", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
	"é漢字🙂", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "\u2028\u2029", "ends with \\",
}

// shapeFloats are floats on each side of encoding/json's format changes,
// and ones it cannot encode.
var shapeFloats = []float64{
	0, math.Copysign(0, -1), 1, -0.5, 0.25, 1e-7, 1e-6, 9.99999e-7, 123456789.125, 1e20, 1e21, 1.5e300,
	5e-324, math.MaxFloat64, -1e-9, math.Inf(1), math.NaN(),
}

// shapeRaw are JSON values of the client's (a reply id, setsockopt's
// value, a port): encoding/json compacts them and escapes HTML; one is not
// JSON at all.
var shapeRaw = []json.RawMessage{
	nil, json.RawMessage(`"r1"`), json.RawMessage(`7`), json.RawMessage(` { "onoff" : 1,
	"linger": [0, "<&>"] } `), json.RawMessage(`null`), json.RawMessage(`"\u2028"`), json.RawMessage(`{bad`),
}

// fullEvent is an event with every field set.
func fullEvent() Event {
	s := func(v string) *string { return &v }
	f := func(v float64) *float64 { return &v }
	h := How(1)
	return Event{
		Seq: 9, T: 1523040, Start: 1523000, Call: 3, Sock: "s1", Op: "recv", OK: true, Auto: true, Parent: 2,
		Reply: json.RawMessage(`"id-1"`), Conn: 4, Origin: &Origin{File: "a\"b.py", Line: 12, Thread: "Thread-1 (<lambda>)"},
		Args: &Args{Family: "inet", Type: "stream", Addr: "127.0.0.1:7", Backlog: ip(5), Bufsize: ip(16), Timeout: seconds(0.5), Flag: bp(true), How: &h, Data: &Data{Text: s("t"), Hex: s("0d0a"), B64: s("aGk="), Repeat: ip(2)}, On: bp(false), Chunk: ip(3), Delay: f(0.001), Level: "SOL_SOCKET", Name: "SO_LINGER", Value: json.RawMessage(`{"onoff":1}`), Host: "localhost", Port: json.RawMessage(`"http"`), Requested: ip(1 << 30), More: &More{RList: []string{"s1", "s2"}, WList: []string{"s3"}, XList: []string{"<s4>"}, Kind: "stdout", Text: "hi\n\u2028",
			Focus: &Focus{Sock: "s1", View: "ruler", Lesson: "l<1>", Step: 2, File: "e.py", Line: 3}}},
		Result: &Result{N: ip(3), Data: []byte{0, 1, 0xff}, Sock: "s2", Family: "inet6", Type: "dgram", Local: "[::1]:5",
			Peer: "[::1]:6", Mode: "timeout", Timeout: f(2), On: bp(true), Bufsize: 4096, EOF: true, Note: "n",
			Addr: "127.0.0.1:9", Truncated: true, Size: 99, Value: map[string]any{"onoff": 1, "linger": 0},
			AddrInfo: []AddrInfo{{Family: "inet", Type: "stream", Proto: 6, Addr: "127.0.0.1:80"}, {Family: "inet6", Type: "dgram", Proto: 17, Addr: "[::1]:80"}},
			Ready:    &Ready{RList: []string{"s1"}, WList: []string{"s2", "s3"}, XList: []string{"s&"}},
			Stats:    &KStats{RecvQ: 1, SendQ: 2, RcvBuf: 3, SndBuf: 4, TCPState: "ESTABLISHED", RTT: 5, Cwnd: 6, Retrans: 7, AcceptQ: ip(0), Backlog: ip(8)}},
		Error: &Error{Errno: "ECONNREFUSED", Num: 111, Exc: "ConnectionRefusedError", Msg: "connection refused"},
	}
}

// TestEventJSONShapes holds appendEventJSON to json.Marshal on an event
// with every field set, on each field alone, and on each string, float
// and raw JSON shape in every place it can go.
func TestEventJSONShapes(t *testing.T) {
	full := fullEvent()
	covered(t, []Event{full})
	wantSameJSON(t, full)
	wantSameJSON(t, Event{})
	wantSameJSON(t, Event{Args: &Args{}, Result: &Result{}, Error: &Error{}})
	wantSameJSON(t, Event{Result: &Result{Data: []byte{}, AddrInfo: []AddrInfo{}, Value: (*int)(nil)}})
	wantSameJSON(t, Event{Args: &Args{Data: &Data{}, Timeout: Timeout{Set: true, None: true}}})
	for _, how := range []How{0, 1, 2, 3, -1} {
		wantSameJSON(t, Event{Args: &Args{How: &how}})
	}
	for _, v := range []any{1, true, "x", []int{1, 2}, map[string]int{"b": 2, "a": 1}, math.NaN(), func() {}} {
		wantSameJSON(t, Event{Result: &Result{Value: v}})
	}
	for _, s := range shapeStrings {
		e := fullEvent()
		e.Sock, e.Op = s, s
		e.Args.Family, e.Args.Addr, e.Args.Data.Text, e.Args.Level = s, s, &s, s
		e.Result.Sock, e.Result.Note, e.Result.Peer, e.Result.AddrInfo[0].Addr, e.Result.Stats.TCPState = s, s, s, s, s
		e.Error.Exc, e.Error.Msg, e.Error.Errno = s, s, s
		wantSameJSON(t, e)
	}
	for _, f := range shapeFloats {
		e := fullEvent()
		e.Args.Timeout.Seconds, e.Args.Delay, e.Result.Timeout = f, &f, &f
		wantSameJSON(t, e)
		wantSameJSON(t, Event{Args: &Args{Timeout: seconds(f)}})
		wantSameJSON(t, Event{Result: &Result{Timeout: &f}})
	}
	for _, r := range shapeRaw {
		e := fullEvent()
		e.Reply, e.Args.Value, e.Args.Port = r, r, r
		wantSameJSON(t, e)
		wantSameJSON(t, Event{Reply: r})
	}
	// Each field alone: a zero value next to a set one is where a stray
	// comma would show.
	fields := reflect.ValueOf(&full).Elem()
	for i := range fields.NumField() {
		if !fields.Type().Field(i).IsExported() {
			continue
		}
		var e Event
		reflect.ValueOf(&e).Elem().Field(i).Set(fields.Field(i))
		wantSameJSON(t, e)
	}
	for _, part := range []any{full.Args, full.Result, full.Args.Data, full.Result.Stats, full.Error} {
		src := reflect.ValueOf(part).Elem()
		for i := range src.NumField() {
			e := Event{Args: &Args{}, Result: &Result{}, Error: &Error{}}
			e.Args.Data, e.Result.Stats = &Data{}, &KStats{}
			dst := map[reflect.Type]reflect.Value{
				reflect.TypeFor[Args](): reflect.ValueOf(e.Args).Elem(), reflect.TypeFor[Result](): reflect.ValueOf(e.Result).Elem(),
				reflect.TypeFor[Data](): reflect.ValueOf(e.Args.Data).Elem(), reflect.TypeFor[KStats](): reflect.ValueOf(e.Result.Stats).Elem(),
				reflect.TypeFor[Error](): reflect.ValueOf(e.Error).Elem(),
			}[src.Type()]
			dst.Field(i).Set(src.Field(i))
			wantSameJSON(t, e)
		}
	}
}

// TestEventJSONBig is a full recv of autorecv(65536) and other big
// payloads, whose JSON is written straight into a buffer of its own.
func TestEventJSONBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{4 << 10, 4<<10 + 1, 4<<10 + 2, 4<<10 + 3, 65536, 1 << 20} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		ev := Event{Seq: 1, Op: "recv", Sock: "s1", OK: true, Auto: true, Args: &Args{Bufsize: ip(65536)}, Result: &Result{N: ip(n), Data: data}}
		wantSameJSON(t, ev)
		b64 := base64.StdEncoding.EncodeToString(data)
		ev.Result = nil
		ev.Args = &Args{Data: &Data{B64: &b64}}
		wantSameJSON(t, ev)
	}
}

// randomEvent makes an event with a random set of fields, drawn from
// strs, floats and raws, and bytes from data.
func randomEvent(r *rand.Rand, strs []string, floats []float64, raws []json.RawMessage, data []byte) Event {
	str := func() string { return strs[r.IntN(len(strs))] }
	some := func() bool { return r.IntN(2) == 0 }
	num := func() int { return []int{0, 1, -1, 7, 65536, math.MaxInt64, math.MinInt64}[r.IntN(7)] }
	f := func() *float64 { v := floats[r.IntN(len(floats))]; return &v }
	var ev Event
	ev.Seq, ev.T, ev.Start, ev.Call, ev.Parent = int64(num()), int64(num()), int64(num()), int64(num()), int64(num())
	ev.Sock, ev.Op, ev.OK, ev.Auto = str(), str(), some(), some()
	if some() {
		ev.Reply = raws[r.IntN(len(raws))]
	}
	if some() {
		a := &Args{Family: str(), Type: str(), Addr: str(), Level: str(), Name: str(), Host: str()}
		if some() {
			a.Backlog, a.Bufsize, a.Chunk, a.Requested = ip(num()), ip(num()), ip(num()), ip(num())
		}
		if some() {
			a.Timeout = Timeout{Set: true, None: some(), Seconds: *f()}
			a.Delay = f()
		}
		if some() {
			h := How(r.IntN(5) - 1)
			a.How, a.Flag, a.On = &h, bp(some()), bp(some())
		}
		if some() {
			t, x, b := str(), str(), str()
			a.Data = &Data{Text: &t, Hex: &x, B64: &b}
			if some() {
				a.Data.Repeat = ip(num())
			}
		}
		if some() {
			a.Value, a.Port = raws[r.IntN(len(raws))], raws[r.IntN(len(raws))]
		}
		ev.Args = a
	}
	if some() {
		res := &Result{Sock: str(), Family: str(), Type: str(), Local: str(), Peer: str(), Mode: str(), Note: str(), Addr: str(),
			Bufsize: num(), Size: num(), EOF: some(), Truncated: some()}
		if some() {
			res.Data = data[:r.IntN(len(data)+1)]
			res.N = ip(len(res.Data))
		}
		if some() {
			res.Timeout, res.On = f(), bp(some())
		}
		if some() {
			res.Value = []any{nil, num(), some(), str(), *f(), map[string]string{str(): str()}}[r.IntN(6)]
		}
		for range r.IntN(3) {
			res.AddrInfo = append(res.AddrInfo, AddrInfo{Family: str(), Type: str(), Proto: num(), Addr: str()})
		}
		if some() {
			res.Stats = &KStats{RecvQ: num(), SendQ: num(), RcvBuf: num(), SndBuf: num(), TCPState: str(), RTT: num(), Cwnd: num(), Retrans: num()}
			if some() {
				res.Stats.AcceptQ, res.Stats.Backlog = ip(num()), ip(num())
			}
		}
		ev.Result = res
	}
	if some() {
		ev.Error = &Error{Errno: str(), Num: num(), Exc: str(), Msg: str()}
	}
	return ev
}

func TestEventJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for range 20000 {
		wantSameJSON(t, randomEvent(r, shapeStrings, shapeFloats, shapeRaw, data))
	}
}

// FuzzEventJSON holds appendEventJSON to json.Marshal on random events
// made of the fuzzer's strings, float, raw JSON and bytes.
func FuzzEventJSON(f *testing.F) {
	f.Add(uint64(1), "s1", "<\u2028\xff", 0.5, []byte(`{"a" : 1}`), []byte("hello"))
	f.Add(uint64(2), "", "\x00", 1e-7, []byte(`nul`), []byte{})
	f.Fuzz(func(t *testing.T, seed uint64, s1, s2 string, fl float64, raw, data []byte) {
		r := rand.New(rand.NewPCG(seed, 0))
		strs := append([]string{s1, s2, s1 + s2}, shapeStrings[:4]...)
		floats := []float64{fl, 0.25}
		raws := []json.RawMessage{raw, json.RawMessage(`"r"`)}
		for range 4 {
			wantSameJSON(t, randomEvent(r, strs, floats, raws, data))
		}
	})
}

// BenchmarkEventJSON compares the hand-written encoder with json.Marshal
// on a full recv of autorecv(65536) and on an autorecv(16) one:
//
//	go test ./sockets -run '^$' -bench EventJSON
func BenchmarkEventJSON(b *testing.B) {
	for _, n := range []int{16, 65536} {
		data := make([]byte, n)
		ev := Event{Seq: 123456, T: 98765432, Start: 98765000, Sock: "s1", Op: "recv", OK: true, Auto: true,
			Args: &Args{Bufsize: ip(n)}, Result: &Result{N: ip(n), Data: data}}
		b.Run("appendEventJSON/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var out []byte
			for range b.N {
				out = appendEventJSON(out[:0], &ev)
			}
		})
		b.Run("json.Marshal/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for range b.N {
				_, _ = json.Marshal(ev)
			}
		})
	}
}
