package web

// How the comparison's clients read a stream from a bridge: sockplay's
// binary batches or JSON (encoding/json here; the one-pass JSON client is
// in compare_jsonclient_test.go) and websockify's raw bytes; every byte counted.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// wireEvent is what the client needs of an event or a control message.
type wireEvent struct {
	Type   string          `json:"type"`
	Seq    int64           `json:"seq"`
	Op     string          `json:"op"`
	Auto   bool            `json:"auto"`
	OK     bool            `json:"ok"`
	Result *wireResult     `json:"result"`
	Error  json.RawMessage `json:"error"`
	From   int64           `json:"from"`
	To     int64           `json:"to"`
}

// wireResult is what the client needs of a recv's result.
type wireResult struct {
	N   *int     `json:"n"`
	B64 b64Bytes `json:"b64"`
}

// b64Bytes decodes a JSON base64 string straight from the raw message:
// encoding/json would first copy it unquoted, rune by rune, which made the
// test client, not the server, the bottleneck of the bulk run.
type b64Bytes []byte

func (b *b64Bytes) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return json.Unmarshal(raw, (*[]byte)(b))
	}
	raw = raw[1 : len(raw)-1]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(out, raw)
	*b = out[:n]
	return err
}

// readRecvEvents reads sockplay's WebSocket c with the benchmark's own
// JSON decoder (see readRecvStream).
func readRecvEvents(ctx context.Context, c *websocket.Conn, fn func(data []byte) bool) error {
	return readRecvStream(wsMessages(ctx, c), decodeFast(), fn)
}

