package sockets

import (
	"runtime"
	"strings"
	"testing"
)

// BenchmarkLogMemory is what a session's logged events really take: a
// session logs up to 64 MiB of payload in a million events or fewer (or
// 50,000 events of ops), read
// by a reader that takes each batch (and, with json, makes each event's
// JSON as a JSON viewer does), then the live heap's growth is set
// against the payload and against the weight the log counts for them:
//
//	go test ./sockets -run '^$' -bench LogMemory -benchtime 1x
//
// heap/counted near 1 is accounting that says what the memory is.
func BenchmarkLogMemory(b *testing.B) {
	for _, c := range []struct {
		name    string
		bufsize int // autorecv's; 0: sendto ops of 1 KiB
		json    bool
	}{
		{"autorecv-16", 16, false},
		{"autorecv-16-json", 16, true},
		{"autorecv-4096", 4096, false},
		{"autorecv-4096-json", 4096, true},
		{"autorecv-65536", 65536, false},
		{"sendto-1024", 0, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				heap, counted, payload := logMemory(b, c.bufsize, c.json, 1<<20)
				b.ReportMetric(float64(heap)/float64(counted), "heap/counted")
				b.ReportMetric(float64(heap)/float64(payload), "heap/payload")
			}
		})
	}
}

// liveHeap is the heap in use once garbage is collected.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// logMemory logs events as BenchmarkLogMemory says, up to about events of
// them, and returns the heap's growth, the log's memory as it counts it,
// and the payload.
func logMemory(b testing.TB, bufsize int, json bool, events int) (heap, counted, payload int64) {
	m := NewManager(Config{MaxLogBytes: 8 << 30, StatsInterval: -1})
	defer m.Close()
	s := create(b, m)
	target := min(64<<20, int64(events)*int64(bufsize))
	read := func(cursor int64) int64 {
		bt := s.Borrow(cursor, 4096, 0)
		var scratch []byte
		for i, ev := range bt.Events() {
			if json {
				scratch = bt.AppendJSON(scratch[:0], i)
			}
			if ev.Result != nil {
				payload += int64(len(ev.Result.Data))
			}
			cursor = ev.Seq
		}
		bt.Release()
		s.Consumed(cursor)
		return cursor
	}
	var id string
	if bufsize > 0 {
		id = connected(b, s, counterSource(b))
	} else {
		id = mustOK(b, s, op("socket", "", Args{Type: "dgram"})).Result.Sock
		mustOK(b, s, op("bind", id, Args{Addr: "127.0.0.1:0"}))
	}
	cursor := read(0)
	payload = 0
	base := liveHeap()
	w0 := s.logBytes()
	if bufsize > 0 {
		mustOK(b, s, op("autorecv", id, Args{Bufsize: ip(bufsize)}))
		for payload < target {
			changed := s.Changed()
			if cursor = read(cursor); payload < target {
				<-changed
			}
		}
		mustOK(b, s, op("close", id, Args{}))
	} else {
		var to string
		for _, in := range s.State().Sockets {
			to = in.Local
		}
		data := text(strings.Repeat("sockplay", 128))
		for range min(events, 50_000) {
			mustOK(b, s, op("sendto", id, Args{Addr: to, Data: data}))
			payload += int64(len(*data.Text))
		}
	}
	for cursor < s.LastSeq() {
		cursor = read(cursor)
	}
	heap = liveHeap() - base
	counted = s.logBytes() - w0
	runtime.KeepAlive(s)
	return heap, counted, payload
}

// logBytes is the memory of the session's log, as it counts it.
func (s *Session) logBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Bytes()
}

// TestLogMemoryIsCounted: what a log counts as its memory (by which
// -max-event-log-mb and -max-event-logs-mb bound it) is the heap its
// events really take, within a tenth, for the kinds of events that fill
// logs: autorecv's small and full recvs, with and without the JSON a
// viewer makes, and ops with data. Enough events that a chunk's or an
// arena's worth is lost in them; BenchmarkLogMemory has the figures.
func TestLogMemoryIsCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("logs tens of megabytes")
	}
	for _, c := range []struct {
		name    string
		bufsize int
		json    bool
		events  int
	}{
		{"autorecv-16", 16, false, 200_000},
		{"autorecv-16-json", 16, true, 200_000},
		{"autorecv-4096", 4096, false, 8192},
		{"autorecv-4096-json", 4096, true, 8192},
		{"sendto-1024", 0, true, 10_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			heap, counted, _ := logMemory(t, c.bufsize, c.json, c.events)
			if r := float64(heap) / float64(counted); r < 0.9 || r > 1.1 {
				t.Fatalf("the log counts %d bytes, the heap grew by %d: %.2f times as much", counted, heap, r)
			}
		})
	}
}
