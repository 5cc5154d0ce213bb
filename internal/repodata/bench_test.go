package repodata_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

var depNames = []string{"libzlib", "libgcc", "libstdcxx", "python", "numpy", "openssl", "libffi", "xz", "bzip2", "ncurses",
	"readline", "sqlite", "tk", "zstd", "lz4-c", "libcurl", "krb5", "libssh2", "c-ares", "libnghttp2", "libiconv", "icu"}

// synthetic returns n records shaped like conda-forge linux-64's: 3 to 15 depends, sometimes
// constrains, a license, a timestamp, checksums (~600 bytes of JSON each).
func synthetic(n int) []repodata.Record {
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]repodata.Record, n)
	for i := range recs {
		name := fmt.Sprintf("%s-%s%d", depNames[r.IntN(len(depNames))], []string{"py", "lib", "r", "perl"}[r.IntN(4)], i/8)
		version := fmt.Sprintf("%d.%d.%d", r.IntN(5), r.IntN(30), r.IntN(20))
		build := fmt.Sprintf("py312h%07x_%d", r.Uint32()&0xfffffff, r.IntN(4))
		fn := name + "-" + version + "-" + build + []string{".conda", ".tar.bz2"}[r.IntN(2)]
		deps := []string{}
		for range 3 + r.IntN(13) {
			d := depNames[r.IntN(len(depNames))]
			deps = append(deps, fmt.Sprintf("%s >=%d.%d.%d,<%d.0a0", d, r.IntN(3), r.IntN(10), r.IntN(10), 3+r.IntN(3)))
		}
		m := map[string]any{"name": name, "version": version, "build": build, "build_number": r.IntN(4), "depends": deps,
			"license": "BSD-3-Clause", "license_family": "BSD", "subdir": "linux-64", "timestamp": 1700000000000 + r.Int64N(1e10),
			"size": r.IntN(5e7)}
		if r.IntN(4) == 0 {
			m["constrains"] = []string{fmt.Sprintf("%s >=%d", depNames[r.IntN(len(depNames))], r.IntN(9))}
		}
		s := sha256.Sum256([]byte(fn))
		h := md5.Sum([]byte(fn))
		m["sha256"], m["md5"] = hex.EncodeToString(s[:]), hex.EncodeToString(h[:])
		b, _ := json.Marshal(m)
		recs[i] = repodata.Record{Filename: fn, Name: name, Version: version, Build: build, JSON: b}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Filename < recs[j].Filename })
	return recs
}

// BenchmarkBuildRepodata measures what a change costs a large channel: repodata.json built and
// zstd-compressed (streamed; the plain JSON is built only when a client asks for it). Run: go test -run '^$' -bench BuildRepodata -benchmem ./internal/repodata/
func BenchmarkBuildRepodata(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 500_000} {
		recs := synthetic(n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			var jsonLen, zstLen int
			var peak uint64
			for b.Loop() {
				z, _, n, err := repodata.BuildRepodataZstd("linux-64", recs)
				if err != nil {
					b.Fatal(err)
				}
				jsonLen, zstLen = int(n), len(z)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			b.ReportMetric(float64(jsonLen)/1e6, "MB-json")
			b.ReportMetric(float64(zstLen)/1e6, "MB-zst")
			b.ReportMetric(float64(peak)/1e6, "MB-heap-inuse")
		})
	}
}

// BenchmarkBuildRepodataJSON measures building the plain repodata.json in one buffer.
func BenchmarkBuildRepodataJSON(b *testing.B) {
	recs := synthetic(100_000)
	b.ReportAllocs()
	for b.Loop() {
		repodata.BuildRepodata("linux-64", recs)
	}
}

// BenchmarkBuildShards builds every shard of a subdir from records whose msgpack form was
// stored at upload, as the server does.
//
//	go test -run '^$' -bench BuildShards -benchmem ./internal/repodata/
func BenchmarkBuildShards(b *testing.B) {
	recs := synthetic(100_000)
	for i := range recs {
		var err error
		if recs[i].Msgpack, err = repodata.EncodeShardRecord(recs[i].JSON); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := repodata.BuildShards("linux-64", recs, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