// readRecvStream reads what sockplay sends, one message at a time from
// next, and calls fn with the bytes of each auto recv event, in order,
// until fn returns false; empty data is EOF. It is the one place that
// knows how events travel: JSON text messages (or NDJSON lines), each an
// event or a control message, or with ?batch=1 an array of events, which
// decode decodes; or binary batches (?format=bin) of compact recv records
// and JSON records. Anything that would mean lost or altered bytes is an
// error: a break in seq, a "gap", a failed recv, an n that is not its
// bytes' length.
func readRecvStream(next nextMessage, decode jsonDecoder, fn func(data []byte) bool) error {
	last := int64(-1)
	stop := errors.New("enough")
	nextSeq := func(seq int64) error {
		if last >= 0 && seq != last+1 {
			return fmt.Errorf("event %d came after %d", seq, last)
		}
		last = seq
		return nil
	}
	// handle checks one decoded JSON event and hands over its bytes.
	handle := func(ev *wireEvent) error {
		if ev.Type == "gap" {
			return fmt.Errorf("events %d to %d were dropped", ev.From, ev.To)
		}
		if ev.Type != "" {
			return nil
		}
		if err := nextSeq(ev.Seq); err != nil {
			return err
		}
		if !ev.Auto || ev.Op != "recv" {
			return nil
		}
		if !ev.OK {
			return fmt.Errorf("auto recv %d failed: %s", ev.Seq, ev.Error)
		}
		if ev.Result == nil || ev.Result.N == nil || *ev.Result.N != len(ev.Result.B64) {
			return fmt.Errorf("auto recv %d: n does not match its bytes", ev.Seq)
		}
		if !fn(ev.Result.B64) {
			return stop
		}
		return nil
	}
	for {
		typ, msg, err := next()
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			err = readWireBatch(msg, func(r *wireRecord) error {
				if r.JSON != nil {
					return decode(r.JSON, handle)
				}
				if err := nextSeq(r.Seq); err != nil {
					return err
				}
				if r.Auto && !fn(r.Data) {
					return stop
				}
				return nil
			})
		} else {
			err = decode(msg, handle)
		}
		if err == stop {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decodeStd is the JSON decoder of a client written with encoding/json.
func decodeStd() jsonDecoder {
	var evs []wireEvent
	return func(msg []byte, each func(*wireEvent) error) error {
		// Decoding into reused elements would keep fields an event
		// lacks from the one before it: start from zero values.
		evs = evs[:cap(evs)]
		clear(evs)
		evs = evs[:0]
		var err error
		if b := bytes.TrimLeft(msg, " \t\r\n"); len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &evs)
		} else {
			evs = append(evs, wireEvent{})
			err = json.Unmarshal(b, &evs[0])
		}
		if err != nil {
			return fmt.Errorf("decoding %.200q: %w", msg, err)
		}
		for i := range evs {
			if err := each(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// readMessage reads one whole message into msg, reusing its memory.
func readMessage(ctx context.Context, c *websocket.Conn, msg *bytes.Buffer) (websocket.MessageType, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, err
	}
	msg.Reset()
	_, err = msg.ReadFrom(r)
	return typ, err
}

// readBinary calls fn with each binary message websockify sends.
func readBinary(ctx context.Context, c *websocket.Conn, fn func(data []byte) bool) error {
	var msg bytes.Buffer
	for {
		typ, err := readMessage(ctx, c, &msg)
		if err != nil {
			return err
		}
		if typ != websocket.MessageBinary {
			return fmt.Errorf("websockify sent a %v message; want binary", typ)
		}
		if !fn(msg.Bytes()) {
			return nil
		}
	}
}

// TestReadRecvEvents feeds the comparison's decoder crafted messages: it
// must hand over every auto recv's bytes, in order, from single events and
// from batches, and refuse anything that would mean lost or altered bytes.
func TestReadRecvEvents(t *testing.T) {
	recv := func(seq int64, data string) string {
		return fmt.Sprintf(`{"seq":%d,"t":1,"start":1,"sock":"s1","op":"recv","args":{"bufsize":16},"ok":true,"result":{"n":%d,"b64":%q},"auto":true}`,
			seq, len(data), base64.StdEncoding.EncodeToString([]byte(data)))
	}
	for _, c := range []struct {
		name string
		msgs []string
		want string // the bytes handed over, then "|" and the error, if any
	}{
		{"single events", []string{`{"type":"hello","session":"x","since":0}`, recv(1, "hel"), `{"seq":2,"t":1,"start":1,"op":"stats","ok":true}`, recv(3, "lo")},
			"hello|EOF"},
		{"a batch", []string{"[" + recv(1, "ab") + "," + `{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":1,"b64":"eA=="}}` + "," + recv(3, "cd") + "]", `{"type":"state","last_seq":3}`},
			"abcd|EOF"},
		{"stale fields do not carry over", []string{"[" + recv(1, "ab") + "]", `[{"seq":2,"t":1,"start":1,"op":"recv","ok":true}]`},
			"ab|EOF"},
		{"an escaped b64 string", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":3,"b64":"YWL\/"},"auto":true}`},
			"ab\xff|EOF"},
		{"EOF is empty data", []string{recv(1, "a"), `{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":0,"eof":true},"auto":true}`},
			"a.|EOF"},
		{"a break in seq", []string{recv(1, "a"), recv(3, "b")},
			"a|event 3 came after 1"},
		{"a gap", []string{recv(1, "a"), `{"type":"gap","from":2,"to":9}`},
			"a|events 2 to 9 were dropped"},
		{"n that is not the bytes", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":5,"b64":"YQ=="},"auto":true}`},
			"|auto recv 1: n does not match its bytes"},
		{"a failed recv", []string{`{"seq":1,"t":1,"start":1,"op":"recv","ok":false,"error":{"errno":"ECONNRESET","exc":"ConnectionResetError","msg":"reset"},"auto":true}`},
			`|auto recv 1 failed: {"errno":"ECONNRESET","exc":"ConnectionResetError","msg":"reset"}`},
		{"not JSON", []string{`{"seq":1,`},
			"|decoding"},
		{"a binary batch", []string{binBatch(t, binRecv(1, "ab"), jsonRec(`{"seq":2,"t":1,"start":1,"op":"recv","ok":true,"result":{"n":1,"b64":"eA=="},"auto":true}`), binRecv(3, "cd"))},
			"abxcd|EOF"},
		{"a break in seq across batches", []string{binBatch(t, binRecv(1, "ab")), binBatch(t, binRecv(3, "cd"))},
			"ab|event 3 came after 1"},
		{"a cut binary batch", []string{binBatch(t, binRecv(1, "abcdef"))[:12]},
			"|record runs past"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer ws.CloseNow()
				for _, m := range c.msgs {
					typ := websocket.MessageText
					if m[0] == wireVersion {
						typ = websocket.MessageBinary
					}
					if err := ws.Write(r.Context(), typ, []byte(m)); err != nil {
						return
					}
				}
				ws.Close(websocket.StatusNormalClosure, "")
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			var got strings.Builder
			err = readRecvEvents(ctx, ws, func(data []byte) bool {
				if len(data) == 0 {
					got.WriteString(".")
				}
				got.Write(data)
				return true
			})
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				err = errors.New("EOF")
			}
			out := got.String() + "|" + err.Error()
			if !strings.HasPrefix(out, c.want) {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}
}

// binRecv, jsonRec and binBatch make binary batches for TestReadRecvEvents.
func binRecv(seq int64, data string) sockets.Event {
	ev := plainRecv()
	ev.Seq, ev.Auto, ev.Result.Data = seq, true, []byte(data)
	n := len(data)
	ev.Result.N = &n
	return ev
}

func jsonRec(js string) sockets.Event {
	var ev sockets.Event
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		panic(err)
	}
	return ev
}

func binBatch(t *testing.T, evs ...sockets.Event) string {
	return string(wholeBatch(t, evs, 0).bytes())
}
