package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// wireRecord is one decoded record of a binary batch: JSON for a record 1,
// the fields of one recv of a record 2 (Data aliases the message).
type wireRecord struct {
	JSON                        []byte
	Seq, T, Start, Call, Parent int64
	Auto                        bool
	Sock                        string
	Bufsize                     int
	Data                        []byte
}

// readWireBatch decodes a binary batch as a client does, calling fn for each
// record in order.
func readWireBatch(b []byte, fn func(r *wireRecord) error) error {
	if len(b) == 0 || b[0] != wireVersion {
		return fmt.Errorf("not a version %d binary batch", wireVersion)
	}
	p := 1
	uv := func() (int64, error) {
		x, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return 0, fmt.Errorf("bad varint at byte %d", p)
		}
		p += n
		return int64(x), nil
	}
	take := func(n int64) ([]byte, error) {
		if n < 0 || int64(len(b)-p) < n {
			return nil, fmt.Errorf("record runs past the message at byte %d", p)
		}
		out := b[p : p+int(n)]
		p += int(n)
		return out, nil
	}
	var r wireRecord
	for p < len(b) {
		kind := b[p]
		p++
		r = wireRecord{}
		switch kind {
		case recJSON:
			n, err := uv()
			if err == nil {
				r.JSON, err = take(n)
			}
			if err != nil {
				return err
			}
		case recRecvs:
			count, err := uv()
			if err != nil {
				return err
			}
			if count < 1 || count > int64(len(b)) {
				return fmt.Errorf("a run of %d recvs at byte %d", count, p)
			}
			run := make([]wireRecord, count)
			lens := make([]int64, count)
			for i := range run {
				r := &run[i]
				var f [5]int64
				for j := range f {
					if f[j], err = uv(); err != nil {
						return err
					}
				}
				r.Seq, r.T, r.Start, r.Call, r.Parent = f[0], f[1], f[1]-f[2], f[3], f[4]
				flags, err := take(1)
				if err != nil {
					return err
				}
				r.Auto = flags[0]&1 != 0
				n, err := uv()
				if err != nil {
					return err
				}
				sock, err := take(n)
				if err != nil {
					return err
				}
				r.Sock = string(sock)
				bufsize, err := uv()
				if err != nil {
					return err
				}
				r.Bufsize = int(bufsize)
				if lens[i], err = uv(); err != nil {
					return err
				}
			}
			for i := range run {
				if run[i].Data, err = take(lens[i]); err != nil {
					return err
				}
			}
			for i := range run {
				if err := fn(&run[i]); err != nil {
					return err
				}
			}
			continue
		default:
			return fmt.Errorf("unknown record kind %d at byte %d", kind, p-1)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// asJSONObject turns a record into the object the JSON form would have
// given, for comparison.
func (r *wireRecord) asJSONObject() (map[string]any, error) {
	var m map[string]any
	if r.JSON != nil {
		err := json.Unmarshal(r.JSON, &m)
		return m, err
	}
	m = map[string]any{"seq": float64(r.Seq), "t": float64(r.T), "start": float64(r.Start), "sock": r.Sock,
		"op": "recv", "args": map[string]any{"bufsize": float64(r.Bufsize)}, "ok": true,
		"result": map[string]any{"n": float64(len(r.Data)), "b64": base64.StdEncoding.EncodeToString(r.Data)}}
	if r.Call != 0 {
		m["call"] = float64(r.Call)
	}
	if r.Parent != 0 {
		m["parent"] = float64(r.Parent)
	}
	if r.Auto {
		m["auto"] = true
	}
	if r.Sock == "" {
		delete(m, "sock")
	}
	return m, nil
}

// decodeMessage decodes any message the WebSocket sends, in any format,
// into the objects the JSON form has.
func decodeMessage(typ websocket.MessageType, b []byte) ([]map[string]any, error) {
	var msgs []map[string]any
	switch {
	case typ == websocket.MessageBinary:
		err := readWireBatch(b, func(r *wireRecord) error {
			m, err := r.asJSONObject()
			msgs = append(msgs, m)
			return err
		})
		return msgs, err
	case len(b) > 0 && b[0] == '[':
		err := json.Unmarshal(b, &msgs)
		return msgs, err
	}
	var one map[string]any
	err := json.Unmarshal(b, &one)
	return append(msgs, one), err
}

func plainRecv() sockets.Event {
	four := 4
	n := 4
	return sockets.Event{Seq: 17, T: 1523040, Start: 1523000, Call: 9, Sock: "s1", Op: "recv",
		Args: &sockets.Args{Bufsize: &four}, OK: true, Result: &sockets.Result{N: &n, Data: []byte("hell")}}
}

// wholeBatch encodes all of evs for client conn as one binary batch.
func wholeBatch(t testing.TB, evs []sockets.Event, conn uint64) *wireBatch {
	t.Helper()
	var wb wireBatch
	if sent := wb.fill(sockets.BatchOf(evs), conn, math.MaxInt); sent != len(evs) {
		t.Fatalf("%d of %d events in the batch", sent, len(evs))
	}
	return &wb
}

// bytes returns the whole message as one slice, as a client receives it.
func (b *wireBatch) bytes() []byte {
	var out []byte
	at := 0
	for _, p := range b.parts {
		out = append(append(out, b.buf[at:p.at]...), p.data...)
		at = p.at
	}
	return append(out, b.buf[at:]...)
}

// dialBinary opens the WebSocket at path (a session's or a watch link's)
// in binary batches, closed when the test ends.
func dialBinary(ctx context.Context, t *testing.T, e *testEnv, path string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+path+"?format=bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(16 << 20)
	// The server says hello once the connection reads the session's log:
	// an op sent before then could make events this reader is too late
	// to see.
	typ, b, err := c.Read(ctx)
	var hello struct{ Type string }
	if err != nil || typ != websocket.MessageText || json.Unmarshal(b, &hello) != nil || hello.Type != "hello" {
		t.Fatalf("no hello: %v %q", err, b)
	}
	return c
}

// wireCase is an event of every kind a binary batch carries, and whether
// it goes as a compact recv.
type wireCase struct {
	name    string
	ev      sockets.Event
	compact bool
}

// wireCases are the events TestWireMatchesJSON and the page's decoder test
// check, for client conn.
func wireCases(conn uint64) []wireCase {
	n0, n3 := 0, 3
	auto := plainRecv()
	auto.Auto, auto.Call, auto.Parent = true, 0, 0
	part := plainRecv()
	part.Parent = 4
	eof := plainRecv()
	eof.Result = &sockets.Result{N: &n0, EOF: true}
	trunc := plainRecv()
	trunc.Result = &sockets.Result{N: &n3, Data: []byte("abc"), Truncated: true, Size: 9}
	from := plainRecv()
	from.Op = "recvfrom"
	from.Result.Addr = "127.0.0.1:9"
	mine := plainRecv()
	mine.Conn, mine.Reply = conn, json.RawMessage(`"op-3"`)
	theirs := plainRecv()
	theirs.Conn, theirs.Reply = conn+1, json.RawMessage(`5`)
	failed := sockets.Event{Seq: 20, T: 9, Start: 1, Sock: "s2", Op: "connect", Args: &sockets.Args{Addr: "127.0.0.1:1"},
		Error: &sockets.Error{Errno: "ECONNREFUSED", Exc: "ConnectionRefusedError", Msg: "connection refused"}}
	send := sockets.Event{Seq: 21, T: 10, Start: 10, Sock: "s1", Op: "send", Args: &sockets.Args{Data: sockets.B64Data([]byte("hi\x00"))},
		OK: true, Result: &sockets.Result{N: &n3}}
	binaryData := plainRecv()
	binaryData.Result.Data = []byte{0, 0xff, '\r', '\n'}
	big := plainRecv()
	bigN := 70000
	big.Args.Bufsize, big.Result.N, big.Result.Data = &bigN, &bigN, make([]byte, bigN)
	for i := range big.Result.Data {
		big.Result.Data[i] = byte(i % 251)
	}
	odd := plainRecv()
	odd.T = odd.Start - 1 // clocks never go back, but if they did it must not wrap

	return []wireCase{
		{"plain recv", plainRecv(), true},
		{"autorecv", auto, true},
		{"recvall part", part, true},
		{"binary bytes", binaryData, true},
		{"64 KiB and more", big, true},
		{"reply to another client", theirs, true},
		{"eof", eof, false},
		{"truncated", trunc, false},
		{"recvfrom", from, false},
		{"reply to this client", mine, false},
		{"error", failed, false},
		{"send", send, false},
		{"time before start", odd, false},
	}
}

// wireCaseJSON returns the cases' events and, for each, the object its
// JSON form gives client conn.
func wireCaseJSON(t testing.TB, cases []wireCase, conn uint64) (evs []sockets.Event, want []map[string]any) {
	t.Helper()
	for _, c := range cases {
		var w map[string]any
		if err := json.Unmarshal(appendEvent(nil, sockets.BatchOf([]sockets.Event{c.ev}), 0, conn), &w); err != nil {
			t.Fatal(err)
		}
		evs, want = append(evs, c.ev), append(want, w)
	}
	return evs, want
}

// TestWireMatchesJSON: every kind of event, encoded in a binary batch and
// decoded, is the object the JSON form gives, reply and all.
func TestWireMatchesJSON(t *testing.T) {
	const conn = 7
	cases := wireCases(conn)
	for _, c := range cases {
		if got := compactRecv(&c.ev, conn); got != c.compact {
			t.Errorf("%s: compactRecv = %v, want %v", c.name, got, c.compact)
		}
	}
	evs, want := wireCaseJSON(t, cases, conn)
	batch := wholeBatch(t, evs, conn).bytes()
	i := 0
	err := readWireBatch(batch, func(r *wireRecord) error {
		got, err := r.asJSONObject()
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s: binary gives\n%v\nJSON gives\n%v", cases[i].name, got, want[i])
		}
		i++
		return nil
	})
	if err != nil || i != len(cases) {
		t.Fatalf("decoded %d of %d records: %v", i, len(cases), err)
	}
}

// TestWireCompactIsWhole sets each field of Event, Args and Result in turn
// on a plain recv: unless a record 2 carries that field, the event must go
// as JSON. A field added later cannot then be dropped in silence.
func TestWireCompactIsWhole(t *testing.T) {
	carried := map[string]bool{
		"Event.Seq": true, "Event.T": true, "Event.Start": true, "Event.Call": true, "Event.Sock": true,
		"Event.Op": true, "Event.Args": true, "Event.OK": true, "Event.Result": true, "Event.Auto": true,
		"Event.Parent": true, "Event.Conn": true, "Event.Reply": true,
		"Args.Bufsize": true, "Result.N": true, "Result.Data": true,
	}
	check := func(name string, set func(ev *sockets.Event)) {
		ev := plainRecv()
		set(&ev)
		if compactRecv(&ev, 1) {
			t.Errorf("%s set: still sent as a compact recv record, which does not carry it", name)
		}
	}
	for _, part := range []struct {
		name string
		val  func(ev *sockets.Event) reflect.Value
	}{
		{"Event", func(ev *sockets.Event) reflect.Value { return reflect.ValueOf(ev).Elem() }},
		{"Args", func(ev *sockets.Event) reflect.Value { return reflect.ValueOf(ev.Args).Elem() }},
		{"Result", func(ev *sockets.Event) reflect.Value { return reflect.ValueOf(ev.Result).Elem() }},
	} {
		typ := part.val(&sockets.Event{Args: &sockets.Args{}, Result: &sockets.Result{}}).Type()
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := part.name + "." + f.Name
			if !f.IsExported() || carried[name] {
				continue
			}
			check(name, func(ev *sockets.Event) {
				ev.Args = &sockets.Args{Bufsize: ev.Args.Bufsize}
				r := *ev.Result
				ev.Result = &r
				v := part.val(ev).Field(i)
				v.Set(nonZero(t, v.Type()))
			})
		}
	}
}

