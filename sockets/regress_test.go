package sockets

import (
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/internal/testkit"
)

// Regression tests: each would have caught a bug found in review.

// waitReadable blocks until the kernel has data for sock: it awaits the
// data's arrival instead of sleeping a guess.
func waitReadable(t *testing.T, s *Session, sock string) {
	t.Helper()
	k := s.socket(sock)
	var n int
	var err error
	k.rc.Control(func(fd uintptr) {
		n, err = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10_000)
	})
	if err != nil || n != 1 {
		t.Fatalf("%s never became readable: %d %v", sock, n, err)
	}
}

func awaitPending(t *testing.T, s *Session, n int) {
	t.Helper()
	awaitState(t, s, "pending calls", func(st State) bool { return len(st.Pending) == n })
}

// close must not wait for an autorecv queued behind a recv that only the
// close itself can end.
func TestCloseWithQueuedAutorecv(t *testing.T) {
	s := newTestSession(t)
	id := connected(t, s, testkit.SilentServer(t))
	recv := s.Submit(op("recv", id, Args{Bufsize: ip(4)}), Submitter{})
	awaitPending(t, s, 1)
	mustOK(t, s, op("autorecv", id, Args{}))
	mustOK(t, s, op("close", id, Args{}))
	wantErr(t, <-recv, "OSError", "EBADF")
}

// Stopping an autorecv that has not started must not touch the recv that
// holds the read lane.
func TestAutorecvOffLeavesPendingRecv(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	recv := s.Submit(op("recv", id, Args{Bufsize: ip(16)}), Submitter{})
	awaitPending(t, s, 1)
	mustOK(t, s, op("autorecv", id, Args{}))
	mustOK(t, s, op("autorecv", id, Args{On: bp(false)}))
	mustOK(t, s, op("send", id, Args{Data: text("hi")}))
	if ev := <-recv; !ev.OK || string(ev.Result.Data) != "hi" {
		t.Fatalf("pending recv got %+v %v, want b'hi'", ev.Result, ev.Error)
	}
}

// A timeout's expired deadline must not leak into later calls.
func TestStaleDeadlines(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(0.1)}))
	wantErr(t, do(t, s, op("recv", id, Args{Bufsize: ip(8)})), "TimeoutError", "")
	mustOK(t, s, op("send", id, Args{Data: text("hello")}))
	waitReadable(t, s, id)
	mustOK(t, s, op("setblocking", id, Args{Flag: bp(false)}))
	if ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(8)})); string(ev.Result.Data) != "hello" {
		t.Fatalf("non-blocking recv with data waiting = %q", ev.Result.Data)
	}
	wantErr(t, do(t, s, op("recv", id, Args{Bufsize: ip(8)})), "BlockingIOError", "EAGAIN")

	// The write side: fill the pipe to a peer that never reads until a
	// timeout; then non-blocking sends end in EAGAIN, never in a timeout.
	w := connected(t, s, testkit.SilentServer(t))
	big := text(strings.Repeat("x", 16<<20))
	mustOK(t, s, op("settimeout", w, Args{Timeout: seconds(0.2)}))
	wantErr(t, do(t, s, op("sendall", w, Args{Data: big})), "TimeoutError", "")
	mustOK(t, s, op("setblocking", w, Args{Flag: bp(false)}))
	wantErr(t, do(t, s, op("sendall", w, Args{Data: big})), "BlockingIOError", "EAGAIN")
}

// A tiny timeout on a socket that is already readable returns the data,
// as CPython's poll-then-recv does.
func TestTinyTimeoutWithDataReady(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	mustOK(t, s, op("send", id, Args{Data: text("x")}))
	waitReadable(t, s, id)
	mustOK(t, s, op("settimeout", id, Args{Timeout: seconds(1e-9)}))
	if ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(8)})); string(ev.Result.Data) != "x" {
		t.Fatalf("recv = %q", ev.Result.Data)
	}
}

