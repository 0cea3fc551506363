package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLabConnectionsWithinDescriptors: a session's socket connected to
// a lab costs this process the lab's descriptors for it too, which must
// count against -max-fds as the socket does. Sessions that hold the
// budget, every socket connected to the echo lab, must not take the
// process to its RLIMIT_NOFILE: no socket() may fail with the kernel's
// EMFILE, and /healthz must still be answered. The server runs in a
// process of its own under a limit of 1024, with default flags.
func TestLabConnectionsWithinDescriptors(t *testing.T) {
	if os.Getenv("SOCKPLAY_TEST_NOFILE_CHILD") == "1" {
		runUnderLowLimit(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLabConnectionsWithinDescriptors$")
	cmd.Env = append(os.Environ(), "SOCKPLAY_TEST_NOFILE_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	br := bufio.NewReader(out)
	var addr string
	for addr == "" {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no start line from the server's process: %v", err)
		}
		if m := regexp.MustCompile(`^sockplay listening on http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
	}
	go io.Copy(io.Discard, br)
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(path, body string) map[string]any {
		t.Helper()
		resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &m)
		return m
	}
	resp, err := client.Get(base + "/api/labs")
	if err != nil {
		t.Fatal(err)
	}
	var labs []struct{ Name, Addr string }
	json.NewDecoder(resp.Body).Decode(&labs)
	resp.Body.Close()
	if len(labs) == 0 || labs[0].Name != "echo" {
		t.Fatalf("labs %+v: echo should come first", labs)
	}
	n, last := 0, ""
sessions:
	for range 32 {
		id, _ := call("/api/sessions", "")["id"].(string)
		if id == "" {
			t.Fatal("no session made")
		}
		for range 64 {
			ev := call("/api/sessions/"+id+"/ops", `{"op":"socket"}`)
			if ev["ok"] != true {
				e, _ := ev["error"].(map[string]any)
				last, _ = e["errno"].(string)
				if last != "ENFILE" {
					t.Errorf("socket() %d failed with %v, want ENFILE (-max-fds): the process ran out of descriptors", n+1, e)
				}
				break sessions
			}
			sock := ev["result"].(map[string]any)["sock"].(string)
			call("/api/sessions/"+id+"/ops", `{"op":"connect","sock":"`+sock+`","addr":"`+labs[0].Addr+`"}`)
			n++
		}
	}
	if last == "" {
		t.Fatalf("%d sockets connected to the echo lab and the budget not reached", n)
	}
	t.Logf("%d sockets connected to the echo lab before -max-fds", n)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Errorf("with %d sockets connected to the echo lab, /healthz is unanswered: %v", n, err)
	}
}

// runUnderLowLimit is the server's process of
// TestLabConnectionsWithinDescriptors: sockplay with default flags under
// a descriptor limit of 1024, until its parent kills it.
func runUnderLowLimit(t *testing.T) {
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1024, Max: 1024}); err != nil {
		t.Fatal(err)
	}
	Run(context.Background(), nil, []string{"-addr", "127.0.0.1:0", "-labs-addr", "127.0.0.1:0", "-log-level", "error"}, os.Stdout, io.Discard, env(nil))
}
