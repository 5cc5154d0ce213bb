package repodata_test

import (
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/repodata"
)

// compareVersions stands in for conda.CompareVersions, which this package cannot import
// (internal/conda imports it): dot-separated parts compare by their leading number, then a
// part with a suffix ("0rc1") comes before the bare number ("0"), then suffixes by bytes.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, sx := splitNumber(x)
		ny, sy := splitNumber(y)
		if c := nx - ny; c != 0 {
			return max(-1, min(1, c))
		}
		switch {
		case sx == sy:
		case sx == "":
			return 1
		case sy == "":
			return -1
		default:
			return strings.Compare(sx, sy)
		}
	}
	return 0
}

func splitNumber(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}

func TestCompareVersionsStub(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.10", "1.9", 1}, {"1.0rc1", "1.0", -1}, {"1.0", "1.0.0", 0}, {"2", "10", -1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// rec returns a record with JSON as the server stores it: compact, keys sorted.
func rec(fn, name, version string, extra map[string]any) repodata.Record {
	sum := sha256.Sum256([]byte(fn))
	m := map[string]any{"build": "0", "build_number": 0, "depends": []string{}, "md5": hex.EncodeToString(sum[:16]),
		"name": name, "sha256": hex.EncodeToString(sum[:]), "size": 10, "subdir": "linux-64", "version": version}
	for k, v := range extra {
		m[k] = v
	}
	j, _ := json.Marshal(m)
	return repodata.Record{Filename: fn, Name: name, Version: version, Build: "0", JSON: j}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return m
}

func unzstd(t *testing.T, b []byte) []byte {
	t.Helper()
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestEmptySubdir(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"repodata", repodata.BuildRepodata("noarch", nil),
			`{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{},"removed":[],"repodata_version":1}`},
		{"current_repodata", repodata.BuildCurrentRepodata("noarch", []repodata.Record{}),
			`{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{},"removed":[],"repodata_version":1}`},
		{"run_exports", repodata.BuildRunExports("noarch", nil),
			`{"info":{"subdir":"noarch","version":1},"packages":{},"packages.conda":{}}`},
	} {
		if string(c.got) != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, c.got, c.want)
		}
	}
	z, sum, n, err := repodata.BuildRepodataZstd("noarch", nil)
	want := repodata.BuildRepodata("noarch", nil)
	if err != nil || !bytes.Equal(unzstd(t, z), want) || sum != sha256.Sum256(want) || n != int64(len(want)) {
		t.Errorf("BuildRepodataZstd of nothing: %v", err)
	}
}

func TestRepodataShape(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1.0-0.conda", "a", "1.0", map[string]any{"track_features": "x"}),
		rec("a-1.0-0.tar.bz2", "a", "1.0", nil),
		rec("b-2.0-0.conda", "b", "2.0", map[string]any{"constrains": []string{"c <2"}}),
		rec("c-1.0-0.zip", "c", "1.0", nil), // neither format: left out
	}
	b := repodata.BuildRepodata("linux-64", recs)
	for _, r := range recs[:3] {
		if !bytes.Contains(b, append([]byte(`"`+r.Filename+`":`), r.JSON...)) {
			t.Errorf("%s is not emitted byte for byte", r.Filename)
		}
	}
	want := map[string]any{
		"info":             map[string]any{"subdir": "linux-64"},
		"packages":         map[string]any{"a-1.0-0.tar.bz2": decode(t, recs[1].JSON)},
		"packages.conda":   map[string]any{"a-1.0-0.conda": decode(t, recs[0].JSON), "b-2.0-0.conda": decode(t, recs[2].JSON)},
		"removed":          []any{},
		"repodata_version": float64(1),
	}
	if diff := cmp.Diff(want, decode(t, b)); diff != "" {
		t.Errorf("repodata (-want +got):\n%s", diff)
	}
	if bytes.Contains(b, []byte("base_url")) {
		t.Error("repodata has a base_url")
	}
}

func TestKeysAreSortedWhateverTheInputOrder(t *testing.T) {
	recs := synthetic(300)
	shuffled := slices.Clone(recs)
	slices.Reverse(shuffled)
	before := slices.Clone(shuffled)
	if !bytes.Equal(repodata.BuildRepodata("linux-64", recs), repodata.BuildRepodata("linux-64", shuffled)) {
		t.Error("unsorted input gives other bytes")
	}
	if !slices.EqualFunc(before, shuffled, func(a, b repodata.Record) bool { return a.Filename == b.Filename }) {
		t.Error("the caller's slice was reordered")
	}
	// The keys come out in byte order.
	b := repodata.BuildRepodata("linux-64", shuffled)
	last := 0
	for _, r := range recs { // sorted, .conda after .tar.bz2 as in the file
		if strings.HasSuffix(r.Filename, ".conda") {
			continue
		}
		i := bytes.Index(b, []byte(`"`+r.Filename+`":`))
		if i < last {
			t.Fatalf("%s out of order", r.Filename)
		}
		last = i
	}
	for _, r := range recs {
		if strings.HasSuffix(r.Filename, ".conda") {
			i := bytes.Index(b, []byte(`"`+r.Filename+`":`))
			if i < last {
				t.Fatalf("%s out of order", r.Filename)
			}
			last = i
		}
	}
}

