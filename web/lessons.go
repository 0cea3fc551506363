package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

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
	id := chi.URLParam(r, "lesson")
	l, ok := lessons.Get(id)
	if !ok {
		writeNoLesson(w, id)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func writeNoLesson(w http.ResponseWriter, id string) {
	writeError(w, codeNoLesson, "no lesson "+id+": GET /api/lessons lists them")
}

// stepAnswer is what a lesson action answers: what the step did, if one
// ran, and where the session is in the lesson now.
type stepAnswer struct {
	Result   *lessons.StepResult `json:"result,omitempty"`
	Progress lessons.Progress    `json:"progress"`
}

// lessonAction runs the next step of the {lesson}, skips it, resets the
// lesson, or (GET) just reports where the session is in it.
func (h *handler) lessonAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, id := sessionOf(r), chi.URLParam(r, "lesson")
		p, ok := h.lessons.Progress(s, id)
		if !ok {
			writeNoLesson(w, id)
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

// watchedLesson is a lesson and where the watched session is in it, for
// a watch page following its owner through the lesson: it shows the steps
// the owner ran, and runs none.
func (h *handler) watchedLesson(w http.ResponseWriter, r *http.Request) {
	s, id := sessionOf(r), chi.URLParam(r, "lesson")
	l, ok := lessons.Get(id)
	p, okp := h.lessons.Progress(s, id)
	if !ok || !okp {
		writeNoLesson(w, id)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Lesson   *lessons.Lesson  `json:"lesson"`
		Progress lessons.Progress `json:"progress"`
	}{l, p.Snapshot()})
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
