package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/export"
	"github.com/sockplay/sockplay/sockets/lessons"
)

// session runs ops through the engine, failing on a missing event.
type session struct {
	t *testing.T
	s *sockets.Session
}

func (s session) do(op sockets.Op) sockets.Event {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.s.Do(ctx, op)
	if err != nil {
		s.t.Fatalf("%s: %v", op.Op, err)
	}
	return ev
}

func op(name, sock string, a sockets.Args) sockets.Op {
	return sockets.Op{Op: name, Sock: sock, Args: a}
}
func text(s string) *sockets.Data { return &sockets.Data{Text: &s} }
func ip(n int) *int               { return &n }

var (
	lineRe = regexp.MustCompile(`^\[(\d+)(?:-(\d+))?\] (.*)$`)
	portRe = regexp.MustCompile(`, \d+(, 0, 0)?\)`)
)

// normal makes two runs' values comparable: ephemeral ports differ.
func normal(v string) string { return portRe.ReplaceAllString(v, ", PORT$1)") }

// errKey is what must match in an error: the exception and its errno.
func errKey(v string) string {
	if i := strings.Index(v, "]"); i > 0 && strings.Contains(v, "[Errno") {
		return v[:i+1]
	}
	exc, _, _ := strings.Cut(v, ":")
	return exc
}

// pyBytesValue parses a Python bytes repr.
func pyBytesValue(t *testing.T, v string) []byte {
	t.Helper()
	if len(v) < 3 || v[0] != 'b' {
		t.Fatalf("not a bytes repr: %q", v)
	}
	body := v[2 : len(v)-1]
	var out []byte
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch body[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'x':
			n, _ := strconv.ParseUint(body[i+1:i+3], 16, 8)
			out = append(out, byte(n))
			i += 2
		default:
			out = append(out, body[i])
		}
	}
	return out
}

