package web

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// pattern is what the bulk source writes, over and over; the client checks
// every byte it gets against it.
var pattern = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}()

// oneClient accepts one connection on loopback and hands it to write,
// which writes until it returns false or a write fails.
func oneClient(b *testing.B, write func(c net.Conn) bool) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		for write(c) {
		}
	}()
	return ln.Addr().String()
}

// bulkSource writes the pattern as fast as it can until the connection
// breaks.
func bulkSource(b *testing.B) string {
	return oneClient(b, func(c net.Conn) bool {
		_, err := c.Write(pattern)
		return err == nil
	})
}

// BenchmarkWebSocketEvents measures the hot path end to end: bytes arrive
// on a real socket, autorecv reads them, each recv is an event, and the
// event reaches a WebSocket client that decodes it and checks its bytes
// (count and CRC) against what the source sent. One op of the benchmark is
// one event delivered.
func BenchmarkWebSocketEvents(b *testing.B) {
	for _, bufsize := range []int{16, 65536} {
		b.Run("bufsize="+itoa(int64(bufsize)), func(b *testing.B) {
			m := sockets.NewManager(sockets.Config{})
			defer m.Close()
			srv := newBenchServer(m)
			defer srv.Close()
			s, _ := m.Create()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c, _, err := websocket.Dial(ctx, strings.Replace(srv.URL, "http", "ws", 1)+"/api/sessions/"+s.ID()+"/ws", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(1 << 24)
			src := bulkSource(b)
			id := mustDo(b, s, sockets.Op{Op: "socket"}).Result.Sock
			mustDo(b, s, sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: src}})

			b.ResetTimer()
			start := time.Now()
			mustDo(b, s, sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: &bufsize}})
			var events, total int
			var crc, want uint32
			for events < b.N {
				_, msg, err := c.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				var ev sockets.Event
				if err := json.Unmarshal(msg, &ev); err != nil {
					b.Fatal(err)
				}
				if !ev.Auto || ev.Op != "recv" {
					continue
				}
				if !ev.OK || *ev.Result.N != len(ev.Result.B64) {
					b.Fatalf("bad event %+v", ev)
				}
				crc = crc32.Update(crc, crc32.IEEETable, ev.Result.B64)
				want = patternCRC(want, total, len(ev.Result.B64))
				total += len(ev.Result.B64)
				events++
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if crc != want {
				b.Fatalf("checksum of %d bytes: got %08x, want %08x", total, crc, want)
			}
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(total)/elapsed.Seconds()/1e6, "MB/s")
		})
	}
}

// patternCRC extends crc over n bytes of the repeated pattern from offset.
func patternCRC(crc uint32, offset, n int) uint32 {
	for n > 0 {
		o := offset % len(pattern)
		k := min(n, len(pattern)-o)
		crc = crc32.Update(crc, crc32.IEEETable, pattern[o:o+k])
		offset += k
		n -= k
	}
	return crc
}
