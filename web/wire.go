package web

import (
	"context"
	"encoding/binary"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// The binary event batch (WebSocket ?format=bin) carries the same events as
// the JSON form in fewer bytes: most events of a busy session are recvs,
// and in JSON each of them spends ~130 bytes on names and base64 around a
// few bytes of data. A batch is one binary message:
//
//	u8 version (2), then records until the end of the message
//	record 1 (any event):  uvarint len, then the event's JSON (as in text form, "reply" included)
//	record 2 (a run of recvs): uvarint count, then count headers, each
//	                       uvarint seq, uvarint t, uvarint t-start, uvarint call,
//	                       uvarint parent, u8 flags (bit 0: auto),
//	                       uvarint len + socket id (ASCII),
//	                       uvarint bufsize, uvarint n;
//	                       then the bytes of all count recvs, one after another
//
// A recv of a record 2 stands for {"seq","t","start","call","parent","sock",
// "op":"recv","args":{"bufsize"},"ok":true,"result":{"n","b64"},"auto"},
// zero fields omitted as in JSON. Only an event of exactly that shape goes
// in a record 2; any other event, and a recv that answers this client's op
// (it carries "reply"), goes as a record 1, so nothing is ever lost in the
// compact form.
//
// A run's bytes come after all its headers so that they are one stretch of
// the message: autorecv keeps a fast stream's recvs side by side in memory
// (sockets.Batch.Payloads), and such a stretch is written from there as it
// is, never copied into the message.
const (
	wireVersion = 2
	recJSON     = 1
	recRecvs    = 2
)

// borrowMin is the least a stretch of bytes must be to be written from the
// log's memory as a frame of its own; a smaller one is copied into the
// message, since a frame costs a system call or two.
const borrowMin = 32 << 10

// wireBatch builds one binary batch and writes it. One per connection: it
// keeps its memory from one batch to the next.
type wireBatch struct {
	buf    []byte     // the message, except the borrowed stretches
	hdrs   []byte     // the current run's headers
	parts  []wirePart // the borrowed stretches, in order
	pieces [][]byte   // scratch for Batch.Payloads
	js     []byte     // scratch for a record 1's JSON
}

// wirePart is a stretch of bytes written from the log's memory, in the
// message at buf offset at.
type wirePart struct {
	at   int
	data []byte
}

// fill makes a batch of as many of evs as fit in about limit bytes (at
// least one) for client conn, and says how many.
func (b *wireBatch) fill(batch sockets.Batch, conn uint64, limit int) int {
	evs := batch.Events()
	b.drop()
	b.buf = append(b.buf[:0], wireVersion)
	b.hdrs = b.hdrs[:0]
	size := len(b.buf) // of the whole message, borrowed stretches too
	sent, run := 0, 0  // evs[run:sent] is the run not yet in buf
	for sent < len(evs) {
		ev := &evs[sent]
		if compactRecv(ev, conn) {
			before := len(b.hdrs)
			b.hdrs = appendRecvHeader(b.hdrs, ev)
			grow := len(b.hdrs) - before + len(ev.Result.Data)
			if sent == run {
				grow += 1 + binary.MaxVarintLen32 // the record's kind and count
			}
			if sent > 0 && size+grow > limit {
				b.hdrs = b.hdrs[:before] // it goes first in the next message
				break
			}
			size += grow
			sent++
			continue
		}
		b.endRun(batch, run, sent)
		run = sent
		before := len(b.buf)
		b.buf = b.appendJSONRecord(batch, sent, conn)
		if sent > 0 && size+len(b.buf)-before > limit {
			b.buf = b.buf[:before]
			break
		}
		size += len(b.buf) - before
		sent++
		run = sent
	}
	b.endRun(batch, run, sent)
	return sent
}

// endRun puts the run of compact recvs [from, to) of batch, whose headers
// are in hdrs, in the message as one record 2.
func (b *wireBatch) endRun(batch sockets.Batch, from, to int) {
	if from == to {
		return
	}
	b.buf = append(b.buf, recRecvs)
	b.buf = binary.AppendUvarint(b.buf, uint64(to-from))
	b.buf = append(b.buf, b.hdrs...)
	b.hdrs = b.hdrs[:0]
	b.pieces = batch.Payloads(b.pieces[:0], from, to)
	for _, p := range b.pieces {
		if len(p) >= borrowMin {
			b.parts = append(b.parts, wirePart{at: len(b.buf), data: p})
		} else {
			b.buf = append(b.buf, p...)
		}
	}
	clear(b.pieces)
}

// write sends the batch as one message: at once when it is all in buf,
// else as frames, the borrowed stretches straight from the log's memory.
func (b *wireBatch) write(ctx context.Context, c *websocket.Conn) error {
	defer b.drop()
	if len(b.parts) == 0 {
		return c.Write(ctx, websocket.MessageBinary, b.buf)
	}
	w, err := c.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		return err
	}
	at := 0
	for _, p := range b.parts {
		if p.at > at {
			if _, err := w.Write(b.buf[at:p.at]); err != nil {
				return err
			}
		}
		if _, err := w.Write(p.data); err != nil {
			return err
		}
		at = p.at
	}
	if at < len(b.buf) {
		if _, err := w.Write(b.buf[at:]); err != nil {
			return err
		}
	}
	return w.Close()
}

