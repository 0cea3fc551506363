// Package server wires sockplay together: it reads configuration from flags
// and the environment, starts the lab servers and the session manager,
// listens, serves the web handler (and, when asked, metrics and pprof on
// addresses of their own), drains on SIGTERM, and shuts everything down
// in order.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockplay/sockplay/labs"
	"github.com/sockplay/sockplay/metrics"
	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/policy"
	"github.com/sockplay/sockplay/web"
)

// Config is everything sockplay can be told at start.
type Config struct {
	Addr            string
	Labs            bool
	LabsAddr        string
	MaxSockets      int
	MaxEventLogMB   int
	MaxSessions     int
	MaxOpsPerSec    int
	MaxSendMBPerSec int
	MaxPendingConns int
	MaxFDs          int
	MaxEventLogsMB  int
	MaxWatchers     int
	MaxMessageKB    int
	MaxWatcherLag   int
	BodyTimeout     time.Duration
	Conns           ConnLimits
	SessionIdle     time.Duration
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	// Token is required from every client when set; when sockplay listens
	// beyond loopback without one, one is generated.
	Token        string
	AllowedHosts []string
	// Egress is the egress and listener policy the flags gave. Where no
	// flag chose them (EgressAuto, BindAuto), its Mode and BindPrefixes
	// are settled once sockplay knows whether it listens beyond loopback;
	// see policyFor, which also exempts the labs.
	Egress     policy.Policy
	EgressAuto bool
	BindAuto   bool

	// Node is this node's name, which its session ids and watch tokens
	// begin with, for a proxy to route by; "": none.
	Node string
	// PublicURL is where people reach sockplay through a proxy; nil:
	// where it listens.
	PublicURL *url.URL
	// TrustedProxies are the proxies whose X-Forwarded-Host and -For
	// are believed.
	TrustedProxies []netip.Prefix
	// DrainTimeout is how long the sessions of a node that drains may
	// go on.
	DrainTimeout time.Duration
	// MetricsAddr, when set, serves /metrics there without the token;
	// PprofAddr, a loopback address, serves /debug/pprof/.
	MetricsAddr string
	PprofAddr   string
}

// DefaultDrainTimeout is -drain-timeout's default: short enough that a
// node with sessions open is drained and has told their pages why they
// ended within the 10 seconds `docker stop` waits (and Kubernetes' 30).
// Letting a class finish takes minutes: deployments set it (deploy/k8s
// does, with the grace period to match).
const DefaultDrainTimeout = 5 * time.Second

