package condatest_test

import (
	"archive/zip"
	"bytes"
	"os"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
)

func TestBuildIsDeterministic(t *testing.T) {
	for _, f := range []condatest.Format{condatest.Conda, condatest.TarBz2} {
		spec := condatest.Spec{Format: f, Files: map[string][]byte{"a": []byte("1"), "b": []byte("2")},
			Symlinks: map[string]string{"c": "a"}, About: map[string]any{"home": "x"}}
		a, b := condatest.Build(t, spec), condatest.Build(t, spec)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", f)
		}
	}
}

func TestCondaLayout(t *testing.T) {
	data := condatest.Build(t, condatest.Spec{Name: "pkg", Version: "2.0", Build: "h1_0"})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Store || f.Flags&0x8 != 0 {
			t.Errorf("%s: method %d flags %#x; want stored without a data descriptor", f.Name, f.Method, f.Flags)
		}
	}
	want := []string{"metadata.json", "pkg-pkg-2.0-h1_0.tar.zst", "info-pkg-2.0-h1_0.tar.zst"}
	if len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("members %q, want %q", names, want)
	}
}

func TestWriteFile(t *testing.T) {
	spec := condatest.Spec{Format: condatest.TarBz2}
	p := condatest.WriteFile(t, t.TempDir(), spec)
	data, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(data, []byte("BZh")) {
		t.Fatalf("%s: %v, %q", p, err, data[:min(len(data), 3)])
	}
	if spec.Filename() != "demo-1.0-0.tar.bz2" {
		t.Errorf("Filename() = %q", spec.Filename())
	}
}
