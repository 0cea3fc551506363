package sockets

import (
	"encoding/json"
	"sync"
	"unsafe"

	"github.com/sockplay/sockplay/sockets/internal/eventlog"
)

// Result is what a successful op returns. Only the fields that apply are
// set; N is a pointer because n: 0 (EOF) must be sent.
type Result struct {
	N *int `json:"n,omitempty"`
	// Data is the bytes a recv got (in JSON, as base64 in "b64").
	Data    []byte   `json:"b64,omitempty"`
	Sock    string   `json:"sock,omitempty"`
	Family  string   `json:"family,omitempty"`
	Type    string   `json:"type,omitempty"`
	Local   string   `json:"local,omitempty"`
	Peer    string   `json:"peer,omitempty"`
	Mode    string   `json:"mode,omitempty"`
	Timeout *float64 `json:"timeout,omitempty"`
	On      *bool    `json:"on,omitempty"`
	Bufsize int      `json:"bufsize,omitempty"`
	Note    string   `json:"note,omitempty"`
	// Addr is recvfrom's sender, or gethostbyname's or gethostname's
	// answer.
	Addr string `json:"addr,omitempty"`
	// EOF marks a stream's recv that returned b''. Truncated marks a
	// datagram larger than bufsize; Size is its real length (MSG_TRUNC),
	// the rest of it is gone. (The two flags side by side keep a Result,
	// of which autorecv keeps one an event, a word smaller.)
	EOF       bool `json:"eof,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
	Size      int  `json:"size,omitempty"`
	// Value is getsockopt's answer.
	Value any `json:"value,omitempty"`
	// AddrInfo is getaddrinfo's list.
	AddrInfo []AddrInfo `json:"addrinfo,omitempty"`
	// Ready is select's answer (a pointer, so that it costs the Result of
	// every other op one word).
	*Ready
	// Stats is the kernel's view of a socket (op "stats").
	Stats *KStats `json:"stats,omitempty"`
}

// Ready is select's ready sockets, each list in the order the call gave
// them.
type Ready struct {
	RList []string `json:"rlist,omitempty"`
	WList []string `json:"wlist,omitempty"`
	XList []string `json:"xlist,omitempty"`
}

// AddrInfo is one getaddrinfo result.
type AddrInfo struct {
	Family string `json:"family"`
	Type   string `json:"type"`
	Proto  int    `json:"proto"`
	Addr   string `json:"addr"`
}

func intp(n int) *int { return &n }

// Event is the one record every op and every asynchronous happening
// produces. Seq orders a session's events; T is microseconds since the
// session started, taken when the event happened; Start is when the op was
// submitted, so a pending call can be drawn as a bar.
type Event struct {
	Seq    int64   `json:"seq"`
	T      int64   `json:"t"`
	Start  int64   `json:"start"`
	Call   int64   `json:"call,omitempty"`
	Sock   string  `json:"sock,omitempty"`
	Op     string  `json:"op"`
	Args   *Args   `json:"args,omitempty"`
	OK     bool    `json:"ok"`
	Result *Result `json:"result,omitempty"`
	Error  *Error  `json:"error,omitempty"`
	Auto   bool    `json:"auto,omitempty"`
	// Parent is the call of the helper op (sendchunks, recvall) that made
	// this event, one of its parts.
	Parent int64 `json:"parent,omitempty"`
	// Reply is the id (raw JSON) the submitting client gave its op; Conn
	// says which client that was, so that only it is told "reply".
	Reply json.RawMessage `json:"reply,omitempty"`
	Conn  uint64          `json:"-"`
	// Origin is where in a program the call was made, when a program
	// made it (the page's Python says so).
	Origin *Origin `json:"origin,omitempty"`
}

// Origin is where in a program a call was made: the file, line and
// thread of the Python code that made it (the page's Python, which runs
// programs in the session, sends it with each op).
type Origin struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Thread string `json:"thread,omitempty"`
}

// maxOriginText bounds an origin's file and thread names: they are
// names, not data.
const maxOriginText = 256

func (o *Origin) check() *Error {
	if o == nil {
		return nil
	}
	if len(o.File) > maxOriginText || len(o.Thread) > maxOriginText || o.Line < 0 {
		return errValue("origin: file and thread are names of at most %d bytes, and line is not negative", maxOriginText)
	}
	return nil
}

// Submitter identifies who submitted an op, so the answer can carry their
// id.
type Submitter struct {
	Conn  uint64
	Reply json.RawMessage
}

// Batch is a borrowed read of a session's events (see Session.Borrow):
// the events, their JSON and their bytes, the reader's until Release.
type Batch = eventlog.Batch[Event]

// eventLog is the log of Events.
type eventLog = eventlog.Log[Event]

// newEventLog is a session's log: within cfg's MaxLogBytes, and within
// budget together with the other sessions' when budget is set; owner is
// the session's lock.
func newEventLog(cfg Config, budget *eventlog.Budget, owner sync.Locker) *eventLog {
	o := eventOptions(cfg)
	o.Budget, o.Owner = budget, owner
	return eventlog.New(o)
}

func eventOptions(cfg Config) eventlog.Options[Event] {
	return eventlog.Options[Event]{
		MaxBytes:     cfg.MaxLogBytes,
		MaxLagEvents: cfg.MaxLagEvents,
		MaxLagBytes:  cfg.MaxLagBytes,
		Number:       func(ev *Event, seq int64) { ev.Seq = seq },
		Encode:       encodeForViewers,
		Payload:      payload,
	}
}

// BatchOf is a batch of events that are in no session's log (a test's, or
// ones read back from an export): their JSON is made as a log's would be.
func BatchOf(evs []Event) Batch {
	return eventlog.BatchOf(eventOptions(Config{}), evs)
}

// encodeForViewers appends ev's JSON without its reply: what every viewer
// gets (the one that asked has its reply spliced in; see web). An event
// that does not encode (a value of the Go API's that JSON cannot hold: no
// op from the wire makes one) reads as what it is and says so, rather
// than as nothing.
func encodeForViewers(dst []byte, ev *Event) []byte {
	e := *ev
	e.Reply = nil
	if out := appendEventJSON(dst, &e); len(out) > len(dst) {
		return out
	}
	stub := Event{Seq: e.Seq, T: e.T, Start: e.Start, Call: e.Call, Sock: e.Sock, Op: e.Op, Auto: e.Auto, Parent: e.Parent,
		Error: &Error{Exc: "ValueError", Msg: "sockplay could not write this event as JSON"}}
	return appendEventJSON(dst, &stub)
}

// payload is the bytes of an event's result: what a reader may write out
// as they are.
func payload(ev *Event) []byte {
	if ev.Result == nil {
		return nil
	}
	return ev.Result.Data
}

// holding is what the log must know of an op's event: the bytes of its
// result and of the data it sent, and the values it points to.
func holding(ev *Event) eventlog.Holding {
	n := len(payload(ev))
	if a := ev.Args; a != nil {
		if a.Data != nil && a.Data.B64 != nil {
			n += len(*a.Data.B64)
		}
		n += len(a.more().Text)
	}
	return eventlog.Bytes(n, pointedTo(ev))
}

// pointedTo is the memory of the values an op's event points to, its
// bytes aside (holding counts those): its arguments, result and error,
// and the text they carry that was made for it. Names the engine shares
// between events (op names, socket ids) are not counted.
func pointedTo(ev *Event) int {
	n := len(ev.Reply)
	if a := ev.Args; a != nil {
		n += int(unsafe.Sizeof(*a)) + len(a.Addr) + len(a.Host) + len(a.Value) + len(a.Port)
		if a.Data != nil {
			n += int(unsafe.Sizeof(*a.Data))
		}
		if m := a.More; m != nil {
			n += int(unsafe.Sizeof(*m)) + int(unsafe.Sizeof(""))*(len(m.RList)+len(m.WList)+len(m.XList))
		}
	}
	if r := ev.Result; r != nil {
		n += int(unsafe.Sizeof(*r)) + len(r.Local) + len(r.Peer) + len(r.Addr) + len(r.Note)
		n += len(r.AddrInfo) * int(unsafe.Sizeof(AddrInfo{}))
		if r.Stats != nil {
			n += int(unsafe.Sizeof(*r.Stats))
		}
		if r.Ready != nil {
			n += int(unsafe.Sizeof(*r.Ready))
		}
	}
	if e := ev.Error; e != nil {
		n += int(unsafe.Sizeof(*e)) + len(e.Msg)
	}
	if o := ev.Origin; o != nil {
		n += int(unsafe.Sizeof(*o)) + len(o.File) + len(o.Thread)
	}
	return n
}
