package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

var connIDs atomic.Uint64

var errReadOnly = errors.New("this is a watch link: watchers see the session but cannot run ops")

// batch bounds how many events one pass of the writer sends before it
// checks for state and direct replies again; bigBatch is the bound for a
// client that takes arrays of events.
const (
	batch      = 256
	bigBatch   = 16384
	batchBytes = 1 << 20
)

// keepSmall returns buf, or nil if one huge message made it huge: a
// connection's buffer must not keep that memory while it idles.
func keepSmall(buf []byte) []byte {
	if cap(buf) > 4*batchBytes {
		return nil
	}
	return buf
}

// websocket bridges one browser to a session. The client sends ops (with
// "id"); the server sends every event in seq order from ?since=N, plus
// control messages (they have "type"): hello, state, error, gap, ended.
//
// One goroutine (this one) writes; it walks the session's log with its own
// cursor, so nothing is queued per client and nothing can be lost or
// reordered. The reader goroutine only submits ops, and hands decoding
// errors to the writer through a small bounded channel.
func (h *handler) websocket(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	since, ok := sinceParam(w, r, s)
	if !ok {
		return
	}
	h.stream(w, r, s, since, false)
}

// watchWebsocket is a watch link's WebSocket: the same stream, read-only.
func (h *handler) watchWebsocket(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	since, ok := sinceParam(w, r, s)
	if !ok {
		return
	}
	h.stream(w, r, s, since, true)
}

