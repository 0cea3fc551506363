// Package lessons holds sockplay's guided lessons and runs them in a
// session. A lesson is data, one JSON file each in data/: steps that are
// ops with placeholders, a short explanation of what to look for, and
// optionally a wait and an expected outcome. The runner is the one both
// the page and the tests use, and a Tracker keeps each session's progress
// in each lesson for as long as the session lives.
package lessons

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sockplay/sockplay/sockets"
)

//go:embed data/*.json
var files embed.FS

// Lesson is one guided scenario.
type Lesson struct {
	ID      string `json:"id"`
	Order   int    `json:"order"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Needs lists the labs the lesson talks to, as "name/proto".
	Needs []string `json:"needs,omitempty"`
	Steps []Step   `json:"steps"`
}

// Step is one op the user runs, or a wait, with what to look for.
type Step struct {
	// Say is what the step does and why; Look is what to look for in its
	// event once it ran. Either may name a socket the lesson made as
	// ${name}: the page shows the id the socket has in the session.
	Say  string `json:"say"`
	Look string `json:"look,omitempty"`
	// Op is the op, with placeholders: ${name} is a socket the lesson
	// named, ${lab:echo/tcp} a lab's address, ${addr:name} and
	// ${port:name} a socket's local address and port.
	Op json.RawMessage `json:"op,omitempty"`
	// As names the socket the op makes (socket, accept) for later steps.
	As string `json:"as,omitempty"`
	// Wait holds the lesson until something has happened.
	Wait *Wait `json:"wait,omitempty"`
	// Expect is what the op should give; a lesson test checks it, and the
	// page says when a run differs.
	Expect *Expect `json:"expect,omitempty"`
	// Timeout bounds how long the step waits for its op's event, in
	// seconds (default 10); a call still pending then goes on in the
	// session and the lesson moves on.
	Timeout float64 `json:"timeout,omitempty"`
}

// Wait is a condition on the session.
type Wait struct {
	// For is "recvq" (at least AtLeast bytes wait in Sock's receive
	// queue), "eof" (an autorecv on Sock read EOF), or "events" (at least
	// AtLeast auto events of Op on Sock).
	For     string  `json:"for"`
	Sock    string  `json:"sock,omitempty"`
	Op      string  `json:"op,omitempty"`
	AtLeast int     `json:"at_least,omitempty"`
	Timeout float64 `json:"timeout,omitempty"`
}

// Expect is an op's expected outcome.
type Expect struct {
	OK        *bool   `json:"ok,omitempty"`
	Exc       string  `json:"exc,omitempty"`
	Errno     string  `json:"errno,omitempty"`
	Data      *string `json:"data,omitempty"`
	N         *int    `json:"n,omitempty"`
	EOF       *bool   `json:"eof,omitempty"`
	Truncated *bool   `json:"truncated,omitempty"`
}

var (
	all     []*Lesson
	byID    = map[string]*Lesson{}
	loadErr error
	once    sync.Once
)

// load parses every lesson file once.
func load() {
	entries, err := fs.Glob(files, "data/*.json")
	if err != nil {
		loadErr = err
		return
	}
	for _, name := range entries {
		b, _ := files.ReadFile(name)
		var l Lesson
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			loadErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		if err := l.check(); err != nil {
			loadErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		all = append(all, &l)
		byID[l.ID] = &l
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Order < all[j].Order })
}

// check validates a lesson: every step has an op or a wait, ops decode,
// and every socket name is made before it is used.
func (l *Lesson) check() error {
	if l.ID == "" || l.Title == "" || len(l.Steps) == 0 {
		return errors.New("a lesson needs an id, a title and steps")
	}
	names := map[string]bool{}
	for i, st := range l.Steps {
		if len(st.Op) == 0 && st.Wait == nil {
			return fmt.Errorf("step %d has neither an op nor a wait", i+1)
		}
		for _, m := range placeholder.FindAllStringSubmatch(string(st.Op)+waitSock(st.Wait), -1) {
			kind, name := m[1], m[2]
			if kind == "lab:" {
				continue
			}
			if !names[name] {
				return fmt.Errorf("step %d uses ${%s%s} before a step makes it", i+1, kind, name)
			}
		}
		if len(st.Op) > 0 {
			var op sockets.Op
			if err := json.Unmarshal(st.Op, &op); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
			if !sockets.IsOp(op.Op) {
				return fmt.Errorf("step %d: unknown op %q", i+1, op.Op)
			}
		}
		if err := textNames(st.Say, names, ""); err != nil {
			return fmt.Errorf("step %d says %w", i+1, err)
		}
		// Look is read once the step has run: it may name the socket
		// the step made.
		if err := textNames(st.Look, names, st.As); err != nil {
			return fmt.Errorf("step %d's look %w", i+1, err)
		}
		if st.As != "" {
			names[st.As] = true
		}
	}
	return nil
}

// textNames checks the sockets a step's text names: ${name} is shown as
// the id the page gives that socket (s7), so it must be one an earlier
// step made (or made, the step's own).
func textNames(text string, names map[string]bool, made string) error {
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		kind, name := m[1], m[2]
		if kind != "" {
			return fmt.Errorf("${%s%s}: a text names sockets only, as ${name}", kind, name)
		}
		if !names[name] && name != made {
			return fmt.Errorf("${%s} before a step makes it", name)
		}
	}
	return nil
}

func waitSock(w *Wait) string {
	if w == nil {
		return ""
	}
	return w.Sock
}

// All lists the lessons in order.
func All() ([]*Lesson, error) {
	once.Do(load)
	return all, loadErr
}

// Get finds a lesson by id.
func Get(id string) (*Lesson, bool) {
	once.Do(load)
	l, ok := byID[id]
	return l, ok
}

// placeholder matches ${name}, ${lab:echo/tcp}, ${addr:name}, ${port:name}.
var placeholder = regexp.MustCompile(`\$\{(lab:|addr:|port:)?([A-Za-z0-9_./-]+)\}`)

// Labs finds a lab's address by name and proto.
type Labs func(name, proto string) (addr string, ok bool)

// Progress is one session's way through one lesson.
type Progress struct {
	mu      sync.Mutex
	Lesson  string            `json:"lesson"`
	Next    int               `json:"next"` // index of the next step
	Names   map[string]string `json:"names"`
	Results []*StepResult     `json:"results"`
}

// StepResult is what running one step did.
type StepResult struct {
	Step  int             `json:"step"`
	Op    json.RawMessage `json:"op,omitempty"` // as run, placeholders filled
	Event *sockets.Event  `json:"event,omitempty"`
	// Waited says what the wait saw.
	Waited string `json:"waited,omitempty"`
	// Problem says why the step could not run or did not finish; the
	// step can then be run again, skipped, or the lesson reset.
	Problem string `json:"problem,omitempty"`
	// Differs says how the outcome differs from what the lesson expected.
	Differs string `json:"differs,omitempty"`
	Done    bool   `json:"done"`
}

// NewProgress starts a lesson.
func NewProgress(id string) *Progress {
	return &Progress{Lesson: id, Names: map[string]string{}}
}

// Snapshot copies the progress for a reader.
func (p *Progress) Snapshot() Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make(map[string]string, len(p.Names))
	for k, v := range p.Names {
		names[k] = v
	}
	return Progress{Lesson: p.Lesson, Next: p.Next, Names: names, Results: append([]*StepResult(nil), p.Results...)}
}

// Reset goes back to the first step. The session keeps its sockets: the
// lesson makes new ones.
func (p *Progress) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Next, p.Names, p.Results = 0, map[string]string{}, nil
}

// Skip moves past the next step without running it.
func (p *Progress) Skip() {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, _ := Get(p.Lesson)
	if l != nil && p.Next < len(l.Steps) {
		p.Results = append(p.Results, &StepResult{Step: p.Next, Problem: "skipped"})
		p.Next++
	}
}

// Step runs the next step in session s. A step that cannot run (a lab is
// off, a socket it needs was never made) is reported and not passed; a
// step whose op fails or differs from what was expected is passed, with
// that said; either way the lesson never gets stuck.
func (p *Progress) Step(ctx context.Context, s *sockets.Session, labs Labs) *StepResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := Get(p.Lesson)
	if !ok {
		return &StepResult{Problem: "no such lesson"}
	}
	if p.Next >= len(l.Steps) {
		return &StepResult{Step: p.Next, Problem: "the lesson is over: reset it to run it again"}
	}
	st := l.Steps[p.Next]
	res := &StepResult{Step: p.Next}
	p.Results = append(p.Results, res)
	if len(st.Op) > 0 {
		raw, problem := p.fill(st.Op, s, labs)
		if problem != "" {
			res.Problem = problem
			return res
		}
		res.Op = raw
		var op sockets.Op
		if err := json.Unmarshal(raw, &op); err != nil {
			res.Problem = "this step's op does not decode: " + err.Error()
			return res
		}
		timeout := time.Duration(st.Timeout * float64(time.Second))
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		ev, err := s.Do(ctx, op)
		cancel()
		if err != nil {
			res.Problem = fmt.Sprintf("%s is still pending after %v: it goes on in the session, and the lesson moves on", op.Op, timeout)
			p.Next++
			res.Done = true
			return res
		}
		res.Event = &ev
		if st.As != "" && ev.OK && ev.Result != nil && ev.Result.Sock != "" {
			p.Names[st.As] = ev.Result.Sock
		}
		res.Differs = st.Expect.differs(ev)
	}
	if st.Wait != nil {
		waited, problem := p.wait(ctx, s, st.Wait)
		res.Waited, res.Problem = waited, problem
	}
	p.Next++
	res.Done = true
	return res
}

// fill replaces the placeholders in an op.
func (p *Progress) fill(op json.RawMessage, s *sockets.Session, labs Labs) (json.RawMessage, string) {
	var problem string
	out := placeholder.ReplaceAllStringFunc(string(op), func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		kind, name := sub[1], sub[2]
		switch kind {
		case "lab:":
			lab, proto, _ := strings.Cut(name, "/")
			if proto == "" {
				proto = "tcp"
			}
			addr, ok := labs(lab, proto)
			if !ok {
				problem = fmt.Sprintf("this step needs the %s lab over %s, which is not running (was sockplay started with -labs=false?)", lab, strings.ToUpper(proto))
			}
			return addr
		}
		id, ok := p.Names[name]
		if !ok {
			problem = fmt.Sprintf("this step uses the socket %q, which an earlier step should have made: run or reset the lesson", name)
			return ""
		}
		if kind == "" {
			return id
		}
		local := localOf(s, id)
		if local == "" {
			problem = fmt.Sprintf("socket %q (%s) has no local address yet: bind it first", name, id)
			return ""
		}
		if kind == "port:" {
			return local[strings.LastIndexByte(local, ':')+1:]
		}
		return local
	})
	return json.RawMessage(out), problem
}

func localOf(s *sockets.Session, id string) string {
	for _, in := range s.State().Sockets {
		if in.ID == id {
			return in.Local
		}
	}
	return ""
}

// wait holds until w's condition is true, or its timeout.
func (p *Progress) wait(ctx context.Context, s *sockets.Session, w *Wait) (string, string) {
	id := p.Names[w.Sock]
	timeout := time.Duration(w.Timeout * float64(time.Second))
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := s.Changed()
		if msg, ok := check(s, w, id); ok {
			return msg, ""
		}
		select {
		case <-changed:
		case <-deadline.C:
			msg, _ := check(s, w, id)
			return msg, fmt.Sprintf("waited %v and %s did not happen: the lesson can go on", timeout, describe(w))
		case <-ctx.Done():
			return "", "stopped waiting"
		case <-time.After(50 * time.Millisecond):
			// Kernel queues change without events when nobody watches.
		}
	}
}

func describe(w *Wait) string {
	switch w.For {
	case "recvq":
		return fmt.Sprintf("%d bytes waiting in %s's receive queue", w.AtLeast, w.Sock)
	case "eof":
		return "EOF on " + w.Sock
	default:
		return fmt.Sprintf("%d %s events on %s", w.AtLeast, w.Op, w.Sock)
	}
}

// check evaluates a wait's condition now.
func check(s *sockets.Session, w *Wait, id string) (string, bool) {
	switch w.For {
	case "recvq":
		for _, in := range s.State().Sockets {
			if in.ID == id && in.Stats != nil {
				return fmt.Sprintf("%d bytes are waiting in the kernel's receive queue", in.Stats.RecvQ), in.Stats.RecvQ >= w.AtLeast
			}
		}
	case "eof", "events":
		n, total := 0, 0
		// Only lengths and flags are read: borrowing keeps no arena
		// of autorecv's from reuse while a lesson waits.
		b := s.Borrow(0, 0, 0)
		defer b.Release()
		for _, ev := range b.Events() {
			if ev.Sock != id || !ev.Auto || ev.Parent != 0 {
				continue
			}
			if w.For == "eof" && ev.Op == "recv" && ev.OK {
				total += len(ev.Result.Data)
				if ev.Result.EOF {
					return fmt.Sprintf("EOF, after %d bytes in all", total), true
				}
			}
			if w.For == "events" && ev.Op == w.Op && ev.OK {
				n++
			}
		}
		if w.For == "events" {
			return fmt.Sprintf("%d %s events", n, w.Op), n >= w.AtLeast
		}
		return fmt.Sprintf("%d bytes so far, no EOF yet", total), false
	}
	return "", false
}

// differs says how ev differs from the expectation, or "".
func (e *Expect) differs(ev sockets.Event) string {
	if e == nil {
		return ""
	}
	var d []string
	if e.OK != nil && *e.OK != ev.OK {
		if ev.OK {
			d = append(d, "it succeeded, where an error was expected")
		} else {
			d = append(d, fmt.Sprintf("it raised %s, where success was expected", ev.Error.Exc))
		}
	}
	if e.Exc != "" && (ev.Error == nil || ev.Error.Exc != e.Exc) {
		d = append(d, "expected "+e.Exc)
	}
	if e.Errno != "" && (ev.Error == nil || ev.Error.Errno != e.Errno) {
		d = append(d, "expected errno "+e.Errno)
	}
	r := ev.Result
	if r == nil {
		r = &sockets.Result{}
	}
	if e.Data != nil && string(r.Data) != *e.Data {
		d = append(d, fmt.Sprintf("expected the bytes %q, got %q", *e.Data, r.Data))
	}
	if e.N != nil && (r.N == nil || *r.N != *e.N) {
		d = append(d, fmt.Sprintf("expected n = %d", *e.N))
	}
	if e.EOF != nil && r.EOF != *e.EOF {
		d = append(d, fmt.Sprintf("expected eof = %v", *e.EOF))
	}
	if e.Truncated != nil && r.Truncated != *e.Truncated {
		d = append(d, fmt.Sprintf("expected truncated = %v", *e.Truncated))
	}
	return strings.Join(d, "; ")
}
