package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/lessons"
)

func (h *handler) listLessons(w http.ResponseWriter, _ *http.Request) {
	ls, err := lessons.All()
	if err != nil {
		writeError(w, codeLessons, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ls)
}

func (h *handler) getLesson(w http.ResponseWriter, r *http.Request) {
	l, ok := lessons.Get(chi.URLParam(r, "lesson"))
	if !ok {
		writeError(w, codeNoLesson, "no lesson "+chi.URLParam(r, "lesson")+": GET /api/lessons lists them")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// lessonProgress finds the session's progress in the {lesson}, or answers
// the error.
func (h *handler) lessonProgress(w http.ResponseWriter, r *http.Request) (*sockets.Session, *lessons.Progress, bool) {
	s := sessionOf(r)
	id := chi.URLParam(r, "lesson")
	p, ok := h.lessons.Progress(s, id)
	if !ok {
		writeError(w, codeNoLesson, "no lesson "+id+": GET /api/lessons lists them")
		return nil, nil, false
	}
	return s, p, true
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
