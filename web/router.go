package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
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
	// EndSession ends session id, telling its pages and watchers reason.
	EndSession(id, reason string) bool
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
	// BodyTimeout bounds how long a request's body may take to arrive
	// (negative: no bound).
	BodyTimeout time.Duration
	// MaxWatcherLag is how many events a live watcher may fall behind
	// before it is closed with 1008 (it resumes from the log when it
	// reconnects).
	MaxWatcherLag int
	// Node is this node's name, as its session ids begin with it ("":
	// none); /readyz and the messages of a drain say it.
	Node string
	// Drain is whether the node takes new sessions (/readyz); nil: a
	// drain of its own, begun only by POST /api/admin/drain.
	Drain *Drain
	// Meter counts what the web layer does, for metrics; nil: nobody.
	Meter Meter
	// Metrics serves GET /metrics, behind the token like the API; nil:
	// no such route.
	Metrics http.Handler
}

// Meter is told what the web layer does, for an operator's metrics
// (the metrics package has the one sockplay uses). It is called as
// events are written: it must be quick and must not block.
type Meter interface {
	// Refused is something refused by the limit named as its flag is,
	// or "draining": a new session on a node that drains.
	Refused(limit string)
	// WriteLag is, for a message of live events written to a WebSocket,
	// how long after the oldest of them was logged the write finished.
	WriteLag(d time.Duration)
}

type noMeter struct{}

func (noMeter) Refused(string)         {}
func (noMeter) WriteLag(time.Duration) {}

// DefaultConfig holds the web layer's limits as sockplay runs when told
// nothing else: the server's flags take their defaults from it, and New
// takes a zero limit to mean the one here.
func DefaultConfig() Config {
	return Config{
		MaxMessage:    8 << 20,
		WriteTimeout:  10 * time.Second,
		BodyTimeout:   time.Minute,
		MaxWatcherLag: 10_000,
	}
}

type handler struct {
	cfg     Config
	log     *slog.Logger
	lessons lessons.Tracker
	exports sync.Map // session id → a download of its script is under way
}

// New builds sockplay's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = def.MaxMessage
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = def.BodyTimeout
	}
	if cfg.MaxWatcherLag <= 0 {
		cfg.MaxWatcherLag = def.MaxWatcherLag
	}
	if cfg.Drain == nil {
		cfg.Drain = NewDrain(0)
	}
	if cfg.Meter == nil {
		cfg.Meter = noMeter{}
	}
	h := &handler{cfg: cfg, log: cfg.Logger}
	a := cfg.Access
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, h.bodyDeadline, h.probes, a.requireHost, a.requireOrigin)
	// Each group refuses a body too large after its token check, so that
	// a client without the token learns nothing more.
	// Token-free: the page's files and a watch link's page.
	r.Group(func(r chi.Router) {
		r.Use(a.freeToLook, h.bodySize)
		r.Handle(static.PyodidePath+"*", static.PyodideHandler())
		r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(static.FS)))
		r.Get("/w/{token}", h.watchPage)
		// A replay reads a file the browser opens: it holds no session
		// and can run nothing.
		r.Get("/replay", h.replayPage)
	})
	// Everything else needs the token, when one is set.
	r.Group(func(r chi.Router) {
		r.Use(a.requireToken, h.bodySize)
		r.Get("/", h.newSessionPage)
		r.Get("/s/{id}", h.sessionPage)
		if cfg.Metrics != nil {
			r.Method(http.MethodGet, "/metrics", cfg.Metrics)
		}
		// Set here, so that the token guards them too.
		r.NotFound(http.NotFound)
		r.MethodNotAllowed(methodNotAllowed(r))
	})
	r.Route("/api", func(r chi.Router) {
		// Token-free: a watch link's state and stream.
		r.Group(func(r chi.Router) {
			r.Use(a.freeToLook, h.bodySize, h.loadWatched)
			r.Get("/watch/{token}", h.getWatched)
			r.Get("/watch/{token}/ws", h.watchWebsocket)
			r.Get("/watch/{token}/lessons/{lesson}", h.watchedLesson)
		})
		r.Group(func(r chi.Router) {
			r.Use(a.requireToken, h.bodySize)
			r.Get("/labs", h.listLabs)
			r.Get("/ops", h.listOps)
			r.Get("/lessons", h.listLessons)
			r.Get("/lessons/{lesson}", h.getLesson)
			r.Post("/sessions", h.createSession)
			r.Post("/admin/drain", h.startDrain)
			r.Route("/sessions/{id}", func(r chi.Router) {
				// Its own: it would otherwise inherit the /api group's,
				// which ask for the token a second time.
				r.NotFound(apiNotFound)
				r.MethodNotAllowed(apiMethodNotAllowed)
				r.Group(func(r chi.Router) {
					r.Use(h.loadSession)
					r.Get("/", h.getSession)
					r.Delete("/", h.endSession)
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
			})
			r.NotFound(apiNotFound)
			r.MethodNotAllowed(apiMethodNotAllowed)
		})
	})
	return r
}

// probes answers /healthz and /readyz ahead of every access check: a
// container's probe names the container's address, which is no allowed
// host, and carries no token. They tell nothing but whether the node is
// alive, and whether it takes new sessions. On a connection let in only
// for /healthz (LivenessOnly), that is the one thing answered, once.
func (h *handler) probes(next http.Handler) http.Handler {
	alive := chi.NewRouter()
	alive.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	ready := chi.NewRouter()
	ready.Get("/readyz", h.readyz)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		only, _ := r.Context().Value(livenessOnlyKey{}).(bool)
		switch {
		case r.URL.Path == "/healthz":
			if only || r.ContentLength != 0 {
				closeUnread(w, r)
			}
			alive.ServeHTTP(w, r)
		case r.URL.Path == "/readyz" && !only:
			if r.ContentLength != 0 {
				closeUnread(w, r)
			}
			ready.ServeHTTP(w, r)
		case only:
			refuse(w, r, codeTooManyConns, "sockplay has as many connections as it takes (-max-conns): try again when some have closed")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

type livenessOnlyKey struct{}

// LivenessOnly marks ctx, a connection's (http.Server's ConnContext), as
// one let in past the cap on connections so that /healthz stays
// reachable in a flood: on it /healthz is answered, and anything else
// refused with 503 too_many_connections; the connection then closes.
func LivenessOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, livenessOnlyKey{}, true)
}

// methods are the methods chi routes; it answers any other with a 405
// that names none.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

// methodNotAllowed is chi's own 405 (no body, the path's methods in
// Allow) for the routes of routes, as a handler that can be set in a
// group and so stand behind its checks.
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(methods, r.Method) {
			path := r.URL.Path
			if r.URL.RawPath != "" {
				path = r.URL.RawPath // what chi routes by
			}
			for _, m := range methods {
				if routes.Match(chi.NewRouteContext(), m, path) {
					w.Header().Add("Allow", m)
				}
			}
		}
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, codeNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
}

func apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
