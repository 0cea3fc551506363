package web

// What the comparison measures of a stream: throughput over a window,
// CPU per GB of the bridge, and latency percentiles; and the check that
// every byte came.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// tally counts the bytes a client has and ends its read once it has all
// the source wrote. The source's total comes on another goroutine, before
// or after the last byte, so whichever of the two comes second ends it.
type tally struct {
	mu     sync.Mutex
	got    int64
	src    *sourceTotal
	cancel context.CancelFunc
}

// add counts n more bytes and reports whether that is all of them.
func (t *tally) add(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.got += int64(n)
	return t.src != nil && t.got >= t.src.n
}

// drainLimit bounds the wait, once the source has stopped, for the bytes
// it wrote: a few seconds at the slowest rate measured here, so only lost
// bytes run into it.
const drainLimit = 30 * time.Second

// await takes the source's total when it comes, and ends the read if every
// byte is already in, or else once drainLimit has passed.
func (t *tally) await(ctx context.Context, s *source) {
	select {
	case tot := <-s.total:
		t.mu.Lock()
		defer t.mu.Unlock()
		t.src = &tot
		if t.got >= tot.n {
			t.cancel()
			return
		}
		time.AfterFunc(drainLimit, t.cancel)
	case <-ctx.Done():
	}
}

// check fails b unless the client got exactly what the source wrote, and
// its CRC is the source's; readErr is why the read ended.
func (t *tally) check(b *testing.B, side string, crc uint32, readErr error) {
	b.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.src == nil:
		b.Fatalf("%s: the source never finished; the client got %d bytes, then: %v", side, t.got, readErr)
	case t.src.err != nil:
		b.Fatalf("%s: the source failed after %d bytes: %v", side, t.src.n, t.src.err)
	case t.got != t.src.n:
		b.Fatalf("%s: the client got %d bytes of the %d written; the read ended with: %v", side, t.got, t.src.n, readErr)
	case crc != t.src.crc:
		b.Fatalf("%s: CRC of %d bytes: got %08x, want %08x", side, t.got, crc, t.src.crc)
	}
}

// window times a run by its own deliveries: from the first chunk, which
// only starts the clock, to the first at or past d after it, so that
// neither side's set-up nor its drain counts.
type window struct {
	d             time.Duration
	t0, end       time.Time
	bytes, chunks int64
}

// add counts a chunk of n bytes and reports true for the one that closes
// the window.
func (w *window) add(now time.Time, n int) bool {
	switch {
	case w.t0.IsZero():
		w.t0 = now
		return false
	case !w.end.IsZero():
		return false
	}
	w.bytes += int64(n)
	w.chunks++
	if now.Sub(w.t0) < w.d {
		return false
	}
	w.end = now
	return true
}

// streamFigures is one run of the continuous source through one bridge.
type streamFigures struct {
	bytesPerSec  float64
	chunksPerSec float64 // events with bytes (sockplay), messages (websockify)
	// cpuPerGB is the CPU time the bridge's process spent per GB carried
	// (0 when the bridge runs in this process): what the stream cost it,
	// a figure that shares less of the machine's noise than a rate.
	cpuPerGB float64
}

// carry starts a source that writes with write, carried through br to its
// client, for a measurement of about d: the client's read goes on until
// the tally has every byte the source wrote. done ends it all.
func carry(b *testing.B, br bridge, d time.Duration, bufsize int, write func(c net.Conn, stop <-chan struct{}) sourceTotal) (src *source, o opened, readCtx context.Context, t *tally, done func()) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	src = startSource(b, write)
	o = br.open(b, ctx, src, bufsize)
	readCtx, cancelRead := context.WithCancel(ctx)
	t = &tally{cancel: cancelRead}
	go t.await(ctx, src)
	return src, o, readCtx, t, func() {
		cancelRead()
		o.closeAll()
		src.close()
		cancel()
	}
}

// measureStream runs the bulk source through br for about d and returns
// what reached the client per second.
func measureStream(b *testing.B, br bridge, bufsize int, d time.Duration) streamFigures {
	b.Helper()
	src, o, readCtx, t, done := carry(b, br, d, bufsize, writeBulk)
	defer done()
	w := window{d: d}
	var crc uint32
	var bad error
	var cpu0 float64
	if o.pid != 0 {
		cpu0 = cpuSeconds(o.pid)
	}
	src.begin()
	err := o.read(readCtx, func(data []byte) bool {
		now := time.Now()
		if len(data) == 0 {
			bad = errors.New("the stream ended before the source did")
			return false
		}
		crc = crc32.Update(crc, crc32.IEEETable, data)
		if w.add(now, len(data)) {
			// Read on until every byte the source wrote is in.
			src.halt()
		}
		return !t.add(len(data))
	})
	if bad != nil {
		b.Fatalf("%s: %v", br.name, bad)
	}
	t.check(b, br.name, crc, err)
	el := w.end.Sub(w.t0).Seconds()
	f := streamFigures{bytesPerSec: float64(w.bytes) / el, chunksPerSec: float64(w.chunks) / el}
	if o.pid != 0 {
		f.cpuPerGB = (cpuSeconds(o.pid) - cpu0) / (float64(t.got) / 1e9)
	}
	return f
}

// measureLatency sends one message every latencyEvery for about d through
// br and returns the median and 99th percentile of the time from the
// source's write to the client's receipt.
func measureLatency(b *testing.B, br bridge, d time.Duration) (p50, p99 time.Duration) {
	b.Helper()
	src, o, readCtx, t, done := carry(b, br, d, latencyBufsize, pacedMessages(int(d/latencyEvery)))
	defer done()
	var crc uint32
	var bad error
	var pending []byte
	var lat []time.Duration
	src.begin()
	err := o.read(readCtx, func(data []byte) bool {
		now := stamp()
		if len(data) == 0 {
			bad = errors.New("the stream ended before the source did")
			return false
		}
		crc = crc32.Update(crc, crc32.IEEETable, data)
		pending = append(pending, data...)
		k := 0
		for ; len(pending)-k >= latencyMsgSize; k += latencyMsgSize {
			m := pending[k : k+latencyMsgSize]
			if seq := binary.BigEndian.Uint64(m[8:]); seq != uint64(len(lat)) {
				bad = fmt.Errorf("message %d came when %d was due", seq, len(lat))
				return false
			}
			lat = append(lat, time.Duration(now-int64(binary.BigEndian.Uint64(m))))
		}
		pending = append(pending[:0], pending[k:]...)
		return !t.add(len(data))
	})
	if bad != nil {
		b.Fatalf("%s: %v", br.name, bad)
	}
	t.check(b, br.name, crc, err)
	if len(lat) != t.src.msgs || len(pending) != 0 {
		b.Fatalf("%s: %d whole messages and %d bytes over; %d were sent", br.name, len(lat), len(pending), t.src.msgs)
	}
	slices.Sort(lat)
	return percentile(lat, 50), percentile(lat, 99)
}

// percentile is the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}
