package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockplay/sockplay/sockets"
)

// Sources are what the metrics read at each scrape: what is held at that
// moment, which counting as it happens would only get wrong. A nil one is
// not read.
type Sources struct {
	// Census is the engine's (sockets.Manager.Census).
	Census func() sockets.Census
	// Ready says whether the node takes new sessions (not draining).
	Ready func() bool
	// Conns is how many HTTP connections are open, WebSockets included.
	Conns func() int
}

// Read registers src, to be read at each scrape. The engine is made with
// the Metrics as its Meter, so what it holds can only be read once it
// exists: hence a step of its own.
func (m *Metrics) Read(src Sources) {
	m.reg.MustRegister(&held{src: src})
}

var (
	sessionsOpen = prometheus.NewDesc("sockplay_sessions_open", "Sessions open now.", nil, nil)
	watchers     = prometheus.NewDesc("sockplay_watchers", "Watch-link viewers connected now, of every session.", nil, nil)
	socketsOpen  = prometheus.NewDesc("sockplay_sockets", "Sessions' sockets now, by family, type and state (closed ones stay until their session ends).", []string{"family", "type", "state"}, nil)
	fdsUsed      = prometheus.NewDesc("sockplay_fds_used", "Descriptors the sessions hold together, against -max-fds.", nil, nil)
	fdsMax       = prometheus.NewDesc("sockplay_fds_max", "Descriptors the sessions may hold together (-max-fds, as settled at start).", nil, nil)
	logBytes     = prometheus.NewDesc("sockplay_event_logs_bytes", "Memory of the sessions' event logs together, as -max-event-logs-mb counts it.", nil, nil)
	logMax       = prometheus.NewDesc("sockplay_event_logs_max_bytes", "Memory the sessions' event logs may take together (-max-event-logs-mb, as settled at start).", nil, nil)
	ready        = prometheus.NewDesc("sockplay_ready", "1 while the node takes new sessions, 0 while it drains (as /readyz says).", nil, nil)
	conns        = prometheus.NewDesc("sockplay_http_connections_open", "HTTP connections open now, WebSockets included, against -max-conns.", nil, nil)
)

// held is a collector of what Sources say at each scrape.
type held struct{ src Sources }

func (h *held) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionsOpen, watchers, socketsOpen, fdsUsed, fdsMax, logBytes, logMax, ready, conns} {
		ch <- d
	}
}

func (h *held) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if h.src.Census != nil {
		c := h.src.Census()
		gauge(sessionsOpen, float64(c.Sessions))
		gauge(watchers, float64(c.Watchers))
		for k, n := range c.Sockets {
			gauge(socketsOpen, float64(n), k.Family, k.Type, k.State)
		}
		gauge(fdsUsed, float64(c.FDs))
		gauge(fdsMax, float64(c.MaxFDs))
		gauge(logBytes, float64(c.LogBytes))
		if c.MaxLogBytes > 0 {
			gauge(logMax, float64(c.MaxLogBytes))
		}
	}
	if h.src.Ready != nil {
		v := 0.0
		if h.src.Ready() {
			v = 1
		}
		gauge(ready, v)
	}
	if h.src.Conns != nil {
		gauge(conns, float64(h.src.Conns()))
	}
}
