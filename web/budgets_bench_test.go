package web

import (
	"bytes"
	"context"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/sockets"
)

// BenchmarkFastReaderRSS is issue 16's "one session under a fast reader":
// a loopback source streams as fast as it can into one session's
// autorecv(65536), a WebSocket client reads the binary stream as fast as
// it can for 10 seconds, and the process's peak resident set (VmHWM,
// source and client included) and the live heap at the end are reported:
//
//	go test ./web -run '^$' -bench FastReaderRSS -benchtime 1x
func BenchmarkFastReaderRSS(b *testing.B) {
	for range b.N {
		e := newEnvWith(b, sockets.Config{StatsInterval: -1})
		src := endlessSource(b)
		s, err := e.mgr.Create()
		if err != nil {
			b.Fatal(err)
		}
		do := func(op sockets.Op) sockets.Event {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ev, err := s.Do(ctx, op)
			if err != nil || !ev.OK {
				b.Fatalf("%s: %v %v", op.Op, err, ev.Error)
			}
			return ev
		}
		id := do(sockets.Op{Op: "socket"}).Result.Sock
		do(sockets.Op{Op: "connect", Sock: id, Args: sockets.Args{Addr: src}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+"/api/sessions/"+s.ID()+"/ws?format=bin", nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(64 << 20)
		bufsize := 65536
		do(sockets.Op{Op: "autorecv", Sock: id, Args: sockets.Args{Bufsize: &bufsize}})
		var read int64
		end := time.Now().Add(10 * time.Second)
		for time.Now().Before(end) {
			_, m, err := c.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			read += int64(len(m))
		}
		c.CloseNow()
		cancel()
		b.ReportMetric(float64(procStatus(b, "VmHWM:"))/1024, "peak-RSS-MiB")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
		b.ReportMetric(float64(read)/10/1e6, "MB/s")
		st := s.State()
		b.ReportMetric(float64(st.LastSeq-st.FirstSeq+1), "events-held")
		debug.FreeOSMemory()
	}
}

// endlessSource is a loopback server that writes to its one client as
// fast as it can, until the client goes (its session ends with the
// benchmark).
func endlessSource(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

// procStatus is a field of /proc/self/status, in KiB.
func procStatus(b *testing.B, field string) int64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip(err)
	}
	for line := range bytes.Lines(st) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return n
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
