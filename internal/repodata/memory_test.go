package repodata_test

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

// procStatus returns a field of /proc/self/status in bytes (VmRSS: resident now, VmHWM: the
// peak since the last reset).
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: " + err.Error())
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux ≥ 4.0).
func resetPeakRSS(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skip("cannot reset the peak RSS: " + err.Error())
	}
}

// heapPeak samples the Go heap (live and dead objects not yet swept) while it runs.
type heapPeak struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	})
	return h
}

func (h *heapPeak) Stop() uint64 { close(h.stop); h.wg.Wait(); return h.peak }

func mb(n int64) float64 { return float64(n) / 1e6 }

// TestPeakMemory500k measures the time and peak memory of building and zstd-compressing
// repodata for 500k records (what a change to a large subdir costs the server). It is a
// measurement, not an assertion, and runs only when asked:
//
//	WHARF_MEASURE=1 go test -count=1 -run TestPeakMemory500k -v ./internal/repodata/
func TestPeakMemory500k(t *testing.T) {
	if os.Getenv("WHARF_MEASURE") == "" {
		t.Skip("a measurement: set WHARF_MEASURE=1 to run it")
	}
	recs := synthetic(500_000)
	runtime.GC()
	debug.FreeOSMemory() // drop the garbage of generating the records
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	live := int64(ms.HeapAlloc)
	base := procStatus(t, "VmRSS")
	t.Logf("records loaded: %.0f MB of live heap, RSS %.0f MB", mb(live), mb(base))

	for i := range 3 {
		resetPeakRSS(t)
		h := startHeapPeak()
		start := time.Now()
		z, _, n, err := repodata.BuildRepodataZstd("linux-64", recs)
		took := time.Since(start)
		heap := h.Stop()
		if err != nil {
			t.Fatal(err)
		}
		peak := procStatus(t, "VmHWM")
		t.Logf("build %d: repodata.json %.0f MB → .zst %.0f MB in %v; peak RSS %.0f MB (+%.0f MB over the records), peak heap %.0f MB (+%.0f MB)",
			i+1, mb(n), mb(int64(len(z))), took.Round(time.Millisecond), mb(peak), mb(peak-base), mb(int64(heap)), mb(int64(heap)-live))
		z = nil
		runtime.GC()
	}

	// The plain JSON, when a client asks for it: streamed from the records, or built whole.
	resetPeakRSS(t)
	start := time.Now()
	n, err := repodata.WriteRepodata(io.Discard, "linux-64", recs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plain repodata.json (%.0f MB) streamed: %v; peak RSS %.0f MB",
		mb(n), time.Since(start).Round(time.Millisecond), mb(procStatus(t, "VmHWM")))
	runtime.GC()
	resetPeakRSS(t)
	start = time.Now()
	body := repodata.BuildRepodata("linux-64", recs)
	t.Logf("plain repodata.json (%.0f MB) built whole: %v; peak RSS %.0f MB",
		mb(int64(len(body))), time.Since(start).Round(time.Millisecond), mb(procStatus(t, "VmHWM")))
	runtime.KeepAlive(recs)
}
