package sockets

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeldEventsWakeViewers: autorecv wakes viewers when its socket runs
// dry, not at every recv, and sooner at each of its bounds (a share of the
// lag limits, and heldMicros). The peer's bytes are all in the kernel
// before the loop starts, so the socket runs dry only once they are all
// read: before that, only a bound can have woken anyone.
func TestHeldEventsWakeViewers(t *testing.T) {
	const queued = 16 << 10
	huge := 1 << 30
	for _, c := range []struct {
		name    string
		cfg     Config
		watcher bool
		bufsize int
		micros  int64
		// within: viewers must be woken once this many recvs are logged;
		// 0: only once all the queued bytes are read.
		within int
	}{
		{name: "dry", bufsize: 16},
		// A quarter of the lag limit's events, an eighth of its bytes.
		{name: "events", cfg: Config{MaxLagEvents: 32}, bufsize: 16, within: 8},
		{name: "bytes", cfg: Config{MaxLagBytes: 32 << 10}, bufsize: 1024, within: 4},
		// Two recvs a µs apart at the least; 64 recvs take longer.
		{name: "time", bufsize: 16, micros: 1, within: 64},
		// A watcher is woken for every event, as it is held to a lag.
		{name: "watcher", watcher: true, bufsize: 16, within: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Every bound but the case's own is out of reach.
			if c.cfg.MaxLagEvents == 0 {
				c.cfg.MaxLagEvents = huge
			}
			if c.cfg.MaxLagBytes == 0 {
				c.cfg.MaxLagBytes = int64(huge)
			}
			saved := heldMicros
			heldMicros = int64(huge)
			if c.micros > 0 {
				heldMicros = c.micros
			}
			// A cleanup made before the manager's runs after it has
			// closed the session, and with it the loop that reads it.
			t.Cleanup(func() { heldMicros = saved })

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			s, _ := newTestManager(t, c.cfg).Create()
			if c.watcher {
				defer mustWatch(t, s, s.LastSeq()).Detach()
			}
			id := connected(t, s, ln.Addr().String())
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			if _, err := peer.Write(make([]byte, queued)); err != nil {
				t.Fatal(err)
			}
			awaitState(t, s, "the peer's bytes queued", func(st State) bool {
				return st.Sockets[0].Stats != nil && st.Sockets[0].Stats.RecvQ == queued
			})

			// The hook runs on the loop before each recv. At the first it
			// waits for the autorecv op's own event (which wakes viewers)
			// and then takes the channel the loop's events must close;
			// later, it notes after how many recvs that channel was found
			// closed.
			opLogged := make(chan struct{})
			logged := sync.OnceFunc(func() { close(opLogged) })
			defer logged() // a failed op must not leave the loop in the hook
			taken := make(chan (<-chan struct{}), 1)
			var changed <-chan struct{}
			var calls, wokenAfter atomic.Int64
			woke := make(chan struct{})
			hook := func() {
				n := calls.Add(1)
				if n == 1 {
					<-opLogged
					changed = s.Changed()
					taken <- changed
					return
				}
				select {
				case <-changed:
					if wokenAfter.CompareAndSwap(0, n-1) {
						close(woke)
					}
				default:
				}
			}
			beforeRecv.Store(&hook)
			defer beforeRecv.Store(nil)
			mustOK(t, s, op("autorecv", id, Args{Bufsize: ip(c.bufsize)}))
			logged()

			select {
			case <-<-taken:
			case <-time.After(10 * time.Second):
				t.Fatal("viewers never woken")
			}
			if c.within == 0 {
				// Nothing but the socket running dry woke them: every
				// byte is in the log by then.
				got := 0
				for _, ev := range s.EventsAfter(0, 0) {
					if ev.Op == "recv" {
						got += len(ev.Result.Data)
					}
				}
				if got != queued {
					t.Fatalf("viewers woken with %d of the %d queued bytes logged, before the socket ran dry", got, queued)
				}
				return
			}
			// The hook sees the wake-up at the loop's next recv; one more
			// byte makes sure there is one, also for a loop that woke
			// viewers only because it ran dry.
			if _, err := peer.Write([]byte{0}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-woke:
			case <-time.After(10 * time.Second):
				t.Fatal("the loop never recv'd the extra byte")
			}
			if n := wokenAfter.Load(); n == 0 || n > int64(c.within) {
				t.Fatalf("viewers woken after %d recvs (0: not before the socket ran dry); want at most %d", n, c.within)
			}
		})
	}
}
