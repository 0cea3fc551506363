package web

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestExportNDJSONForReplay: an export is what a replay page reads: a
// hello line with the protocol's version and the session, every event
// in seq order from the first, and the session's state as its last line.
func TestExportNDJSONForReplay(t *testing.T) {
	e := newEnv(t)
	id := e.newSession(t)
	e.ok(t, id, `{"op":"socket"}`)
	e.ok(t, id, `{"op":"connect","sock":"s1","addr":"`+e.labs.Addr("echo")+`"}`)
	e.ok(t, id, `{"op":"sendall","sock":"s1","data":{"text":"hi"}}`)
	e.ok(t, id, `{"op":"recv","sock":"s1","bufsize":2}`)
	_, b := e.exportFile(t, id, t.TempDir())
	if !strings.HasSuffix(string(b), "\n") {
		t.Fatal("the export does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var hello struct {
		Type     string `json:"type"`
		Protocol int    `json:"protocol"`
		Session  string `json:"session"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &hello); err != nil || hello.Type != "hello" || hello.Protocol != wireProtocol || hello.Session != id {
		t.Fatalf("the first line %s: %+v %v", lines[0], hello, err)
	}
	var ops []string
	for i, l := range lines[1 : len(lines)-1] {
		var ev struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
			Op   string `json:"op"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Type != "" || ev.Seq != int64(i+1) {
			t.Fatalf("line %d is not event %d: %s", i+2, i+1, l)
		}
		ops = append(ops, ev.Op)
	}
	if got := strings.Join(ops, " "); got != "socket connect sendall recv" {
		t.Errorf("the events: %s", got)
	}
	var end struct {
		Type    string `json:"type"`
		LastSeq int64  `json:"last_seq"`
		Sockets []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &end); err != nil || end.Type != "state" || end.LastSeq != 4 || len(end.Sockets) != 1 || end.Sockets[0].State != "connected" {
		t.Fatalf("the last line %s: %+v %v", lines[len(lines)-1], end, err)
	}
}
