package pypitest_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

func TestBuildIsDeterministic(t *testing.T) {
	for _, k := range []pypitest.Kind{pypitest.Wheel, pypitest.TarGz, pypitest.Zip} {
		spec := pypitest.Spec{Kind: k, Files: map[string][]byte{"a.py": []byte("1"), "b/c.py": []byte("2")},
			Fields: []string{"Summary: x"}, Entries: []pypitest.Entry{{Name: "z", Zeros: 3 << 20}}}
		if a, b := pypitest.Build(t, spec), pypitest.Build(t, spec); !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", k)
		}
	}
}

func TestFilename(t *testing.T) {
	for _, tt := range []struct {
		spec pypitest.Spec
		want string
	}{
		{pypitest.Spec{}, "demo-1.0-py3-none-any.whl"},
		{pypitest.Spec{Name: "demo-lib", Version: "2.0", Build: "1", Tags: "cp312-cp312-manylinux_2_17_x86_64"}, "demo_lib-2.0-1-cp312-cp312-manylinux_2_17_x86_64.whl"},
		{pypitest.Spec{Kind: pypitest.TarGz, Name: "demo-lib"}, "demo_lib-1.0.tar.gz"},
		{pypitest.Spec{Kind: pypitest.Zip}, "demo-1.0.zip"},
		{pypitest.Spec{File: "other.whl"}, "other.whl"},
	} {
		if got := tt.spec.Filename(); got != tt.want {
			t.Errorf("Filename() = %q, want %q", got, tt.want)
		}
	}
}

func TestWheelLayout(t *testing.T) {
	spec := pypitest.Spec{Name: "demo-lib", Files: map[string][]byte{"demo_lib/__init__.py": []byte("x = 1\n")},
		Fields: []string{"Requires-Python: >=3.9"}, Description: "Hello\n"}
	data := pypitest.Build(t, spec)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Deflate || f.Flags&0x8 != 0 {
			t.Errorf("%s: method %d flags %#x; want deflated without a data descriptor", f.Name, f.Method, f.Flags)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("%s: %v", f.Name, err) // a CRC or size error
		}
		rc.Close()
	}
	want := []string{"demo_lib/__init__.py", "demo_lib-1.0.dist-info/METADATA", "demo_lib-1.0.dist-info/WHEEL", "demo_lib-1.0.dist-info/RECORD"}
	if !slices.Equal(names, want) {
		t.Errorf("members %q, want %q", names, want)
	}
	md := string(pypitest.MetadataBytes(spec))
	if md != "Metadata-Version: 2.4\nName: demo-lib\nVersion: 1.0\nRequires-Python: >=3.9\n\nHello\n" {
		t.Errorf("METADATA = %q", md)
	}
	if w := string(pypitest.WheelFile(pypitest.Spec{Tags: "py2.py3-none-any", Build: "7"})); !strings.Contains(w, "Tag: py2-none-any\nTag: py3-none-any\nBuild: 7\n") {
		t.Errorf("WHEEL = %q", w)
	}
}

func TestSdistLayout(t *testing.T) {
	spec := pypitest.Spec{Kind: pypitest.TarGz, Files: map[string][]byte{"pyproject.toml": []byte("[project]\n")},
		Entries: []pypitest.Entry{{Name: "demo-1.0/big", Zeros: 5 << 20}}}
	data := pypitest.Build(t, spec)
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		n, err := io.Copy(io.Discard, tr)
		if err != nil || n != h.Size {
			t.Errorf("%s: read %d of %d bytes: %v", h.Name, n, h.Size, err)
		}
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		t.Errorf("gzip trailer: %v", err) // CRC or size
	}
	want := []string{"demo-1.0/", "demo-1.0/PKG-INFO", "demo-1.0/pyproject.toml", "demo-1.0/big"}
	if !slices.Equal(names, want) {
		t.Errorf("members %q, want %q", names, want)
	}
	if len(data) > 64<<10 {
		t.Errorf("5 MiB of zeros took %d bytes", len(data))
	}
}

func TestBombsAreSmall(t *testing.T) {
	for _, k := range []pypitest.Kind{pypitest.Wheel, pypitest.TarGz} {
		data := pypitest.Build(t, pypitest.Spec{Kind: k, Entries: []pypitest.Entry{{Name: "demo-1.0/zeros", Zeros: 1 << 30}}})
		if len(data) > 8<<20 {
			t.Errorf("%s: a 1 GiB bomb is %d bytes", k, len(data))
		}
	}
}

func TestLyingZipHeaders(t *testing.T) {
	data := pypitest.ZipBytes(t, []pypitest.Entry{{Name: "a", Data: []byte("hello"), DeclaredSize: 3}})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if zr.File[0].UncompressedSize64 != 3 {
		t.Errorf("declared size %d", zr.File[0].UncompressedSize64)
	}
}

// TestPythonReadsThem has Python's zipfile, tarfile and email parser read what the builders
// write, when python3 is installed.
func TestPythonReadsThem(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	const script = `
import sys, zipfile, tarfile, email.parser
p = sys.argv[1]
if p.endswith(".tar.gz"):
    with tarfile.open(p) as t:
        data = t.extractfile(t.getmember("demo_lib-1.0/PKG-INFO")).read()
else:
    with zipfile.ZipFile(p) as z:
        assert z.testzip() is None
        data = z.read("demo_lib-1.0.dist-info/METADATA" if p.endswith(".whl") else "demo_lib-1.0/PKG-INFO")
m = email.parser.Parser().parsestr(data.decode("utf-8"))
print(m["Name"], m["Version"], m["Summary"], m.get_payload().strip())
`
	for _, k := range []pypitest.Kind{pypitest.Wheel, pypitest.TarGz, pypitest.Zip} {
		p := pypitest.WriteFile(t, dir, pypitest.Spec{Kind: k, Name: "demo-lib", Fields: []string{"Summary: Ünïcode"},
			Description: "Body text\n", Files: map[string][]byte{"x/y.py": bytes.Repeat([]byte("abc"), 1000)}})
		out, err := exec.Command(py, "-c", script, p).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(p), err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "demo-lib 1.0 Ünïcode Body text" {
			t.Errorf("%s: Python read %q", filepath.Base(p), got)
		}
	}
}