// loopbackBinds is where sockets may bind by default when sockplay is
// exposed: a session's servers are then reachable from this host only.
var loopbackBinds = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// envPrefix names the environment variables: -addr is SOCKPLAY_ADDR, and
// so on. A flag given on the command line wins over the environment.
const envPrefix = "SOCKPLAY_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseConfig reads flags, falling back to SOCKPLAY_* variables, then to
// defaults.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("sockplay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var level string
	// The limits' defaults are the layers' own: each is written once,
	// there.
	eng, wd := sockets.DefaultConfig(), web.DefaultConfig()
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to serve the playground on (host:port; port 0 picks a free one)")
	fs.BoolVar(&c.Labs, "labs", true, "start the built-in lab servers")
	fs.StringVar(&c.LabsAddr, "labs-addr", "127.0.0.1:7007", "host and first port of the lab servers (a taken port falls back to a free one)")
	fs.IntVar(&c.MaxSockets, "max-sockets", eng.MaxSockets, "sockets one session may have open at once")
	fs.IntVar(&c.MaxEventLogMB, "max-event-log-mb", int(eng.MaxLogBytes>>20), "memory for one session's event log, in MiB; past it the oldest events are dropped (and viewers told)")
	fs.IntVar(&c.MaxSessions, "max-sessions", eng.MaxSessions, "sessions open at once; past it, creating one answers 503 (0: no limit)")
	fs.IntVar(&c.MaxOpsPerSec, "max-ops-per-sec", eng.MaxOpsPerSec, "ops a client may run in one session a second, in bursts of up to a second's worth; past it an op is refused (HTTP 429, or a rate_limited error on the WebSocket) and never runs (0: no limit)")
	fs.IntVar(&c.MaxSendMBPerSec, "max-send-mb-per-sec", eng.MaxSendBytesPerSec>>20, "MiB one session's sends may take a second; past it a send fails with OSError (0: no limit)")
	fs.IntVar(&c.MaxPendingConns, "max-pending-connects", eng.MaxPendingConnects, "connects one session may have in progress at once; past it a connect fails with OSError (0: no limit)")
	fs.IntVar(&c.MaxFDs, "max-fds", eng.MaxFDs, "descriptors all sessions' sockets (and the labs' ends of their connections) may hold together; past it socket() and accept fail with OSError [Errno 23] (ENFILE) in every session (0: the descriptor limit less a quarter kept for the server; more is capped to that)")
	fs.IntVar(&c.MaxEventLogsMB, "max-event-logs-mb", int(eng.MaxTotalLogBytes>>20), "memory for all sessions' event logs together, in MiB; past it the oldest events of the largest logs are dropped (and viewers told) (0: a quarter of the memory available at start; more than half is capped)")
	fs.IntVar(&c.MaxWatchers, "max-watchers", eng.MaxWatchers, "watch-link viewers one session may have at once; past it a watcher's WebSocket is refused (too_many_watchers, close 1013) (0: no limit)")
	fs.IntVar(&c.MaxMessageKB, "max-message-kb", int(wd.MaxMessage>>10), "the largest WebSocket message or op body a client may send, in KiB (larger: closed with 1009, or HTTP 413)")
	fs.IntVar(&c.MaxWatcherLag, "max-watcher-lag", wd.MaxWatcherLag, "events a live watcher may fall behind before it is closed with 1008 (its page reconnects and resumes from the log)")
	cl := DefaultConnLimits()
	fs.DurationVar(&c.Conns.HeaderTimeout, "header-timeout", cl.HeaderTimeout, "how long a request's line and headers may take to arrive; a slower client is disconnected (0: no limit)")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", wd.BodyTimeout, "how long a request's body may take to arrive; a slower client is disconnected (0: no limit)")
	fs.DurationVar(&c.Conns.IdleTimeout, "idle-timeout", cl.IdleTimeout, "how long a kept-alive connection may wait for its next request (0: no limit); WebSockets are not idle connections")
	fs.IntVar(&c.Conns.MaxConns, "max-conns", cl.MaxConns, "HTTP connections open at once, WebSockets included; past it new ones are closed at once, but for a few kept for /healthz (0: no limit)")
	fs.IntVar(&c.Conns.MaxConnsPerClient, "max-conns-per-client", cl.MaxConnsPerClient, "HTTP connections one client address (an IPv6 /64) may have open at once; past it its new ones are closed at once. Loopback clients, a proxy on this host among them, are not counted apart (0: no limit)")
	fs.DurationVar(&c.SessionIdle, "session-idle", eng.IdleTimeout, "end a session unused for this long: no op run, no page opened, no data arriving; an open page is told (0: never)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for connections to finish on SIGINT, or on SIGTERM once drained")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", DefaultDrainTimeout, "on SIGTERM (or POST /api/admin/drain) the node drains: /readyz answers 503, new sessions are refused, and the sessions it has go on for at most this long, then end, their pages told why")
	fs.StringVar(&c.Node, "node", "", "this node's name (lower-case letters, digits, '-'), which its session ids and watch tokens begin with, so that a proxy in front of many nodes routes by path (a Kubernetes pod's name)")
	var public, proxies string
	fs.StringVar(&public, "public-url", "", "where people reach sockplay through a proxy (https://sockplay.school.example): pages of it are of sockplay's own origin, its host is allowed, the token's cookie is named for its port, and beyond loopback it needs the token")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated CIDR prefixes or addresses of the proxies in front of sockplay: their X-Forwarded-Host is the host checked, their X-Forwarded-For the client logged, and -max-conns-per-client does not count them apart")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "also serve /metrics on this address, without the token (for Prometheus on a network of the operator's); on the playground's address /metrics needs the token")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address (127.0.0.1:6060); off when empty")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.Token, "token", "", "token every client must present (generated when listening beyond loopback and not set)")
	var hosts string
	fs.StringVar(&hosts, "allowed-hosts", "", "comma-separated host names or addresses clients may use besides loopback ones (the Host header is checked, against DNS rebinding)")
	pol := map[string]*string{}
	for _, f := range []struct{ name, def, usage string }{
		{policy.RuleEgress, "", "where sessions' connect and sendto may go: any; public (the internet only: no loopback, private, link-local or cloud metadata, CGNAT, multicast addresses, in any IPv6 form; the labs stay reachable); or local (this host and private networks only). Default: any when listening on loopback, public beyond it"},
		{policy.RuleAllowCIDRs, "", "comma-separated CIDR prefixes or addresses that connect and sendto may reach even where -egress refuses them"},
		{policy.RuleDenyCIDRs, "", "comma-separated CIDR prefixes or addresses that connect and sendto may never reach, labs included"},
		{policy.RuleAllowPorts, "", "comma-separated ports and ranges (80,443,8000-9000) that connect and sendto may reach; empty: all. The labs' ports are always allowed"},
		{policy.RuleDenyPorts, "", "comma-separated ports and ranges that connect and sendto may never reach (25, say)"},
		{policy.RuleBindCIDRs, "", "comma-separated CIDR prefixes or addresses sessions' sockets may bind to (0.0.0.0/0,::/0 for any). Default: any when listening on loopback, 127.0.0.0/8,::1 beyond it"},
		{policy.RuleBindPorts, "0,1024-65535", "comma-separated ports and ranges sessions' sockets may bind to; port 0 (a free port the kernel picks) is always allowed"},
	} {
		pol[f.name] = fs.String(f.name, f.def, f.usage)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sockplay [flags]\n\nEvery flag can also be set as an environment variable: -addr as %s, -labs-addr as %s, and so on.\n\n", envName("addr"), envName("labs-addr"))
		fs.PrintDefaults()
	}
	// Environment first, so that flags parsed after it win.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	if err := parsePolicy(&c, fs, pol, getenv); err != nil {
		return c, err
	}
	if err := parseNode(&c, public, proxies); err != nil {
		return c, err
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		// A Host header is checked without its port: an entry with a
		// scheme, a path or a port could never match.
		if _, _, err := net.SplitHostPort(h); err == nil || strings.ContainsAny(h, "/ ") {
			return c, fmt.Errorf("-allowed-hosts: %q is not a host name or address (leave out any scheme, port and path)", h)
		}
		c.AllowedHosts = append(c.AllowedHosts, h)
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return c, fmt.Errorf("-log-level: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("-addr %q: %v", c.Addr, err)
	}
	// The sizes are shifted into bytes: past 1<<20 (a tebibyte, or a
	// gibibyte of KiB) they would overflow, and no one means that much.
	const big = 1 << 20
	for _, f := range []struct {
		name     string
		v        int
		min, max int
	}{{"max-sockets", c.MaxSockets, 1, 0}, {"max-event-log-mb", c.MaxEventLogMB, 1, big},
		{"max-sessions", c.MaxSessions, 0, 0}, {"max-ops-per-sec", c.MaxOpsPerSec, 0, 0}, {"max-send-mb-per-sec", c.MaxSendMBPerSec, 0, big},
		{"max-pending-connects", c.MaxPendingConns, 0, 0},
		{"max-fds", c.MaxFDs, 0, 0}, {"max-event-logs-mb", c.MaxEventLogsMB, 0, big}, {"max-watchers", c.MaxWatchers, 0, 0}, {"max-message-kb", c.MaxMessageKB, 1, big}, {"max-watcher-lag", c.MaxWatcherLag, 1, 0},
		{"max-conns", c.Conns.MaxConns, 0, 0}, {"max-conns-per-client", c.Conns.MaxConnsPerClient, 0, 0}} {
		if f.v < f.min {
			return c, fmt.Errorf("-%s must be at least %d, not %d", f.name, f.min, f.v)
		}
		if f.max > 0 && f.v > f.max {
			return c, fmt.Errorf("-%s must be at most %d, not %d", f.name, f.max, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"header-timeout", c.Conns.HeaderTimeout}, {"body-timeout", c.BodyTimeout}, {"idle-timeout", c.Conns.IdleTimeout}} {
		if f.v < 0 {
			return c, fmt.Errorf("-%s must not be negative, not %v (0: no limit)", f.name, f.v)
		}
	}
	return c, nil
}

// parsePolicy reads the policy flags into c. An error names where the
// bad value came from: the flag, or its environment variable.
func parsePolicy(c *Config, fs *flag.FlagSet, vals map[string]*string, getenv func(string) string) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	bad := func(name string, err error) error {
		if !onCommandLine[name] && getenv(envName(name)) != "" {
			return fmt.Errorf("%s: %v", envName(name), err)
		}
		return fmt.Errorf("-%s: %v", name, err)
	}
	var err error
	p := &c.Egress
	if v := *vals[policy.RuleEgress]; v != "" {
		if p.Mode, err = policy.ParseMode(v); err != nil {
			return bad(policy.RuleEgress, err)
		}
	} else {
		c.EgressAuto = true
	}
	for _, f := range []struct {
		name string
		dst  *[]netip.Prefix
	}{{policy.RuleAllowCIDRs, &p.Allow}, {policy.RuleDenyCIDRs, &p.Deny}, {policy.RuleBindCIDRs, &p.BindPrefixes}} {
		if *f.dst, err = policy.ParsePrefixes(*vals[f.name]); err != nil {
			return bad(f.name, err)
		}
	}
	c.BindAuto = len(p.BindPrefixes) == 0
	for _, f := range []struct {
		name string
		dst  *policy.PortSet
	}{{policy.RuleAllowPorts, &p.AllowPorts}, {policy.RuleDenyPorts, &p.DenyPorts}, {policy.RuleBindPorts, &p.BindPorts}} {
		if *f.dst, err = policy.ParsePorts(*vals[f.name]); err != nil {
			return bad(f.name, err)
		}
	}
	return nil
}