func TestFilenamesAreJSONEscaped(t *testing.T) {
	odd := []string{`a"b-1-0.conda`, `a\b-1-0.conda`, "a<b>&-1-0.conda", "é-1-0.conda", "a\tb-1-0.tar.bz2"}
	var recs []repodata.Record
	for _, fn := range odd {
		recs = append(recs, rec(fn, "a", "1", nil))
	}
	for _, b := range [][]byte{repodata.BuildRepodata("linux-64", recs), repodata.BuildRunExports("linux-64", recs),
		repodata.BuildCurrentRepodata("linux-64", recs), repodata.BuildRepodata(`odd"subdir`, nil)} {
		m := decode(t, b)
		got := append(keys(m["packages"].(map[string]any)), keys(m["packages.conda"].(map[string]any))...)
		if len(got) > 0 && !cmp.Equal(slices.Sorted(slices.Values(odd)), slices.Sorted(slices.Values(got))) {
			t.Errorf("filenames = %q, want %q", got, odd)
		}
	}
}

func TestCompressedForms(t *testing.T) {
	// 3000 records take the one-shot path, 30000 (about 20 MB) the parallel stream.
	for _, n := range []int{3000, 30000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			recs := synthetic(n)
			j := repodata.BuildRepodata("linux-64", recs)
			if n > 3000 && len(j) < 16<<20 {
				t.Fatalf("%d bytes of JSON do not reach the streaming path", len(j))
			}
			z, err := repodata.CompressZstd(j)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(unzstd(t, z), j) {
				t.Error("zstd does not round-trip")
			}
			streamed, sum, size, err := repodata.BuildRepodataZstd("linux-64", recs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(streamed, z) {
				t.Error("BuildRepodataZstd differs from CompressZstd(BuildRepodata)")
			}
			if sum != sha256.Sum256(j) || size != int64(len(j)) {
				t.Errorf("sha256/length of the stream = %x/%d, want those of repodata.json", sum, size)
			}
			var w bytes.Buffer
			if n, err := repodata.WriteRepodata(&w, "linux-64", recs); err != nil || n != int64(len(j)) || !bytes.Equal(w.Bytes(), j) {
				t.Errorf("WriteRepodata wrote %d bytes (%v), not repodata.json", n, err)
			}
			// The same bytes on a machine of one core.
			prev := runtime.GOMAXPROCS(1)
			z1, err := repodata.CompressZstd(j)
			runtime.GOMAXPROCS(prev)
			if err != nil || !bytes.Equal(z1, z) {
				t.Errorf("zstd output depends on GOMAXPROCS (%v)", err)
			}
			if n > 3000 {
				return // bzip2 is slow, and its writer has no size-dependent paths
			}
			bz, err := repodata.CompressBzip2(j)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bz))); err != nil || !bytes.Equal(got, j) {
				t.Errorf("bzip2 does not round-trip: %v", err)
			}
		})
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, io.ErrClosedPipe
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteRepodataReportsWriteErrors(t *testing.T) {
	if _, err := repodata.WriteRepodata(&failingWriter{after: 1 << 20}, "linux-64", synthetic(5000)); err == nil {
		t.Error("a failed write went unreported")
	}
}

func TestDeterministic(t *testing.T) {
	recs := synthetic(2000)
	for name, build := range map[string]func() []byte{
		"repodata":         func() []byte { return repodata.BuildRepodata("linux-64", recs) },
		"current_repodata": func() []byte { return repodata.BuildCurrentRepodata("linux-64", recs) },
		"run_exports":      func() []byte { return repodata.BuildRunExports("linux-64", recs) },
		"zst": func() []byte {
			z, _, _, _ := repodata.BuildRepodataZstd("linux-64", recs)
			return z
		},
	} {
		if !bytes.Equal(build(), build()) {
			t.Errorf("%s: two builds differ", name)
		}
	}
}

func TestCurrentRepodataKeepsEveryBuildOfTheNewestVersion(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1.10-0.conda", "a", "1.10", nil),
		rec("a-1.10-1.tar.bz2", "a", "1.10", nil),
		rec("a-1.9-0.conda", "a", "1.9", nil), // newer by bytes, older by version
		rec("b-0.9-0.conda", "b", "0.9", nil),
		rec("b-1.0rc1-0.conda", "b", "1.0rc1", nil), // "b=1.0" takes it in, as in conda-index
		rec("b-1.0-0.conda", "b", "1.0", nil),
		rec("c-0.1-0.conda", "c", "0.1", nil),
	}
	m := decode(t, repodata.BuildCurrentRepodata("linux-64", recs))
	got := map[string][]string{
		"packages":       keys(m["packages"].(map[string]any)),
		"packages.conda": keys(m["packages.conda"].(map[string]any)),
	}
	want := map[string][]string{
		"packages":       {"a-1.10-1.tar.bz2"},
		"packages.conda": {"a-1.10-0.conda", "b-1.0-0.conda", "b-1.0rc1-0.conda", "c-0.1-0.conda"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
	if m["repodata_version"] != float64(1) || m["removed"] == nil {
		t.Errorf("current_repodata header: %v", m)
	}
}

func TestRunExports(t *testing.T) {
	a := rec("a-1-0.conda", "a", "1", nil)
	a.RunExports = json.RawMessage(`{"weak":["a >=1"]}`)
	b := rec("b-1-0.tar.bz2", "b", "1", nil)
	m := decode(t, repodata.BuildRunExports("linux-64", []repodata.Record{a, b}))
	want := map[string]any{
		"info":           map[string]any{"subdir": "linux-64", "version": float64(1)},
		"packages":       map[string]any{"b-1-0.tar.bz2": map[string]any{"run_exports": map[string]any{}}},
		"packages.conda": map[string]any{"a-1-0.conda": map[string]any{"run_exports": map[string]any{"weak": []any{"a >=1"}}}},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("run_exports (-want +got):\n%s", diff)
	}
}
