package web

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// offsetSource writes an endless stream in which every 8-byte word, at a
// multiple of 8, is its own offset (little-endian): any stretch of it says
// where in the stream it is.
func offsetSource(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conn atomic.Pointer[net.Conn]
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conn.Store(&c)
		buf := make([]byte, 64<<10)
		for off := uint64(0); ; off += uint64(len(buf)) {
			for i := 0; i < len(buf); i += 8 {
				binary.LittleEndian.PutUint64(buf[i:], off+uint64(i))
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		if c := conn.Load(); c != nil {
			(*c).Close()
		}
		<-done
	})
	return ln.Addr().String()
}

// whereInStream returns the offset at which data sits in offsetSource's
// stream, or an error if it is not one stretch of it.
func whereInStream(data []byte) (int64, error) {
	for a := 0; a < 8 && a+8 <= len(data); a++ {
		w := binary.LittleEndian.Uint64(data[a:])
		if w%8 != 0 || w < uint64(a) || w > 1<<62 {
			continue
		}
		start := int64(w) - int64(a)
		ok := true
		for i := range data {
			p := start + int64(i)
			if data[i] != byte(uint64(p-p%8)>>(8*(p%8))) {
				ok = false
				break
			}
		}
		if ok {
			return start, nil
		}
	}
	return 0, fmt.Errorf("%d bytes that are not one stretch of the stream", len(data))
}

// recvChecker follows one client's recvs of a stream from offsetSource.
type recvChecker struct {
	name   string
	end    int64 // where the last recv ended in the stream
	gap    bool  // a gap message since the last recv
	gaps   int
	events int
}

// message checks one WebSocket message; gaps says whether the client may
// be told of dropped events.
func (k *recvChecker) message(typ websocket.MessageType, b []byte, gaps bool) error {
	if typ == websocket.MessageText {
		var m struct{ Type string }
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		if m.Type == "gap" {
			if !gaps {
				return fmt.Errorf("%s: told of a gap", k.name)
			}
			k.gap = true
			k.gaps++
		}
		return nil
	}
	return readWireBatch(b, func(r *wireRecord) error {
		if r.JSON != nil || len(r.Data) == 0 {
			return nil // not a recv of the stream
		}
		start, err := whereInStream(r.Data)
		if err != nil {
			return fmt.Errorf("%s: recv seq %d: %v", k.name, r.Seq, err)
		}
		if start != k.end && !(k.gap && start > k.end) {
			return fmt.Errorf("%s: recv seq %d starts at byte %d of the stream, want %d (gap told: %v)", k.name, r.Seq, start, k.end, k.gap)
		}
		k.end, k.gap = start+int64(len(r.Data)), false
		k.events++
		return nil
	})
}

// TestSlowWatcherGetsWholeRecvs: a watcher that stops reading in the middle
// of a message, while the owner's tab streams on and the log drops the
// events of that message, still gets every byte of them as it was:
// autorecv does not recv into memory a WebSocket is still writing from.
func TestSlowWatcherGetsWholeRecvs(t *testing.T) {
	const logBytes = 2 << 20
	e := newEnvWith(t, sockets.Config{MaxLogBytes: logBytes})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id := e.newSession(t)
	owner := dialBinary(ctx, t, e, "/api/sessions/"+id+"/ws")
	watcher := dialBinary(ctx, t, e, "/api/watch/"+watchLinkOf(t, e.srv.URL, id).Token+"/ws")

	// The owner's tab reads all the time, so autorecv goes on; it reports
	// how far into the stream it has got.
	ownerAt := make(chan int64, 1)
	ownerErr := make(chan error, 1)
	go func() {
		k := &recvChecker{name: "owner"}
		for {
			typ, b, err := owner.Read(ctx)
			if err == nil {
				err = k.message(typ, b, false)
			}
			if err != nil {
				ownerErr <- err
				return
			}
			select {
			case <-ownerAt:
			default:
			}
			ownerAt <- k.end
		}
	}()
	awaitOwner := func(goal int64) {
		t.Helper()
		for {
			select {
			case at := <-ownerAt:
				if at >= goal {
					return
				}
			case err := <-ownerErr:
				t.Fatal(err)
			}
		}
	}

	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+offsetSource(t)+`"}`)
	e.ok(t, id, `{"op":"autorecv","sock":"s1","bufsize":65536}`)

	// The watcher reads nothing while the owner gets through many times
	// the log: its writer fills the kernel's buffers and stops in the
	// middle of a message whose events the log then drops.
	awaitOwner(64 << 20)
	k := &recvChecker{name: "watcher"}
	for k.end < 64<<20 {
		typ, b, err := watcher.Read(ctx)
		if err != nil {
			t.Fatalf("watcher: %v after %d recvs", err, k.events)
		}
		if err := k.message(typ, b, true); err != nil {
			t.Fatal(err)
		}
	}
	if k.gaps == 0 {
		t.Fatal("the watcher was never told of a gap: it never fell behind the log, and the test proves nothing")
	}
	select {
	case err := <-ownerErr:
		t.Fatal(err)
	default:
	}
}
