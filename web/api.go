package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/export"
	"github.com/sockplay/sockplay/sockets/lessons"
	"github.com/sockplay/sockplay/static"
	"github.com/sockplay/sockplay/templates"
)

// watchLink is a session's read-only link, for a class to follow it.
type watchLink struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

// createWatchLink gives the session's watch link (the same one each time).
func (h *handler) createWatchLink(w http.ResponseWriter, r *http.Request) {
	id := sessionOf(r).ID()
	token, ok := h.cfg.Sessions.WatchToken(id)
	if !ok {
		writeNoSession(w, id)
		return
	}
	writeJSON(w, http.StatusCreated, watchLink{Token: token, URL: "/w/" + token})
}

// getWatched is a watched session's state, without its id.
func (h *handler) getWatched(w http.ResponseWriter, r *http.Request) {
	st := sessionOf(r).State()
	st.ID = ""
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) labs() []labs.Lab {
	if h.cfg.Labs == nil {
		return []labs.Lab{}
	}
	return h.cfg.Labs.Labs()
}

// listOps is the engine's op table: each op's arguments, lane, whether it
// blocks, and how it reads as Python.
func (h *handler) listOps(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(sockets.OpTableJSON())
}

func (h *handler) listLabs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.labs())
}

type created struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

func (h *handler) createSession(w http.ResponseWriter, _ *http.Request) {
	if h.refuseWhileDraining(w) {
		return
	}
	s, err := h.cfg.Sessions.Create()
	if err != nil {
		code := codeUnavailable
		if errors.Is(err, sockets.ErrTooManySessions) {
			code = codeTooManySessions
		}
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, created{ID: s.ID(), URL: "/s/" + s.ID()})
}

func (h *handler) getSession(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, sessionOf(r).State())
}

// endedByOwner is why a session DELETE ended reads to its pages and
// watchers.
const endedByOwner = "ended by its owner (DELETE /api/sessions/{id})"

// endSession ends the session: its sockets close, its pending calls end,
// and its pages and watchers are told why. 204; 404 if it is gone
// already (loadSession found it, but it may have ended since).
func (h *handler) endSession(w http.ResponseWriter, r *http.Request) {
	id := sessionOf(r).ID()
	if !h.cfg.Sessions.EndSession(id, endedByOwner) {
		writeNoSession(w, id)
		return
	}
	h.log.Info("session ended by its owner", "session", id)
	w.WriteHeader(http.StatusNoContent)
}

// runOp runs one op and answers with its event, once the op is done (a
// blocking recv answers when it returns). If the client goes away first the
// op still completes and its event is in the log.
func (h *handler) runOp(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxMessage))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, codeTooLarge, "an op may be at most "+strconv.FormatInt(h.cfg.MaxMessage, 10)+" bytes")
			return
		}
		writeError(w, codeBadRequest, "reading the body: "+err.Error())
		return
	}
	op, err := decodeOp(body)
	if err != nil {
		writeError(w, codeBadRequest, err.Error())
		return
	}
	if !admit(w, s) {
		return
	}
	select {
	case ev := <-s.Submit(op.Op, sockets.Submitter{}):
		writeJSON(w, http.StatusOK, ev)
	case <-r.Context().Done():
	}
}

// admit takes one op from s's -max-ops-per-sec, or answers 429 and says
// it did not.
func admit(w http.ResponseWriter, s *sockets.Session) bool {
	if err := s.Admit(); err != nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, codeRateLimited, err.Error())
		return false
	}
	return true
}

// events streams the log after ?since=N as NDJSON; with ?follow=1 it keeps
// streaming new events until the client or the session goes away.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	// The stream keeps the log in memory, the session ended or not: it
	// counts against the budget across sessions until it is done.
	defer s.HoldLog()()
	since, ok := sinceParam(w, r, s)
	if !ok {
		return
	}
	follow := r.URL.Query().Get("follow") == "1" || r.URL.Query().Get("follow") == "true"
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	// Lines go out about pieceBytes at a time, each event's JSON written
	// straight into buf (see appendEvent): a write per line was two
	// system calls for every event of a fast stream.
	var buf []byte
	flush := func() error {
		var err error
		if len(buf) > 0 {
			_, err = w.Write(buf)
		}
		buf = keepSmall(buf[:0])
		return err
	}
	ending := false
	for {
		changed := s.Changed()
		// Borrowed, and given back once their lines are in buf: a
		// follower keeps no arena of autorecv's from reuse. Bounded in
		// bytes as well as in count: a slow reader holds at most that
		// much of a log that the budgets may meanwhile have cut.
		b := s.Borrow(since, 1024, 16*batchBytes)
		evs := b.Events()
		if len(evs) > 0 && evs[0].Seq > since+1 {
			gap, _ := json.Marshal(controlMsg{Type: "gap", From: since + 1, To: evs[0].Seq - 1})
			buf = append(append(buf, gap...), '\n')
		}
		for i := range evs {
			if len(buf) >= pieceBytes {
				if err := flush(); err != nil {
					b.Release()
					return
				}
			}
			buf = append(appendEvent(buf, b, i, 0), '\n')
			since = evs[i].Seq
		}
		b.Release()
		if len(evs) > 0 {
			s.Consumed(since)
		}
		// Cut short (by count or by bytes), or more came meanwhile.
		if len(evs) > 0 && since < s.LastSeq() {
			continue
		}
		if err := flush(); err != nil || !follow || ending {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-s.Done():
			// Its last events (pending calls its end ended) may have come
			// with it: one more pass, then the end.
			ending = true
		case <-r.Context().Done():
			return
		}
	}
}