// TestExportReplaysWithPython builds a session against the labs and local
// sockets, exports it, runs the script with python3 against the same
// servers, and checks the replay got what the session got: exactly for
// deterministic calls, and the same bytes in total per socket for reads of
// a stream, whose split depends on timing.
func TestExportReplaysWithPython(t *testing.T) {
	py := testkit.Python(t)
	l, err := labs.Start(labs.Config{Host: "127.0.0.1", DripPause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := sockets.NewManager(sockets.Config{StatsInterval: -1, UnixDir: t.TempDir()})
	defer m.Close()
	ss, _ := m.Create()
	s := session{t, ss}

	// A client of the echo lab: partial reads, a timeout.
	s.do(op("socket", "", sockets.Args{}))
	s.do(op("connect", "s1", sockets.Args{Addr: l.Addr("echo")}))
	s.do(op("send", "s1", sockets.Args{Data: text("hello\n")}))
	s.do(op("recv", "s1", sockets.Args{Bufsize: ip(1024)}))
	s.do(op("sendall", "s1", sockets.Args{Data: text("hello world")}))
	for i := 0; i < 3; i++ {
		s.do(op("recv", "s1", sockets.Args{Bufsize: ip(4)}))
	}
	s.do(op("settimeout", "s1", sockets.Args{Timeout: sockets.Timeout{Set: true, Seconds: 0.2}}))
	s.do(op("recv", "s1", sockets.Args{Bufsize: ip(4)}))
	// The drip lab read by autorecv, to EOF after a half-close.
	s.do(op("socket", "", sockets.Args{}))
	s.do(op("connect", "s2", sockets.Args{Addr: l.Addr("drip")}))
	s.do(op("shutdown", "s2", sockets.Args{How: new(sockets.How(1))}))
	s.do(op("autorecv", "s2", sockets.Args{Bufsize: ip(1024)}))
	awaitEOF(t, ss, "s2")
	// A refused connect; a name lookup.
	s.do(op("socket", "", sockets.Args{}))
	s.do(op("connect", "s3", sockets.Args{Addr: testkit.ClosedPort(t)}))
	s.do(sockets.Op{Op: "getaddrinfo", Args: sockets.Args{Host: "127.0.0.1", Port: json.RawMessage("80")}})
	// A server on an ephemeral port, and its client.
	s.do(op("socket", "", sockets.Args{}))
	s.do(op("bind", "s4", sockets.Args{Addr: "127.0.0.1:0"}))
	s.do(op("listen", "s4", sockets.Args{Backlog: ip(2)}))
	s.do(op("socket", "", sockets.Args{}))
	s.do(op("connect", "s5", sockets.Args{Addr: stateLocal(t, ss, "s4")}))
	s.do(op("accept", "s4", sockets.Args{}))
	s.do(op("sendall", "s6", sockets.Args{Data: text("it's \"quoted\" \x00\xff")}))
	s.do(op("recv", "s5", sockets.Args{Bufsize: ip(64)}))
	x := "ab"
	s.do(op("sendall", "s5", sockets.Args{Data: &sockets.Data{Text: &x, Repeat: ip(500)}}))
	s.do(op("recvall", "s6", sockets.Args{Bufsize: ip(1000)}))
	s.do(op("getsockopt", "s5", sockets.Args{Level: "IPPROTO_TCP", Name: "TCP_NODELAY"}))
	s.do(op("setsockopt", "s5", sockets.Args{Level: "SOL_SOCKET", Name: "SO_LINGER", Value: json.RawMessage(`{"onoff":1,"linger":0}`)}))
	s.do(op("getsockopt", "s5", sockets.Args{Level: "SOL_SOCKET", Name: "SO_LINGER"}))
	// UDP on ephemeral ports: a truncated datagram, with its sender.
	s.do(op("socket", "", sockets.Args{Type: "dgram"}))
	s.do(op("bind", "s7", sockets.Args{Addr: "127.0.0.1:0"}))
	s.do(op("socket", "", sockets.Args{Type: "dgram"}))
	s.do(op("bind", "s8", sockets.Args{Addr: "127.0.0.1:0"}))
	s.do(op("sendto", "s8", sockets.Args{Data: text("0123456789"), Addr: stateLocal(t, ss, "s7")}))
	s.do(op("recvfrom", "s7", sockets.Args{Bufsize: ip(4)}))
	// Unix sockets, by name.
	s.do(op("socket", "", sockets.Args{Family: "unix", Type: "dgram"}))
	s.do(op("bind", "s9", sockets.Args{Addr: "a.sock"}))
	s.do(op("sendto", "s9", sockets.Args{Data: text("self"), Addr: "a.sock"}))
	s.do(op("recvfrom", "s9", sockets.Args{Bufsize: ip(16)}))
	s.do(op("close", "s9", sockets.Args{}))
	s.do(op("unlink", "", sockets.Args{Addr: "a.sock"}))
	s.do(op("unlink", "", sockets.Args{Addr: "a.sock"}))
	s.do(op("close", "s1", sockets.Args{}))
	s.do(op("recv", "s1", sockets.Args{Bufsize: ip(4)}))

	checked := replay(t, py, ss.ID(), ss.EventsAfter(0, 0))
	if checked < 15 {
		t.Fatalf("only %d calls compared", checked)
	}
}

// replay exports evs, runs the script with python3 in an empty directory,
// and compares every printed result with the session's: exactly, but for
// ephemeral ports, counts a non-blocking or timed send happened to move,
// and reads of a stream, compared as the bytes each socket got in total.
// It returns how many calls it compared.
func replay(t *testing.T, py, id string, evs []sockets.Event) int {
	t.Helper()
	var script bytes.Buffer
	if err := export.WritePython(&script, export.Script{Session: id, Events: evs}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "replay.py")
	os.WriteFile(path, script.Bytes(), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, path)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3 replay: %v\n%s\n--- script ---\n%s", err, stderr.String(), script.String())
	}
	got := map[string]string{}
	ranges := map[string][]byte{} // autorecv loops: socket → bytes
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		m := lineRe.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected output line %q", line)
		}
		if m[2] != "" {
			first, _ := strconv.ParseInt(m[1], 10, 64)
			ranges[sockOfSeq(evs, first)] = append(ranges[sockOfSeq(evs, first)], pyBytesValue(t, m[3])...)
			continue
		}
		got[m[1]] = m[3]
	}
	timed := timedSockets(evs)
	streamSession := map[string][]byte{}
	streamReplay := map[string][]byte{}
	checked := 0
	for _, ev := range evs {
		v, printed := got[strconv.FormatInt(ev.Seq, 10)]
		want := export.ResultRepr(ev)
		stream := sockType(evs, ev.Sock) == "stream"
		switch {
		case ev.Parent != 0 || ev.Op == "stats":
			continue // replayed inside the helper call that made it
		case ev.Auto && ev.Op == "recv":
			if ev.OK {
				streamSession[ev.Sock] = append(streamSession[ev.Sock], ev.Result.Data...)
			}
			if printed {
				// A loop over one autorecv call prints a single seq.
				streamReplay[ev.Sock] = append(streamReplay[ev.Sock], pyBytesValue(t, v)...)
			}
			continue
		case ev.OK && (ev.Op == "recv" || ev.Op == "recvall") && stream:
			if !printed {
				t.Errorf("seq %d %s: nothing printed", ev.Seq, ev.Op)
				continue
			}
			streamSession[ev.Sock] = append(streamSession[ev.Sock], ev.Result.Data...)
			streamReplay[ev.Sock] = append(streamReplay[ev.Sock], pyBytesValue(t, v)...)
		case !ev.OK:
			if !printed || errKey(v) != errKey(want) {
				t.Errorf("seq %d %s: replay %q, session %q", ev.Seq, export.Call(ev.Sock, ev.Op, ev.Args), v, want)
			}
		case (ev.Op == "send" || ev.Op == "sendto") && timed[ev.Seq]:
			// How much a non-blocking or timed send moves depends on
			// the buffers at that moment: only that it moved some.
			if n, err := strconv.Atoi(v); !printed || err != nil || n <= 0 && *ev.Result.N > 0 {
				t.Errorf("seq %d %s: replay %q", ev.Seq, export.Call(ev.Sock, ev.Op, ev.Args), v)
			}
		case printed:
			if ev.Op == "accept" {
				want = export.PyAddr(ev.Result.Peer, "")
			}
			if normal(v) != normal(want) {
				t.Errorf("seq %d %s: replay %q, session %q", ev.Seq, export.Call(ev.Sock, ev.Op, ev.Args), v, want)
			}
		default:
			continue
		}
		checked++
	}
	for sock, b := range ranges {
		streamReplay[sock] = append(streamReplay[sock], b...)
	}
	for sock, want := range streamSession {
		if !bytes.Equal(streamReplay[sock], want) {
			t.Errorf("%s: the replay read %q in total, the session %q", sock, streamReplay[sock], want)
		}
	}
	if t.Failed() {
		t.Logf("checked %d calls\n--- script ---\n%s\n--- output ---\n%s", checked, script.String(), stdout.String())
	}
	return checked
}