// stream serves one WebSocket of session s from since: the owner's (ops
// allowed, it sets autorecv's pace) or a watcher's (read-only; one that
// falls MaxWatcherLag events behind the live session is closed with 1008
// and resumes from the log when it reconnects, so it never holds anyone
// up).
func (h *handler) stream(w http.ResponseWriter, r *http.Request, s *sockets.Session, since int64, watcher bool) {
	// ?batch=1: events go as JSON arrays, up to a batch a message; a page
	// loading 100,000 events would otherwise pay for 100,000 messages.
	// ?format=bin: batches go as binary messages (see wire.go), control
	// messages stay JSON text.
	binaryFrames, batched, ferr := wireFormat(r)
	if ferr != nil {
		writeError(w, codeBadRequest, ferr.Error())
		return
	}
	// ?replies=1: only the answers to this client's own ops (and its
	// error messages), no other event and no state: a program's worker
	// waits for its answers and nothing else, and every other message
	// would cost it (and its page) a wake-up per op. It reads no events,
	// so it is no viewer and never sets autorecv's pace.
	// ?pace=MS: while events keep coming, at most one write of them
	// every MS milliseconds (a quiet session's first event goes at once):
	// a page draws once a frame, and a message per event of a fast
	// program would cost its main thread more than it shows.
	repliesOnly, pace, perr := streamOptions(r, watcher, binaryFrames || batched)
	if perr != nil {
		writeError(w, codeBadRequest, perr.Error())
		return
	}
	// The Origin has been checked (requireOrigin) against the host the
	// browser named and the public URL; the library's own check knows
	// only the Host header, which a proxy in front may have rewritten.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		h.log.Info("websocket accept failed", "err", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(h.cfg.MaxMessage)
	var viewer *sockets.Viewer
	switch {
	case repliesOnly:
	case watcher:
		if viewer, err = s.AttachWatcher(since); err != nil {
			h.refuseWatcher(r.Context(), c, err)
			return
		}
	default:
		viewer = s.Attach(since)
	}
	if viewer != nil {
		defer viewer.Detach()
	}
	conn := connIDs.Add(1)
	log := h.log.With("session", s.ID(), "conn", conn, "watcher", watcher)
	log.Debug("websocket open", "since", since)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	direct := make(chan controlMsg, 32)
	go h.readOps(ctx, cancel, c, s, conn, direct, watcher, log)

	write := func(typ websocket.MessageType, b []byte) error {
		wctx, wcancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
		defer wcancel()
		return c.Write(wctx, typ, b)
	}
	writeMsg := func(m controlMsg) error {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return write(websocket.MessageText, b)
	}
	hello := controlMsg{Type: "hello", Session: s.ID(), Since: &since}
	if watcher {
		hello.Session, hello.Watching = "", true // the id would let a watcher run ops
	}
	if err := writeMsg(hello); err != nil {
		return
	}
	// A page is told when its node drains, and by when its session will
	// end; a client that takes only its replies is not.
	drainAt, drainChanged := h.cfg.Drain.State()
	if repliesOnly {
		drainChanged = nil
	} else if !drainAt.IsZero() {
		if err := writeMsg(h.drainNotice(drainAt)); err != nil {
			return
		}
	}
	cursor := since
	// A watcher is held to the lag limit only once it has read the
	// history there was when it came: loading a long session is not
	// falling behind.
	history := s.LastSeq()
	// state is what this client is shown of the session: a watcher never
	// sees the id, which lets its holder run ops.
	state := func() *sockets.State {
		st := s.SharedState()
		if watcher {
			st.ID = ""
		}
		return &st
	}
	sentVersion := ^uint64(0)
	var lastWrite time.Time
	var buf []byte
	var wire wireBatch
	ending := false
	for {
		changed := s.Changed()
		n := batch
		if batched {
			// A client far behind (a page loading a long session) gets
			// bigger messages: fewer of them is what makes it fast.
			n = bigBatch
		}
		if watcher && tooFarBehind(history, cursor, s.LastSeq(), h.cfg.MaxWatcherLag) {
			log.Info("watcher too slow: closing it", "behind", s.LastSeq()-cursor)
			c.Close(websocket.StatusPolicyViolation, "too slow: this watcher fell too far behind; reconnect to resume")
			return
		}
		// Borrowed: their bytes may be autorecv's to reuse once given
		// back, so the release comes right after the write and never
		// later. The byte budget is the log's estimate of memory, several
		// times an event's wire size: it only stops a read from copying
		// thousands of big events to send a few.
		b := s.Borrow(cursor, n, 16*batchBytes)
		evs := b.Events()
		if len(evs) > 0 && evs[0].Seq > cursor+1 {
			// Dropped from memory past the event-log limit: say so,
			// never skip in silence.
			if err := writeMsg(controlMsg{Type: "gap", From: cursor + 1, To: evs[0].Seq - 1}); err != nil {
				b.Release()
				return
			}
		}
		// More to send now, if the read stopped at its count or its byte
		// budget before the end of the log.
		more := len(evs) > 0 && (len(evs) == n || evs[len(evs)-1].Seq < s.LastSeq())
		if len(evs) > 0 {
			oldest, oldestT := evs[0].Seq, evs[0].T
			// A message stops near batchBytes (with at least one event):
			// it must stay writable within WriteTimeout even to a slow
			// client, or it would time out at the same place forever.
			var sent int
			switch {
			case binaryFrames:
				wctx, wcancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
				sent = wire.fill(b, conn, batchBytes)
				err = wire.write(wctx, c)
				wcancel()
			case batched:
				wctx, wcancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
				buf, sent, err = writeBatch(wctx, c, buf[:0], b, conn)
				wcancel()
			case repliesOnly:
				for ; sent < len(evs) && err == nil; sent++ {
					if ev := &evs[sent]; ev.Conn == conn && len(ev.Reply) > 0 {
						buf = appendEvent(buf[:0], b, sent, conn)
						err = write(websocket.MessageText, buf)
					}
				}
			default: // one event a message
				for ; sent < len(evs) && err == nil; sent++ {
					buf = appendEvent(buf[:0], b, sent, conn)
					err = write(websocket.MessageText, buf)
				}
			}
			if sent > 0 {
				cursor = evs[sent-1].Seq
			}
			b.Release()
			if err != nil {
				log.Debug("writing events", "err", err)
				return
			}
			lastWrite = time.Now()
			if oldest > history {
				// Live events, logged since the client came: how late
				// it gets them is the lag; the history it loads is not.
				h.cfg.Meter.WriteLag(time.Duration(s.Now()-oldestT) * time.Microsecond)
			}
			if viewer != nil {
				viewer.Advance(cursor)
			}
			more = more || sent < len(evs)
			buf = keepSmall(buf)
		}
		if more {
			continue
		}
		if ending {
			// Every event is out: only now say the session is over.
			_ = writeMsg(controlMsg{Type: "ended", State: state()})
			c.Close(websocket.StatusGoingAway, "session ended")
			return
		}
		if v := s.Version(); v != sentVersion && !repliesOnly {
			st := state()
			if err := writeMsg(controlMsg{Type: "state", State: st}); err != nil {
				return
			}
			sentVersion = st.Version
		}
		select {
		case <-changed:
			if wait := pace - time.Since(lastWrite); pace > 0 && wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-s.Done():
					ending = true
				case <-ctx.Done():
					t.Stop()
					c.Close(websocket.StatusNormalClosure, "")
					return
				}
				t.Stop()
			}
		case m := <-direct:
			if err := writeMsg(m); err != nil {
				return
			}
		case <-drainChanged:
			drainAt, drainChanged = h.cfg.Drain.State()
			if err := writeMsg(h.drainNotice(drainAt)); err != nil {
				return
			}
		case <-s.Done():
			// The session's last events (pending calls ended by the close)
			// may not be sent yet: send them, then "ended".
			ending = true
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

// readOps reads ops from the client and submits them in arrival order.
// A watcher's ops are answered with an error and never run.
func (h *handler) readOps(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, s *sockets.Session, conn uint64, direct chan<- controlMsg, watcher bool, log interface{ Debug(string, ...any) }) {
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				log.Debug("websocket read ended", "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "send ops as JSON text messages")
			return
		}
		op, err := decodeOp(b)
		code := codeBadRequest
		if err == nil && watcher {
			err, code = errReadOnly, codeReadOnly
		}
		if err == nil {
			if lerr := s.Admit(); lerr != nil {
				err, code = lerr, codeRateLimited
			}
		}
		if err != nil {
			m := controlMsg{Type: "error", Reply: op.ID, Error: &apiError{Code: code, Msg: err.Error()}}
			select {
			case direct <- m:
			case <-time.After(time.Second):
				// The client floods us with garbage faster than we can
				// answer; it is not a client worth keeping.
				c.Close(websocket.StatusPolicyViolation, "too many bad messages")
				return
			}
			continue
		}
		s.Submit(op.Op, sockets.Submitter{Conn: conn, Reply: op.ID})
	}
}

