package sockets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// Op is one call a user makes: {"op": "connect", "sock": "s1", "addr": "..."}.
// Arguments are flat and named as in Python; they are echoed back in the
// op's Event as Args.
type Op struct {
	Op   string `json:"op"`
	Sock string `json:"sock,omitempty"`
	Args
	// Origin says where in a program the call was made; the op's event
	// carries it on.
	Origin *Origin `json:"origin,omitempty"`
}

// Args are an op's arguments. Pointers and Timeout tell "absent" from zero,
// so that a missing argument is an error and not a silent default.
type Args struct {
	Family  string   `json:"family,omitempty"`
	Type    string   `json:"type,omitempty"`
	Addr    string   `json:"addr,omitempty"`
	Backlog *int     `json:"backlog,omitempty"`
	Bufsize *int     `json:"bufsize,omitempty"`
	Timeout Timeout  `json:"timeout,omitzero"`
	Flag    *bool    `json:"flag,omitempty"`
	How     *How     `json:"how,omitempty"`
	Data    *Data    `json:"data,omitempty"`
	On      *bool    `json:"on,omitempty"`
	Chunk   *int     `json:"chunk,omitempty"`
	Delay   *float64 `json:"delay,omitempty"`
	// setsockopt/getsockopt: level and name as Python spells them
	// ("SOL_SOCKET", "SO_SNDBUF"); value a number, a boolean, or for
	// SO_LINGER {"onoff": 1, "linger": 0}.
	Level string          `json:"level,omitempty"`
	Name  string          `json:"name,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	// getaddrinfo and gethostbyname: host, and port as a number, a
	// service name or null.
	Host string          `json:"host,omitempty"`
	Port json.RawMessage `json:"port,omitempty"`
	// The arguments of select and python, apart behind one pointer so that
	// the echo of every other op (its event's Args) is smaller.
	*More
	// Requested is set by the engine when it capped bufsize.
	Requested *int `json:"requested,omitempty"`
}

// More are the arguments of the ops that take lists or text.
type More struct {
	// select: the sockets to wait for, to read, to write, and for an
	// exceptional condition (select.select's rlist, wlist, xlist).
	RList []string `json:"rlist,omitempty"`
	WList []string `json:"wlist,omitempty"`
	XList []string `json:"xlist,omitempty"`
	// python: what a program in the page did that is not a socket call
	// (see pythonKinds), and its text.
	Kind string `json:"kind,omitempty"`
	Text string `json:"text,omitempty"`
	// focus: where the session's owner is looking, for watchers.
	Focus *Focus `json:"focus,omitempty"`
}

// more is a's More, zero when it has none.
func (a *Args) more() More {
	if a == nil || a.More == nil {
		return More{}
	}
	return *a.More
}

// Timeout is Python's timeout value: absent, None (blocking), or seconds
// (0 meaning non-blocking).
type Timeout struct {
	Set     bool
	None    bool
	Seconds float64
}

func (t Timeout) IsZero() bool { return !t.Set }

func (t Timeout) MarshalJSON() ([]byte, error) {
	if t.None {
		return []byte("null"), nil
	}
	return json.Marshal(t.Seconds)
}

func (t *Timeout) UnmarshalJSON(b []byte) error {
	*t = Timeout{Set: true}
	if string(b) == "null" {
		t.None = true
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timeout must be a number of seconds or null, not %s", b)
	}
	t.Seconds = f
	return nil
}

// How is shutdown's argument: "SHUT_RD", "SHUT_WR", "SHUT_RDWR" or 0, 1, 2.
type How int

var howNames = []string{"SHUT_RD", "SHUT_WR", "SHUT_RDWR"}

func (h How) MarshalJSON() ([]byte, error) {
	if h >= 0 && int(h) < len(howNames) {
		return json.Marshal(howNames[h])
	}
	return json.Marshal(int(h))
}

func (h *How) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		for i, n := range howNames {
			if s == n {
				*h = How(i)
				return nil
			}
		}
		return fmt.Errorf("how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not %q", s)
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("how must be SHUT_RD, SHUT_WR, SHUT_RDWR or 0, 1, 2, not %s", b)
	}
	*h = How(n)
	return nil
}

// Data is a byte string on the wire: exactly one of text (UTF-8), hex or
// b64. The engine echoes data back as b64 so that any byte survives.
type Data struct {
	Text *string `json:"text,omitempty"`
	Hex  *string `json:"hex,omitempty"`
	B64  *string `json:"b64,omitempty"`
	// Repeat sends the bytes that many times: {"text": "x", "repeat":
	// 1000000} is Python's b'x' * 1000000.
	Repeat *int `json:"repeat,omitempty"`
}

// MaxDataBytes bounds the bytes one op may send.
const MaxDataBytes = 64 << 20

// Bytes decodes d, or says clearly what is wrong with it.
func (d *Data) Bytes() ([]byte, error) {
	b, err := d.unit()
	if err != nil || d.Repeat == nil {
		return b, err
	}
	n := *d.Repeat
	if n < 0 {
		return nil, fmt.Errorf("repeat must not be negative")
	}
	if n > 0 && len(b) > MaxDataBytes/n {
		return nil, fmt.Errorf("data of %d bytes × repeat %d is more than the %d bytes one op may send", len(b), n, MaxDataBytes)
	}
	return bytes.Repeat(b, n), nil
}

// unit decodes the bytes before any repeat.
func (d *Data) unit() ([]byte, error) {
	set := 0
	for _, p := range []*string{d.Text, d.Hex, d.B64} {
		if p != nil {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("data needs exactly one of text, hex or b64 (got %d)", set)
	}
	switch {
	case d.Text != nil:
		return []byte(*d.Text), nil
	case d.Hex != nil:
		// Spaces and colons are allowed between bytes, as hex dumps have them.
		h := bytes.NewBuffer(nil)
		for _, c := range *d.Hex {
			if c != ' ' && c != ':' && c != '\n' && c != '\t' {
				h.WriteRune(c)
			}
		}
		b, err := hex.DecodeString(h.String())
		if err != nil {
			return nil, fmt.Errorf("invalid hex data: %v", err)
		}
		return b, nil
	default:
		b, err := base64.StdEncoding.DecodeString(*d.B64)
		if err != nil {
			return nil, fmt.Errorf("invalid base64 data: %v", err)
		}
		return b, nil
	}
}

// canonical is d with its bytes as b64, and its repeat kept, so that the
// echo of a large repeated send stays small.
func (d *Data) canonical() (*Data, error) {
	b, err := d.unit()
	if err != nil {
		return nil, err
	}
	c := B64Data(b)
	c.Repeat = d.Repeat
	return c, nil
}

// B64Data wraps bytes as wire Data.
func B64Data(b []byte) *Data {
	s := base64.StdEncoding.EncodeToString(b)
	return &Data{B64: &s}
}

func (t Timeout) String() string {
	if t.None {
		return "None"
	}
	return strconv.FormatFloat(t.Seconds, 'g', -1, 64)
}
