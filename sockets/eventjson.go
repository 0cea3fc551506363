package sockets

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sockplay/sockplay/sockets/internal/b64"
)

// The event's JSON, written by hand: byte for byte what json.Marshal(ev)
// gives (TestEventJSONMatchesMarshal, FuzzEventJSON), without its
// reflection, its copy out of its own buffer, or its base64 encoder,
// which does about a gigabyte a second and was most of the CPU of a JSON
// stream. A fast stream's event is a recv of up to 64 KiB, so its base64
// is written straight into the destination, with AVX2 where the CPU has
// it (sockets/internal/b64). The few values that are JSON of the client's
// own (a reply id, setsockopt's value, getaddrinfo's port, getsockopt's
// answer) go through encoding/json, which compacts and checks them.

// appendEventJSON appends ev as json.Marshal(ev) encodes it, reply
// included, or nothing if json.Marshal would fail (a value of the
// client's that is not JSON, a float that is not finite).
func appendEventJSON(dst []byte, ev *Event) []byte {
	start := len(dst)
	e := jsonWriter{b: dst}
	e.b = append(e.b, `{"seq":`...)
	e.b = strconv.AppendInt(e.b, ev.Seq, 10)
	e.field = true
	e.key(`"t":`)
	e.b = strconv.AppendInt(e.b, ev.T, 10)
	e.key(`"start":`)
	e.b = strconv.AppendInt(e.b, ev.Start, 10)
	e.int64(`"call":`, ev.Call)
	e.str(`"sock":`, ev.Sock)
	e.key(`"op":`)
	e.b = appendJSONString(e.b, ev.Op)
	if ev.Args != nil {
		e.key(`"args":`)
		e.args(ev.Args)
	}
	e.key(`"ok":`)
	e.b = strconv.AppendBool(e.b, ev.OK)
	if ev.Result != nil {
		e.key(`"result":`)
		e.result(ev.Result)
	}
	if r := ev.Error; r != nil {
		e.key(`"error":`)
		e.open()
		e.str(`"errno":`, r.Errno)
		e.int(`"num":`, r.Num)
		e.key(`"exc":`)
		e.b = appendJSONString(e.b, r.Exc)
		e.key(`"msg":`)
		e.b = appendJSONString(e.b, r.Msg)
		e.close()
	}
	e.bool(`"auto":`, ev.Auto)
	e.int64(`"parent":`, ev.Parent)
	e.raw(`"reply":`, ev.Reply)
	if o := ev.Origin; o != nil {
		e.key(`"origin":`)
		e.open()
		e.str(`"file":`, o.File)
		e.int(`"line":`, o.Line)
		e.str(`"thread":`, o.Thread)
		e.close()
	}
	e.b = append(e.b, '}')
	if e.failed {
		return dst[:start]
	}
	return e.b
}

// jsonWriter appends JSON to b. field says whether the object being
// written has a field yet (a key then needs a comma before it); failed,
// that a value could not be encoded.
type jsonWriter struct {
	b      []byte
	field  bool
	failed bool
}

// key appends a key (`"name":`), after a comma unless it is the object's
// first.
func (e *jsonWriter) key(k string) {
	if e.field {
		e.b = append(e.b, ',')
	}
	e.field = true
	e.b = append(e.b, k...)
}

// open and close write an object that is a field's value: once it is
// closed, the object around it has a field.
func (e *jsonWriter) open() {
	e.b = append(e.b, '{')
	e.field = false
}

func (e *jsonWriter) close() {
	e.b = append(e.b, '}')
	e.field = true
}

// The omitempty fields: each is left out when zero (a nil pointer, an
// empty string).

func (e *jsonWriter) int64(k string, v int64) {
	if v != 0 {
		e.key(k)
		e.b = strconv.AppendInt(e.b, v, 10)
	}
}

func (e *jsonWriter) int(k string, v int) { e.int64(k, int64(v)) }

func (e *jsonWriter) intp(k string, v *int) {
	if v != nil {
		e.key(k)
		e.b = strconv.AppendInt(e.b, int64(*v), 10)
	}
}

func (e *jsonWriter) str(k, v string) {
	if v != "" {
		e.key(k)
		e.b = appendJSONString(e.b, v)
	}
}

func (e *jsonWriter) strp(k string, v *string) {
	if v != nil {
		e.key(k)
		e.b = appendJSONString(e.b, *v)
	}
}

// strs appends a list of strings, left out when empty (as omitempty does
// for a nil or empty slice).
func (e *jsonWriter) strs(k string, v []string) {
	if len(v) > 0 {
		e.key(k)
		e.b = append(e.b, '[')
		for i, s := range v {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendJSONString(e.b, s)
		}
		e.b = append(e.b, ']')
	}
}

func (e *jsonWriter) bool(k string, v bool) {
	if v {
		e.key(k)
		e.b = append(e.b, "true"...)
	}
}

func (e *jsonWriter) boolp(k string, v *bool) {
	if v != nil {
		e.key(k)
		e.b = strconv.AppendBool(e.b, *v)
	}
}

func (e *jsonWriter) floatp(k string, v *float64) {
	if v != nil {
		e.key(k)
		e.float(*v)
	}
}

// raw appends a RawMessage field as encoding/json does: compacted, with
// <, > and & escaped, and an error if it is not JSON.
func (e *jsonWriter) raw(k string, v json.RawMessage) {
	if len(v) > 0 {
		e.key(k)
		e.marshal(v)
	}
}

// marshal appends v as encoding/json encodes it.
func (e *jsonWriter) marshal(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		e.failed = true
		return
	}
	e.b = append(e.b, b...)
}

