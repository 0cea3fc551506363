package sockets

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stoppedClock is a clock that never moves: a rate limit under test then
// refills nothing, however slow the machine.
func stoppedClock() func() time.Time {
	t0 := time.Now()
	return func() time.Time { return t0 }
}

// wantLimit fails unless ev is a limit's OSError naming its flag.
func wantLimit(t *testing.T, ev Event, flag string) {
	t.Helper()
	if ev.OK || ev.Error == nil || ev.Error.Exc != "OSError" || !strings.Contains(ev.Error.Msg, flag) {
		t.Fatalf("%s: want OSError naming %s, got ok=%v %+v", ev.Op, flag, ev.OK, ev.Error)
	}
}

// fullListener is the address of a loopback listener that never accepts,
// with backlog 0 and its one place in the queue taken: every connect to it
// stays in progress (SYN_SENT) until it is closed or gives up.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*unix.SockaddrInet4).Port)
	c, err := net.Dial("tcp", addr) // the queue's one place
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return addr
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
		s, _ := newTestManager(t, Config{MaxOpsPerSec: 5, Clock: stoppedClock()}).Create()
		for i := 0; i < 5; i++ {
			if err := s.Admit(); err != nil {
				t.Fatalf("op %d of a burst of 5: %v", i+1, err)
			}
		}
		err := s.Admit()
		if err == nil || !strings.Contains(err.Error(), "-max-ops-per-sec") || !strings.Contains(err.Error(), "5 a second") {
			t.Fatalf("sixth op in the same second: %v", err)
		}
		if last := s.LastSeq(); last != 0 {
			t.Fatalf("admission logged %d events", last)
		}
	})
	t.Run("send bytes a second", func(t *testing.T) {
		now := time.Now()
		s, _ := newTestManager(t, Config{MaxSendBytesPerSec: 10, Clock: func() time.Time { return now }}).Create()
		id := newSock(t, s, "inet", "dgram")
		mustOK(t, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
		to := stateOf(t, s, id).Local
		wantLimit(t, do(t, s, op("sendto", id, Args{Addr: to, Data: text("eleven byte")})), "at most 10 bytes a second")
		// Ops refused for their arguments spend nothing.
		if ev := do(t, s, op("sendto", id, Args{Data: text("ten bytes!")})); ev.OK || ev.Error.Exc != "TypeError" {
			t.Fatalf("sendto without an address: %+v", ev.Error)
		}
		if ev := do(t, s, op("sendchunks", id, Args{Data: text("ten bytes!")})); ev.OK || ev.Error.Exc != "ValueError" {
			t.Fatalf("sendchunks without a chunk: %+v", ev.Error)
		}
		mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text("six b.")}))
		wantLimit(t, do(t, s, op("sendto", id, Args{Addr: to, Data: text("six b.")})), "sending too fast")
		mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text("four")}))
		now = now.Add(600 * time.Millisecond) // 6 bytes' worth come back
		mustOK(t, s, op("sendto", id, Args{Addr: to, Data: text("six b.")}))
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
		recv := s.Submit(op("recv", a, Args{Bufsize: ip(1)}), Submitter{})
		queued := s.Submit(op("connect", a, Args{Addr: ln.Addr().String()}), Submitter{})
		awaitState(t, s, "2 pending", func(st State) bool { return len(st.Pending) == 2 })
		b := newSock(t, s, "inet", "stream")
		wantLimit(t, do(t, s, op("connect", b, Args{Addr: ln.Addr().String()})), "-max-pending-connects")
		mustOK(t, s, op("close", a, Args{}))
		<-recv
		<-queued
		mustOK(t, s, op("connect", b, Args{Addr: ln.Addr().String()}))
	})
	t.Run("pieces of one sendchunks", func(t *testing.T) {
		s, _ := newTestManager(t, Config{}).Create()
		id := newSock(t, s, "inet", "dgram")
		ev := do(t, s, op("sendchunks", id, Args{Data: &Data{Text: new("x"), Repeat: ip(MaxChunks + 1)}, Chunk: ip(1)}))
		if ev.OK || ev.Error.Exc != "ValueError" || !strings.Contains(ev.Error.Msg, "use a bigger chunk") {
			t.Fatalf("sendchunks of %d one-byte pieces: %+v", MaxChunks+1, ev.Error)
		}
		if n := s.LastSeq(); n != 2 {
			t.Fatalf("%d events: the refused sendchunks made some", n)
		}
	})
	t.Run("non-blocking connects in progress", func(t *testing.T) {
		addr := fullListener(t)
		s, _ := newTestManager(t, Config{MaxPendingConnects: 2}).Create()
		var started []string
		refused := false
		for i := 0; i < 8 && !refused; i++ {
			id := newSock(t, s, "inet", "stream")
			mustOK(t, s, op("settimeout", id, Args{Timeout: Timeout{Set: true}}))
			ev := do(t, s, op("connect", id, Args{Addr: addr}))
			switch {
			case ev.OK:
			case ev.Error.Errno == "EINPROGRESS":
				started = append(started, id)
			case strings.Contains(ev.Error.Msg, "-max-pending-connects"):
				refused = true
			default:
				t.Fatalf("connect: %+v", ev.Error)
			}
		}
		// The first ones complete through the listener's queue; the
		// rest stay in progress. No more than 2 may be at once.
		inProgress := 0
		for _, id := range started {
			if ev := do(t, s, op("getpeername", id, Args{})); !ev.OK {
				inProgress++
			}
		}
		if !refused || inProgress > 2 {
			t.Fatalf("%d connects in progress at once (refused one: %v) under -max-pending-connects 2", inProgress, refused)
		}
	})
	t.Run("concurrent connects", func(t *testing.T) {
		// Connects submitted all at once must not all slip past the
		// count before any of them is pending. The listener never
		// accepts and its queue is full: every connect that gets in
		// stays pending.
		addr := fullListener(t)
		const limit, burst = 2, 8
		s, _ := newTestManager(t, Config{MaxPendingConnects: limit}).Create()
		ids := make([]string, burst)
		for i := range ids {
			ids[i] = newSock(t, s, "inet", "stream")
		}
		got := make(chan Event, burst)
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				got <- <-s.Submit(op("connect", id, Args{Addr: addr}), Submitter{})
			})
		}
		// Those refused answer at once; those admitted never answer.
		deadline := time.After(10 * time.Second)
		for refused := 0; refused < burst-limit; refused++ {
			select {
			case ev := <-got:
				wantLimit(t, ev, "-max-pending-connects")
			case <-deadline:
				t.Fatalf("%d of %d connects refused under -max-pending-connects %d; the rest got in", refused, burst, limit)
			}
		}
		st := awaitState(t, s, "the admitted connects pending", func(st State) bool { return len(st.Pending) >= limit })
		if len(st.Pending) != limit {
			t.Fatalf("%d connects pending under -max-pending-connects %d", len(st.Pending), limit)
		}
		s.Close()
		wg.Wait()
	})
}
