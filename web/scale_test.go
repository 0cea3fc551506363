package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockplay/sockplay/internal/testkit"
	"github.com/sockplay/sockplay/sockets"
)

// scaleSessions is how many sessions TestThousandSessions holds open at once.
const scaleSessions = 1000

// TestThousandSessions opens 1,000 sessions over the HTTP API, each with a
// WebSocket and two sockets (TCP connected to a loopback listener, UDP
// bound), all open at once; then closes every WebSocket and ends every
// session, and checks that goroutines and fds come back to where they
// were. A leak of one goroutine or fd per session shows as a thousand.
func TestThousandSessions(t *testing.T) {
	m := sockets.NewManager(sockets.Config{})
	srv := httptest.NewServer(New(Config{Sessions: m}))
	peer := testkit.DiscardServer(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: scaleWorkers}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		m.Close()
	})
	sc := &scaleClient{srv: srv, client: client, mgr: m, peer: peer}

	// One round first, so that what starts lazily (the client's pool, the
	// server's connection goroutines) is in the baseline.
	warm, err := sc.open(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.close(warm); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	before := testkit.CountLeaks(t, false)

	open, err := sc.open(scaleSessions)
	if err != nil {
		if cerr := sc.close(open); cerr != nil {
			t.Log(cerr)
		}
		t.Fatal(err)
	}
	// Each session holds at least the WebSocket's two ends, its TCP socket
	// and the peer's end, and its UDP socket: were they not all open at
	// once, the leak check below would prove little.
	peak := testkit.CountLeaks(t, false)
	if peak.FDs < before.FDs+5*scaleSessions {
		t.Errorf("with %d sessions open, %d fds (baseline %d): fewer than 5 a session", scaleSessions, peak.FDs, before.FDs)
	}
	t.Logf("peak: %d goroutines, %d fds (baseline: %d goroutines, %d fds)", peak.Goroutines, peak.FDs, before.Goroutines, before.FDs)
	if n := m.Len(); n != scaleSessions {
		t.Errorf("the manager has %d sessions, want %d", n, scaleSessions)
	}
	if err := sc.close(open); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	if n := m.Len(); n != 0 {
		t.Errorf("%d sessions left after ending them all", n)
	}

	// Connections end on both sides asynchronously (the server's handler
	// goroutines, the peer's reads seeing EOF): Check awaits the counts.
	before.Check(t, 20*time.Second)
}

// scaleWorkers is how many sessions are opened or closed concurrently:
// enough to keep both cores busy, few enough not to overrun the listen
// backlogs.
const scaleWorkers = 8

type scaleClient struct {
	srv    *httptest.Server
	client *http.Client
	mgr    *sockets.Manager
	peer   string
}

type scaleSession struct {
	id string
	ws *websocket.Conn
}

// open opens n sessions concurrently and returns every one that got as far
// as a WebSocket, so the caller can close them even after an error.
func (sc *scaleClient) open(n int) ([]scaleSession, error) {
	out := make([]scaleSession, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range scaleWorkers {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = sc.openOne()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	opened := out[:0]
	for _, s := range out {
		if s.ws != nil {
			opened = append(opened, s)
		}
	}
	return opened, errors.Join(errs...)
}

// openOne creates a session over HTTP, opens its WebSocket, and makes its
// two sockets through it.
func (sc *scaleClient) openOne() (scaleSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := sc.client.Post(sc.srv.URL+"/api/sessions", "application/json", nil)
	if err != nil {
		return scaleSession{}, err
	}
	var c created
	err = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return scaleSession{}, fmt.Errorf("create session: %s %v", resp.Status, err)
	}
	url := strings.Replace(sc.srv.URL, "http", "ws", 1) + "/api/sessions/" + c.ID + "/ws"
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: sc.client})
	if err != nil {
		return scaleSession{}, fmt.Errorf("session %s: websocket: %w", c.ID, err)
	}
	s := scaleSession{id: c.ID, ws: ws}
	for i, op := range []string{
		`{"op":"socket"}`,
		`{"op":"connect","sock":"s1","addr":"` + sc.peer + `"}`,
		`{"op":"socket","type":"dgram"}`,
		`{"op":"bind","sock":"s2","addr":"127.0.0.1:0"}`,
	} {
		if err := wsDo(ctx, ws, i+1, op); err != nil {
			return s, fmt.Errorf("session %s: %s: %w", c.ID, op, err)
		}
	}
	return s, nil
}

// wsDo sends op with the given id and reads until its answer, which must
// be a success.
func wsDo(ctx context.Context, ws *websocket.Conn, id int, op string) error {
	msg := fmt.Sprintf(`{"id":%d,%s`, id, op[1:])
	if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return err
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		var m struct {
			Reply json.RawMessage  `json:"reply"`
			OK    bool             `json:"ok"`
			Error *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		if string(m.Reply) != fmt.Sprint(id) {
			continue // hello, state, and the events of earlier ops
		}
		if !m.OK {
			return fmt.Errorf("failed: %s", b)
		}
		return nil
	}
}

// close closes every session's WebSocket (the client's side, with the
// closing handshake) and then ends the session, concurrently.
func (sc *scaleClient) close(open []scaleSession) error {
	errs := make([]error, len(open))
	var wg sync.WaitGroup
	next := make(chan int)
	for range scaleWorkers {
		wg.Go(func() {
			for i := range next {
				s := open[i]
				// The server may still be sending state: reading it is
				// Close's job, which it does while it waits for the
				// server's close frame.
				if err := s.ws.Close(websocket.StatusNormalClosure, ""); err != nil && websocket.CloseStatus(err) == -1 {
					errs[i] = fmt.Errorf("session %s: closing its websocket: %w", s.id, err)
				}
				sc.mgr.End(s.id)
			}
		})
	}
	for i := range open {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