// wireFormat reads how the client wants its events: one JSON text message
// each (the default), JSON arrays (?batch=1), or binary batches
// (?format=bin, which batches too).
func wireFormat(r *http.Request) (binaryFrames, batched bool, err error) {
	q := r.URL.Query()
	switch q.Get("format") {
	case "", "json":
	case "bin":
		return true, true, nil
	default:
		return false, false, errors.New(`format must be "json" or "bin"`)
	}
	switch q.Get("batch") {
	case "", "0":
		return false, false, nil
	case "1":
		return false, true, nil
	}
	return false, false, errors.New(`batch must be 0 or 1`)
}

// maxPace bounds ?pace: longer, and a page would stop looking live.
const maxPace = time.Second

// streamOptions reads ?replies=1 and ?pace=MS (see stream). Replies go
// one a message, to an owner: a watcher runs no ops, and a batch of
// nothing but one's own answers is no batch.
func streamOptions(r *http.Request, watcher, batched bool) (repliesOnly bool, pace time.Duration, err error) {
	q := r.URL.Query()
	switch q.Get("replies") {
	case "", "0":
	case "1":
		if watcher || batched {
			return false, 0, errors.New("replies=1 is for a client that runs ops (not a watch link), one event a message (no batch or format)")
		}
		repliesOnly = true
	default:
		return false, 0, errors.New("replies must be 0 or 1")
	}
	if v := q.Get("pace"); v != "" {
		ms, perr := strconv.Atoi(v)
		if perr != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxPace {
			return false, 0, fmt.Errorf("pace must be milliseconds from 0 to %d, not %q", maxPace.Milliseconds(), v)
		}
		pace = time.Duration(ms) * time.Millisecond
	}
	return repliesOnly, pace, nil
}

// pieceBytes is how much of a message is made before it is written, as a
// frame of its own: small enough to be still in the CPU's cache when the
// kernel copies it out, big enough that a frame's system calls are few.
const pieceBytes = 128 << 10

// writeBatch writes the batch's events as one JSON array message, up to
// the one that takes it past batchBytes, and says how many it wrote. Each
// event's JSON is made into buf (see appendEvent) and written from there a
// piece at a time, so the message is never a copy of what the log keeps,
// nor all in memory at once; it is at most one event past batchBytes. It
// returns buf for the next message.
func writeBatch(ctx context.Context, c *websocket.Conn, buf []byte, b sockets.Batch, conn uint64) ([]byte, int, error) {
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return buf, 0, err
	}
	buf = append(buf[:0], '[')
	written, sent := 0, 0
	for i := range b.Len() {
		if sent > 0 {
			if written+len(buf) >= batchBytes {
				break // the rest go in the next message
			}
			buf = append(buf, ',')
		}
		buf = appendEvent(buf, b, i, conn)
		sent++
		if len(buf) >= pieceBytes {
			if _, err := w.Write(buf); err != nil {
				return buf, sent, err
			}
			written += len(buf)
			buf = buf[:0]
		}
	}
	if _, err := w.Write(append(buf, ']')); err != nil {
		return buf, sent, err
	}
	return buf, sent, w.Close()
}

// tooFarBehind says whether a watcher at cursor, with the log at last, is
// too far behind and should be closed: only once it has read the history
// there was when it came (history), so that loading a long session is
// never taken for falling behind.
func tooFarBehind(history, cursor, last int64, maxLag int) bool {
	return cursor >= history && last-cursor > int64(maxLag)
}
