package web

import "testing"

func BenchmarkProbeProcBulk(b *testing.B) {
	sp := sockplayProcessBridge(buildSockplay(b, b.TempDir()))
	for i := 0; i < 6; i++ {
		f := measureStream(b, sp, bulkBufsize, compareRun)
		b.Logf("sockplay bulk %.0f MB/s %.2f cpu-s/GB", f.bytesPerSec/1e6, f.cpuPerGB)
	}
}
