package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// operatorServer is a listener of the operator's own, apart from the
// playground's: /metrics for a Prometheus on the operator's network
// (-metrics-addr), or Go's profiler on loopback (-pprof-addr). Neither
// asks for the token: who may reach the address is the operator's
// choice (and the profiler's is loopback, always).
type operatorServer struct {
	what string
	srv  *http.Server
	ln   net.Listener
}

// listenOperator listens on addr for handler, named what in logs.
func listenOperator(what, addr string, handler http.Handler, log *slog.Logger) (*operatorServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for %s: %w", addr, what, err)
	}
	log.Info("serving "+what, "addr", ln.Addr().String())
	return &operatorServer{what: what, ln: ln, srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// serve serves until shutdown; an error but the server's closing is
// logged.
func (o *operatorServer) serve(log *slog.Logger) {
	if err := o.srv.Serve(o.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serving "+o.what, "err", err)
	}
}

// close stops it at once, its listener too (served or not).
func (o *operatorServer) close() {
	o.srv.Close()
	o.ln.Close()
}

// shutdown stops it, within ctx (a profile being taken is cut short).
func (o *operatorServer) shutdown(ctx context.Context) {
	if o.srv.Shutdown(ctx) != nil {
		o.srv.Close()
	}
}

// metricsMux serves metrics at /metrics, and nothing else.
func metricsMux(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}

// pprofMux is Go's profiler at /debug/pprof/, as net/http/pprof serves
// it on the default mux, which sockplay never uses.
func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
