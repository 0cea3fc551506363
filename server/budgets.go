package server

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets"
)

// machine is what sockplay may use of the host: its descriptor limit and
// the memory available to it, with where that figure came from.
type machine struct {
	nofile    uint64 // soft RLIMIT_NOFILE
	mem       int64  // bytes; 0: unknown
	memSource string
}

// readMachine reads the host's limits as they are now: the descriptor
// limit after any raise to the hard limit, and the least of the memory
// the kernel says is available and what the cgroup leaves.
func readMachine() machine {
	m := machine{nofile: 1024}
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &l) == nil {
		m.nofile = l.Cur
	}
	consider := func(n int64, source string) {
		if n > 0 && (m.mem == 0 || n < m.mem) {
			m.mem, m.memSource = n, source
		}
	}
	if kb, ok := meminfo("MemAvailable"); ok {
		consider(kb<<10, "MemAvailable in /proc/meminfo")
	}
	if dir, ok := cgroupDir(); ok {
		// cgroup v2: what memory.max leaves beyond memory.current.
		if limit, ok := readBytes(filepath.Join(dir, "memory.max")); ok {
			used, _ := readBytes(filepath.Join(dir, "memory.current"))
			consider(limit-used, "the cgroup's memory.max")
		}
	}
	// cgroup v1 ("max" there is a huge number, which never wins).
	if limit, ok := readBytes("/sys/fs/cgroup/memory/memory.limit_in_bytes"); ok {
		used, _ := readBytes("/sys/fs/cgroup/memory/memory.usage_in_bytes")
		consider(limit-used, "the cgroup's memory.limit_in_bytes")
	}
	return m
}

// meminfo reads a field of /proc/meminfo, in KiB.
func meminfo(field string) (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// cgroupDir is this process's cgroup v2 directory, if it has one.
func cgroupDir() (string, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join("/sys/fs/cgroup", path), true
		}
	}
	return "", false
}

// readBytes reads a file holding one number of bytes ("max": none).
func readBytes(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// unknownMemoryLogs is the event logs' budget when the memory available
// cannot be read.
const unknownMemoryLogs = 1 << 30

// ownFDs is about what the server holds for itself besides connections
// and sessions' sockets: its listeners, the labs', the runtime's poller,
// standard streams, a log file.
const ownFDs = 64

// settleBudgets fits the engine's budgets across sessions to the machine
// and says, once at start, where the flags ask for more than it has. It
// caps rather than refuses: the budgets are what keep sessions from
// exhausting the host, so a server whose flags promise more still runs
// safely, and its operator reads what each session can really have.
//
// Descriptors: -max-fds at most the limit less what the server keeps for
// itself (sockets.FDReserve); 0 is all of that. Memory: every session's
// event log together at most half the memory available, a quarter by
// default (-max-event-logs-mb 0): the Go heap grows to about twice what
// is live before it is collected.
//
// The HTTP server's connections (maxConns, and the liveness reserve) are
// descriptors too: where they and the sessions' together are more than
// the limit, a flood of connections while the sessions hold theirs
// leaves the server none to accept with, /healthz included, which is
// warned of (not refused: a small limit still serves a class).
func settleBudgets(e *sockets.Config, m machine, maxConns int, log *slog.Logger) {
	fds := sockets.DefaultFDs(m.nofile)
	switch {
	case e.MaxFDs == 0:
		e.MaxFDs = fds
	case e.MaxFDs > fds:
		log.Warn(fmt.Sprintf("-max-fds %d is more than this process may open (RLIMIT_NOFILE %d, less %d kept for the server's own connections and files): capped at %d",
			e.MaxFDs, m.nofile, sockets.FDReserve(m.nofile), fds))
		e.MaxFDs = fds
	}
	if n := uint64(maxConns + livenessReserve); maxConns > 0 && uint64(e.MaxFDs)+n+ownFDs > m.nofile {
		log.Warn(fmt.Sprintf("-max-fds %d and -max-conns %d (and %d kept for /healthz) are more descriptors than RLIMIT_NOFILE %d less %d of the server's own: sessions that hold theirs and a flood of connections would leave none to accept a connection with, /healthz included; lower -max-conns or -max-fds",
			e.MaxFDs, maxConns, livenessReserve, m.nofile, ownFDs))
	}
	past := fmt.Sprintf("the %d descriptors all sessions may hold together (-max-fds; RLIMIT_NOFILE %d): past those, socket() and accept fail with ENFILE in every session", e.MaxFDs, m.nofile)
	switch want := int64(e.MaxSessions) * int64(e.MaxSockets); {
	case e.MaxSessions == 0:
		log.Warn("-max-sessions 0 lets sessions open sockets without bound, past " + past)
	case want > int64(e.MaxFDs):
		log.Warn(fmt.Sprintf("-max-sessions × -max-sockets (%d × %d) is %d descriptors, more than %s", e.MaxSessions, e.MaxSockets, want, past))
	}

	most := m.mem / 2
	if m.mem == 0 {
		most = unknownMemoryLogs
		log.Warn(fmt.Sprintf("the memory available could not be read: all sessions' event logs together may take %d MiB (-max-event-logs-mb)", most>>20))
	}
	switch {
	case e.MaxTotalLogBytes == 0 && m.mem == 0:
		e.MaxTotalLogBytes = most
	case e.MaxTotalLogBytes == 0:
		e.MaxTotalLogBytes = m.mem / 4
	case e.MaxTotalLogBytes > most:
		log.Warn(fmt.Sprintf("-max-event-logs-mb %d is more than half the memory available (%d MiB, from %s): capped at %d",
			e.MaxTotalLogBytes>>20, m.mem>>20, m.memSource, most>>20))
		e.MaxTotalLogBytes = most
	}
	e.MaxTotalLogBytes = max(e.MaxTotalLogBytes, 1<<20)
	log.Info("budgets across sessions", "max_fds", e.MaxFDs, "rlimit_nofile", m.nofile,
		"max_event_logs_mb", e.MaxTotalLogBytes>>20, "memory_available_mb", m.mem>>20, "memory_from", m.memSource)
}
