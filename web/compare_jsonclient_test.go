package web

// The comparison's clients of sockplay's JSON forms: the default text
// WebSocket (one event a message), ?batch=1 (JSON arrays) and the NDJSON
// follower (GET .../events?follow=1), next to the binary form the page
// uses, and the JSON decoders they read with.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// nextMessage returns the next message a client got (a WebSocket message,
// or an NDJSON line as a text message). Its bytes are the reader's until
// the next call.
type nextMessage func() (websocket.MessageType, []byte, error)

// wsMessages reads c's messages whole, into one buffer used again.
func wsMessages(ctx context.Context, c *websocket.Conn) nextMessage {
	var msg bytes.Buffer
	return func() (websocket.MessageType, []byte, error) {
		typ, err := readMessage(ctx, c, &msg)
		return typ, msg.Bytes(), err
	}
}

// ndjsonLines reads r's lines, without their newline, into one buffer
// that grows to the longest line and is used again.
func ndjsonLines(r io.Reader) nextMessage {
	buf := make([]byte, 1<<20)
	start, end, scanned := 0, 0, 0 // buf[start:end] is unread; buf[start:scanned] has no newline
	return func() (websocket.MessageType, []byte, error) {
		for {
			if i := bytes.IndexByte(buf[scanned:end], '\n'); i >= 0 {
				line := buf[start : scanned+i]
				start = scanned + i + 1
				scanned = start
				return websocket.MessageText, line, nil
			}
			scanned = end
			if start > 0 {
				n := copy(buf, buf[start:end])
				end, scanned, start = n, n, 0
			}
			if end == len(buf) {
				buf = append(buf, make([]byte, len(buf))...)
			}
			n, err := r.Read(buf[end:])
			end += n
			if err != nil && n == 0 {
				return 0, nil, err
			}
		}
	}
}

// jsonDecoder decodes one JSON text message (an event, a control message,
// or an array of events) and calls each with every event in it. The event
// is each's only during the call: its bytes may be in memory the decoder
// uses again.
type jsonDecoder func(msg []byte, each func(*wireEvent) error) error

// jsonDecoders are the clients' ways to decode JSON: with encoding/json,
// as a first script would, and in one pass (decodeFast), as a script that
// reads a fast stream would.
var jsonDecoders = []struct {
	name    string
	decoder func() jsonDecoder
}{{"std", decodeStd}, {"fast", decodeFast}}

// decodeFast is a JSON decoder that reads each byte once: it checks the
// syntax of the whole message as it goes (what it skips too) and decodes
// base64 straight from the message into a buffer it uses again.
// encoding/json reads every byte twice (a validating scan, then the
// decoding one) through reflection, and so made the client, not the
// server, the bottleneck of the JSON forms. It decodes what encoding/json
// decodes, the same way (TestDecodeFastMatchesStd, FuzzDecodeFast), or
// fails where encoding/json does; strings with escapes or non-ASCII bytes,
// which sockplay's events hardly have, it leaves to encoding/json.
func decodeFast() jsonDecoder {
	d := &fastDecoder{}
	return d.decode
}

// fastDecoder keeps the memory decodeFast uses again: the event, its
// result and its bytes.
type fastDecoder struct {
	p   fastParser
	ev  wireEvent
	res wireResult
	n   int
	b64 []byte
}

func (d *fastDecoder) decode(msg []byte, each func(*wireEvent) error) error {
	d.p = fastParser{b: msg}
	err := d.message(each)
	if de, ok := err.(decodeErr); ok {
		return fmt.Errorf("decoding %.200q: %w", msg, de.error)
	}
	return err // each's own, as it is
}

// decodeErr is an error in the message, told apart from each's errors,
// which pass through as they are.
type decodeErr struct{ error }