// drop lets go of the borrowed stretches, so an idle connection does not
// hold the log's memory, and of a buffer one huge event made huge.
func (b *wireBatch) drop() {
	clear(b.parts)
	b.parts = b.parts[:0]
	b.buf = keepSmall(b.buf)
}

// appendRecvHeader appends a recv's header in a record 2.
func appendRecvHeader(buf []byte, ev *sockets.Event) []byte {
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
	return binary.AppendUvarint(buf, uint64(len(ev.Result.Data)))
}

// appendJSONRecord appends event i of batch as a record 1 to the message.
// Its JSON is made in scratch memory first, as its length comes before
// it: a big one's written there, not kept by the log (see appendEvent).
func (b *wireBatch) appendJSONRecord(batch sockets.Batch, i int, conn uint64) []byte {
	b.js = appendEvent(b.js[:0], batch, i, conn)
	buf := append(b.buf, recJSON)
	buf = binary.AppendUvarint(buf, uint64(len(b.js)))
	buf = append(buf, b.js...)
	b.js = keepSmall(b.js)
	return buf
}

// compactRecv reports whether ev is a plain recv that a record 2 carries
// whole: every field it does not carry must be zero. (A test sets each
// field of Event, Args and Result in turn to keep this list complete.)
func compactRecv(ev *sockets.Event, conn uint64) bool {
	if ev.Op != "recv" || !ev.OK || ev.Error != nil || ev.Origin != nil || ev.Seq < 0 || ev.Start < 0 || ev.T < ev.Start || ev.Call < 0 || ev.Parent < 0 {
		return false
	}
	if len(ev.Reply) > 0 && ev.Conn == conn && conn != 0 {
		return false
	}
	for i := 0; i < len(ev.Sock); i++ {
		if ev.Sock[i] >= 0x80 {
			return false
		}
	}
	a, r := ev.Args, ev.Result
	if a == nil || a.Bufsize == nil || *a.Bufsize < 0 || r == nil || r.N == nil || *r.N != len(r.Data) || *r.N == 0 {
		return false
	}
	argsRest := a.Family == "" && a.Type == "" && a.Addr == "" && a.Backlog == nil && !a.Timeout.Set &&
		a.Flag == nil && a.How == nil && a.Data == nil && a.On == nil && a.Chunk == nil && a.Delay == nil &&
		a.Level == "" && a.Name == "" && a.Value == nil && a.Host == "" && a.Port == nil && a.Requested == nil &&
		a.More == nil
	resultRest := r.Sock == "" && r.Family == "" && r.Type == "" && r.Local == "" && r.Peer == "" && r.Mode == "" &&
		r.Timeout == nil && r.On == nil && r.Bufsize == 0 && !r.EOF && r.Note == "" && r.Addr == "" &&
		!r.Truncated && r.Size == 0 && r.Value == nil && r.AddrInfo == nil && r.Stats == nil && r.Ready == nil
	return argsRest && resultRest
}