// timedSockets marks the sends made while their socket was non-blocking
// or had a timeout.
func timedSockets(evs []sockets.Event) map[int64]bool {
	mode := map[string]bool{}
	out := map[int64]bool{}
	for _, ev := range evs {
		switch ev.Op {
		case "settimeout":
			mode[ev.Sock] = ev.OK && !ev.Args.Timeout.None
		case "setblocking":
			mode[ev.Sock] = ev.OK && !*ev.Args.Flag
		case "send", "sendto":
			out[ev.Seq] = mode[ev.Sock]
		}
	}
	return out
}

func sockOfSeq(evs []sockets.Event, seq int64) string {
	for _, ev := range evs {
		if ev.Seq == seq {
			return ev.Sock
		}
	}
	return ""
}

func isSeqOf(evs []sockets.Event, key string) bool {
	for _, ev := range evs {
		if strconv.FormatInt(ev.Seq, 10) == key {
			return true
		}
	}
	return false
}

func sockType(evs []sockets.Event, sock string) string {
	for _, ev := range evs {
		if ev.Op == "socket" && ev.Result != nil && ev.Result.Sock == sock {
			return ev.Result.Type
		}
	}
	return "stream" // accepted sockets come from stream listeners here
}

func stateLocal(t *testing.T, s *sockets.Session, id string) string {
	t.Helper()
	for _, in := range s.State().Sockets {
		if in.ID == id {
			return in.Local
		}
	}
	t.Fatalf("no socket %s", id)
	return ""
}

func awaitEOF(t *testing.T, s *sockets.Session, sock string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ch := s.Changed()
		for _, ev := range s.EventsAfter(0, 0) {
			if ev.Sock == sock && ev.Auto && ev.OK && ev.Result.EOF {
				return
			}
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: no EOF", sock)
		}
	}
}

// TestExportLessonsReplay runs every lesson in a session against the labs,
// exports the session, and replays it with python3: each lesson's results
// must be what Python gets with the same calls.
func TestExportLessonsReplay(t *testing.T) {
	py := testkit.Python(t)
	l, err := labs.Start(labs.Config{Host: "127.0.0.1", DripPause: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	all, err := lessons.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, lesson := range all {
		t.Run(lesson.ID, func(t *testing.T) {
			m := sockets.NewManager(sockets.Config{UnixDir: t.TempDir()})
			defer m.Close()
			s, _ := m.Create()
			v := s.Attach(0)
			defer v.Detach()
			p := lessons.NewProgress(lesson.ID)
			for range lesson.Steps {
				if r := p.Step(context.Background(), s, l.AddrOf); r.Problem != "" {
					t.Fatalf("lesson step: %s", r.Problem)
				}
				v.Advance(s.LastSeq())
			}
			if n := replay(t, py, s.ID(), s.EventsAfter(0, 0)); n == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}
