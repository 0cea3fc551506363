package sockets

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// holderEnv makes the test binary the peer holder instead of running
// tests: see init and startHolder.
const holderEnv = "SOCKPLAY_TEST_PEER_HOLDER"

// idleHeapProfile, when set, is where BenchmarkIdleSessionMemory writes a
// heap profile taken with every session open: a profile written by
// -memprofile comes after the sessions have ended, and shows nothing.
var idleHeapProfile = flag.String("idle-heap-profile", "", "write a heap profile of the open sessions of BenchmarkIdleSessionMemory to this file")

func init() {
	if os.Getenv(holderEnv) == "1" {
		os.Exit(runHolder())
	}
}

// runHolder accepts TCP connections on loopback and keeps each until its
// other end closes. It prints its address first, and exits when its stdin
// closes, so that it cannot outlive the benchmark that started it.
func runHolder() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		return 1
	}
	fmt.Println(ln.Addr())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startHolder runs this test binary again as a child that holds the peer
// ends of the benchmark's connections, so that their memory is not counted
// against sockplay's. It returns the child's address.
func startHolder(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), holderEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	b.Cleanup(func() {
		stdin.Close() // the holder's signal to exit
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		exited <- cmd.Wait()
	}()
	select {
	case addr := <-line:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			b.Fatalf("the holder printed %q, not its address", addr)
		}
		return addr
	case <-time.After(10 * time.Second):
		b.Fatal("the holder did not print its address")
	}
	return ""
}

// BenchmarkIdleSessionMemory is what an idle session costs: 1,000 sessions
// with 4 connected TCP sockets each are opened through the engine and left
// idle, and the growth of the process's RSS is reported per socket. The
// peers are in a child process. Run it once per count:
//
//	go test ./sockets -run '^$' -bench IdleSessionMemory -benchtime 1x -count 5
func BenchmarkIdleSessionMemory(b *testing.B) {
	const sessions, perSession = 1000, 4
	peer := startHolder(b)
	m := NewManager(Config{MaxSockets: perSession})
	b.Cleanup(m.Close)
	profile := *idleHeapProfile
	if profile != "" {
		// Sample every few KiB: the default 512 KiB would miss most of
		// what one socket holds.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 4096
	}
	// Every iteration is measured from the RSS before the first one: an
	// iteration after another reuses memory the runtime kept (freed
	// stacks, poll descriptors), and measured from there it would leave
	// that out although the open sockets need it.
	idleBaseline.once.Do(func() { idleBaseline.kib = settledRSS(b) })
	var totalKiB float64
	for i := 0; i < b.N; i++ {
		open := make([]*Session, 0, sessions)
		for range sessions {
			s, err := m.Create()
			if err != nil {
				b.Fatal(err)
			}
			open = append(open, s)
			for range perSession {
				id := idleDo(b, s, Op{Op: "socket"}).Result.Sock
				idleDo(b, s, Op{Op: "connect", Sock: id, Args: Args{Addr: peer}})
			}
		}
		after := settledRSS(b)
		if profile != "" {
			writeHeapProfile(b, profile)
			profile = ""
		}
		totalKiB += float64(after-idleBaseline.kib) / (sessions * perSession)
		for _, s := range open {
			m.End(s.ID())
		}
	}
	b.ReportMetric(totalKiB/float64(b.N), "KiB/socket")
}

// idleBaseline is the process's RSS before BenchmarkIdleSessionMemory
// opened its first session, taken once for all its runs (-count).
var idleBaseline struct {
	once sync.Once
	kib  int64
}

// idleDo runs op and fails the benchmark unless it succeeded.
func idleDo(b *testing.B, s *Session, op Op) Event {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Do(ctx, op)
	if err != nil || !ev.OK {
		b.Fatalf("%s %s: %v %v", op.Op, op.Sock, err, ev.Error)
	}
	return ev
}

// settledRSS is the resident set in KiB once garbage is collected and the
// freed memory is given back to the OS, so that only what is live counts.
func settledRSS(b *testing.B) int64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