// float appends f as encoding/json encodes a float64: strconv's shortest
// form, in exponent form only below 1e-6 and from 1e21 on, without a
// padded exponent.
func (e *jsonWriter) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.failed = true
		return
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if n := len(e.b); format == 'e' && n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
		// e-07 is e-7
		e.b[n-2] = e.b[n-1]
		e.b = e.b[:n-1]
	}
}

func (e *jsonWriter) args(a *Args) {
	e.open()
	e.str(`"family":`, a.Family)
	e.str(`"type":`, a.Type)
	e.str(`"addr":`, a.Addr)
	e.intp(`"backlog":`, a.Backlog)
	e.intp(`"bufsize":`, a.Bufsize)
	if a.Timeout.Set {
		e.key(`"timeout":`)
		if a.Timeout.None {
			e.b = append(e.b, "null"...)
		} else {
			e.float(a.Timeout.Seconds)
		}
	}
	e.boolp(`"flag":`, a.Flag)
	if h := a.How; h != nil {
		e.key(`"how":`)
		if *h >= 0 && int(*h) < len(howNames) {
			e.b = appendJSONString(e.b, howNames[*h])
		} else {
			e.b = strconv.AppendInt(e.b, int64(*h), 10)
		}
	}
	if d := a.Data; d != nil {
		e.key(`"data":`)
		e.open()
		e.strp(`"text":`, d.Text)
		e.strp(`"hex":`, d.Hex)
		e.strp(`"b64":`, d.B64)
		e.intp(`"repeat":`, d.Repeat)
		e.close()
	}
	e.boolp(`"on":`, a.On)
	e.intp(`"chunk":`, a.Chunk)
	e.floatp(`"delay":`, a.Delay)
	e.str(`"level":`, a.Level)
	e.str(`"name":`, a.Name)
	e.raw(`"value":`, a.Value)
	e.str(`"host":`, a.Host)
	e.raw(`"port":`, a.Port)
	if m := a.More; m != nil {
		e.strs(`"rlist":`, m.RList)
		e.strs(`"wlist":`, m.WList)
		e.strs(`"xlist":`, m.XList)
		e.str(`"kind":`, m.Kind)
		e.str(`"text":`, m.Text)
		if f := m.Focus; f != nil {
			e.key(`"focus":`)
			e.open()
			e.str(`"sock":`, f.Sock)
			e.str(`"view":`, f.View)
			e.str(`"lesson":`, f.Lesson)
			e.int(`"step":`, f.Step)
			e.str(`"file":`, f.File)
			e.int(`"line":`, f.Line)
			e.close()
		}
	}
	e.intp(`"requested":`, a.Requested)
	e.close()
}

func (e *jsonWriter) result(r *Result) {
	e.open()
	e.intp(`"n":`, r.N)
	if len(r.Data) > 0 {
		e.key(`"b64":"`) // json.Marshal's []byte: base64 in a string
		e.b = b64.AppendEncode(e.b, r.Data)
		e.b = append(e.b, '"')
	}
	e.str(`"sock":`, r.Sock)
	e.str(`"family":`, r.Family)
	e.str(`"type":`, r.Type)
	e.str(`"local":`, r.Local)
	e.str(`"peer":`, r.Peer)
	e.str(`"mode":`, r.Mode)
	e.floatp(`"timeout":`, r.Timeout)
	e.boolp(`"on":`, r.On)
	e.int(`"bufsize":`, r.Bufsize)
	e.str(`"note":`, r.Note)
	e.str(`"addr":`, r.Addr)
	e.bool(`"eof":`, r.EOF)
	e.bool(`"truncated":`, r.Truncated)
	e.int(`"size":`, r.Size)
	if r.Value != nil {
		e.key(`"value":`)
		e.marshal(r.Value)
	}
	if len(r.AddrInfo) > 0 {
		e.key(`"addrinfo":`)
		e.b = append(e.b, '[')
		for i, ai := range r.AddrInfo {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, `{"family":`...)
			e.b = appendJSONString(e.b, ai.Family)
			e.b = append(e.b, `,"type":`...)
			e.b = appendJSONString(e.b, ai.Type)
			e.b = append(e.b, `,"proto":`...)
			e.b = strconv.AppendInt(e.b, int64(ai.Proto), 10)
			e.b = append(e.b, `,"addr":`...)
			e.b = appendJSONString(e.b, ai.Addr)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	if rd := r.Ready; rd != nil {
		e.strs(`"rlist":`, rd.RList)
		e.strs(`"wlist":`, rd.WList)
		e.strs(`"xlist":`, rd.XList)
	}
	if st := r.Stats; st != nil {
		e.key(`"stats":`)
		e.open()
		e.key(`"recvq":`)
		e.b = strconv.AppendInt(e.b, int64(st.RecvQ), 10)
		e.key(`"sendq":`)
		e.b = strconv.AppendInt(e.b, int64(st.SendQ), 10)
		e.key(`"rcvbuf":`)
		e.b = strconv.AppendInt(e.b, int64(st.RcvBuf), 10)
		e.key(`"sndbuf":`)
		e.b = strconv.AppendInt(e.b, int64(st.SndBuf), 10)
		e.str(`"tcp_state":`, st.TCPState)
		e.int(`"rtt_us":`, st.RTT)
		e.int(`"cwnd":`, st.Cwnd)
		e.int(`"retrans":`, st.Retrans)
		e.intp(`"acceptq":`, st.AcceptQ)
		e.intp(`"backlog":`, st.Backlog)
		e.close()
	}
	e.close()
}

// appendJSONString appends s quoted as encoding/json quotes a string:
// <, > and & escaped (json.Marshal escapes for HTML), invalid UTF-8 as
// U+FFFD, and U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
