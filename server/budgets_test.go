package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sockplay/sockplay/sockets"
)

// TestSettleBudgets: the budgets across sessions are fitted to the
// machine at start, capped with a warning naming the flags where these
// ask for more than it has, never refused.
func TestSettleBudgets(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		name     string
		flags    []string
		m        machine
		fds      int
		logs     int64
		warnings []string // each in a warning of its own
	}{
		{"the defaults on this kind of host", nil, machine{nofile: 20_000, mem: 8 * gib, memSource: "test"},
			15_000, 2 * gib, []string{"-max-sessions × -max-sockets (1000 × 64) is 64000 descriptors, more than the 15000"}},
		{"a limit that fits them", nil, machine{nofile: 1 << 20, mem: 8 * gib},
			786_432, 2 * gib, nil},
		{"-max-fds past the limit", []string{"-max-fds", "30000", "-max-sessions", "10"}, machine{nofile: 20_000, mem: 8 * gib},
			15_000, 2 * gib, []string{"-max-fds 30000 is more than this process may open (RLIMIT_NOFILE 20000, less 5000"}},
		{"-max-fds within it", []string{"-max-fds", "640", "-max-sessions", "10"}, machine{nofile: 20_000, mem: 8 * gib},
			640, 2 * gib, nil},
		{"sessions without bound", []string{"-max-sessions", "0"}, machine{nofile: 1 << 20, mem: 8 * gib},
			786_432, 2 * gib, []string{"-max-sessions 0 lets sessions open sockets without bound, past the 786432 descriptors"}},
		{"a small limit keeps its reserve", []string{"-max-sessions", "4", "-max-conns", "100"}, machine{nofile: 1024, mem: 8 * gib},
			768, 2 * gib, nil},
		{"connections and sessions' sockets past the limit", []string{"-max-sessions", "64"}, machine{nofile: 8192, mem: 8 * gib},
			6144, 2 * gib, []string{"-max-fds 6144 and -max-conns 4096 (and 16 kept for /healthz) are more descriptors than RLIMIT_NOFILE 8192"}},
		{"-max-event-logs-mb past half the memory", []string{"-max-event-logs-mb", "1024", "-max-sessions", "4", "-max-conns", "100"}, machine{nofile: 1024, mem: gib, memSource: "test"},
			768, gib / 2, []string{"-max-event-logs-mb 1024 is more than half the memory available (1024 MiB, from test): capped at 512"}},
		{"-max-event-logs-mb within it", []string{"-max-event-logs-mb", "300", "-max-sessions", "4", "-max-conns", "100"}, machine{nofile: 1024, mem: gib},
			768, 300 << 20, nil},
		{"memory unknown", []string{"-max-sessions", "4", "-max-conns", "100"}, machine{nofile: 1024},
			768, unknownMemoryLogs, []string{"the memory available could not be read"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(c.flags, env(nil), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			e := engineConfig(cfg)
			var logged bytes.Buffer
			settleBudgets(&e, c.m, cfg.Conns.MaxConns, slog.New(slog.NewTextHandler(&logged, nil)))
			if e.MaxFDs != c.fds || e.MaxTotalLogBytes != c.logs {
				t.Errorf("-max-fds %d, -max-event-logs-mb %d MiB; want %d and %d MiB", e.MaxFDs, e.MaxTotalLogBytes>>20, c.fds, c.logs>>20)
			}
			warns := 0
			for line := range strings.SplitSeq(logged.String(), "\n") {
				if strings.Contains(line, "level=WARN") {
					warns++
				}
			}
			for _, w := range c.warnings {
				if !strings.Contains(logged.String(), w) {
					t.Errorf("no warning saying %q in:\n%s", w, logged.String())
				}
			}
			if warns != len(c.warnings) {
				t.Errorf("%d warnings, want %d:\n%s", warns, len(c.warnings), logged.String())
			}
		})
	}
}

// TestReadMachine: this host's limits read as something sockplay can
// budget with.
func TestReadMachine(t *testing.T) {
	m := readMachine()
	if m.nofile < 64 {
		t.Fatalf("RLIMIT_NOFILE read as %d", m.nofile)
	}
	if m.mem <= 0 || m.memSource == "" {
		t.Fatalf("memory available read as %d (from %q)", m.mem, m.memSource)
	}
	e := sockets.Config{MaxSessions: 1, MaxSockets: 1}
	settleBudgets(&e, m, 0, slog.New(slog.DiscardHandler))
	if e.MaxFDs <= 0 || uint64(e.MaxFDs) >= m.nofile || e.MaxTotalLogBytes <= 0 || e.MaxTotalLogBytes > m.mem/2 {
		t.Fatalf("budgets on this host: %d descriptors of %d, %d bytes of logs of %d", e.MaxFDs, m.nofile, e.MaxTotalLogBytes, m.mem)
	}
}