func (d *fastDecoder) message(each func(*wireEvent) error) error {
	p := &d.p
	p.space()
	if p.peek() != '[' {
		if err := d.event(); err != nil {
			return err
		}
		if err := p.end(); err != nil {
			return err
		}
		return each(&d.ev)
	}
	p.i++
	p.space()
	if p.peek() == ']' {
		p.i++
		return p.end()
	}
	for {
		if err := d.event(); err != nil {
			return err
		}
		if err := each(&d.ev); err != nil {
			return err
		}
		p.space()
		switch p.next() {
		case ',':
		case ']':
			return p.end()
		default:
			return p.fail("after an array element")
		}
	}
}

// eventKeys are the fields of wireEvent the decoder knows, by JSON name;
// encoding/json matches a key to them as bytes.EqualFold does.
var eventKeys = []string{"type", "seq", "op", "auto", "ok", "result", "error", "from", "to"}

var resultKeys = []string{"n", "b64"}

// event decodes one event (or control message, or null) into d.ev, from
// zero values, as encoding/json does into a fresh wireEvent.
func (d *fastDecoder) event() error {
	p := &d.p
	d.ev = wireEvent{}
	p.space()
	if p.literal("null") {
		return nil
	}
	ev := &d.ev
	return p.object(eventKeys, func(key string) error {
		var err error
		switch key {
		case "type":
			err = p.str(&ev.Type)
		case "op":
			err = p.str(&ev.Op)
		case "seq":
			err = p.int64(&ev.Seq)
		case "from":
			err = p.int64(&ev.From)
		case "to":
			err = p.int64(&ev.To)
		case "auto":
			err = p.bool(&ev.Auto)
		case "ok":
			err = p.bool(&ev.OK)
		case "error":
			start := p.i
			if err = p.skip(0); err == nil {
				ev.Error = p.b[start:p.i]
			}
		case "result":
			err = d.result()
		default:
			err = p.skip(0)
		}
		return err
	})
}

// result decodes "result": null, or an object merged into the result
// already there (a repeated key adds to the first, as in encoding/json).
func (d *fastDecoder) result() error {
	p := &d.p
	if p.literal("null") {
		d.ev.Result = nil
		return nil
	}
	if p.peek() != '{' {
		return p.fail("result must be an object")
	}
	if d.ev.Result == nil {
		d.res = wireResult{}
		d.ev.Result = &d.res
	}
	r := d.ev.Result
	return p.object(resultKeys, func(key string) error {
		switch key {
		case "n":
			if p.literal("null") {
				r.N = nil
				return nil
			}
			var n int64
			if err := p.int64(&n); err != nil {
				return err
			}
			d.n = int(n)
			r.N = &d.n
			return nil
		case "b64":
			return d.bytes(&r.B64)
		}
		return p.skip(0)
	})
}

// bytes decodes a base64 string into d.b64.
func (d *fastDecoder) bytes(dst *b64Bytes) error {
	p := &d.p
	if p.literal("null") {
		*dst = nil
		return nil
	}
	if p.peek() != '"' {
		return p.fail("want a string")
	}
	// One pass to the first quote, then the base64 decoder, which refuses
	// every byte a plain JSON string may not hold (a backslash, a control
	// byte) but newlines, which it skips and which then show as bytes
	// missing from what it decoded. Anything else is encoding/json's to
	// read: escapes, or an error.
	start := p.i
	if j := bytes.IndexByte(p.b[start+1:], '"'); j >= 0 {
		raw := p.b[start+1 : start+1+j]
		if n := base64.StdEncoding.DecodedLen(len(raw)); d.b64 == nil || cap(d.b64) < n {
			d.b64 = make([]byte, max(n, 64)) // never nil: "" is no bytes, not null
		}
		n, err := base64.StdEncoding.Decode(d.b64[:cap(d.b64)], raw)
		if err == nil && len(raw)%4 == 0 && n == len(raw)/4*3-bytes.Count(raw[max(0, len(raw)-2):], []byte("=")) {
			*dst = d.b64[:n]
			p.i = start + 1 + j + 1
			return nil
		}
	}
	raw, _, err := p.rawString(true)
	if err != nil {
		return err
	}
	if err := dst.UnmarshalJSON(p.b[p.i-len(raw)-2 : p.i]); err != nil {
		return decodeErr{err}
	}
	return nil
}

