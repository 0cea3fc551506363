// Package server wires sockplay together: it reads configuration from flags
// and the environment, starts the lab servers and the session manager,
// listens, serves the web handler, and shuts everything down in order.
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
	"strconv"
	"strings"
	"time"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/labs"
	"github.com/sockplay/sockplay/web"
)

// Config is everything sockplay can be told at start.
type Config struct {
	Addr            string
	Labs            bool
	LabsAddr        string
	MaxSockets      int
	MaxEventLogMB   int
	SessionIdle     time.Duration
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	// Token is required from every client when set; when sockplay listens
	// beyond loopback without one, one is generated.
	Token        string
	AllowedHosts []string
}

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
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to serve the playground on (host:port; port 0 picks a free one)")
	fs.BoolVar(&c.Labs, "labs", true, "start the built-in lab servers")
	fs.StringVar(&c.LabsAddr, "labs-addr", "127.0.0.1:7007", "host and first port of the lab servers (a taken port falls back to a free one)")
	fs.IntVar(&c.MaxSockets, "max-sockets", 64, "sockets one session may have open at once")
	fs.IntVar(&c.MaxEventLogMB, "max-event-log-mb", 256, "memory for one session's event log, in MiB; past it the oldest events are dropped (and viewers told)")
	fs.DurationVar(&c.SessionIdle, "session-idle", time.Hour, "end a session nobody has used or watched for this long (0: never)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for connections to finish on SIGINT/SIGTERM")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.Token, "token", "", "token every client must present (generated when listening beyond loopback and not set)")
	var hosts string
	fs.StringVar(&hosts, "allowed-hosts", "", "comma-separated host names or addresses clients may use besides loopback ones (the Host header is checked, against DNS rebinding)")
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
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowedHosts = append(c.AllowedHosts, h)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return c, fmt.Errorf("-log-level: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("-addr %q: %v", c.Addr, err)
	}
	if c.MaxSockets < 1 {
		return c, fmt.Errorf("-max-sockets must be at least 1")
	}
	if c.MaxEventLogMB < 1 {
		return c, fmt.Errorf("-max-event-log-mb must be at least 1")
	}
	return c, nil
}

// accessFor decides who may use the server listening on addr: beyond
// loopback a token is required (generated unless given), and a specific
// address listened on is an allowed host.
func accessFor(cfg Config, addr net.Addr) (web.Access, bool) {
	a := web.Access{Token: cfg.Token, Hosts: append([]string(nil), cfg.AllowedHosts...)}
	tcp, _ := addr.(*net.TCPAddr)
	exposed := tcp == nil || !tcp.IP.IsLoopback()
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
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	var labServer *labs.Server
	var labList web.Labs
	if cfg.Labs {
		host, portStr, err := net.SplitHostPort(cfg.LabsAddr)
		if err != nil {
			return fmt.Errorf("-labs-addr %q: %v", cfg.LabsAddr, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("-labs-addr %q: bad port", cfg.LabsAddr)
		}
		labServer, err = labs.Start(labs.Config{Host: host, BasePort: port, Logger: log.With("component", "labs")})
		if err != nil {
			return err
		}
		defer labServer.Close()
		for _, l := range labServer.Labs() {
			log.Info("lab listening", "lab", l.Name, "proto", l.Proto, "addr", l.Addr)
		}
		labList = labServer
	}

	mgr := sockets.NewManager(sockets.Config{
		MaxSockets:  cfg.MaxSockets,
		MaxLogBytes: int64(cfg.MaxEventLogMB) << 20,
		IdleTimeout: cfg.SessionIdle,
		Logger:      log.With("component", "engine"),
	})
	defer mgr.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	access, exposed := accessFor(cfg, ln.Addr())
	srv := &http.Server{
		Handler:           web.New(web.Config{Sessions: mgr, Labs: labList, Logger: log.With("component", "web"), Access: access}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if access.Token == "" {
		fmt.Fprintf(stdout, "sockplay listening on http://%s/\n", ln.Addr())
	} else {
		fmt.Fprintf(stdout, "sockplay listening on http://%s/?token=%s\n", ln.Addr(), access.Token)
	}
	if exposed {
		log.Warn("listening beyond loopback: clients need the token, and may use only loopback names or the -allowed-hosts",
			"allowed_hosts", access.Hosts)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
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
