package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/lessons"
	"github.com/sockplay/sockplay/static"
)

// Sessions is what the web layer needs of the engine's session manager.
type Sessions interface {
	Create() (*sockets.Session, error)
	Get(id string) (*sockets.Session, bool)
	// WatchToken gives session id's read-only watch token, made once.
	WatchToken(id string) (string, bool)
	// Watched finds a session by its watch token.
	Watched(token string) (*sockets.Session, bool)
}

// Labs lists the running lab servers.
type Labs interface {
	Labs() []labs.Lab
}

// Config holds the web layer's dependencies and limits.
type Config struct {
	Sessions Sessions
	Labs     Labs // may be nil: no labs
	Logger   *slog.Logger
	// MaxMessage bounds one WebSocket message (and one op body).
	MaxMessage int64
	// WriteTimeout bounds every write to a WebSocket.
	WriteTimeout time.Duration
	// Access says which hosts may be named and which token is needed.
	Access Access
	// MaxWatcherLag is how many events a live watcher may fall behind
	// before it is closed with 1008 (it resumes from the log when it
	// reconnects).
	MaxWatcherLag int
}

type handler struct {
	cfg     Config
	log     *slog.Logger
	lessons lessons.Tracker
}

// New builds sockplay's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 8 << 20
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MaxWatcherLag <= 0 {
		cfg.MaxWatcherLag = 10_000
	}
	h := &handler{cfg: cfg, log: cfg.Logger}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/", h.newSessionPage)
	r.Get("/s/{id}", h.sessionPage)
	r.Get("/w/{token}", h.watchPage)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(static.FS)))
	r.Route("/api", func(r chi.Router) {
		r.Get("/labs", h.listLabs)
		r.Get("/lessons", h.listLessons)
		r.Get("/lessons/{lesson}", h.getLesson)
		r.Post("/sessions", h.createSession)
		r.Get("/watch/{token}", h.getWatched)
		r.Get("/watch/{token}/ws", h.watchWebsocket)
		r.Route("/sessions/{id}", func(r chi.Router) {
			r.Get("/", h.getSession)
			r.Post("/ops", h.runOp)
			r.Get("/events", h.events)
			r.Get("/ws", h.websocket)
			r.Post("/watch", h.createWatchLink)
			r.Get("/export.py", h.exportPython)
			r.Get("/export.ndjson", h.exportNDJSON)
			r.Get("/lessons/{lesson}", h.lessonAction(""))
			r.Post("/lessons/{lesson}/step", h.lessonAction("step"))
			r.Post("/lessons/{lesson}/skip", h.lessonAction("skip"))
			r.Post("/lessons/{lesson}/reset", h.lessonAction("reset"))
		})
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
		})
	})
	return cfg.Access.guard(r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]apiError{"error": {Code: code, Msg: msg}})
}
