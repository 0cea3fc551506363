package web

// The side-by-side comparison with websockify (issue #7): the same
// loopback TCP source, carried to a WebSocket client once by sockplay
// (autorecv, one event per recv) and once by websockify (Debian's, run as
// a subprocess), measured in the same run, alternately. Every byte the
// source writes is checked at the client, count and CRC, on both sides.
//
//	go test ./web -run '^$' -bench Compare -benchtime 1x

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// compareRun is how long one measurement runs.
	compareRun = 2 * time.Second
	// compareRounds is how many times each measurement runs per side, unless
	// SOCKPLAY_BENCH_ROUNDS says otherwise.
	compareRounds = 5

	bulkBufsize  = 64 << 10
	smallBufsize = 16
	// latencyBufsize holds many 100-byte messages, so one recv is usually
	// one message; the client still reassembles the stream and never
	// counts on it.
	latencyBufsize = 4096
	latencyMsgSize = 100
	latencyEvery   = time.Millisecond
)

// compareRow is one line of the comparison table.
type compareRow struct {
	metric               string
	sockplay, websockify []float64
	format               func(float64) string
	// ratio says whether sockplay/websockify means anything for this row;
	// vsWebsockify, whether the goal is relative to websockify.
	ratio, vsWebsockify bool
	goal                string
	// met judges the goal from sockplay's median and the ratio; nil when
	// there is no goal.
	met func(median, ratio float64) bool
}

// BenchmarkCompare measures sockplay side by side with websockify, in
// alternating runs, and logs the comparison table: bulk throughput
// (autorecv 64 KiB), small events (autorecv 16), and latency of 100-byte
// messages sent every millisecond. One iteration is the whole comparison:
// run it with -benchtime 1x. SOCKPLAY_BENCH_ROUNDS sets the runs per
// figure (default 5); without websockify its column is skipped, unless
// SOCKPLAY_REQUIRE_WEBSOCKIFY=1 makes that a failure.
func BenchmarkCompare(b *testing.B) {
	rounds := compareRounds
	if v := os.Getenv("SOCKPLAY_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SOCKPLAY_BENCH_ROUNDS=%q: want a whole number of rounds, at least 1", v)
		}
		rounds = n
	}
	var wsfy *bridge
	path, err := exec.LookPath("websockify")
	switch {
	case err == nil:
		br := websockifyBridge(path)
		wsfy = &br
	case os.Getenv("SOCKPLAY_REQUIRE_WEBSOCKIFY") == "1":
		b.Fatalf("websockify not found (%v) and SOCKPLAY_REQUIRE_WEBSOCKIFY=1; on Debian: apt-get install websockify", err)
	default:
		b.Logf("websockify not found (%v): its column is skipped; on Debian: apt-get install websockify", err)
	}

	mbs := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	perSec := func(v float64) string { return thousands(int64(v + 0.5)) }
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	bulk := &compareRow{metric: "bulk, autorecv(65536): MB/s", format: mbs, ratio: true, vsWebsockify: true, goal: "≥ 1.0× websockify",
		met: func(_, r float64) bool { return r >= 1 }}
	cpu := &compareRow{metric: "bulk: the bridge process's CPU seconds per GB carried (lower is better)", format: func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, ratio: true, goal: "—"}
	small := &compareRow{metric: "small events, autorecv(16): events/s (websockify: its messages/s, for information)", format: perSec, goal: "≥ 200,000/s",
		met: func(m, _ float64) bool { return m >= 200_000 }}
	p50 := &compareRow{metric: "latency p50, 100 B every 1 ms: ms", format: ms, ratio: true, goal: "—"}
	p99 := &compareRow{metric: "latency p99, 100 B every 1 ms: ms", format: ms, ratio: true, goal: "≤ 2 ms",
		met: func(m, _ float64) bool { return m <= 2 }}

	bin := buildSockplay(b, b.TempDir())
	sp := sockplayProcessBridge(bin, binaryForm)
	// The JSON forms carry the same bulk stream, in the same rounds; their
	// websockify column is the bulk row's.
	jsonRows := map[*bridge]*compareRow{}
	jsonCPU := map[*bridge][]float64{} // CPU s/GB: steadier than MB/s on a busy machine
	var jsonSides []*bridge
	for _, form := range []clientForm{textForm, batchForm, ndjsonForm} {
		br := sockplayProcessBridge(bin, form)
		jsonSides = append(jsonSides, &br)
		jsonRows[&br] = &compareRow{metric: "bulk, " + form.name + ": MB/s (one-pass JSON client)", format: mbs, ratio: true, vsWebsockify: true, goal: "≥ 0.5× websockify",
			met: func(_, r float64) bool { return r >= 0.5 }}
	}
	for range b.N {
		for r := range rounds {
			// Who goes first alternates, so neither side always runs on
			// a machine the other has just warmed or tired.
			sides := []*bridge{&sp, wsfy}
			if r%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			bulkSides := slices.Concat([]*bridge{&sp}, jsonSides, []*bridge{wsfy})
			if r%2 == 1 {
				slices.Reverse(bulkSides)
			}
			for _, br := range bulkSides {
				if br == nil {
					continue
				}
				f := measureStream(b, *br, bulkBufsize, compareRun)
				switch {
				case br == &sp:
					bulk.sockplay = append(bulk.sockplay, f.bytesPerSec/1e6)
					cpu.sockplay = append(cpu.sockplay, f.cpuPerGB)
				case br == wsfy:
					bulk.websockify = append(bulk.websockify, f.bytesPerSec/1e6)
					cpu.websockify = append(cpu.websockify, f.cpuPerGB)
					// websockify reads 64 KiB at a time whatever the
					// client wants: its messages/s from the same source
					// is the nearest thing it has to small events.
					small.websockify = append(small.websockify, f.chunksPerSec)
				default:
					jsonRows[br].sockplay = append(jsonRows[br].sockplay, f.bytesPerSec/1e6)
					jsonCPU[br] = append(jsonCPU[br], f.cpuPerGB)
				}
			}
			small.sockplay = append(small.sockplay, measureStream(b, sp, smallBufsize, compareRun).chunksPerSec)
			for _, br := range sides {
				if br == nil {
					continue
				}
				a, z := measureLatency(b, *br, compareRun)
				if br == &sp {
					p50.sockplay = append(p50.sockplay, durMS(a))
					p99.sockplay = append(p99.sockplay, durMS(z))
				} else {
					p50.websockify = append(p50.websockify, durMS(a))
					p99.websockify = append(p99.websockify, durMS(z))
				}
			}
			if !testing.Verbose() {
				continue // only -v shows more than 10 lines: keep them for the table
			}
			b.Logf("round %d: bulk MB/s %s | JSON text, batch=1, NDJSON MB/s %s, %s, %s | small events/s %s | p50 ms %s | p99 ms %s", r+1,
				lastPair(bulk, mbs), mbs(lastOf(jsonRows[jsonSides[0]])), mbs(lastOf(jsonRows[jsonSides[1]])), mbs(lastOf(jsonRows[jsonSides[2]])),
				lastPair(small, perSec), lastPair(p50, ms), lastPair(p99, ms))
		}
	}
	rows := []*compareRow{bulk, cpu}
	for _, br := range jsonSides {
		jsonRows[br].websockify = bulk.websockify
		rows = append(rows, jsonRows[br])
	}
	rows = append(rows, small, p50, p99)
	// Printed, not logged: go test keeps only the first 10 lines a
	// benchmark logs (unless -v), and the table is longer.
	fmt.Print("\n" + compareTable(rows, rounds, wsfy != nil))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(bulk.sockplay), "bulk_MB/s")
	b.ReportMetric(median(small.sockplay), "small_events/s")
	b.ReportMetric(median(p50.sockplay), "p50_ms")
	b.ReportMetric(median(p99.sockplay), "p99_ms")
	for i, form := range []string{"text", "batch", "ndjson"} {
		b.ReportMetric(median(jsonCPU[jsonSides[i]]), form+"_CPU_s/GB")
	}
	if wsfy != nil {
		b.ReportMetric(median(bulk.sockplay)/median(bulk.websockify), "bulk_vs_websockify")
		for i, form := range []string{"text", "batch", "ndjson"} {
			b.ReportMetric(median(jsonRows[jsonSides[i]].sockplay)/median(bulk.websockify), form+"_vs_websockify")
		}
	}
}

