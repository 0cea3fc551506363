package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// attack is the option name of issue 16: it closes the setsockopt call,
// runs a command on a line of its own (indented as the try around a
// failed call is), and comments out the rest of the line.
const attack = "SO_REUSEADDR, 1)\n    __import__('os').system('touch PWNED')\n    #"

// payloads put the same command where other values go, each shaped to
// break out of what the export wraps that value in.
var payloads = []string{
	attack,
	"x')\n__import__('os').system('touch PWNED')\n#",
	"x\")\n__import__('os').system('touch PWNED')\n#",
	"x\\')\n__import__('os').system('touch PWNED')\n#",
	"x\r__import__('os').system('touch PWNED')\r#",
	"x\u2028__import__('os').system('touch PWNED')\u2029#",
	"x\x85__import__('os').system('touch PWNED')\x0c#\x00",
	"x\xff\xfe')\n__import__('os').system('touch PWNED')\n#",
}

// TestExportIssue16Attack is the attack of issue 16 as it was made: a
// setsockopt whose name is the attack, exported and checked by python3
// before the script is run, after which the command must not have run.
func TestExportIssue16Attack(t *testing.T) {
	c, py := pyChecker(t), testkit.Python(t)
	script := exportOps(t, []sockets.Op{
		{Op: "socket"},
		{Op: "setsockopt", Sock: "s1", Args: sockets.Args{Level: "SOL_SOCKET", Name: attack, Value: json.RawMessage("1")}},
	}, nil)
	calls := checkScript(t, c, script)
	if strings.Join(calls, " ") != "socket.socket" {
		t.Errorf("the body calls %q, want only socket.socket", calls)
	}
	if !strings.Contains(script, "# not replayed (an option name sockplay does not know): s1.setsockopt(") {
		t.Errorf("the refused call is not written as a call not replayed:\n%s", script)
	}
	runChecked(t, py, script)
}

// exportOps runs ops in a new session on real sockets and exports it,
// with pending as the calls still pending.
func exportOps(t *testing.T, ops []sockets.Op, pending []sockets.Pending) string {
	t.Helper()
	m := sockets.NewManager(sockets.Config{StatsInterval: -1, UnixDir: testkit.ShortDir(t)})
	defer m.Close()
	s, _ := m.Create()
	for _, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.Do(ctx, op)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", op.Op, err)
		}
	}
	var script bytes.Buffer
	if err := WritePython(&script, Script{Session: s.ID(), Events: s.EventsAfter(0, 0), Pending: pending}); err != nil {
		t.Fatal(err)
	}
	return script.String()
}

// runChecked runs a script checkScript has passed with python3 in an
// empty directory: it must run to its end, and the payloads' command
// (touch PWNED) must not have run.
func runChecked(t *testing.T, py, script string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "export.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, path)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3 export.py: %v\n%s\n--- script ---\n%s", err, out, script)
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
		t.Fatalf("running the export ran the command in a value\n--- script ---\n%s", script)
	}
}

// TestExportHostileValues runs ops whose every kind of value carries a
// command (the option name of issue 16 first) through a session on real
// sockets, exports it, has python3 check that the script calls only what
// an export calls, and only then runs it: no command may run, and the
// script must still run to its end.
func TestExportHostileValues(t *testing.T) {
	c := pyChecker(t)
	py := testkit.Python(t)
	closed := testkit.ClosedPort(t)
	for _, p := range payloads {
		raw, _ := json.Marshal(p)
		ops := []sockets.Op{
			{Op: "socket"},
			{Op: "setsockopt", Sock: "s1", Args: sockets.Args{Level: "SOL_SOCKET", Name: p, Value: json.RawMessage("1")}},
			{Op: "setsockopt", Sock: "s1", Args: sockets.Args{Level: p, Name: "SO_REUSEADDR", Value: json.RawMessage("1")}},
			{Op: "setsockopt", Sock: "s1", Args: sockets.Args{Level: "SOL_SOCKET", Name: "SO_REUSEADDR", Value: raw}},
			{Op: "getsockopt", Sock: "s1", Args: sockets.Args{Name: p}},
			{Op: "recv", Sock: p, Args: sockets.Args{Bufsize: new(4)}},
			{Op: p, Sock: "s1"},
			{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: p}},
			{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: p + ":80"}},
			{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: "[" + p + "]:80"}},
			{Op: "getaddrinfo", Args: sockets.Args{Host: p, Port: raw}},
			{Op: "python", Args: sockets.Args{More: &sockets.More{Kind: p, Text: p}}},
			{Op: "python", Args: sockets.Args{More: &sockets.More{Kind: "stdout", Text: p}}},
			{Op: "focus", Args: sockets.Args{More: &sockets.More{Focus: &sockets.Focus{Sock: p, View: p, File: p}}}},
			{Op: "select", Args: sockets.Args{Timeout: sockets.Timeout{Set: true}, More: &sockets.More{RList: []string{p}}}},
			{Op: "send", Sock: "s1", Args: sockets.Args{Data: &sockets.Data{Text: &p}}},
			{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: closed}},
		}
		t.Run(strings.ToValidUTF8(p[:12], "?"), func(t *testing.T) {
			script := exportOps(t, ops, []sockets.Pending{{Sock: p, Op: p}})
			calls := checkScript(t, c, script)
			if calls[0] != "socket.socket" {
				t.Errorf("the body's first call is %s, not socket.socket: %q", calls[0], calls)
			}
			if !strings.Contains(script, "# not replayed (an option name sockplay does not know)") {
				t.Errorf("the unknown option name is not written as a call not replayed:\n%s", script)
			}
			runChecked(t, py, script)
		})
	}
}

