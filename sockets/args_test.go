package sockets

import (
	"strings"
	"testing"
)

// TestOpArgs: an argument an op does not take is a TypeError, named, and
// the op does not run; every op has its list.
func TestOpArgs(t *testing.T) {
	s := newTestSession(t)
	id := newSock(t, s, "inet", "dgram")
	zero := Timeout{Set: true}
	for _, tc := range []struct {
		op   Op
		want string // "" when accepted
	}{
		{op("recv", id, Args{Bufsize: ip(4), Timeout: zero}), "recv() got an unexpected argument 'timeout' (it takes bufsize; a socket's timeout is set with settimeout)"},
		{op("close", id, Args{Addr: "127.0.0.1:9"}), "close() got an unexpected argument 'addr' (it takes no arguments)"},
		{op("sendto", id, Args{Data: text("x"), Addr: "127.0.0.1:9", Chunk: ip(1)}), "sendto() got an unexpected argument 'chunk' (it takes addr, data)"},
		{op("gethostbyname", "", Args{Host: "localhost", Bufsize: ip(1)}), "gethostbyname() got an unexpected argument 'bufsize' (it takes host)"},
		{op("settimeout", id, Args{Timeout: zero}), ""},
	} {
		before := len(stateOf(t, s, id).Opts)
		ev := do(t, s, tc.op)
		if tc.want == "" {
			if !ev.OK {
				t.Errorf("%s: %v", tc.op.Op, ev.Error)
			}
			continue
		}
		if ev.OK || ev.Error.Exc != "TypeError" || !strings.Contains(ev.Error.Msg, tc.want) {
			t.Errorf("%s: got %+v, want TypeError %q", tc.op.Op, ev.Error, tc.want)
		}
		if st := stateOf(t, s, id); st.State == "closed" || len(st.Opts) != before {
			t.Errorf("%s ran although refused", tc.op.Op)
		}
	}
}
