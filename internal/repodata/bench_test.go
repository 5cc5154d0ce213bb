package repodata_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

var (
	words = []string{"numpy", "scipy", "pandas", "libzlib", "openssl", "libcurl", "krb5", "requests",
		"urllib3", "certifi", "pyyaml", "ruamel.yaml", "matplotlib-base", "libblas", "liblapack",
		"xorg-libx11", "libxml2", "icu", "libffi", "sqlite", "zstd", "lz4-c", "libarrow", "pyarrow",
		"gdal", "proj", "geos", "hdf5", "netcdf4", "libnetcdf", "boost-cpp", "eigen", "fmt", "spdlog"}
	prefixes = []string{"", "r-", "perl-", "ros-humble-", "py-"}
	deps     = []string{"libzlib", "libgcc", "libstdcxx", "python", "numpy", "openssl", "libffi", "xz",
		"bzip2", "ncurses", "readline", "sqlite", "tk", "zstd", "lz4-c", "libcurl", "krb5", "libssh2",
		"c-ares", "libnghttp2", "libiconv", "icu", "python_abi", "__glibc", "libgfortran5", "libblas"}
	licenses = [][2]string{{"BSD-3-Clause", "BSD"}, {"MIT", "MIT"}, {"Apache-2.0", "Apache"},
		{"GPL-2.0-or-later", "GPL2"}, {"LGPL-2.1-or-later", "LGPL"}, {"Zlib", "Other"}}
)

// synthetic returns n records shaped like conda-forge linux-64's: about 15 files per package
// name (versions × python builds), 3 to 15 depends, sometimes constrains, license, timestamp,
// checksums; about 650 bytes of JSON each, keys sorted, as the server stores them. Sorted by
// filename.
func synthetic(n int) []repodata.Record {
	r := rand.New(rand.NewPCG(1, 2))
	names := max(1, n/15)
	recs := make([]repodata.Record, n)
	for i := range recs {
		k := i * names / n
		name := prefixes[k%len(prefixes)] + words[(k/len(prefixes))%len(words)]
		if g := k / (len(prefixes) * len(words)); g > 0 {
			name += fmt.Sprintf("-%d", g)
		}
		version := fmt.Sprintf("%d.%d.%d", r.IntN(5), r.IntN(30), r.IntN(20))
		bn := r.IntN(4)
		build := fmt.Sprintf("py3%dh%07x_%d", 9+r.IntN(5), r.Uint32()&0xfffffff, bn)
		ext := ".conda"
		if r.IntN(10) < 3 {
			ext = ".tar.bz2"
		}
		fn := name + "-" + version + "-" + build + ext
		depends := []string{}
		for range 3 + r.IntN(13) {
			d := deps[r.IntN(len(deps))]
			depends = append(depends, fmt.Sprintf("%s >=%d.%d.%d,<%d.0a0", d, r.IntN(3), r.IntN(10), r.IntN(10), 3+r.IntN(3)))
		}
		lic := licenses[r.IntN(len(licenses))]
		m := map[string]any{"name": name, "version": version, "build": build, "build_number": bn, "depends": depends,
			"license": lic[0], "license_family": lic[1], "subdir": "linux-64", "timestamp": 1700000000000 + r.Int64N(1e10),
			"size": r.IntN(5e7)}
		if r.IntN(4) == 0 {
			m["constrains"] = []string{fmt.Sprintf("%s >=%d", deps[r.IntN(len(deps))], r.IntN(9))}
		}
		s := sha256.Sum256([]byte(fn))
		h := md5.Sum([]byte(fn))
		m["sha256"], m["md5"] = hex.EncodeToString(s[:]), hex.EncodeToString(h[:])
		b, _ := json.Marshal(m)
		recs[i] = repodata.Record{Filename: fn, Name: name, Version: version, Build: build, BuildNumber: int64(bn),
			Timestamp: m["timestamp"].(int64), JSON: b}
	}
	slices.SortFunc(recs, func(a, b repodata.Record) int { return strings.Compare(a.Filename, b.Filename) })
	return recs
}

// BenchmarkBuildRepodata measures what a change costs a large channel: repodata.json built and
// zstd-compressed (streamed; the plain JSON is built only when a client asks for it).
//
//	go test -run '^$' -bench 'BuildRepodata$' -benchmem ./internal/repodata/
func BenchmarkBuildRepodata(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 500_000} {
		recs := synthetic(n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			var jsonLen, zstLen int
			for b.Loop() {
				z, _, n, err := repodata.BuildRepodataZstd("linux-64", recs)
				if err != nil {
					b.Fatal(err)
				}
				jsonLen, zstLen = int(n), len(z)
			}
			b.ReportMetric(float64(jsonLen)/1e6, "MB-json")
			b.ReportMetric(float64(zstLen)/1e6, "MB-zst")
			b.ReportMetric(float64(jsonLen)/float64(len(recs)), "B-json/rec")
		})
		runtime.GC()
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

// BenchmarkBuildShards builds every shard of a subdir of 100k records, from the msgpack form
// the server stores at upload ("stored") and from the JSON alone ("encode").
//
//	go test -run '^$' -bench BuildShards -benchmem ./internal/repodata/
func BenchmarkBuildShards(b *testing.B) {
	recs := synthetic(100_000)
	stored := slices.Clone(recs)
	for i := range stored {
		var err error
		if stored[i].Msgpack, err = repodata.EncodeShardRecord(stored[i].JSON); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		recs []repodata.Record
	}{{"100k/stored", stored}, {"100k/encode", recs}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var shards int
			for b.Loop() {
				_, s, err := repodata.BuildShards("linux-64", c.recs, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				shards = len(s)
			}
			b.ReportMetric(float64(shards), "shards")
		})
	}
	// The same subdir again after one package gained a file: the other packages' shards are
	// taken from the build before.
	b.Run("100k/one-changed", func(b *testing.B) {
		_, _, cache, err := repodata.BuildShardsCached("linux-64", stored, time.Time{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		more := append(slices.Clone(stored), stored[0])
		more[len(more)-1].Filename = "zz-new-" + stored[0].Filename
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := repodata.BuildShardsCached("linux-64", more, time.Time{}, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBuildChanneldata builds channeldata.json for 100k files.
func BenchmarkBuildChanneldata(b *testing.B) {
	recs := synthetic(100_000)
	infos := make([]repodata.PackageInfo, len(recs))
	for i, r := range recs {
		infos[i] = repodata.PackageInfo{Record: r, Subdir: "linux-64",
			About: json.RawMessage(`{"home":"https://example.org","summary":"A package","description":"Long\ntext","license":"MIT"}`)}
	}
	b.ReportAllocs()
	for b.Loop() {
		repodata.BuildChanneldata(infos, compareVersions)
	}
}

// BenchmarkBuildCurrentRepodata builds current_repodata.json (the newest versions and what
// they depend on) for 10k and 100k records.
//
//	go test -run '^$' -bench BuildCurrentRepodata -benchmem ./internal/repodata/
func BenchmarkBuildCurrentRepodata(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		recs := synthetic(n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				out = repodata.BuildCurrentRepodata("linux-64", recs)
			}
			b.ReportMetric(float64(len(out))/1e6, "MB-json")
		})
	}
}
