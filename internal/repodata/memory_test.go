package repodata_test

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

func maxRSS(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Maxrss * 1024 // Linux reports KiB
}

// TestPeakMemory500k measures, in a process of its own, the peak memory of building and
// zstd-compressing repodata for 500k records. It is a measurement, not an assertion, and runs
// only when asked:
//
//	WHARF_MEASURE=1 go test -count=1 -run TestPeakMemory500k -v ./internal/repodata/
func TestPeakMemory500k(t *testing.T) {
	if os.Getenv("WHARF_MEASURE") == "" {
		t.Skip("a measurement: set WHARF_MEASURE=1 to run it")
	}
	recs := synthetic(500_000)
	runtime.GC()
	base := maxRSS(t)
	start := time.Now()
	z, _, n, err := repodata.BuildRepodataZstd("linux-64", recs)
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	peak := maxRSS(t)
	t.Logf("500k records: built and zstd-compressed in %v; repodata.json %.0f MB, .zst %.0f MB", total, float64(n)/1e6, float64(len(z))/1e6)
	t.Logf("peak RSS %.0f MB in all; %.0f MB with the records loaded, +%.0f MB for build and compression", float64(peak)/1e6, float64(base)/1e6, float64(peak-base)/1e6)
	// A server rebuilds on every change; later builds reuse memory the heap already holds.
	for i := range 2 {
		z = nil
		start := time.Now()
		if z, _, _, err = repodata.BuildRepodataZstd("linux-64", recs); err != nil {
			t.Fatal(err)
		}
		t.Logf("rebuild %d: %v", i+1, time.Since(start))
	}
	start = time.Now()
	body := repodata.BuildRepodata("linux-64", recs)
	t.Logf("plain repodata.json (%.0f MB) on demand: %v", float64(len(body))/1e6, time.Since(start))
	t.Logf("peak RSS after rebuilds %.0f MB", float64(maxRSS(t))/1e6)
	runtime.KeepAlive(recs)
}
