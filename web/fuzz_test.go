package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sockplay/sockplay/sockets"
)

// validOps are ops the decoder must accept: at least one of every op the
// engine knows (FuzzDecodeOp checks that none is missing), in the shapes
// the tests and the lessons send.
var validOps = []string{
	`{"op":"socket"}`,
	`{"op":"socket","family":"inet6","type":"dgram"}`,
	`{"op":"socket","family":"unix","type":"stream"}`,
	`{"id":"a","op":"socket"}`,
	`{"id":-7,"op":"socket"}`,
	`{"id":1.5e3,"op":"socket"}`,
	`{"op":"bind","sock":"s1","addr":"127.0.0.1:0"}`,
	`{"op":"bind","sock":"s1","addr":"[::1]:0"}`,
	`{"op":"bind","sock":"s1","addr":"demo.sock"}`,
	`{"op":"listen","sock":"s1"}`,
	`{"op":"listen","sock":"s1","backlog":5}`,
	`{"op":"accept","sock":"s1"}`,
	`{"op":"autoaccept","sock":"s1","on":true}`,
	`{"op":"connect","sock":"s1","addr":"127.0.0.1:7007"}`,
	`{"id":2,"op":"connect","sock":"s2","addr":"box.test:80"}`,
	`{"op":"send","sock":"s1","data":{"text":"hello\n"}}`,
	`{"op":"sendall","sock":"s1","data":{"hex":"68 65 6c 6c 6f 20 77 6f 72 6c 64"}}`,
	`{"op":"sendall","sock":"s1","data":{"text":"x","repeat":1000000}}`,
	`{"op":"sendto","sock":"s1","addr":"127.0.0.1:9","data":{"b64":"aGk="}}`,
	`{"op":"sendchunks","sock":"s1","data":{"text":"hello world"},"chunk":3,"delay":0.05}`,
	`{"op":"recv","sock":"s1","bufsize":4}`,
	`{"op":"recvfrom","sock":"s1","bufsize":2048}`,
	`{"op":"recvall","sock":"s1","bufsize":10}`,
	`{"op":"autorecv","sock":"s1","bufsize":16,"on":true}`,
	`{"op":"settimeout","sock":"s1","timeout":2}`,
	`{"op":"settimeout","sock":"s1","timeout":null}`,
	`{"op":"settimeout","sock":"s1","timeout":0}`,
	`{"op":"gettimeout","sock":"s1"}`,
	`{"op":"setblocking","sock":"s1","flag":false}`,
	`{"op":"setsockopt","sock":"s1","level":"SOL_SOCKET","name":"SO_REUSEADDR","value":1}`,
	`{"op":"setsockopt","sock":"s1","level":"SOL_SOCKET","name":"SO_LINGER","value":{"onoff":1,"linger":0}}`,
	`{"op":"getsockopt","sock":"s1","level":"IPPROTO_TCP","name":"TCP_NODELAY"}`,
	`{"op":"shutdown","sock":"s1","how":"SHUT_WR"}`,
	`{"op":"shutdown","sock":"s1","how":2}`,
	`{"op":"close","sock":"s1"}`,
	`{"op":"getsockname","sock":"s1"}`,
	`{"op":"getpeername","sock":"s1"}`,
	`{"op":"getaddrinfo","host":"localhost","port":"http","type":"stream"}`,
	`{"op":"getaddrinfo","host":"::1","port":null,"family":"inet6"}`,
	`{"op":"select","rlist":["s1","s2"],"wlist":[],"xlist":["s1"],"timeout":1.5}`,
	`{"op":"select","wlist":["s3"],"timeout":null}`,
	`{"op":"gethostname"}`,
	`{"op":"focus","focus":{"sock":"s2","view":"ruler","lesson":"udp","step":3,"file":"echo.py","line":7}}`,
	`{"op":"unlink","addr":"/tmp/echo.sock"}`,
	`{"op":"python","kind":"run","text":"import socket\n","origin":{"file":"echo.py"}}`,
	`{"op":"recv","sock":"s1","bufsize":4,"origin":{"file":"main.py","line":3,"thread":"MainThread"}}`,
	`{"op":"gethostbyname","host":"box.test"}`,
	// Bad UTF-8 and lone surrogates are decoded as U+FFFD, not refused.
	`{"op":"socket","sock":"\ud800"}`,
	"{\"op\":\"socket\",\"sock\":\"\xff\"}",
	`{"OP":"socket","Sock":"<s1>"}`,
}

