package matchspec

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// The cases below are conda's own (tests/models/test_version.py and test_match_spec.py at
// conda 26.7), so that this package reads specs as the conda conda-index runs with does.

func TestVersionSpecMatch(t *testing.T) {
	// test_match: each spec against "1.7.1".
	for _, c := range []struct {
		spec string
		want bool
	}{
		{"1.7.*", true}, {"1.7.1", true}, {"1.7.0", false}, {"1.7", false}, {"1.5.*", false},
		{">=1.5", true}, {"!=1.5", true}, {"!=1.7.1", false}, {"==1.7.1", true}, {"==1.7", false},
		{"==1.7.2", false}, {"==1.7.1.0", true}, {"1.7.*|1.8.*", true}, {">1.7,<1.8", true},
		{">1.7.1,<1.8", false}, {"^1.7.1$", true}, {`^1\.7\.1$`, true}, {`^1\.7\.[0-9]+$`, true},
		{`^1\.8.*$`, false}, {`^1\.[5-8]\.1$`, true}, {`^[^1].*$`, false}, {`^[0-9+]+\.[0-9+]+\.[0-9]+$`, true},
		{"^$", false}, {"^.*$", true}, {"1.7.*|^0.*$", true}, {"1.6.*|^0.*$", false},
		{"1.6.*|^0.*$|1.7.1", true}, {"^0.*$|1.7.1", true}, {`1.6.*|^.*\.7\.1$|0.7.1`, true},
		{"*", true}, {"1.*.1", true}, {"1.5.*|>1.7,<1.8", true}, {"1.5.*|>1.7,<1.7.1", false},
		// Precedence and grouping (test_version_spec_2).
		{"( (1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", false},
		{"(1.7.1|1.8),>1", true},
		{"1.7.1|1.8,>2", true}, // ',' binds tighter than '|'
		{"(1.7.1|1.8),>2", false},
		// Prefixes.
		{"1.7*", true}, {"1.7.1*", true}, {"=1.7", true}, {"=1.7.1", true}, {">=1.7.*", true},
		{"!=1.7.*", false}, {"!=1.8.*", true}, {"1.7.1.*", true}, {"1.71*", false},
		// Compatible release.
		{"~=1.7", true}, {"~=1.7.0", true}, {"~=1.6", true}, {"~=1.6.0", false}, {"~=1.7.2", false},
	} {
		vs, err := ParseVersionSpec(c.spec)
		if err != nil {
			t.Errorf("ParseVersionSpec(%q): %v", c.spec, err)
			continue
		}
		if got := vs.Match("1.7.1"); got != c.want {
			t.Errorf("%q matches 1.7.1 = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestVersionSpecEval(t *testing.T) {
	// test_ver_eval and test_compatible_release_versions: (version, spec, match).
	for _, c := range []struct {
		version, spec string
		want          bool
	}{
		{"1.7.0", "==1.7", true}, {"1.7.0", "<=1.7", true}, {"1.7.0", "<1.7", false},
		{"1.7.0", ">=1.7", true}, {"1.7.0", ">1.7", false}, {"1.6.7", ">=1.7", false},
		{"2013a", ">2013b", false}, {"2013k", ">2013b", true}, {"3.0.0", ">2013b", false},
		{"1.0.0", ">1.0.0a", true}, {"1.0.0", ">1.0.0*", true}, {"1.0", "1.0*", true},
		{"1.0.0", "1.0*", true}, {"1.0", "1.0.0*", true}, {"1.0.1", "1.0.0*", false},
		{"2013a", "2013a*", true}, {"2013a", "2013b*", false}, {"2013ab", "2013a*", true},
		{"1.3.4", "1.2.4*", false}, {"1.2.3+4.5.6", "1.2.3*", true}, {"1.2.3+4.5.6", "1.2.3+4*", true},
		{"1.2.3+4.5.6", "1.2.3+5*", false}, {"1.2.3+4.5.6", "1.2.4+5*", false},
		{"1.11.0", "~=1.10", true}, {"1.11.0", "~=1.10.0", false}, {"3.4.0", "~=3.3.2", false},
		{"3.3.1", "~=3.3.2", false}, {"3.3.2.0", "~=3.3.2", true}, {"3.3.3", "~=3.3.2", true},
		{"2.2.0", "~=3.3.2|==2.2", true}, {"3.3.3", "~=3.3.2|==2.2", true}, {"2.2.1", "~=3.3.2|==2.2", false},
		// A prefix keeps pre-releases of the version it names: what current_repodata's
		// "name=version" selection relies on.
		{"1.10rc1", "1.10.*", true}, {"1.10.0dev1", "1.10.*", true}, {"1.1", "1.10.*", false},
		{"1.10a", "1.10*", true}, {"1.10", "1.1*", false},
		// Versions are compared without case, and '-' reads as '_'.
		{"1.0RC1", "==1.0rc1", true}, {"1.0-1", "==1.0_1", true},
		// A version with an '@' is compared as written.
		{"1.0@x", "1.0@x", true}, {"1.0@y", "1.0@x", false},
		// A version the order cannot read matches only patterns.
		{"not a version", ">=0", false}, {"not a version", "*", true}, {"not a version", "^not.*$", true},
	} {
		vs, err := ParseVersionSpec(c.spec)
		if err != nil {
			t.Errorf("ParseVersionSpec(%q): %v", c.spec, err)
			continue
		}
		if got := vs.Match(c.version); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.spec, c.version, got, c.want)
		}
	}
}

func TestVersionSpecInvalid(t *testing.T) {
	for _, spec := range []string{
		"", " ", "><2.4.5", "!!2.4.5", "!", "(1.5", "1.5)", "1.5||1.6", "^1.5", "1.5$", "==", "=", ">=", "<=",
		"~=3.3.2.*", "===3.3.2", "~=1", "1.0,", "|1.0", "()", "1..0", ">=1..0", "1.0 2.0", "^(a$", "a*(",
	} {
		if vs, err := ParseVersionSpec(spec); err == nil {
			t.Errorf("ParseVersionSpec(%q) = %v, want an error", spec, vs)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseVersionSpec(%q): %v does not wrap ErrInvalid", spec, err)
		}
	}
}

func TestStartsWith(t *testing.T) {
	for _, c := range []struct {
		v, prefix string
		want      bool
	}{
		{"1.2.3", "1.2", true}, {"1.2", "1.2", true}, {"1.2", "1.2.0", true}, {"1.20", "1.2", false},
		{"1.2a", "1.2", true}, {"1.2ab", "1.2a", true}, {"1.2b", "1.2a", false}, {"1.2.post1", "1.2", true},
		{"1!1.2", "1.2", false}, {"1.2+abc", "1.2+ab", true}, {"1.3+abc", "1.2+ab", false}, {"2", "1", false},
	} {
		v, err1 := ParseVersion(c.v)
		p, err2 := ParseVersion(c.prefix)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q, %q: %v %v", c.v, c.prefix, err1, err2)
		}
		if got := v.StartsWith(p); got != c.want {
			t.Errorf("%q starts with %q = %v, want %v", c.v, c.prefix, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	// test_parse_spec_str_*: name, version spec and build as conda reads them.
	for _, c := range []struct {
		spec, name, version, build string
		never                      bool
	}{
		{"numpy", "numpy", "", "", false},
		{"numpy=", "numpy", "", "", false}, // conda reads a lone "=" as nothing
		{"NumPy", "numpy", "", "", false},
		{"defaults::numpy", "numpy", "", "", true},
		{"https://repo.anaconda.com/pkgs/free::numpy", "numpy", "", "", true},
		{"defaults::numpy=1.8", "numpy", "1.8*", "", true},
		{"numpy =1.8", "numpy", "1.8*", "", false},
		{"numpy=1.8=py27_0", "numpy", "1.8", "py27_0", false},
		{"numpy 1.8 py27_0", "numpy", "1.8", "py27_0", false},
		{"numpy 1.8 py27_0[channel=anaconda]", "numpy", "1.8", "py27_0", true},
		{"numpy=1.8=py27_0 [version=1.9, build=3]", "numpy", "1.9", "3", false},
		{`numpy=1.8=py27_0 [version=">=1.8,<2|1.9", build='3']`, "numpy", ">=1.8,<2|1.9", "3", false},
		{"tensorflow[name=* version=* md5=253b922ecdb5a30884875948b8904983]", "tensorflow", "*", "", false},
		{"tensorflow[name=pytorch]", "tensorflow", "", "", false},
		{"* 2.7.4", "*", "2.7.4", "", false},
		{"* >=1.3 2", "*", ">=1.3", "2", false},
		{"numpy==1.7", "numpy", "1.7", "", false},
		{"numpy ==1.7", "numpy", "1.7", "", false},
		{"numpy=1.7", "numpy", "1.7*", "", false},
		{"numpy !=1.7", "numpy", "!=1.7", "", false},
		{"numpy~=1.7.1", "numpy", "~=1.7.1", "", false},
		{"numpy>1.8,<2|==1.7", "numpy", ">1.8,<2|==1.7", "", false},
		{"numpy >1.8,<2|==1.7,!=1.9,~=1.7.1 py34_0", "numpy", ">1.8,<2|==1.7,!=1.9,~=1.7.1", "py34_0", false},
		{"* 1 *", "*", "1", "*", false},
		{"* * openblas_0", "*", "*", "openblas_0", false},
		{"* *", "*", "*", "", false},
		{"conda-forge/linux-32::foo>=1.0", "foo", ">=1.0", "", true},
		{"*/linux-32::foo>=1.0", "foo", ">=1.0", "", false},
		{"conda-forge::foo[build=3](target=blarg,optional)", "foo", "", "3", true},
		{"python >=3.8,<3.9.0a0", "python", ">=3.8,<3.9.0a0", "", false},
		{"libblas * *mkl", "libblas", "*", "*mkl", false},
		{"versioned 1.*", "versioned", "1.*", "", false},
		{"python_abi 3.12.* *_cp312", "python_abi", "3.12.*", "*_cp312", false},
		{"foo 1.0 # a comment", "foo", "1.0", "", false},
		{"foo >=1 if __unix", "foo", ">=1", "", false},
		{"numpy[version='>=1.20']", "numpy", ">=1.20", "", false},
		{"numpy[version=1.20]", "numpy", "1.20", "", false},
		{"foo[url=https://x/foo-1-0.conda]", "foo", "", "", true},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if s.name != c.name || s.versionText != c.version || s.buildText != c.build || s.never != c.never {
			t.Errorf("Parse(%q) = name %q version %q build %q never %v, want %q %q %q %v",
				c.spec, s.name, s.versionText, s.buildText, s.never, c.name, c.version, c.build, c.never)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, spec := range []string{
		"", "!xyz 1.3", ">=1.0", "numpy >=1.0,", "numpy ><1", "numpy 1.0 py27_0[build_number=x y=1]",
		"foo[version=]", "foo[bogus=1]", "numpy-1.0-0.conda", "https://x/numpy-1.0-0.tar.bz2", "foo\n1",
		"foo ~=1",
		// A '[' left after the brackets were taken: conda's "multiple brackets sections".
		"foo 1.0[", "foo==@[", "foo >=1[a] [build=0]",
	} {
		if s, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", spec, s)
		}
	}
}

func TestSpecMatch(t *testing.T) {
	// test_match_1: each spec against numpy-1.7.1-py27_0.
	numpy := &Record{Name: "numpy", Version: "1.7.1", Build: "py27_0", BuildNumber: 0, Subdir: "linux-64"}
	for _, c := range []struct {
		spec string
		want bool
	}{
		{"numpy 1.7*", true}, {"numpy 1.7.1", true}, {"numpy 1.7", false}, {"numpy 1.5*", false},
		{"numpy >=1.5", true}, {"numpy >=1.5,<2", true}, {"numpy >=1.8,<1.9", false},
		{"numpy >1.5,<2,!=1.7.1", false}, {"numpy >1.8,<2|==1.7", false}, {"numpy >1.8,<2|>=1.7.1", true},
		{"numpy >=1.8|1.7*", true}, {"numpy ==1.7", false}, {"numpy >=1.5,>1.6", true},
		{"numpy ==1.7.1", true}, {"numpy ==1.7.1.0", true}, {"numpy==1.7.1.0.0", true},
		{"numpy >=1,*.7.*", true}, {"numpy *.7.*,>=1", true}, {"numpy >=1,*.8.*", false},
		{"numpy >=2,*.7.*", false}, {"numpy 1.6*|1.7*", true}, {"numpy 1.6*|1.8*", false},
		{"numpy 1.6.2|1.7*", true}, {"numpy 1.6.2|1.7.1", true}, {"numpy 1.6.2|1.7.0", false},
		{"numpy 1.7.1 py27_0", true}, {"numpy 1.7.1 py26_0", false}, {"numpy >1.7.1a", true},
		{"python", false},
		{"numpy=1.7.1=py27_0", true}, {"numpy * py27*", true}, {"numpy * ^py2._0$", true},
		{"numpy * ^py2[0-9]_0$", false}, // conda takes [0-9] for the brackets section
		{"numpy[build_number='~=0']", false},
		{"numpy[build=py3*]", false}, {"NUMPY", true}, {"num*", true}, {"*", true},
		{"numpy[build_number=0]", true}, {"numpy[build_number='>=1']", false}, {"numpy[build_number='<1']", true},
		{"numpy[build_number=*]", true}, {"numpy[build_number=abc]", false},
		{"numpy[subdir=linux-64]", true}, {"numpy[subdir=noarch]", false}, {"*/noarch::numpy", false},
		{"*::numpy", true}, {"conda-forge::numpy", false},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if got := s.Match(numpy); got != c.want {
			t.Errorf("%q matches numpy-1.7.1-py27_0 = %v, want %v", c.spec, got, c.want)
		}
	}
	for _, c := range []struct {
		spec, version, build string
		want                 bool
	}{
		{"numpy >=1.0.1", "1.0.1a", "0", false},
		{"numpy >=1.0.1.vc11", "1.0.1a.vc11", "0", false},
		{"numpy >=1.0.1*.vc11", "1.0.1a.vc11", "0", true},
		{"numpy <1.0.1", "1.0.1.vc11", "0", true},
		{"numpy <1.0.1", "1.0.1a.vc11", "0", true},
		{"numpy >=1.0.1.vc11", "1.0.1a", "0", false},
		{"numpy >=1.0.1a", "1.0.1z", "0", true},
		{"numpy >=1.0.1a py27*", "1.0.1z", "py27_1", true},
		{"openssl>=1.0.1_", "1.0.1_", "4", true},
		{"openssl>=1.0.1", "1.0.1_", "4", false},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		r := &Record{Name: "numpy", Version: c.version, Build: c.build}
		if s.name == "openssl" {
			r.Name = "openssl"
		}
		if got := s.Match(r); got != c.want {
			t.Errorf("%q matches %s %s = %v, want %v", c.spec, c.version, c.build, got, c.want)
		}
	}
	// A parsed version gives the same answers as the string.
	s, _ := Parse("numpy >=1.5,<2")
	v, _ := ParseVersion("1.7.1")
	if !s.Match(&Record{Name: "numpy", Version: "1.7.1", Parsed: &v, ParsedOK: true}) ||
		s.Match(&Record{Name: "numpy", Version: "1.7.1", Parsed: &v, ParsedOK: false}) {
		t.Error("Record.Parsed is not used as the version")
	}
}

func TestSpecMatchFields(t *testing.T) {
	fields := map[string]string{"md5": "abc", "license": "BSD-3-Clause", "track_features": "mkl debug", "features": ""}
	r := &Record{Name: "foo", Version: "1", Build: "0", Field: func(k string) string { return fields[k] }}
	for _, c := range []struct {
		spec string
		want bool
	}{
		{"foo[md5=abc]", true}, {"foo[md5=abd]", false}, {"foo[md5=ab*]", false},
		{"foo[license=bsd-3-clause]", true}, {"foo[license=BSD*]", true}, {"foo[license=MIT]", false},
		{"foo[track_features='debug mkl']", true}, {"foo[track_features=mkl]", false},
		{"foo[features=mkl]", false}, {"mkl@", false}, {"foo[extras=[a]]", false},
		{"foo[when=__unix]", true},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if got := s.Match(r); got != c.want {
			t.Errorf("%q = %v, want %v", c.spec, got, c.want)
		}
	}
	s, _ := Parse("mkl@")
	if !s.Match(&Record{Name: "anything", Version: "1", Field: func(k string) string {
		return map[string]string{"track_features": "mkl"}[k]
	}}) {
		t.Error(`"mkl@" does not match a package tracking mkl`)
	}
	if _, exact := s.Name(); exact {
		t.Error(`"mkl@" names one package`)
	}
}

// A package's depends are written by whoever uploads it. Joining the leaves of a long "a|b|c…"
// or "a,b,c…" copied every leaf joined so far at each step: a 4 KiB spec allocated about
// 100 MB. The bound below is on bytes allocated per byte of spec, which does not depend on
// the machine's speed.
func TestParseCostIsLinear(t *testing.T) {
	for _, unit := range []string{"1|", "1,", "^|", ">=1.0|", "(1)|"} {
		spec := "foo " + strings.Repeat(unit, (MaxSpecLen-8)/len(unit)) + "1"
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		Parse(spec)
		runtime.ReadMemStats(&after)
		if perByte := (after.TotalAlloc - before.TotalAlloc) / uint64(len(spec)); perByte > 1024 {
			t.Errorf("parsing %d bytes of %q allocated %d bytes per byte", len(spec), unit, perByte)
		}
	}
}

// TestSpecCost: what one Match may cost, in version comparisons, grows with the leaves of the
// version spec and with the size of regular expressions and globs, whose matching takes time
// in proportion to their size (a 2 KiB "^(.?)…$" takes a millisecond against a long version).
func TestSpecCost(t *testing.T) {
	for _, c := range []struct {
		spec     string
		min, max int
	}{
		{"foo", 1, 1},
		{"foo 1.0", 2, 2},
		{"foo 1.0|1.2|>2,<3", 5, 5},
		{"foo * *", 2, 2},
		{"foo * py*", 20, 400},
		{`foo ^1\.[0-9]+$`, 20, 400},
		{"foo ^" + strings.Repeat(".?", 1000) + "$", 16 * 2000, 16 * 2100},
		{"foo 1.0 " + strings.Repeat("p*", 1000), 16 * 2000, 16 * 3100},
		{strings.Repeat("f*", 1000), 16 * 2000, 16 * 3100},
		{"foo[license='" + strings.Repeat("m*", 1000) + "']", 16 * 2000, 16 * 3100},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.spec, err)
		}
		if got := s.Cost(); got < c.min || got > c.max {
			t.Errorf("Cost(%.40q) = %d, want %d to %d", c.spec, got, c.min, c.max)
		}
	}
}
