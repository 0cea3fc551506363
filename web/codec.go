package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sockplay/sockplay/sockets"
)

// wireOp is an Op as it arrives on the WebSocket: the op plus the client's
// id for it, echoed back as "reply".
type wireOp struct {
	ID json.RawMessage `json:"id,omitempty"`
	sockets.Op
}

// badRequest is a decoding error: the op never reached the engine.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// decodeOp parses one op strictly: one JSON object, known fields only, the
// right types, a known op. Its errors say what to fix.
func decodeOp(b []byte) (wireOp, error) {
	var w wireOp
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, &badRequest{describeJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return w, &badRequest{"the body must be one JSON object, with nothing after it"}
	}
	if len(w.ID) > 0 && w.ID[0] != '"' && (w.ID[0] < '0' || w.ID[0] > '9') && w.ID[0] != '-' {
		return w, &badRequest{"id must be a string or a number"}
	}
	if w.Op.Requested != nil {
		// The engine sets it when it caps bufsize; a client may not.
		return w, &badRequest{`unknown field "requested"`}
	}
	// An empty list is the same as none given (select's lists), and
	// so is a More of nothing but empty values ({"kind": ""}).
	if m := w.Op.More; m != nil {
		for _, l := range []*[]string{&m.RList, &m.WList, &m.XList} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if m.RList == nil && m.WList == nil && m.XList == nil && m.Kind == "" && m.Text == "" && m.Focus == nil {
			w.Op.More = nil
		}
	}
	if w.Op.Op == "" {
		return w, &badRequest{`"op" is missing: say which call to make, e.g. {"op": "socket"}`}
	}
	if !sockets.IsOp(w.Op.Op) {
		return w, &badRequest{fmt.Sprintf("unknown op %q; known ops: %s", w.Op.Op, knownOps())}
	}
	return w, nil
}

func knownOps() string { return strings.Join(sockets.OpNames(), ", ") }

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty body: send one JSON object such as {\"op\": \"socket\"}"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON: the object ends too soon"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the body must be a JSON object, not %s", typ.Value)
		}
		// Field is the Go path (Op.Args.bufsize); users know the JSON name.
		field := typ.Field[strings.LastIndex(typ.Field, ".")+1:]
		return fmt.Sprintf("field %q must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + " (arguments are flat and named as in Python: addr, bufsize, data, timeout, how, flag, ...)"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64", "ptr":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "struct":
		return "an object"
	}
	return "a " + k
}

// wireProtocol is the version of the wire protocol: of its ops, events
// and control messages.
const wireProtocol = 1

// controlMsg is anything the server sends on the WebSocket that is not an
// event: they carry "type" and no "seq".
type controlMsg struct {
	Type    string          `json:"type"`
	Reply   json.RawMessage `json:"reply,omitempty"`
	Error   *apiError       `json:"error,omitempty"`
	Session string          `json:"session,omitempty"`
	// Protocol is the wire protocol's version (in an export's "hello").
	Protocol int `json:"protocol,omitempty"`
	// Watching says the client is a read-only watcher (in "hello").
	Watching bool   `json:"watching,omitempty"`
	Since    *int64 `json:"since,omitempty"`
	From     int64  `json:"from,omitempty"`
	To       int64  `json:"to,omitempty"`
	// Msg and Deadline are a drain's ("draining"): what the page says,
	// and when its session ends at the latest, in Unix milliseconds.
	Msg      string `json:"msg,omitempty"`
	Deadline int64  `json:"deadline,omitempty"`
	*sockets.State
}

// apiError is the JSON error of the HTTP API and of WebSocket decoding.
type apiError struct {
	Code errorCode `json:"code"`
	Msg  string    `json:"msg"`
}

// appendEvent appends event i of b as client conn gets it: only the client
// that submitted the op sees "reply", spliced in after the brace of the
// JSON every viewer gets, which is made once for all (a big event's is
// written straight into dst, which the caller uses again: see eventlog's
// Batch.AppendJSON).
func appendEvent(dst []byte, b sockets.Batch, i int, conn uint64) []byte {
	ev := &b.Events()[i]
	if ev.Conn != conn || conn == 0 || len(ev.Reply) == 0 {
		return b.AppendJSON(dst, i)
	}
	start := len(dst)
	dst = append(dst, `{"reply":`...)
	dst = append(dst, ev.Reply...)
	dst = append(dst, ',')
	at := len(dst)
	dst = b.AppendJSON(dst, i)
	if len(dst) == at {
		return dst[:start]
	}
	return append(dst[:at], dst[at+1:]...) // the event's own brace is already there
}
