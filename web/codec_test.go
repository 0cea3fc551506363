package web

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sockplay/sockplay/sockets"
)

// TestAppendEvent: appendEvent writes each client the event's JSON, after
// what is already in the buffer: the reply only to the client whose op it
// answers, small events and big ones alike.
func TestAppendEvent(t *testing.T) {
	for _, n := range []int{3, 100_000} {
		ev := plainRecv()
		ev.Result.Data = bytes.Repeat([]byte{0xfe}, n)
		ev.Result.N = &n
		ev.Reply, ev.Conn = json.RawMessage(`"op-7"`), 5
		for _, conn := range []uint64{0, 5, 6} {
			b := sockets.BatchOf([]sockets.Event{ev})
			noReply := ev
			noReply.Reply = nil
			want, _ := json.Marshal(noReply)
			if conn == 5 {
				want = append([]byte(`{"reply":"op-7",`), want[1:]...)
			}
			got := appendEvent([]byte("x"), b, 0, conn)
			if string(got) != "x"+string(want) {
				t.Fatalf("%d bytes, client %d: got %.120s, want x%.120s", n, conn, got, want)
			}
			if !json.Valid(got[1:]) || bytes.Contains(got, []byte(`"reply"`)) != (conn == 5) {
				t.Fatalf("%d bytes, client %d: %.120s", n, conn, got)
			}
		}
	}
	// An event that JSON cannot hold (the Go API's, never the wire's)
	// reads as what it is, and says so.
	bad := sockets.Event{Seq: 9, Op: "getsockopt", OK: true, Reply: json.RawMessage(`"r"`), Conn: 1, Result: &sockets.Result{Value: func() {}}}
	got := appendEvent([]byte("x"), sockets.BatchOf([]sockets.Event{bad}), 0, 1)
	var back struct {
		Reply string
		Seq   int64
		Op    string
		OK    bool
		Error struct{ Exc string }
	}
	if err := json.Unmarshal(got[1:], &back); err != nil || back.Reply != "r" || back.Seq != 9 || back.Op != "getsockopt" || back.OK || back.Error.Exc != "ValueError" {
		t.Fatalf("an event that does not encode: got %s (%v)", got, err)
	}
}
