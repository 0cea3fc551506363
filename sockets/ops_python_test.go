package sockets

import (
	"os"
	"testing"
)

// TestPythonOp: a program's record goes into the log as it was said, with
// its origin; a kind the table does not know, or text that is not UTF-8,
// is a ValueError and nothing is logged.
func TestPythonOp(t *testing.T) {
	s := newTestSession(t)
	at := &Origin{File: "echo.py"}
	for _, kind := range pythonKinds {
		ev := do(t, s, Op{Op: "python", Args: Args{More: &More{Kind: kind, Text: "print('hi')\n"}}, Origin: at})
		if !ev.OK || ev.Args.More.Kind != kind || ev.Args.More.Text != "print('hi')\n" || *ev.Origin != *at {
			t.Fatalf("%s: %+v %+v", kind, ev.Args, ev.Error)
		}
	}
	for _, a := range []Args{{More: &More{Kind: "print", Text: "x"}}, {More: &More{Text: "x"}}, {More: &More{Kind: "stdout", Text: "\xff"}}} {
		if ev := do(t, s, op("python", "", a)); ev.OK || ev.Error.Exc != "ValueError" {
			t.Errorf("%+v: %+v", *a.More, ev.Error)
		}
	}
	host, _ := os.Hostname()
	if ev := mustOK(t, s, op("gethostname", "", Args{})); ev.Result.Addr != host {
		t.Fatalf("gethostname: %q, want %q", ev.Result.Addr, host)
	}
}
