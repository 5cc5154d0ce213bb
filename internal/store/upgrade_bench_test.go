package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// BenchmarkUpgrade opens databases left by the release before names and Python files got keys
// (migration 9), which store.Open migrates: many channels (migration 11 keys and groups them)
// and many Python files (fillDistKeys keys each in Go). Each iteration upgrades a fresh copy.
func BenchmarkUpgrade(b *testing.B) {
	const n = 20000
	fill := map[string][]string{
		"channels": {
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(n) + `)
			INSERT INTO channels (name, created_at, updated_at) SELECT 'chan' || i, 1, 1 FROM n`,
		},
		"pypi-files": {
			`INSERT INTO channels (name, created_at, updated_at) VALUES ('acme', 1, 1)`,
			`INSERT INTO packages (channel_id, kind, name, created_at) VALUES (1, 'pypi', 'demo', 1)`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(n) + `)
			INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, created_at)
			SELECT 1, 1, 'pypi', 'demo_' || i || '-1.0-py3-none-any.whl', 'sha', 'md5', 1, '1.0', '', 0, 0, '{}', i FROM n`,
		},
	}
	for _, kind := range []string{"channels", "pypi-files"} {
		for _, be := range storetest.OldBackends {
			b.Run(fmt.Sprintf("%s/%s=%d", be.Name, kind, n), func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					old := be.Make(b, 9)
					for _, q := range fill[kind] {
						old.Exec(b, q)
					}
					b.StartTimer()
					st, err := store.Open(context.Background(), old.DSN)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					st.Close()
					b.StartTimer()
				}
			})
		}
	}
}