// fastParser reads JSON from b at i.
type fastParser struct {
	b []byte
	i int
}

// maxDepth is encoding/json's bound on nesting.
const maxDepth = 10000

func (p *fastParser) fail(what string) error {
	return decodeErr{fmt.Errorf("invalid JSON at byte %d: %s", p.i, what)}
}

func (p *fastParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *fastParser) next() byte {
	c := p.peek()
	p.i++
	return c
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// end checks that nothing but space follows the message's value.
func (p *fastParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return p.fail("after the top-level value")
	}
	return nil
}

// literal consumes lit (true, false, null) if it is next.
func (p *fastParser) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// object reads an object, calling field for each key (the name in keys it
// matches, or "" for none) with the parser at the key's value.
func (p *fastParser) object(keys []string, field func(key string) error) error {
	if p.next() != '{' {
		return p.fail("want an object")
	}
	p.space()
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		p.space()
		raw, plain, err := p.rawString(true)
		if err != nil {
			return err
		}
		if !plain {
			var k string
			if err := json.Unmarshal(p.b[p.i-len(raw)-2:p.i], &k); err != nil {
				return decodeErr{err}
			}
			raw = []byte(k)
		}
		key := ""
		for _, k := range keys {
			if string(raw) == k {
				key = k
				break
			}
		}
		if key == "" {
			for _, k := range keys {
				if bytes.EqualFold(raw, []byte(k)) {
					key = k
					break
				}
			}
		}
		p.space()
		if p.next() != ':' {
			return p.fail("want a colon after a key")
		}
		p.space()
		if err := field(key); err != nil {
			return err
		}
		p.space()
		switch p.next() {
		case ',':
		case '}':
			return nil
		default:
			return p.fail("after an object's value")
		}
	}
}

// rawString reads a string and returns what is between its quotes; plain
// says it has no escapes and, when check, only printable ASCII, so is its
// own value. Without check, the caller checks the bytes itself.
func (p *fastParser) rawString(check bool) (raw []byte, plain bool, err error) {
	if p.next() != '"' {
		return nil, false, p.fail("want a string")
	}
	start := p.i
	plain = true
	for {
		j := bytes.IndexByte(p.b[p.i:], '"')
		if j < 0 {
			return nil, false, p.fail("unterminated string")
		}
		seg := p.b[p.i : p.i+j]
		k := bytes.IndexByte(seg, '\\')
		if k < 0 {
			p.i += j + 1
			break
		}
		plain = false
		// An escape: skip it (an escaped quote does not end the string).
		p.i += k + 1
		if p.i >= len(p.b) {
			return nil, false, p.fail("unterminated string")
		}
		switch p.b[p.i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			p.i++
		case 'u':
			if len(p.b)-p.i < 5 {
				return nil, false, p.fail("short \\u escape")
			}
			for _, h := range p.b[p.i+1 : p.i+5] {
				if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
					return nil, false, p.fail("bad \\u escape")
				}
			}
			p.i += 5
		default:
			return nil, false, p.fail("bad escape")
		}
	}
	raw = p.b[start : p.i-1]
	if !check {
		return raw, plain, nil
	}
	for _, c := range raw {
		if c < 0x20 {
			return nil, false, p.fail("control character in a string")
		}
		if c >= 0x80 {
			plain = false
		}
	}
	return raw, plain, nil
}

// str decodes a string (null leaves dst as it is).
func (p *fastParser) str(dst *string) error {
	if p.literal("null") {
		return nil
	}
	raw, plain, err := p.rawString(true)
	if err != nil {
		return err
	}
	if !plain {
		// Escapes, or bytes encoding/json turns into U+FFFD: its way.
		if err := json.Unmarshal(p.b[p.i-len(raw)-2:p.i], dst); err != nil {
			return decodeErr{err}
		}
		return nil
	}
	switch string(raw) { // the common ones without an allocation
	case "recv":
		*dst = "recv"
	case "":
		*dst = ""
	default:
		*dst = string(raw)
	}
	return nil
}

