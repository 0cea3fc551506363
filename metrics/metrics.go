// Package metrics is what sockplay tells an operator's Prometheus: every
// series it exports, in one private registry built here and nowhere else.
// A Metrics is the engine's Meter and the web layer's, given to each
// through its constructor; what is held at a moment (sessions, sockets,
// the budgets' use) is read from the engine when the metrics are scraped,
// and what happens (calls, events, refusals) is counted as it happens.
//
// The engine calls its Meter on hot paths, once for every event of a
// stream of hundreds of thousands a second: every series those calls
// touch is resolved when the Metrics is made (a table of them by op),
// so that counting is an atomic add and never allocates.
package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockplay/sockplay/sockets"
)

// Metrics counts what sockplay does and serves it (Handler).
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	// ops and took are by op, as sockets.OpNames lists them: the calls
	// ended ok and in error, and how long each took.
	ops  [][2]prometheus.Counter
	took []prometheus.Observer

	events         prometheus.Counter
	received, sent prometheus.Counter
	started        prometheus.Counter
	ended          map[sockets.EndCause]prometheus.Counter
	writeLag       prometheus.Observer
	refusals       *prometheus.CounterVec
	refusedMu      sync.RWMutex
	refusedBy      map[string]prometheus.Counter
}

// opBuckets are the calls' durations, in seconds: 25 µs (a getsockname)
// to 26 s (a recv that waited for a slow peer), each four times the last.
var opBuckets = prometheus.ExponentialBuckets(25e-6, 4, 11)

// lagBuckets are a WebSocket's write lag, in seconds: 100 µs to 6.5 s.
var lagBuckets = prometheus.ExponentialBuckets(100e-6, 4, 9)

// New makes the registry and every series counted as things happen. Its
// Go runtime's and process's series come with it. log is where errors
// of serving the metrics go.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg}
	m := &Metrics{reg: reg, log: log, refusedBy: map[string]prometheus.Counter{}}

	opsTotal := f.counterVec("sockplay_ops_total", "Calls (ops) run in sessions, by op and outcome (ok: it succeeded; error: its event is an error, as Python would raise it).", "op", "outcome")
	took := f.histogramVec("sockplay_op_duration_seconds", "How long calls took, from their submission to their event, time pending included (a blocking recv waits for its data).", opBuckets, "op")
	for _, name := range sockets.OpNames() {
		m.ops = append(m.ops, [2]prometheus.Counter{opsTotal.WithLabelValues(name, "ok"), opsTotal.WithLabelValues(name, "error")})
		m.took = append(m.took, took.WithLabelValues(name))
	}
	m.events = f.counter("sockplay_events_total", "Events put in sessions' logs: every call's, every auto loop's recv and accept, every kernel stats change.")
	bytes := f.counterVec("sockplay_socket_bytes_total", "Bytes of socket data sessions' sockets carried: received by recvs (autorecv's too), sent by sends.", "direction")
	m.received, m.sent = bytes.WithLabelValues("received"), bytes.WithLabelValues("sent")
	m.started = f.counter("sockplay_sessions_created_total", "Sessions made.")
	ended := f.counterVec("sockplay_sessions_ended_total", "Sessions ended, by why: owner (DELETE), idle (-session-idle), drain (outlived a drain of the node), shutdown.", "reason")
	m.ended = map[sockets.EndCause]prometheus.Counter{}
	for _, c := range sockets.EndCauses {
		m.ended[c] = ended.WithLabelValues(string(c))
	}
	m.refusals = f.counterVec("sockplay_refusals_total", "Things refused by a limit or the egress policy, by the flag that refused them (max-fds, max-sockets, egress, deny-ports, max-conns, ...; draining: a new session on a node being drained).", "limit")
	m.writeLag = f.histogram("sockplay_websocket_write_lag_seconds", "For each message of live events written to a WebSocket, how long after the oldest of them was logged the write finished.", lagBuckets)
	return m
}

// factory makes series and registers them in one registry.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// Handler serves the metrics in Prometheus' text format (or what the
// scraper asks for, of the formats promhttp offers).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		Registry: m.reg,
	})
}

// Gatherer is the registry, for a test to read what it holds.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Op counts one call's end (sockets.Meter).
func (m *Metrics) Op(op int, ok bool, took time.Duration) {
	outcome := 0
	if !ok {
		outcome = 1
	}
	m.ops[op][outcome].Inc()
	m.took[op].Observe(took.Seconds())
}

// Event counts one event and the socket bytes it carried (sockets.Meter).
func (m *Metrics) Event(received, sent int) {
	m.events.Inc()
	if received > 0 {
		m.received.Add(float64(received))
	}
	if sent > 0 {
		m.sent.Add(float64(sent))
	}
}

// Refused counts a refusal by limit (sockets.Meter, and the web layer's
// and the server's). The limits are a few flags' names, each resolved
// once.
func (m *Metrics) Refused(limit string) {
	m.refusedMu.RLock()
	c, ok := m.refusedBy[limit]
	m.refusedMu.RUnlock()
	if !ok {
		m.refusedMu.Lock()
		if c, ok = m.refusedBy[limit]; !ok {
			c = m.refusals.WithLabelValues(limit)
			m.refusedBy[limit] = c
		}
		m.refusedMu.Unlock()
	}
	c.Inc()
}

// SessionStarted counts a new session (sockets.Meter).
func (m *Metrics) SessionStarted() { m.started.Inc() }

// SessionEnded counts a session's end by its cause (sockets.Meter).
func (m *Metrics) SessionEnded(c sockets.EndCause) {
	if e, ok := m.ended[c]; ok {
		e.Inc()
	}
}

// WriteLag is how long after the oldest live event of a WebSocket
// message was logged its write finished (the web layer's Meter).
func (m *Metrics) WriteLag(d time.Duration) { m.writeLag.Observe(d.Seconds()) }