// TestEngineRefusesUnknownOptionName: the engine sets no option for a
// name it does not know, the issue's name included; it raises what Python
// raises for socket.NAME that does not exist, AttributeError.
func TestEngineRefusesUnknownOptionName(t *testing.T) {
	m := sockets.NewManager(sockets.Config{StatsInterval: -1, UnixDir: testkit.ShortDir(t)})
	defer m.Close()
	s, _ := m.Create()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Do(ctx, sockets.Op{Op: "socket"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{attack, "SO_PRIORITY", "so_reuseaddr", "SO_REUSEADDR ", "socket.SO_REUSEADDR", ""} {
		for _, op := range []string{"setsockopt", "getsockopt"} {
			a := sockets.Args{Level: "SOL_SOCKET", Name: name}
			if op == "setsockopt" {
				a.Value = json.RawMessage("1")
			}
			ev, err := s.Do(ctx, sockets.Op{Op: op, Sock: "s1", Args: a})
			if err != nil {
				t.Fatal(err)
			}
			want := "AttributeError"
			if name == "" {
				want = "TypeError" // a missing argument
			}
			if ev.OK || ev.Error == nil || ev.Error.Exc != want {
				t.Errorf("%s(name=%q): %+v %+v, want %s", op, name, ev.Result, ev.Error, want)
			}
		}
	}
	for _, in := range s.State().Sockets {
		if len(in.Opts) != 0 {
			t.Errorf("%s has options set: %v", in.ID, in.Opts)
		}
	}
}

// TestExportUnixNamesStayInTheirDirectory: AF_UNIX names and unlink's
// paths are literals too, but they name files; in the session they were
// files of the session's own directory, and so they are in the replay. A
// file outside it, named by an absolute path or by one that climbs out,
// must survive the replay, and the session's own names must still work.
func TestExportUnixNamesStayInTheirDirectory(t *testing.T) {
	c, py := pyChecker(t), testkit.Python(t)
	canary := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(canary, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The script runs in a directory of the system's temporary one.
	climb := "../" + strings.TrimPrefix(canary, os.TempDir()+"/")
	// Short enough to fit sockaddr_un under the session's directory.
	own := fmt.Sprintf("/tmp/sp%d.sock", os.Getpid())
	ops := []sockets.Op{
		{Op: "unlink", Args: sockets.Args{Addr: canary}},
		{Op: "unlink", Args: sockets.Args{Addr: climb}},
		{Op: "unlink", Args: sockets.Args{Addr: "../../../../../../../../" + canary}},
		{Op: "socket", Args: sockets.Args{Family: "unix", Type: "dgram"}},
		{Op: "settimeout", Sock: "s1", Args: sockets.Args{Timeout: sockets.Timeout{Set: true, Seconds: 2}}},
		{Op: "bind", Sock: "s1", Args: sockets.Args{Addr: own}},
		{Op: "sendto", Sock: "s1", Args: sockets.Args{Addr: own, Data: &sockets.Data{Text: new("self")}}},
		{Op: "recvfrom", Sock: "s1", Args: sockets.Args{Bufsize: new(16)}},
		{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: "\x00abstract"}},
		{Op: "connect", Sock: "s1", Args: sockets.Args{Addr: "@abstract"}},
		{Op: "close", Sock: "s1"},
		{Op: "unlink", Args: sockets.Args{Addr: own}},
	}
	script := exportOps(t, ops, nil)
	checkScript(t, c, script)
	for _, want := range []string{
		"os.unlink(unix_path(" + pyStr(canary) + "))",
		"# not replayed (an AF_UNIX name outside the session's directory): os.unlink(" + pyStr(climb) + ")",
		"s1.bind(unix_path(" + pyStr(own) + "))",
		"show(8, s1.recvfrom(16))",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the script has no %s\n--- script ---\n%s", want, script)
		}
	}
	runChecked(t, py, script)
	if b, err := os.ReadFile(canary); err != nil || string(b) != "keep me" {
		t.Fatalf("the replay removed or changed %s (%v)\n--- script ---\n%s", canary, err, script)
	}
	if _, err := os.Lstat(own); err == nil {
		t.Errorf("the replay bound %s outside its directory", own)
	}
}
