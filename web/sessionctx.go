package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/sockplay/sockplay/sockets"
)

// sessionKey is the request context's key for the session a route is
// about.
type sessionKey struct{}

// loadSession puts the {id} session in the request's context, or answers
// 404 no_session.
func (h *handler) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		s, ok := h.cfg.Sessions.Get(id)
		if !ok {
			writeNoSession(w, id)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// writeNoSession says there is no session id.
func writeNoSession(w http.ResponseWriter, id string) {
	writeError(w, codeNoSession, "no session "+strconv.Quote(id)+": it may have expired; POST /api/sessions starts a new one")
}

// loadWatched puts the session of the {token} watch link in the request's
// context, or answers 404 no_session.
func (h *handler) loadWatched(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.cfg.Sessions.Watched(chi.URLParam(r, "token"))
		if !ok {
			writeError(w, codeNoSession, "this watch link's session has ended (or the link is wrong)")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// sessionOf is the session loadSession or loadWatched found for r.
func sessionOf(r *http.Request) *sockets.Session {
	return r.Context().Value(sessionKey{}).(*sockets.Session)
}
