package web

import (
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/lessons"
)

// lessonStore keeps each session's progress through each lesson, and
// forgets a session's when it ends.
type lessonStore struct {
	mu   sync.Mutex
	runs map[string]map[string]*lessons.Progress // session → lesson → progress
}

func (st *lessonStore) progress(s *sockets.Session, lesson string) *lessons.Progress {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.runs == nil {
		st.runs = map[string]map[string]*lessons.Progress{}
	}
	bySession, ok := st.runs[s.ID()]
	if !ok {
		bySession = map[string]*lessons.Progress{}
		st.runs[s.ID()] = bySession
		go func() {
			<-s.Done()
			st.mu.Lock()
			delete(st.runs, s.ID())
			st.mu.Unlock()
		}()
	}
	p, ok := bySession[lesson]
	if !ok {
		p = lessons.NewProgress(lesson)
		bySession[lesson] = p
	}
	return p
}

func (h *handler) listLessons(w http.ResponseWriter, _ *http.Request) {
	ls, err := lessons.All()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "lessons", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ls)
}

func (h *handler) getLesson(w http.ResponseWriter, r *http.Request) {
	l, ok := lessons.Get(chi.URLParam(r, "lesson"))
	if !ok {
		writeError(w, http.StatusNotFound, "no_lesson", "no lesson "+chi.URLParam(r, "lesson")+": GET /api/lessons lists them")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// lessonProgress finds the session and the lesson, or answers the error.
func (h *handler) lessonProgress(w http.ResponseWriter, r *http.Request) (*sockets.Session, *lessons.Progress, bool) {
	s, ok := h.session(w, r)
	if !ok {
		return nil, nil, false
	}
	id := chi.URLParam(r, "lesson")
	if _, ok := lessons.Get(id); !ok {
		writeError(w, http.StatusNotFound, "no_lesson", "no lesson "+id+": GET /api/lessons lists them")
		return nil, nil, false
	}
	return s, h.lessons.progress(s, id), true
}

type stepAnswer struct {
	Result   *lessons.StepResult `json:"result,omitempty"`
	Progress lessons.Progress    `json:"progress"`
}

// lessonAction runs the next step, skips it, resets the lesson, or (GET)
// just reports where the session is in it.
func (h *handler) lessonAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, p, ok := h.lessonProgress(w, r)
		if !ok {
			return
		}
		// A step runs a few ops: it counts as one against the limit.
		if action == "step" && !admit(w, s) {
			return
		}
		var res *lessons.StepResult
		switch action {
		case "step":
			res = p.Step(r.Context(), s, h.findLab)
		case "skip":
			p.Skip()
		case "reset":
			p.Reset()
		}
		writeJSON(w, http.StatusOK, stepAnswer{Result: res, Progress: p.Snapshot()})
	}
}

// findLab is a lab's address by name and protocol.
func (h *handler) findLab(name, proto string) (string, bool) {
	for _, l := range h.labs() {
		if l.Name == name && l.Proto == proto {
			return l.Addr, true
		}
	}
	return "", false
}