// sinceParam reads ?since=N for session s, or answers the error itself.
func sinceParam(w http.ResponseWriter, r *http.Request, s *sockets.Session) (int64, bool) {
	since, err := parseSince(r, s)
	if err != nil {
		writeError(w, codeBadRequest, err.Error())
		return 0, false
	}
	return since, true
}

// parseSince reads ?since=N. A seq past the end of the log is refused: the
// client would silently skip the events that later take those numbers.
func parseSince(r *http.Request, s *sockets.Session) (int64, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("since must be a non-negative event seq, not " + strconv.Quote(v))
	}
	if last := s.LastSeq(); n > last {
		return 0, fmt.Errorf("since=%d is past the last event of this session (seq %d)", n, last)
	}
	return n, nil
}

// newSessionPage is "/": every visit starts a fresh session.
func (h *handler) newSessionPage(w http.ResponseWriter, r *http.Request) {
	// A session is made for a page opened in a tab, not for an image or a
	// frame another site embeds (each load would use up a session).
	if d := r.Header.Get("Sec-Fetch-Dest"); d != "" && d != "document" {
		writeError(w, codeNotATab, "open sockplay in a browser tab to start a session")
		return
	}
	if h.refuseWhileDraining(w) {
		return
	}
	s, err := h.cfg.Sessions.Create()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/s/"+s.ID(), http.StatusSeeOther)
}

func (h *handler) sessionPage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	_, ok := h.cfg.Sessions.Get(id)
	p := templates.SessionPage{ID: id, Labs: h.labViews(), Ops: sockets.OpTableJSON(), Examples: h.examples()}
	p.Lessons, p.LessonsError = lessonViews()
	h.page(w, r, ok, id, p)
}

// lessonViews are the guided lessons as the page lists them, or why they
// could not be listed.
func lessonViews() ([]templates.Lesson, string) {
	ls, err := lessons.All()
	if err != nil {
		return nil, err.Error()
	}
	views := make([]templates.Lesson, 0, len(ls))
	for _, l := range ls {
		views = append(views, templates.Lesson{ID: l.ID, Order: l.Order, Title: l.Title, Summary: l.Summary})
	}
	return views, ""
}

// examples are the code pane's programs, with the running labs' addresses.
func (h *handler) examples() []templates.Example {
	addr := func(name, proto string) (string, bool) {
		for _, l := range h.labs() {
			if l.Name == name && l.Proto == proto {
				return l.Addr, true
			}
		}
		return "", false
	}
	var out []templates.Example
	for _, e := range static.Examples() {
		out = append(out, templates.Example{Name: e.Name, Title: e.Title, About: e.About, Source: e.WithLabs(addr)})
	}
	return out
}

// watchPage is the page of a watch link: the session's views, read-only
// (no labs: a watcher cannot use them).
func (h *handler) watchPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	_, ok := h.cfg.Sessions.Watched(token)
	p := templates.SessionPage{WatchToken: token, Ops: sockets.OpTableJSON()}
	p.Lessons, p.LessonsError = lessonViews()
	h.page(w, r, ok, "", p)
}

// replayPage is the page in replay mode: static/replay.js opens an
// exported session in it, from a file or from ?src=URL.
func (h *handler) replayPage(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, true, "", templates.SessionPage{Replay: true, Ops: sockets.OpTableJSON()})
}

// page renders a session's page, or its "no such session" page (naming
// the id, if it may be shown).
func (h *handler) page(w http.ResponseWriter, r *http.Request, found bool, id string, p templates.SessionPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_ = templates.NotFound(id).Render(r.Context(), w)
		return
	}
	_ = templates.Session(p).Render(r.Context(), w)
}

func (h *handler) labViews() []templates.Lab {
	var views []templates.Lab
	for _, l := range h.labs() {
		views = append(views, templates.Lab{Name: l.Name, Proto: l.Proto, Addr: l.Addr, Description: l.Description})
	}
	return views
}

// exportPython downloads the session as a Python script that replays its
// calls with the same arguments.
func (h *handler) exportPython(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	st := s.State()
	w.Header().Set("Content-Type", "text/x-python; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sockplay-`+s.ID()+`.py"`)
	// The script is made of the whole log, borrowed until it is written:
	// one download of a session's script at a time, so that slow readers
	// cannot each hold another copy of a log the budgets have since cut.
	if _, busy := h.exports.LoadOrStore(s.ID(), struct{}{}); busy {
		writeError(w, codeExportBusy, "this session's script is being downloaded already; try again once that download is done")
		return
	}
	defer h.exports.Delete(s.ID())
	// Borrowed, and released once the script is written: an export
	// keeps no arena of autorecv's from reuse.
	b := s.Borrow(0, 0, 0)
	defer b.Release()
	if err := export.WritePython(w, export.Script{Session: s.ID(), Events: b.Events(), Pending: st.Pending}); err != nil {
		h.log.Info("export failed", "session", s.ID(), "err", err)
	}
}

// exportNDJSON downloads the session's event log as a file a replay page
// opens: a hello line with the protocol's version, the events from the
// start (and gap lines), and the session's state as the last line, which
// also says the file is whole.
func (h *handler) exportNDJSON(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="sockplay-`+s.ID()+`.ndjson"`)
	var since int64
	hello, _ := json.Marshal(controlMsg{Type: "hello", Protocol: wireProtocol, Session: s.ID(), Since: &since})
	if _, err := w.Write(append(hello, '\n')); err != nil {
		return
	}
	r.URL.RawQuery = ""
	h.events(w, r)
	st := s.State()
	end, _ := json.Marshal(controlMsg{Type: "state", State: &st})
	_, _ = w.Write(append(end, '\n'))
}
