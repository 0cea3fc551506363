package sockets

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// wantLimit fails unless ev is a limit's OSError naming its flag.
func wantLimit(t *testing.T, ev Event, flag string) {
	t.Helper()
	if ev.OK || ev.Error == nil || ev.Error.Exc != "OSError" || !strings.Contains(ev.Error.Msg, flag) {
		t.Fatalf("%s: want OSError naming %s, got ok=%v %+v", ev.Op, flag, ev.OK, ev.Error)
	}
}

func TestLimits(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		m := newTestManager(t, Config{MaxSessions: 2})
		a, _ := m.Create()
		if _, err := m.Create(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Create(); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("third session: %v, want ErrTooManySessions", err)
		}
		m.End(a.ID())
		if _, err := m.Create(); err != nil {
			t.Fatalf("after one ended: %v", err)
		}
	})
	t.Run("ops a second", func(t *testing.T) {
		s, _ := newTestManager(t, Config{MaxOpsPerSec: 5}).Create()
		for i := 0; i < 5; i++ {
			if err := s.Admit(); err != nil {
				t.Fatalf("op %d of a burst of 5: %v", i+1, err)
			}
		}
		err := s.Admit()
		if err == nil || !strings.Contains(err.Msg, "-max-ops-per-sec") || !strings.Contains(err.Msg, "5 a second") {
			t.Fatalf("sixth op in the same second: %v", err)
		}
		if last := s.LastSeq(); last != 0 {
			t.Fatalf("admission logged %d events", last)
		}
	})
	t.Run("send bytes a second", func(t *testing.T) {
		s, _ := newTestManager(t, Config{MaxSendBytesPerSec: 10}).Create()
		id := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
		to := stateOf(t, s, id).Local
		wantLimit(t, do(t, s, op("sendto", id, Args{Addr: to, Data: text("eleven byte")})), "at most 10 bytes a second")
		mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text("six b.")}))
		wantLimit(t, do(t, s, op("sendto", id, Args{Addr: to, Data: text("six b.")})), "sending too fast")
		mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text("four")}))
	})
	t.Run("pending connects", func(t *testing.T) {
		s, _ := newTestManager(t, Config{MaxPendingConnects: 1}).Create()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a := newSock(t, s, "inet", "stream")
		mustOK(t, s, op("connect", a, Args{Addr: ln.Addr().String()}))
		// A connect queued behind a blocking recv stays pending.
		recv := s.Submit(op("recv", a, Args{Bufsize: ip(1)}), Origin{})
		queued := s.Submit(op("connect", a, Args{Addr: ln.Addr().String()}), Origin{})
		for n := 0; n < 2; {
			n = len(s.State().Pending)
			if n < 2 {
				<-s.Changed()
			}
		}
		b := newSock(t, s, "inet", "stream")
		wantLimit(t, do(t, s, op("connect", b, Args{Addr: ln.Addr().String()})), "-max-pending-connects")
		mustOK(t, s, op("close", a, Args{}))
		<-recv
		<-queued
		mustOK(t, s, op("connect", b, Args{Addr: ln.Addr().String()}))
	})
}
