package web

// The loopback TCP sources the comparison carries: a bulk stream as fast
// as it goes, and stamped messages at a steady pace for latency.

import (
	"encoding/binary"
	"hash/crc32"
	"net"
	"sync"
	"testing"
	"time"
)

// benchClock is what the latency source stamps its messages with and the
// client measures them by: one process, one monotonic clock.
var benchClock = time.Now()

func stamp() int64 { return int64(time.Since(benchClock)) }

// sourceTotal is what a source wrote: bytes, their CRC-32, messages.
type sourceTotal struct {
	n    int64
	crc  uint32
	msgs int
	err  error
}

// source is a loopback TCP peer for one connection. Once begun it writes
// with its run function until that returns (when halted, or on its own),
// reports what it wrote, and keeps the connection open until closed: a
// bridge that sees EOF may drop what it still holds, so the client counts
// the bytes it needs instead of waiting for EOF.
type source struct {
	addr  string
	ln    net.Listener
	start chan struct{}
	stop  chan struct{}
	total chan sourceTotal

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func startSource(b *testing.B, run func(c net.Conn, stop <-chan struct{}) sourceTotal) *source {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &source{addr: ln.Addr().String(), ln: ln, start: make(chan struct{}), stop: make(chan struct{}), total: make(chan sourceTotal, 1)}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			s.total <- sourceTotal{err: err}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conn = c
		s.mu.Unlock()
		<-s.start
		s.total <- run(c, s.stop)
	}()
	return s
}

// begin lets the source write; halt tells it to stop.
func (s *source) begin() { close(s.start) }
func (s *source) halt()  { close(s.stop) }

// close ends the connection, which also frees a write blocked on a client
// that gave up.
func (s *source) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
	}
}

// writeBulk writes the pattern as fast as it can until halted.
func writeBulk(c net.Conn, stop <-chan struct{}) sourceTotal {
	var t sourceTotal
	for {
		select {
		case <-stop:
			t.crc = patternCRC(0, 0, int(t.n))
			return t
		default:
		}
		n, err := c.Write(pattern)
		t.n += int64(n)
		if err != nil {
			t.err = err
			return t
		}
	}
}

// pacedMessages writes n messages of latencyMsgSize, one every
// latencyEvery: its send time (the benchClock, taken just before the
// write), its number, and filler.
func pacedMessages(n int) func(c net.Conn, stop <-chan struct{}) sourceTotal {
	return func(c net.Conn, stop <-chan struct{}) sourceTotal {
		var t sourceTotal
		tick := time.NewTicker(latencyEvery)
		defer tick.Stop()
		msg := make([]byte, latencyMsgSize)
		for i := range n {
			select {
			case <-stop:
				return t
			case <-tick.C:
			}
			binary.BigEndian.PutUint64(msg[8:], uint64(i))
			for j := 16; j < len(msg); j++ {
				msg[j] = byte(i + j)
			}
			binary.BigEndian.PutUint64(msg, uint64(stamp()))
			w, err := c.Write(msg)
			t.n += int64(w)
			t.crc = crc32.Update(t.crc, crc32.IEEETable, msg[:w])
			if err != nil {
				t.err = err
				return t
			}
			t.msgs++
		}
		return t
	}
}