// nonZero makes a non-zero value of type typ.
func nonZero(t *testing.T, typ reflect.Type) reflect.Value {
	v := reflect.New(typ).Elem()
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint64:
		v.SetUint(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(typ, 1, 1))
	case reflect.Interface:
		v.Set(reflect.ValueOf(1))
	case reflect.Struct:
		// Timeout: a set value is what is not zero.
		f := v.FieldByName("Set")
		if !f.IsValid() {
			t.Fatalf("nonZero: no rule for struct %s", typ)
		}
		f.SetBool(true)
	default:
		t.Fatalf("nonZero: no rule for %s", typ)
	}
	return v
}

// TestWebSocketBinaryMatchesJSON: a real session (recvs of every shape,
// sends, errors, autorecv, a reply to this client) read over ?format=bin
// gives exactly the events of the JSON stream.
func TestWebSocketBinaryMatchesJSON(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"hex":"00ff0d0a68656c6c6f"}}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":4}`)
	e.ok(t, id, `{"op":"recvall","sock":"s1","bufsize":5}`)
	e.ok(t, id, `{"op":"settimeout","sock":"s1","timeout":0}`)
	e.post(t, id, `{"op":"recv","sock":"s1","bufsize":4}`) // BlockingIOError
	udp, _ := e.labs.Find("echo", "udp")
	e.ok(t, id, `{"op":"socket","type":"dgram"}`)
	e.ok(t, id, `{"op":"sendto","sock":"s2","addr":"`+udp.Addr+`","data":{"text":"datagram"}}`)
	e.ok(t, id, `{"op":"recvfrom","sock":"s2","bufsize":4}`)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s3","addr":"`+e.labs.Addr("drip")+`"}`)
	e.ok(t, id, `{"op":"autorecv","sock":"s3","bufsize":3}`)
	s, _ := e.mgr.Get(id)
	awaitSession(t, s, "40 events", func(s *sockets.Session) bool { return s.LastSeq() >= 40 })
	e.ok(t, id, `{"op":"close","sock":"s3"}`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialBinary(ctx, t, e, "/api/sessions/"+id+"/ws")
	// An op of this client: its answer carries "reply", so it goes as JSON.
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":"mine","op":"recv","sock":"s1","bufsize":64}`)); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	compact, sawReply := 0, false
	for !sawReply {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ == websocket.MessageText {
			continue // hello, state
		}
		err = readWireBatch(b, func(r *wireRecord) error {
			if r.JSON == nil {
				compact++
			}
			m, err := r.asJSONObject()
			if m["reply"] == "mine" {
				sawReply = true
				delete(m, "reply") // the JSON stream, read by nobody's op, has none
			}
			got = append(got, m)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(e.srv.URL + "/api/sessions/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var want []map[string]any
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	if len(got) != len(want) {
		t.Fatalf("binary stream has %d events, JSON %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d:\nbinary %v\nJSON   %v", i+1, got[i], want[i])
		}
	}
	if compact < 20 {
		t.Errorf("only %d events went as compact recv records", compact)
	}
}

// TestWebSocketLongIdleSession: a client opening a session of many events,
// in which nothing else happens, gets every one of them. The writer once
// stopped after its first read whenever that read ended at its byte
// budget rather than its count (the page then waited forever).
func TestWebSocketLongIdleSession(t *testing.T) {
	// Nobody reads while the log fills: autorecv must not pause for that.
	e := newEnvWith(t, sockets.Config{MaxLagEvents: 1 << 30, MaxLagBytes: 1 << 40, StatsInterval: -1})
	id := e.newSession(t)
	s, _ := e.mgr.Get(id)
	// 20,000 recvs of 128 bytes: more than one read of the log and more
	// than one message, whichever bound (count, byte budget, message
	// size) ends each.
	const total = 20_000 * 128
	src := finiteSource(t, bytes.Repeat([]byte("0123456789abcdef"), total/16))
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+src+`"}`)
	e.ok(t, id, `{"op":"autorecv","sock":"s1","bufsize":128}`)
	awaitSession(t, s, "EOF", func(s *sockets.Session) bool { return s.State().Sockets[0].EOF })
	last := s.LastSeq()
	for _, q := range []string{"?format=bin", "?batch=1"} {
		t.Run(q, func(t *testing.T) { readBatches(t, e.srv.URL, id, q, last, nil) })
	}
}

// TestWireSendsArenaRunsAsTheyAre: the recvs of a fast stream, which
// autorecv keeps side by side in its arenas, go into a batch as stretches
// written from the log's memory, not copied; read over the WebSocket, the
// batches give back the very bytes the source sent.
func TestWireSendsArenaRunsAsTheyAre(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	sent := make([]byte, 256<<10)
	for i := range sent {
		sent[i] = byte(i % 251)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	written := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			written <- err
			return
		}
		defer c.Close()
		// Room for all of it in the kernel, whatever the defaults: the
		// write returns before anything reads.
		c.(*net.TCPConn).SetWriteBuffer(len(sent))
		_, err = c.Write(sent)
		written <- err
	}()
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+ln.Addr().String()+`"}`)
	// Once the source's write returns, the kernel holds every byte: the
	// recvs fill their 64 KiB, as in a fast stream.
	select {
	case err := <-written:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the source's write never returned")
	}
	e.ok(t, id, `{"op":"autorecv","sock":"s1","bufsize":65536}`)
	s, _ := e.mgr.Get(id)
	awaitSession(t, s, "the stream's end", func(s *sockets.Session) bool { return s.State().Sockets[0].EOF })

	wb := wholeBatch(t, s.EventsAfter(0, 0), 0)
	borrowed := 0
	for _, p := range wb.parts {
		borrowed += len(p.data)
	}
	if borrowed < len(sent)/2 {
		t.Errorf("%d of %d bytes written from the arenas; the rest were copied", borrowed, len(sent))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []byte
	err = readRecvEvents(ctx, dialBinary(ctx, t, e, "/api/sessions/"+id+"/ws"), func(d []byte) bool {
		got = append(got, d...)
		return len(d) > 0 // the EOF's recv has none
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatalf("got %d bytes, sent %d; first difference at %d", len(got), len(sent), firstDiff(got, sent))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestWireFillRandom: random mixes of compact recvs (some big enough to be
// written from the log's memory) and JSON events, cut at random limits:
// every batch decodes to exactly its events, and none is over its limit
// unless it holds a single event.
func TestWireFillRandom(t *testing.T) {
	const conn = 7
	cases := wireCases(conn)
	next := rand.New(rand.NewPCG(12345, 0)).IntN // the same cases every run
	for iter := 0; iter < 1000; iter++ {
		var evs []sockets.Event
		for i := 0; i < 1+next(20); i++ {
			var ev sockets.Event
			switch next(3) {
			case 0:
				ev = cases[next(len(cases))].ev
			default:
				ev = plainRecv()
				n := 1 + next(3)*next(40000)
				b := make([]byte, n)
				for j := range b {
					b[j] = byte(i*7 + j)
				}
				ev.Result = &sockets.Result{N: &n, Data: b}
			}
			ev.Seq = int64(i + 1)
			evs = append(evs, ev)
		}
		limit := 1 + next(200000)
		var wb wireBatch
		off := 0
		for off < len(evs) {
			sent := wb.fill(sockets.BatchOf(evs[off:]), conn, limit)
			if sent < 1 {
				t.Fatalf("fill: %d events", sent)
			}
			msg := wb.bytes()
			if sent > 1 && len(msg) > limit {
				t.Fatalf("iter %d: %d events in %d bytes, limit %d", iter, sent, len(msg), limit)
			}
			i := off
			err := readWireBatch(msg, func(r *wireRecord) error {
				ev := evs[i]
				i++
				if r.JSON != nil {
					if compactRecv(&ev, conn) {
						t.Fatalf("compact event %d went as JSON", ev.Seq)
					}
					return nil
				}
				if r.Seq != ev.Seq || string(r.Data) != string(ev.Result.Data) {
					t.Fatalf("iter %d: record for seq %d has seq %d / %d bytes, want %d", iter, ev.Seq, r.Seq, len(r.Data), len(ev.Result.Data))
				}
				return nil
			})
			if err != nil || i != off+sent {
				t.Fatalf("iter %d: decoded %d of %d: %v", iter, i-off, sent, err)
			}
			wb.drop()
			off += sent
		}
	}
}

// TestWireBatchAfterAHugeOne: the buffer one huge event grew is let go
// by the next batch (write lets it go too), and that batch is whole.
func TestWireBatchAfterAHugeOne(t *testing.T) {
	n := 5 << 20
	huge := sockets.Event{Seq: 1, Op: "send", Sock: "s1", Args: &sockets.Args{Data: sockets.B64Data(make([]byte, n))}, OK: true, Result: &sockets.Result{N: &n}}
	small := plainRecv()
	var wb wireBatch
	for i, ev := range []sockets.Event{huge, small} {
		if sent := wb.fill(sockets.BatchOf([]sockets.Event{ev}), 0, batchBytes); sent != 1 {
			t.Fatalf("batch %d: %d events", i, sent)
		}
		var seqs []int64
		err := readWireBatch(wb.bytes(), func(r *wireRecord) error {
			if r.JSON != nil {
				var e sockets.Event
				if err := json.Unmarshal(r.JSON, &e); err != nil {
					return err
				}
				r.Seq = e.Seq
			}
			seqs = append(seqs, r.Seq)
			return nil
		})
		if err != nil || len(seqs) != 1 || seqs[0] != ev.Seq {
			t.Fatalf("batch %d decodes to seqs %v, %v; want [%d]", i, seqs, err, ev.Seq)
		}
	}
	if cap(wb.buf) > 4*batchBytes {
		t.Errorf("the batch keeps a buffer of %d bytes after the huge event", cap(wb.buf))
	}
}