// bool decodes true or false (null leaves dst as it is).
func (p *fastParser) bool(dst *bool) error {
	switch {
	case p.literal("true"):
		*dst = true
	case p.literal("false"):
		*dst = false
	case p.literal("null"):
	default:
		return p.fail("want true or false")
	}
	return nil
}

// int64 decodes a number that must be a whole int64, as encoding/json
// requires of an int64 field (null leaves dst as it is).
func (p *fastParser) int64(dst *int64) error {
	if p.literal("null") {
		return nil
	}
	start := p.i
	if err := p.number(); err != nil {
		return err
	}
	lit := p.b[start:p.i]
	neg := lit[0] == '-'
	digits := lit
	if neg {
		digits = lit[1:]
	}
	var v uint64
	for _, c := range digits {
		if c < '0' || c > '9' || v > (1<<63)/10 {
			// Not a whole number, or too big for this loop: strconv
			// decides, as encoding/json asks it.
			n, err := strconv.ParseInt(string(lit), 10, 64)
			if err != nil {
				return decodeErr{fmt.Errorf("number %s is not an int64", lit)}
			}
			*dst = n
			return nil
		}
		v = v*10 + uint64(c-'0')
	}
	switch {
	case !neg && v <= 1<<63-1:
		*dst = int64(v)
	case neg && v <= 1<<63:
		*dst = int64(-v)
	default:
		return decodeErr{fmt.Errorf("number %s is not an int64", lit)}
	}
	return nil
}

// number reads a JSON number.
func (p *fastParser) number() error {
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		digits()
	default:
		return p.fail("want a value")
	}
	if p.peek() == '.' {
		p.i++
		if digits() == 0 {
			return p.fail("want a digit after the point")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if digits() == 0 {
			return p.fail("want a digit in the exponent")
		}
	}
	return nil
}

