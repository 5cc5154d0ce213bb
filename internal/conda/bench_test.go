package conda_test

import (
	"bytes"
	"testing"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
)

func BenchmarkReadPackage(b *testing.B) {
	for _, f := range []condatest.Format{condatest.Conda, condatest.TarBz2} {
		spec := condatest.Spec{Format: f, Files: map[string][]byte{"bin/a": bytes.Repeat([]byte("x"), 100_000)}}
		data := condatest.Build(b, spec)
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), conda.DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
