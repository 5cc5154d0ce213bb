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

// BenchmarkNameLookups finds names in a store of many channels by another spelling, or not at
// all (a 404): the lookups a request or a creation makes, which the name keys' index should
// answer without reading every channel.
func BenchmarkNameLookups(b *testing.B) {
	const n = 50000
	for _, be := range storetest.OldBackends {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			old := be.Make(b, 1)
			st := old.Open(b)
			if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"}); err != nil {
				b.Fatal(err)
			}
			old.Exec(b, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < `+fmt.Sprint(n)+`)
				INSERT INTO channels (name, name_key, parent_id, created_at, updated_at)
				SELECT 'acme/sub' || i, 'sub' || i, (SELECT id FROM channels WHERE name = 'acme'), 1, 1 FROM n`)
			old.Exec(b, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < `+fmt.Sprint(n)+`)
				INSERT INTO channels (name, name_key, created_at, updated_at) SELECT 'chan' || i, 'chan' || i, 1, 1 FROM n`)
			for _, c := range []struct {
				name string
				do   func() error
			}{
				{"subchannel-other-spelling", func() error { _, err := st.ChannelByName(ctx, "acme/SUB77_"); return err }},
				{"subchannel-missing", func() error {
					if _, err := st.ChannelByName(ctx, "acme/nope"); !store.IsNotFound(err) {
						return fmt.Errorf("acme/nope: %v", err)
					}
					return nil
				}},
				{"name-free", func() error { return st.NameFree(ctx, "fresh-name") }},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if err := c.do(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