func lastOf(r *compareRow) float64 { return r.sockplay[len(r.sockplay)-1] }

// BenchmarkBridgeSockplay runs only sockplay's side of the bulk and small
// event measurements, one run per iteration, for profiling:
//
//	go test ./web -run '^$' -bench 'BridgeSockplay/small' -benchtime 1x -cpuprofile small.prof
func BenchmarkBridgeSockplay(b *testing.B) {
	for _, c := range []struct {
		name    string
		bufsize int
	}{{"bulk", bulkBufsize}, {"small", smallBufsize}} {
		b.Run(c.name, func(b *testing.B) {
			var events, mbs []float64
			for range b.N {
				f := measureStream(b, sockplayBridge, c.bufsize, compareRun)
				events = append(events, f.chunksPerSec)
				mbs = append(mbs, f.bytesPerSec/1e6)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(median(events), "events/s")
			b.ReportMetric(median(mbs), "MB/s")
		})
	}
}

func durMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// lastPair shows a row's latest run of each side, for the per-round log.
func lastPair(r *compareRow, format func(float64) string) string {
	s := "sockplay " + format(r.sockplay[len(r.sockplay)-1])
	if len(r.websockify) > 0 {
		s += ", websockify " + format(r.websockify[len(r.websockify)-1])
	}
	return s
}

// compareTable renders the rows as a markdown table, with the machine and
// the command above it.
func compareTable(rows []*compareRow, rounds int, haveWebsockify bool) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "machine: %s, %d CPUs, %s/%s, %s; each figure the median (min–max) of %d runs of %v, every byte checked at the client (count and CRC-32)\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), rounds, compareRun)
	fmt.Fprintf(&sb, "command: SOCKPLAY_BENCH_ROUNDS=%d go test ./web -run '^$' -bench Compare -benchtime 1x\n", rounds)
	sb.WriteString("| metric | sockplay median (min–max) | websockify median (min–max) | sockplay/websockify | goal | met? |\n")
	sb.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		spMed := median(r.sockplay)
		ws, ratio, rs := "skipped (websockify not installed)", 0.0, "—"
		if haveWebsockify {
			ws = spread(r.websockify, r.format)
			ratio = spMed / median(r.websockify)
			if r.ratio {
				rs = strconv.FormatFloat(ratio, 'f', 2, 64) + "×"
			}
		}
		met := "—"
		switch {
		case r.met == nil:
		case r.vsWebsockify && !haveWebsockify:
			met = "? (needs websockify)"
		case r.met(spMed, ratio):
			met = "yes"
		default:
			met = "no"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", r.metric, spread(r.sockplay, r.format), ws, rs, r.goal, met)
	}
	return sb.String()
}

// spread is "median (min–max)".
func spread(xs []float64, format func(float64) string) string {
	return format(median(xs)) + " (" + format(slices.Min(xs)) + "–" + format(slices.Max(xs)) + ")"
}

// thousands writes n with commas: 212,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// cpuModel is the processor's name, as Linux tells it.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
