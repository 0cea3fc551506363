package web

import (
	"encoding/binary"

	"github.com/sockplay/sockplay/sockets"
)

// The binary event batch (WebSocket ?format=bin) carries the same events as
// the JSON form in fewer bytes: most events of a busy session are recvs,
// and in JSON each of them spends ~130 bytes on names and base64 around a
// few bytes of data. A batch is one binary message:
//
//	u8 version (1), then records until the end of the message
//	record 1 (any event):  uvarint len, then the event's JSON (as in text form, "reply" included)
//	record 2 (a recv):     uvarint seq, uvarint t, uvarint t-start, uvarint call,
//	                       uvarint parent, u8 flags (bit 0: auto),
//	                       uvarint len + socket id (ASCII),
//	                       uvarint bufsize, uvarint n, then the n bytes received
//
// A record 2 stands for {"seq","t","start","call","parent","sock","op":"recv",
// "args":{"bufsize"},"ok":true,"result":{"n","b64"},"auto"}, zero fields
// omitted as in JSON. Only an event of exactly that shape is sent as a
// record 2; any other event, and a recv that answers this client's op (it
// carries "reply"), goes as a record 1, so nothing is ever lost in the
// compact form.
const (
	wireVersion = 1
	recJSON     = 1
	recRecv     = 2
)

// appendWireEvent appends ev as one record of a binary batch for client
// conn. It allocates nothing for a recv record.
func appendWireEvent(buf []byte, ev sockets.Event, conn uint64) ([]byte, error) {
	if compactRecv(ev, conn) {
		return append(appendRecvHeader(buf, ev), ev.Result.B64...), nil
	}
	return appendJSONRecord(buf, ev, conn)
}

// appendRecvHeader appends a record 2 up to its bytes, which follow it.
func appendRecvHeader(buf []byte, ev sockets.Event) []byte {
	buf = append(buf, recRecv)
	buf = binary.AppendUvarint(buf, uint64(ev.Seq))
	buf = binary.AppendUvarint(buf, uint64(ev.T))
	buf = binary.AppendUvarint(buf, uint64(ev.T-ev.Start))
	buf = binary.AppendUvarint(buf, uint64(ev.Call))
	buf = binary.AppendUvarint(buf, uint64(ev.Parent))
	var flags byte
	if ev.Auto {
		flags |= 1
	}
	buf = append(buf, flags)
	buf = binary.AppendUvarint(buf, uint64(len(ev.Sock)))
	buf = append(buf, ev.Sock...)
	buf = binary.AppendUvarint(buf, uint64(*ev.Args.Bufsize))
	return binary.AppendUvarint(buf, uint64(len(ev.Result.B64)))
}

// appendJSONRecord appends ev as a record 1.
func appendJSONRecord(buf []byte, ev sockets.Event, conn uint64) ([]byte, error) {
	b, err := encodeEvent(ev, conn)
	if err != nil {
		return buf, err
	}
	buf = append(buf, recJSON)
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...), nil
}

// compactRecv reports whether ev is a plain recv that a record 2 carries
// whole: every field it does not carry must be zero. (A test sets each
// field of Event, Args and Result in turn to keep this list complete.)
func compactRecv(ev sockets.Event, conn uint64) bool {
	if ev.Op != "recv" || !ev.OK || ev.Error != nil || ev.Seq < 0 || ev.Start < 0 || ev.T < ev.Start || ev.Call < 0 || ev.Parent < 0 {
		return false
	}
	if len(ev.Reply) > 0 && ev.Origin == conn && conn != 0 {
		return false
	}
	for i := 0; i < len(ev.Sock); i++ {
		if ev.Sock[i] >= 0x80 {
			return false
		}
	}
	a, r := ev.Args, ev.Result
	if a == nil || a.Bufsize == nil || *a.Bufsize < 0 || r == nil || r.N == nil || *r.N != len(r.B64) || *r.N == 0 {
		return false
	}
	argsRest := a.Family == "" && a.Type == "" && a.Addr == "" && a.Backlog == nil && !a.Timeout.Set &&
		a.Flag == nil && a.How == nil && a.Data == nil && a.On == nil && a.Chunk == nil && a.Delay == nil &&
		a.Level == "" && a.Name == "" && a.Value == nil && a.Host == "" && a.Port == nil && a.Requested == nil
	resultRest := r.Sock == "" && r.Family == "" && r.Type == "" && r.Local == "" && r.Peer == "" && r.Mode == "" &&
		r.Timeout == nil && r.On == nil && r.Bufsize == 0 && !r.EOF && r.Note == "" && r.Addr == "" &&
		!r.Truncated && r.Size == 0 && r.Value == nil && r.AddrInfo == nil && r.Stats == nil
	return argsRest && resultRest
}