// policyFor settles the policy for a server that is exposed or not: the
// modes no flag chose, and the labs' addresses as the exempt list. A lab
// on a wildcard address is reached through loopback, so that is exempt
// too.
func policyFor(cfg Config, exposed bool, ls []labs.Lab) *policy.Policy {
	p := cfg.Egress
	if cfg.EgressAuto {
		p.Mode = policy.ModeAny
		if exposed {
			p.Mode = policy.ModePublic
		}
	}
	if cfg.BindAuto && exposed {
		p.BindPrefixes = loopbackBinds
	}
	p.Exempt = nil
	exempt := func(e policy.Endpoint) {
		if !slices.Contains(p.Exempt, e) {
			p.Exempt = append(p.Exempt, e)
		}
	}
	v4Loopback := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	for _, l := range ls {
		ap, err := netip.ParseAddrPort(l.Addr)
		if err != nil {
			continue // not an IP listener: nothing to exempt
		}
		exempt(policy.Endpoint{Proto: l.Proto, Addr: ap})
		switch ap.Addr() {
		case netip.IPv4Unspecified():
			exempt(policy.Endpoint{Proto: l.Proto, Addr: netip.AddrPortFrom(v4Loopback, ap.Port())})
		case netip.IPv6Unspecified(): // dual-stack
			exempt(policy.Endpoint{Proto: l.Proto, Addr: netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())})
			exempt(policy.Endpoint{Proto: l.Proto, Addr: netip.AddrPortFrom(v4Loopback, ap.Port())})
		}
	}
	return &p
}

