package sockets

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAutorecvAllocs measures what autorecv allocates per event, on
// a stream that never runs dry: from the autorecv op until the loop pauses
// at the lag limit (5,000 events, nobody reading), everything the process
// allocated, divided by the events logged, less the channel each of the
// benchmark's own wake-ups costs (a viewer pays that once a batch). The
// bytes include the events' own: a full recv's are in an arena a
// megabyte at a time, a short one's copied (into a shared block when
// small, into a buffer of its own past 4 KiB):
//
//	go test ./sockets -run '^$' -bench AutorecvAllocs -benchtime 5x
func BenchmarkAutorecvAllocs(b *testing.B) {
	for _, bufsize := range []int{16, 65536} {
		b.Run("bufsize="+strconv.Itoa(bufsize), func(b *testing.B) {
			var allocs, bytes float64
			for range b.N {
				// The stream runs until it pauses at the lag limit: 5,000
				// events, or half the log's bytes. The log is sized here,
				// not by its default, so that the figure is over the same
				// stretch of stream whatever the default: its fixed costs
				// (the first, smaller arenas) spread over fewer events
				// would read as more per event.
				s, err := newTestManager(b, Config{MaxLagEvents: 5000, MaxLagBytes: 1 << 30, MaxLogBytes: 256 << 20}).Create()
				if err != nil {
					b.Fatal(err)
				}
				id := connected(b, s, counterSource(b))
				k := s.socket(id)
				first := s.LastSeq()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				mustOK(b, s, op("autorecv", id, Args{Bufsize: ip(bufsize)}))
				deadline := time.After(10 * time.Second)
				wakes := 0
				for ; ; wakes++ {
					changed := s.Changed()
					k.mu.Lock()
					paused := k.autoPaused
					k.mu.Unlock()
					if paused {
						break
					}
					select {
					case <-changed:
					case <-deadline:
						b.Fatal("autorecv never paused")
					}
				}
				runtime.ReadMemStats(&after)
				events := float64(s.LastSeq() - first)
				allocs += float64(after.Mallocs-before.Mallocs-uint64(wakes)) / events
				bytes += float64(after.TotalAlloc-before.TotalAlloc) / events
				s.Close()
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(allocs/float64(b.N), "allocs/event")
			b.ReportMetric(bytes/float64(b.N), "B/event")
		})
	}
}
