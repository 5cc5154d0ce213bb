package matchspec

import (
	"strings"
	"testing"
)

var fuzzRecords = []*Record{
	{Name: "numpy", Version: "1.7.1", Build: "py27_0", BuildNumber: 0, Subdir: "linux-64"},
	{Name: "foo", Version: "1!2.0rc1+local.3", Build: "h123_4", BuildNumber: 4, Subdir: "noarch",
		Field: func(k string) string { return map[string]string{"license": "MIT", "track_features": "a b"}[k] }},
	{Name: "bar", Version: "not a version", Build: "", BuildNumber: 0},
}

// FuzzParse feeds arbitrary specs (a package's depends are written by whoever built it) to
// Parse and Match: no panic, and the same answer twice.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"numpy", "numpy >=1.5,<2|1.7*", "numpy 1.7.1 py27_0", "numpy=1.8=py27_0",
		`numpy=1.8=py27_0 [channel='anaconda',version=">=1.8,<2|1.9", build='3']`, "conda-forge/linux-64::foo>=1.0",
		"foo[build=3](target=blarg,optional)", "mkl@", "* * *", "python_abi 3.12.* *_cp312", "foo ~=1.2",
		"foo[build_number='>=3',md5=abc,license=MIT*]", "foo ^1\\.[0-9]$", "a[b=c][d='e']", "x 1.0 # c", "x[version=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			return
		}
		for _, r := range fuzzRecords {
			if s.Match(r) != s.Match(r) {
				t.Fatalf("%q: two answers for %s", spec, r.Name)
			}
		}
	})
}

// FuzzVersionSpec checks version specs against arbitrary versions: no panic, and for a
// version the order reads, the plain relations agree with it.
func FuzzVersionSpec(f *testing.F) {
	for _, c := range [][2]string{
		{">=1.5,<2|1.7*", "1.7.1"}, {"^1\\.7.*$", "1.7"}, {"1.*.1", "1.0.1"}, {"~=1.2.3", "1.2.4"},
		{"!=1.0.*", "1.0.0dev"}, {"((1|2),3)|4", "3"}, {"1.0@x", "1.0@x"}, {"=1.2", "1.2.0"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, spec, version string) {
		if vs, err := ParseVersionSpec(spec); err == nil {
			vs.Match(version)
		}
		v, err := ParseVersion(version)
		if err != nil || strings.Contains(version, "*") {
			return // a '*' in the version itself turns the specs below into globs
		}
		for _, c := range []struct {
			spec string
			want bool
		}{{"==" + version, true}, {version + ".*", true}, {">=" + version, true}, {"<=" + version, true},
			{"!=" + version, false}, {"<" + version, false}, {">" + version, false}} {
			vs, err := ParseVersionSpec(c.spec)
			if err != nil {
				continue // "1.0.*" forms of odd versions, say
			}
			if got := vs.MatchParsed(version, v, true); got != c.want {
				t.Fatalf("%q matches %q = %v, want %v", c.spec, version, got, c.want)
			}
		}
		if !v.StartsWith(v) {
			t.Fatalf("%q does not start with itself", version)
		}
	})
}

// BenchmarkParseHostile parses the longest specs of the shapes that once cost time quadratic
// in their length (a package's depends are whatever its uploader wrote):
//
//	go test -run '^$' -bench ParseHostile -benchmem ./internal/conda/matchspec/
func BenchmarkParseHostile(b *testing.B) {
	n := MaxSpecLen - 16
	for _, c := range []struct{ name, spec string }{
		{"or", "foo " + strings.Repeat("1|", n/2) + "1"},
		{"and", "foo " + strings.Repeat("1,", n/2) + "1"},
		{"brackets", "foo[" + strings.Repeat("a=", n/2) + "']"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Parse(c.spec)
			}
		})
	}
}