// Closing a session while socket() calls race it must leave no fd open.
func TestCloseRacesSubmit(t *testing.T) {
	m := newTestManager(t, Config{})
	before := testkit.CountLeaks(t, true)
	for i := 0; i < 200; i++ {
		s, _ := m.Create()
		var wg sync.WaitGroup
		for j := 0; j < 3; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-s.Submit(op("socket", "", Args{}), Submitter{})
			}()
		}
		m.End(s.ID())
		wg.Wait()
	}
	before.Check(t, 10*time.Second)
}

// "send, then shutdown(SHUT_WR)" must deliver every byte before the EOF.
func TestSendchunksThenShutdown(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	chunks := s.Submit(op("sendchunks", id, Args{Data: text("hello world"), Chunk: ip(4), Delay: new(0.02)}), Submitter{})
	mustOK(t, s, op("shutdown", id, Args{How: new(How(unix.SHUT_WR))}))
	if ev := <-chunks; !ev.OK || *ev.Result.N != 11 {
		t.Fatalf("sendchunks: %+v %v", ev.Result, ev.Error)
	}
	var got string
	for {
		ev := mustOK(t, s, op("recv", id, Args{Bufsize: ip(64)}))
		if ev.Result.EOF {
			break
		}
		got += string(ev.Result.Data)
	}
	if got != "hello world" {
		t.Fatalf("echo before EOF = %q", got)
	}
}

// A call keeps the mode it was made in, even while it waits its turn.
func TestQueuedCallKeepsItsMode(t *testing.T) {
	l := testkit.Labs(t)
	s := newTestSession(t)
	id := connected(t, s, l.Addr("echo"))
	a := s.Submit(op("recv", id, Args{Bufsize: ip(5)}), Submitter{})
	b := s.Submit(op("recv", id, Args{Bufsize: ip(5)}), Submitter{})
	awaitPending(t, s, 2)
	mustOK(t, s, op("setblocking", id, Args{Flag: bp(false)}))
	mustOK(t, s, op("send", id, Args{Data: text("hello")}))
	if ev := <-a; string(ev.Result.Data) != "hello" {
		t.Fatalf("first recv: %+v %v", ev.Result, ev.Error)
	}
	awaitPending(t, s, 1) // b is still waiting, as a blocking call would
	mustOK(t, s, op("send", id, Args{Data: text("world")}))
	if ev := <-b; !ev.OK || string(ev.Result.Data) != "world" {
		t.Fatalf("second recv (made in blocking mode): %+v %v", ev.Result, ev.Error)
	}
}

func TestPythonEdgeCases(t *testing.T) {
	s := newTestSession(t)
	fresh := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	closed := mustOK(t, s, op("socket", "", Args{})).Result.Sock
	mustOK(t, s, op("close", closed, Args{}))
	for _, tc := range []struct {
		name       string
		op         Op
		exc, errno string
	}{
		{"send(b'') unconnected", op("send", fresh, Args{Data: text("")}), "BrokenPipeError", "EPIPE"},
		{"sendall(b'') unconnected", op("sendall", fresh, Args{Data: text("")}), "BrokenPipeError", "EPIPE"},
		{"settimeout closed", op("settimeout", closed, Args{Timeout: seconds(1)}), "OSError", "EBADF"},
		{"setblocking closed", op("setblocking", closed, Args{Flag: bp(true)}), "OSError", "EBADF"},
		{"autorecv closed", op("autorecv", closed, Args{}), "OSError", "EBADF"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, do(t, s, tc.op), tc.exc, tc.errno) })
	}
	if ev := mustOK(t, s, op("recv", closed, Args{Bufsize: ip(0)})); *ev.Result.N != 0 {
		t.Errorf("recv(0) on a closed socket = %+v, want b''", ev.Result)
	}
}

// Concurrent socket() calls must not overshoot the per-session limit.
func TestSocketLimitUnderConcurrency(t *testing.T) {
	m := newTestManager(t, Config{MaxSockets: 5})
	s, _ := m.Create()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ev := <-s.Submit(op("socket", "", Args{}), Submitter{}); ev.OK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 5 {
		t.Fatalf("%d sockets created with a limit of 5", ok)
	}
}
