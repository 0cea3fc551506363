package web

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sockplay/sockplay/sockets"
)

// TestAppendEvent: appendEvent writes what encodeEvent gives each client,
// after what is already in the buffer: the reply only to the client whose
// op it answers, small events and big ones alike.
func TestAppendEvent(t *testing.T) {
	for _, n := range []int{3, 100_000} {
		ev := plainRecv()
		ev.Result.Data = bytes.Repeat([]byte{0xfe}, n)
		ev.Result.N = &n
		ev.Reply, ev.Conn = json.RawMessage(`"op-7"`), 5
		for _, conn := range []uint64{0, 5, 6} {
			b := sockets.BatchOf([]sockets.Event{ev})
			want := encodeEvent(sockets.BatchOf([]sockets.Event{ev}).JSON(0), &ev, conn)
			got := appendEvent([]byte("x"), b, 0, conn)
			if string(got) != "x"+string(want) {
				t.Fatalf("%d bytes, client %d: got %.120s, want x%.120s", n, conn, got, want)
			}
			if !json.Valid(got[1:]) || bytes.Contains(got, []byte(`"reply"`)) != (conn == 5) {
				t.Fatalf("%d bytes, client %d: %.120s", n, conn, got)
			}
		}
	}
	bad := sockets.Event{Op: "getsockopt", OK: true, Reply: json.RawMessage(`"r"`), Conn: 1, Result: &sockets.Result{Value: func() {}}}
	if got := appendEvent([]byte("x"), sockets.BatchOf([]sockets.Event{bad}), 0, 1); string(got) != "x" {
		t.Fatalf("an event that does not encode: got %q", got)
	}
}
