package sockets

import "time"

// DefaultConfig is the engine's configuration as sockplay runs when told
// nothing else; the server's flags take their defaults from it.
//
// NewManager reads a zero MaxSockets, MaxLogBytes, MaxLagEvents,
// MaxLagBytes or StatsInterval as the value here, and a zero MaxFDs as
// DefaultFDs of the process's descriptor limit. For MaxSessions,
// MaxOpsPerSec, MaxSendBytesPerSec, MaxPendingConnects, MaxWatchers,
// MaxTotalLogBytes and IdleTimeout zero means no limit, so a Config made
// from scratch has those limits only if it takes them from here. (The
// server sets MaxFDs and MaxTotalLogBytes from the machine at start.)
func DefaultConfig() Config {
	return Config{
		MaxSockets:         64,
		MaxLogBytes:        DefaultMaxLogBytes,
		MaxSessions:        1000,
		MaxOpsPerSec:       1000,
		MaxSendBytesPerSec: 64 << 20,
		MaxPendingConnects: 64,
		MaxWatchers:        500,
		IdleTimeout:        time.Hour,
		MaxLagEvents:       4096,
		MaxLagBytes:        16 << 20,
		StatsInterval:      100 * time.Millisecond,
	}
}