// skip reads any one value, checking its syntax.
func (p *fastParser) skip(depth int) error {
	if depth >= maxDepth {
		return p.fail("nested too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		_, _, err := p.rawString(true)
		return err
	case c == '{':
		return p.object(nil, func(string) error { return p.skip(depth + 1) })
	case c == '[':
		p.i++
		p.space()
		if p.peek() == ']' {
			p.i++
			return nil
		}
		for {
			p.space()
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.space()
			switch p.next() {
			case ',':
			case ']':
				return nil
			default:
				return p.fail("after an array element")
			}
		}
	case c == 't', c == 'f', c == 'n':
		if p.literal("true") || p.literal("false") || p.literal("null") {
			return nil
		}
		return p.fail("want a value")
	}
	return p.number()
}

// clientForm is how a benchmark's client follows a session: the WebSocket
// with a query, or the NDJSON follower, and the JSON decoder it reads
// with.
type clientForm struct {
	name    string
	query   string // of the WebSocket
	ndjson  bool   // GET .../events?follow=1 instead
	decoder func() jsonDecoder
}

var (
	binaryForm = clientForm{name: "binary", query: "?format=bin", decoder: decodeFast}
	textForm   = clientForm{name: "JSON text", query: "", decoder: decodeFast}
	batchForm  = clientForm{name: "JSON ?batch=1", query: "?batch=1", decoder: decodeFast}
	ndjsonForm = clientForm{name: "NDJSON follow", ndjson: true, decoder: decodeFast}
)

// bridgeName names a bridge of sockplay's with this form, for errors.
func (f clientForm) bridgeName() string {
	if f.name == binaryForm.name {
		return "sockplay"
	}
	return "sockplay " + f.name
}

// follow opens the client of session id at base; the returned read reads
// it, closeRead ends it.
func (f clientForm) follow(ctx context.Context, base, id string) (read readFunc, closeRead func(), err error) {
	if f.ndjson {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/sessions/"+id+"/events?follow=1", nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("GET events: %s", resp.Status)
		}
		read = func(ctx context.Context, fn func([]byte) bool) error {
			stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
			defer stop()
			err := readRecvStream(ndjsonLines(resp.Body), f.decoder(), fn)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		return read, func() { resp.Body.Close() }, nil
	}
	c, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/api/sessions/"+id+"/ws"+f.query, nil)
	if err != nil {
		return nil, nil, err
	}
	c.SetReadLimit(1 << 24)
	read = func(ctx context.Context, fn func([]byte) bool) error {
		return readRecvStream(wsMessages(ctx, c), f.decoder(), fn)
	}
	return read, func() { c.CloseNow() }, nil
}

// BenchmarkBridgeJSON runs sockplay's side of the bulk measurement in each
// JSON form, with each client decoder, in this process, for profiling:
//
//	go test ./web -run '^$' -bench 'BridgeJSON/text/fast' -benchtime 1x -cpuprofile text.prof
func BenchmarkBridgeJSON(b *testing.B) {
	for _, f := range []struct {
		name string
		form clientForm
	}{{"text", textForm}, {"batch", batchForm}, {"ndjson", ndjsonForm}} {
		for _, d := range jsonDecoders {
			b.Run(f.name+"/"+d.name, func(b *testing.B) {
				form := f.form
				form.decoder = d.decoder
				var mbs []float64
				for range b.N {
					mbs = append(mbs, measureStream(b, inProcessBridge(form), bulkBufsize, compareRun).bytesPerSec/1e6)
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(median(mbs), "MB/s")
			})
		}
	}
}

// decodeAll runs decode over msg and returns a copy of every event it
// gives, or its error.
func decodeAll(decode jsonDecoder, msg []byte) ([]wireEvent, error) {
	var out []wireEvent
	err := decode(msg, func(ev *wireEvent) error {
		c := *ev
		if ev.Result != nil {
			r := *ev.Result
			if r.N != nil {
				n := *r.N
				r.N = &n
			}
			if r.B64 != nil {
				r.B64 = append(b64Bytes{}, r.B64...)
			}
			c.Result = &r
		}
		if ev.Error != nil {
			c.Error = append(json.RawMessage{}, ev.Error...)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// sameAsStd reports how decodeFast's reading of msg differs from
// encoding/json's ("" when it does not): both fail, or both give the same
// events.
func sameAsStd(msg []byte) string {
	want, werr := decodeAll(decodeStd(), msg)
	got, gerr := decodeAll(decodeFast(), msg)
	switch {
	case (werr == nil) != (gerr == nil):
		return fmt.Sprintf("encoding/json: %v; decodeFast: %v", werr, gerr)
	case werr != nil:
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("encoding/json: %s\ndecodeFast:   %s", show(want), show(got))
	}
	return ""
}

func show(evs []wireEvent) string {
	var sb strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&sb, "%+v", ev)
		if ev.Result != nil {
			fmt.Fprintf(&sb, " result %+v", *ev.Result)
			if ev.Result.N != nil {
				fmt.Fprintf(&sb, " n %d", *ev.Result.N)
			}
		}
		sb.WriteString("; ")
	}
	return sb.String()
}

// decoderCases are messages the decoders must read alike: what sockplay
// sends, and what it never would.
var decoderCases = []string{
	`{"seq":17,"t":1523040,"start":1523000,"sock":"s1","op":"recv","args":{"bufsize":4},"ok":true,"result":{"n":4,"b64":"aGVsbA=="},"auto":true}`,
	`[{"seq":1,"op":"recv","ok":true,"result":{"n":2,"b64":"YWI="},"auto":true},{"seq":2,"op":"stats","ok":true,"result":{"stats":{"recvq":0,"sendq":0,"rcvbuf":131072,"sndbuf":2626560,"tcp_state":"ESTABLISHED","rtt_us":31}}}]`,
	`{"seq":18,"t":1530001,"start":1,"sock":"s2","op":"connect","args":{"addr":"127.0.0.1:1"},"ok":false,"error":{"errno":"ECONNREFUSED","num":111,"exc":"ConnectionRefusedError","msg":"connection refused"}}`,
	`{"type":"state","state":{"id":"x","sockets":[{"id":"s1","family":"inet","pending":[]}],"last_seq":3,"watchers":0,"paused":false,"f":-1.5e-7}}`,
	`{"type":"hello","session":"abc","since":0}`,
	`{"type":"gap","from":2,"to":9}`,
	`{"reply":"x\"y","seq":3,"op":"settimeout","args":{"timeout":null},"ok":true,"result":{"timeout":0.25,"mode":"timeout"}}`,
	`{"seq":1,"op":"recv","ok":true,"result":{"n":0,"eof":true},"auto":true}`, `{"result":{"b64":""}}`,
	`{"seq":1,"op":"recv","ok":true,"result":{"n":3,"b64":"YWL\/"},"auto":true}`,
	`{"seq":1,"op":"re\u0063v","ok":true,"result":{"n":1,"b64":"YQ=="},"auto":true}`,
	`{"SEQ":5,"Op":"recv","AUTO":true,"ok":true,"Result":{"N":1,"B64":"YQ=="}}`,
	`{"s\u0065q":5}`,
	`{"seq":1,"seq":2,"result":{"n":1},"result":{"b64":"YQ=="}}`,
	`{"seq":1,"result":{"n":1},"result":null,"result":{"b64":"YQ=="}}`,
	`{"seq":null,"op":null,"ok":null,"result":{"n":null,"b64":null},"error":null}`,
	"  \t\r\n[ ]  ", `[null]`, `null`, `[]`, `{}`,
	`{"seq":-9223372036854775808}`, `{"seq":9223372036854775807}`,
	`{"op":"\xff\xfe"}`, `{"op":"\u2028"}`, `{"op":"\ud800"}`,
	`{"x":[1,-0,0.5,1e9,1E-9,true,false,null,{"a":[]},"\t"]}`,
	// Refused by both.
	``, ` `, `{`, `[`, `[{},]`, `{"seq":1,}`, `{"seq":1}x`, `{"seq":1} {}`, `{"seq":"1"}`, `{"seq":1.0}`,
	`{"seq":1e2}`, `{"seq":9223372036854775808}`, `{"seq":18446744073709551616}`, `{"seq":-}`, `{"seq":01}`,
	`{"auto":1}`, `{"ok":"true"}`, `{"result":[]}`, `{"result":"x"}`, `{"result":{"n":1.5}}`,
	`{"result":{"b64":"YQ"}}`, `{"result":{"b64":"Y\nQ=="}}`, `{"result":{"b64":"YQ==\n"}}`, `{"result":{"b64":"Y\\nQ=="}}`, `{"result":{"b64":"YWJj` + "\n\n" + `"}}`, `{"result":{"b64":"YWJj\n\n"}}`, `{"result":{"b64":"YW` + "\r\n" + `Jj"}}`, `{"result":{"b64":"YWJ\"j"}}`, `{"result":{"b64":"YWJ\u006a"}}`, `{"result":{"b64":5}}`,
	`{"op":"a` + "\x01" + `"}`, `{"op":"\x"}`, `{"op":"\u12"}`, `{"op":"\u12g4"}`, `{"x":tru}`, `{"x":nul}`, `{"x":.5}`, `{"x":1.}`, `{"x":1e}`, `{"x":+1}`,
	`5`, `"x"`, `[5]`, `["x"]`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1 2]`,
}

func TestDecodeFastMatchesStd(t *testing.T) {
	for _, c := range decoderCases {
		if d := sameAsStd([]byte(c)); d != "" {
			t.Errorf("%q:\n%s", c, d)
		}
	}
}

// FuzzDecodeFast holds decodeFast to encoding/json on any message: both
// fail, or both give the same events.
func FuzzDecodeFast(f *testing.F) {
	for _, c := range decoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if d := sameAsStd(msg); d != "" {
			t.Errorf("%q:\n%s", msg, d)
		}
	})
}