// accessFor decides who may use the server listening on addr: beyond
// loopback (where it listens, or where its public URL is) a token is
// required (generated unless given), and a specific address listened on
// is an allowed host.
func accessFor(cfg Config, addr net.Addr) (web.Access, bool) {
	a := web.Access{Token: cfg.Token, Hosts: append([]string(nil), cfg.AllowedHosts...), Public: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}
	tcp, _ := addr.(*net.TCPAddr)
	exposed := tcp == nil || !tcp.IP.IsLoopback() || publicExposed(cfg.PublicURL)
	if exposed && tcp != nil && !tcp.IP.IsUnspecified() {
		a.Hosts = append(a.Hosts, tcp.IP.String())
	}
	if exposed && a.Token == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		a.Token = hex.EncodeToString(b[:])
	}
	return a, exposed
}

// Run starts sockplay and serves until ctx is done, then shuts down within
// the configured timeout. It prints the URL to stdout once listening.
// When drain is closed (main closes it on SIGTERM, an orchestrator's
// "stop") the node drains first: it takes no new session, the sessions it
// has go on until they end or -drain-timeout passes, and then it shuts
// down; ctx done meanwhile cuts the drain short.
func Run(ctx context.Context, drain <-chan struct{}, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if lim, was, err := raiseFileLimit(); err != nil {
		log.Warn("could not raise the descriptor limit", "err", err)
	} else {
		log.Info("descriptor limit", "soft", lim.Cur, "hard", lim.Max, "raised_from", was.Cur)
	}

	var labServer *labs.Server
	var labList web.Labs
	// The labs start before the manager whose descriptor budget their
	// connections count against: until it is made, sessions, the labs'
	// only clients but local programs, have none to make.
	var budget atomic.Pointer[sockets.Manager]
	admit := func() (func(), bool) {
		if m := budget.Load(); m != nil {
			return m.HoldFD()
		}
		return func() {}, true
	}
	if cfg.Labs {
		host, portStr, err := net.SplitHostPort(cfg.LabsAddr)
		if err != nil {
			return fmt.Errorf("-labs-addr %q: %v", cfg.LabsAddr, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("-labs-addr %q: bad port", cfg.LabsAddr)
		}
		labServer, err = labs.Start(labs.Config{Host: host, BasePort: port, Logger: log.With("component", "labs"), Admit: admit})
		if err != nil {
			return err
		}
		defer labServer.Close()
		for _, l := range labServer.Labs() {
			log.Info("lab listening", "lab", l.Name, "proto", l.Proto, "addr", l.Addr)
		}
		labList = labServer
	}

	// Listen before making the engine: whether sockplay is exposed
	// decides the default policy.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	met := metrics.New(log.With("component", "metrics"))
	limited := newLimitListener(ln, cfg.Conns, webConfig(cfg).WriteTimeout, cfg.TrustedProxies, met, log.With("component", "http"))
	ln = limited
	access, exposed := accessFor(cfg, ln.Addr())
	var labAddrs []labs.Lab
	if labServer != nil {
		labAddrs = labServer.Labs()
	}
	pol := policyFor(cfg, exposed, labAddrs)
	log.Info("egress policy", "exposed", exposed, "policy", pol)

	ecfg := engineConfig(cfg)
	ecfg.Policy, ecfg.Logger, ecfg.Meter = pol, log.With("component", "engine"), met
	settleBudgets(&ecfg, readMachine(), cfg.Conns.MaxConns, log)
	mgr := sockets.NewManager(ecfg)
	defer mgr.Close()
	budget.Store(mgr)
	drainer := web.NewDrain(cfg.DrainTimeout)
	met.Read(metrics.Sources{Census: mgr.Census, Ready: func() bool { return !drainer.Draining() }, Conns: limited.Open})
	wcfg := webConfig(cfg)
	wcfg.Sessions, wcfg.Labs, wcfg.Logger, wcfg.Access = mgr, labList, log.With("component", "web"), access
	wcfg.Node, wcfg.Drain, wcfg.Meter, wcfg.Metrics = cfg.Node, drainer, met, met.Handler()
	var operators []*operatorServer
	defer func() {
		for _, o := range operators {
			o.close()
		}
	}()
	for _, o := range []struct {
		what, addr string
		handler    http.Handler
	}{{"metrics", cfg.MetricsAddr, metricsMux(met.Handler())}, {"pprof", cfg.PprofAddr, pprofMux()}} {
		if o.addr == "" {
			continue
		}
		srv, err := listenOperator(o.what, o.addr, o.handler, log.With("component", o.what))
		if err != nil {
			return err
		}
		operators = append(operators, srv)
	}
	srv := &http.Server{
		Handler: web.New(wcfg),
		// No ReadTimeout nor WriteTimeout: they would stay on a
		// connection once it becomes a WebSocket, and end streams of
		// events; the web layer bounds bodies (-body-timeout) and every
		// WebSocket write.
		ReadHeaderTimeout: cfg.Conns.HeaderTimeout,
		IdleTimeout:       cfg.Conns.IdleTimeout,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "sockplay listening on %s\n", startURL("http://"+shownAddr(ln.Addr()), access.Token))
	if p := cfg.PublicURL; p != nil {
		fmt.Fprintf(stdout, "sockplay public URL %s\n", startURL(p.Scheme+"://"+p.Host, access.Token))
	}
	if exposed {
		log.Warn("exposed beyond loopback: clients need the token, and may use only loopback names, the public URL's or the -allowed-hosts",
			"allowed_hosts", access.Hosts, "public_url", cfg.PublicURL)
	}
	if cfg.Node != "" {
		log.Info("node", "node", cfg.Node, "drain_timeout", cfg.DrainTimeout, "trusted_proxies", cfg.TrustedProxies)
	}

	stopDrains := make(chan struct{})
	drains := make(chan struct{})
	go func() {
		defer close(drains)
		endAtDeadline(stopDrains, drainer, mgr, drainedReason(cfg.Node), log)
	}()
	defer func() { close(stopDrains); <-drains }()
	for _, o := range operators {
		go o.serve(log)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	case <-drain:
		deadline := drainer.Start(cfg.DrainTimeout)
		log.Info("draining: no new sessions; those left go on until they end or the deadline", "sessions", mgr.Len(), "deadline", deadline)
		if awaitNoSessions(ctx, mgr) {
			log.Info("drained: no session left")
		}
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	for _, o := range operators {
		o.shutdown(sctx)
	}
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(sctx) }()
	// Ending the sessions ends their pending calls and tells each
	// WebSocket the session is over, so the server can finish.
	mgr.Close()
	if labServer != nil {
		labServer.Close()
	}
	if err := <-shutdown; err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// startURL is the address to open, base's root with the token.
func startURL(base, token string) string {
	if token == "" {
		return base + "/"
	}
	return base + "/?token=" + url.QueryEscape(token)
}

// engineConfig is the engine's part of c, in the engine's units.
func engineConfig(c Config) sockets.Config {
	e := sockets.DefaultConfig()
	e.MaxSockets = c.MaxSockets
	e.MaxLogBytes = int64(c.MaxEventLogMB) << 20
	e.IdleTimeout = c.SessionIdle
	e.MaxSessions = c.MaxSessions
	e.MaxOpsPerSec = c.MaxOpsPerSec
	e.MaxSendBytesPerSec = c.MaxSendMBPerSec << 20
	e.MaxPendingConnects = c.MaxPendingConns
	e.MaxFDs = c.MaxFDs
	e.MaxTotalLogBytes = int64(c.MaxEventLogsMB) << 20
	e.MaxWatchers = c.MaxWatchers
	e.Node = c.Node
	return e
}

// webConfig is the web layer's part of c, in its units.
func webConfig(c Config) web.Config {
	w := web.DefaultConfig()
	w.MaxMessage = int64(c.MaxMessageKB) << 10
	w.MaxWatcherLag = c.MaxWatcherLag
	w.BodyTimeout = c.BodyTimeout
	if w.BodyTimeout == 0 {
		w.BodyTimeout = -1 // no limit, which web.Config says as negative
	}
	return w
}

// shownAddr is the address the start URL names: on every interface,
// localhost's, which a browser can open ("[::]" it cannot); from elsewhere
// people use the host's name, allowed with -allowed-hosts.
func shownAddr(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return a.String()
	}
	return "localhost:" + strconv.Itoa(int(ap.Port()))
}
