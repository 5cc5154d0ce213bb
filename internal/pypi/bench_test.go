package pypi_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// BenchmarkReadDist reads a 10 MB wheel (incompressible payload, 500 small modules) and the same
// content as a .tar.gz sdist, which must be decompressed to its end.
func BenchmarkReadDist(b *testing.B) {
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	blob := make([]byte, 10<<20)
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{"demo/data.bin": blob}
	for i := range 500 {
		files[fmt.Sprintf("demo/mod%03d.py", i)] = bytes.Repeat([]byte(fmt.Sprintf("def f%d(): return %d\n", i, i)), 20)
	}
	for _, k := range []pypitest.Kind{pypitest.Wheel, pypitest.TarGz} {
		spec := pypitest.Spec{Kind: k, Files: files, Fields: []string{"Summary: A benchmark", "Requires-Python: >=3.9"}}
		data := pypitest.Build(b, spec)
		b.Run(strings.TrimPrefix(string(k), "."), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), spec.Filename(), pypi.DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