// brokenOps are the ways a body goes wrong: each must be refused with a
// message, never a panic.
var brokenOps = []string{
	``,
	`{`,
	`{"op":"recv","sock":"s1"`,
	`[1,2]`,
	`null`,
	`"socket"`,
	`{"op":"frob"}`,
	`{"sock":"s1"}`,
	`{"op":""}`,
	`{"op":"recv","sock":"s1","bufsize":"4"}`,
	`{"op":"recv","sock":"s1","buffsize":4}`,
	`{"op":"socket"} {"op":"socket"}`,
	`{"op":"socket"}]`,
	`{"op":"settimeout","sock":"s1","timeout":"soon"}`,
	`{"op":"shutdown","sock":"s1","how":"SHUT_UP"}`,
	`{"op":"shutdown","sock":"s1","how":1.5}`,
	`{"op":"recv","sock":"s1","bufsize":4,"requested":5}`,
	`{"id":null,"op":"socket"}`,
	`{"id":{"a":1},"op":"socket"}`,
	`{"id":true,"op":"socket"}`,
	`{"op":"send","sock":"s1","data":"hi"}`,
	`{"op":"send","sock":"s1","data":{"text":1}}`,
	`{"op":"recv","sock":"s1","bufsize":1e400}`,
}

// FuzzDecodeOp feeds decodeOp arbitrary bytes. It must never panic; what
// it accepts must name a known op and survive re-encoding unchanged; what
// it refuses must be a *badRequest that says something.
func FuzzDecodeOp(f *testing.F) {
	covered := map[string]bool{}
	for _, s := range validOps {
		w, err := decodeOp([]byte(s))
		if err != nil {
			f.Fatalf("seed %s is refused: %v", s, err)
		}
		covered[w.Op.Op] = true
		f.Add([]byte(s))
	}
	for _, name := range sockets.OpNames() {
		if !covered[name] {
			f.Fatalf("no valid seed for op %q: add one to validOps", name)
		}
	}
	for _, s := range brokenOps {
		if _, err := decodeOp([]byte(s)); err == nil {
			f.Fatalf("broken seed %s is accepted", s)
		}
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := decodeOp(body)
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) {
				t.Fatalf("error %T %v, want *badRequest", err, err)
			}
			if bad.msg == "" {
				t.Fatal("a refusal with an empty message")
			}
			return
		}
		if !sockets.IsOp(w.Op.Op) {
			t.Fatalf("accepted unknown op %q", w.Op.Op)
		}
		again := reencode(t, w)
		if !reflect.DeepEqual(canonicalOp(t, w), canonicalOp(t, again)) {
			t.Fatalf("re-encoding changed the op:\nfirst  %+v\nsecond %+v", w, again)
		}
	})
}

// reencode marshals w as a client would send it and decodes it again; an
// op the server accepted must be accepted again from its own encoding.
func reencode(t *testing.T, w wireOp) wireOp {
	t.Helper()
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("marshal %+v: %v", w, err)
	}
	again, err := decodeOp(b)
	if err != nil {
		t.Fatalf("its own encoding %s is refused: %v", b, err)
	}
	return again
}

// canonicalOp is w with its raw JSON fields in one spelling: the encoder
// compacts them and escapes <, > and &, which changes their bytes but not
// their meaning.
func canonicalOp(t *testing.T, w wireOp) wireOp {
	t.Helper()
	w.ID = canonicalJSON(t, w.ID)
	w.Op.Value = canonicalJSON(t, w.Op.Value)
	w.Op.Port = canonicalJSON(t, w.Op.Port)
	return w
}

func canonicalJSON(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep 1e400 and 0.10 as written: no float rounding
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("raw field %s is not JSON: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("raw field %s: %v", raw, err)
	}
	return b
}
