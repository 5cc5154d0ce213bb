package store_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// A database made before the access model (migration 3) upgrades: accounts that shared an
// address keep it marked rather than failing the new unique index, and users get the
// channel of their name where it is free.
func TestUpgradeFromBeforeAccounts(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 3)
			for _, q := range []string{
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('ops', 'ops@example.com', 'h', 1)`,
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('ops2', 'OPS@example.com', 'h', 2)`,
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('taken', 't@example.com', 'h', 3)`,
				`INSERT INTO channels (name, created_at, updated_at) VALUES ('taken', 1, 1)`,
			} {
				old.Exec(t, q)
			}
			st := old.Open(t)
			ops, _ := st.UserByName(ctx, "ops")
			ops2, _ := st.UserByName(ctx, "ops2")
			if ops.Email != "ops@example.com" || ops2.Email == "OPS@example.com" || ops2.Email == "" || !ops.EmailVerified {
				t.Errorf("after upgrade: ops %q (verified %v), ops2 %q", ops.Email, ops.EmailVerified, ops2.Email)
			}
			if ch, err := st.ChannelByName(ctx, "ops"); err != nil || ch.OwnerUserID != ops.ID {
				t.Errorf("ops's channel = %+v, %v", ch, err)
			}
			if ch, err := st.ChannelByName(ctx, "taken"); err != nil || ch.OwnerUserID != 0 {
				t.Errorf("a channel that had the name kept it: %+v, %v", ch, err)
			}
		})
	}
}

// A database with look-alike names from before the rule (migration 11) upgrades without a
// failure and without renaming anything: each name still answers to its exact spelling, the
// oldest of each group holds the name for other spellings, LookAlikes reports the groups, and
// no new look-alike of them can be made.
func TestUpgradeKeepsLookAlikes(t *testing.T) {
	// Names as stored before the rule; each group's oldest (smallest id) comes first. Some are
	// names the rules never allowed (upper case, long runs), to hold the SQL key to names.Key.
	channels := []string{"acme", "foo-bar", "acme_", "foo_bar", "acme.", "Mixed_CASE.x", "long" + strings.Repeat("_", 60) + "run", "x-_-.y-"}
	subchannels := []string{"acme/dev", "acme/dev_", "acme_/dev", "acme/Dev."}
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 9)
			stmts := []string{
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('bob', 'bob@example.com', 'h', 1)`,
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('bob-', 'bob2@example.com', 'h', 2)`,
				`INSERT INTO channels (name, owner_user_id, created_at, updated_at) SELECT name, id, 1, 1 FROM users WHERE name = 'bob'`,
				`INSERT INTO channels (name, owner_user_id, created_at, updated_at) SELECT name, id, 1, 1 FROM users WHERE name = 'bob-'`,
			}
			for _, n := range channels {
				stmts = append(stmts, `INSERT INTO channels (name, created_at, updated_at) VALUES ('`+n+`', 1, 1)`)
			}
			for _, n := range subchannels {
				parent, _, _ := strings.Cut(n, "/")
				stmts = append(stmts, `INSERT INTO channels (name, parent_id, created_at, updated_at) SELECT '`+n+`', id, 1, 1 FROM channels WHERE name = '`+parent+`'`)
			}
			for _, q := range stmts {
				old.Exec(t, q)
			}
			st := old.Open(t)

			groups, err := st.LookAlikes(ctx)
			want := [][]string{{"acme", "acme.", "acme_"}, {"acme/dev", "acme/Dev.", "acme/dev_"}, {"bob", "bob-"}, {"foo-bar", "foo_bar"}}
			if err != nil || !reflect.DeepEqual(groups, want) {
				t.Errorf("LookAlikes = %q, %v; want %q", groups, err, want)
			}
			for _, n := range append(append([]string{"bob", "bob-"}, channels...), subchannels...) {
				if ch, err := st.ChannelByName(ctx, n); err != nil || ch.Name != n {
					t.Errorf("ChannelByName(%q) = %+v, %v; every name answers to its exact spelling", n, ch, err)
				}
			}
			for n, holder := range map[string]string{"ACME": "acme", "acme-": "acme", "foo.bar": "foo-bar", "acme/dev-": "acme/dev", "ACME./DEV": "acme/dev",
				"acme_/dev.": "acme_/dev", "bob_": "bob", names.Key("Mixed_CASE.x"): "Mixed_CASE.x", names.Key(channels[6]): channels[6], "x-y": "x-_-.y-"} {
				if ch, err := st.ChannelByName(ctx, n); err != nil || ch.Name != holder {
					t.Errorf("ChannelByName(%q) = %+v, %v; want %s, which holds the name", n, ch, err, holder)
				}
			}
			if u, err := st.UserByName(ctx, "BOB."); err != nil || u.Name != "bob" {
				t.Errorf("UserByName(BOB.) = %+v, %v; want bob", u, err)
			}
			if u, err := st.UserByName(ctx, "bob-"); err != nil || u.Name != "bob-" {
				t.Errorf("UserByName(bob-) = %+v, %v", u, err)
			}
			for _, n := range []string{"acme--", "foo..bar", "bob__", "mixed-case-x"} {
				if _, err := st.CreateChannel(ctx, store.NewChannel{Name: n}); !store.IsConflict(err) {
					t.Errorf("CreateChannel(%q) = %v, want a conflict", n, err)
				}
			}
			// The holder removed, the next oldest of its group takes the name over.
			acme, _ := st.ChannelByName(ctx, "acme")
			if err := st.DeleteChannel(ctx, acme.ID); err != nil {
				t.Fatal(err)
			}
			if ch, err := st.ChannelByName(ctx, "ACME"); err != nil || ch.Name != "acme_" {
				t.Errorf("after acme was removed, ChannelByName(ACME) = %+v, %v; want acme_", ch, err)
			}
			if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"}); !store.IsConflict(err) {
				t.Errorf("CreateChannel(acme) with acme_ and acme. left = %v, want a conflict", err)
			}
			groups, err = st.LookAlikes(ctx)
			want = [][]string{{"acme_", "acme."}, {"bob", "bob-"}, {"foo-bar", "foo_bar"}}
			if err != nil || !reflect.DeepEqual(groups, want) {
				t.Errorf("LookAlikes after a removal = %q, %v; want %q", groups, err, want)
			}
		})
	}
}

// oldInsertChannel is how the Wharf before migration 11 inserts a channel (its insertChannel):
// without a name key. A replica not yet upgraded still does, on a database a newer one has
// migrated, and so does a binary rolled back.
const oldInsertChannel = `INSERT INTO channels (name, parent_id, owner_user_id, owner_org_id, private, created_at, updated_at)
	VALUES (?, (SELECT id FROM channels WHERE name = ?), NULL, NULL, FALSE, 1, 1)`

// Channels an older Wharf inserts into a migrated database get their key from the database
// itself: the older replica may go on creating names (not only the first), the names it
// creates are found by other spellings and guard against look-alikes, and a look-alike of a
// name that is there is refused to it too.
func TestOlderWriterAfterUpgrade(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 9)
			st := old.Open(t)
			if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"}); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"first", "Second_One.", "acme/dev"} {
				parent, _, _ := strings.Cut(n, "/")
				if _, err := old.DB.ExecContext(ctx, old.Rebind(oldInsertChannel), n, parent); err != nil {
					t.Fatalf("an older Wharf creates %s: %v", n, err)
				}
			}
			for asked, want := range map[string]string{"FIRST-": "first", "second-one": "Second_One.", "acme/DEV_": "acme/dev"} {
				if ch, err := st.ChannelByName(ctx, asked); err != nil || ch.Name != want {
					t.Errorf("ChannelByName(%s) = %q, %v; want %s, made by an older Wharf", asked, ch.Name, err, want)
				}
			}
			for _, n := range []string{"first_", "acme/dev."} {
				if _, err := st.CreateChannel(ctx, store.NewChannel{Name: n}); !store.IsConflict(err) {
					t.Errorf("CreateChannel(%s) beside a name an older Wharf made = %v; want a conflict", n, err)
				}
			}
			if _, err := old.DB.ExecContext(ctx, old.Rebind(oldInsertChannel), "acme_", ""); err == nil {
				t.Error("an older Wharf created acme_ beside acme")
			}
			if groups, err := st.LookAlikes(ctx); err != nil || len(groups) != 0 {
				t.Errorf("LookAlikes = %q, %v; want none", groups, err)
			}
		})
	}
}

// Channels an older Wharf inserted, without a key, into a database at migration 11 to 16 are
// keyed when the store opens: the first of a key holds it, a look-alike of a name that was
// there is reported with it.
func TestUpgradeKeysChannelsOfOlderWriters(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 15)
			old.Exec(t, `INSERT INTO channels (name, name_key, created_at, updated_at) VALUES ('acme', 'acme', 1, 1)`)
			old.Exec(t, oldInsertChannel, "acme_", "")         // the top level's one key-less row
			old.Exec(t, oldInsertChannel, "acme/Dev_", "acme") // and acme's
			st := old.Open(t)
			if groups, err := st.LookAlikes(ctx); err != nil || !reflect.DeepEqual(groups, [][]string{{"acme", "acme_"}}) {
				t.Errorf("LookAlikes = %q, %v; want acme with acme_", groups, err)
			}
			if ch, err := st.ChannelByName(ctx, "acme/dev"); err != nil || ch.Name != "acme/Dev_" {
				t.Errorf("ChannelByName(acme/dev) = %q, %v", ch.Name, err)
			}
			if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme/dev"}); !store.IsConflict(err) {
				t.Errorf("CreateChannel(acme/dev) = %v; want a conflict", err)
			}
		})
	}
}

// The key the SQL of the migrations computes (migration 11 for the names there before it,
// migration 17's trigger for those an older Wharf inserts after it) is names.Key of the last
// segment, on odd names too: upper case, non-ASCII letters (which neither folds), long runs
// of separators, names made only of separators, and random mixtures.
func TestNameKeySQLMatchesGo(t *testing.T) {
	odd := []string{"ACME", "Foo_Bar.", "caf\u00e9_", "CAF\u00c9", "\u212aelvin", "stra\u00dfe", "\u0130stanbul", "\uff21cme", "x\u2010y",
		"a" + strings.Repeat("_", 62) + "b", "a" + strings.Repeat("-.", 60) + "b", strings.Repeat("Ab_", 30), "___", "-", "._.", "9.9", "a--b__c..d"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "-", "_", ".", "\u00e9", "\u212a", "0"}
	for len(odd) < 300 {
		var b strings.Builder
		for range 1 + rng.IntN(20) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		if !slices.Contains(odd, b.String()) {
			odd = append(odd, b.String())
		}
	}
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			check := func(old storetest.OldDatabase, how string, want map[string]bool) {
				t.Helper()
				r, err := old.DB.QueryContext(ctx, `SELECT name, name_key FROM channels`)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				n := 0
				for r.Next() {
					var name, key string
					if err := r.Scan(&name, &key); err != nil {
						t.Fatal(err)
					}
					if !want[name] {
						continue
					}
					n++
					if key != names.Key(name) {
						t.Errorf("%s: the key of %q is %q in SQL, %q in Go", how, name, key, names.Key(name))
					}
				}
				if n == 0 {
					t.Errorf("%s: no names to compare", how)
				}
			}
			// Names there before migration 11, keyed by it.
			old := b.Make(t, 10)
			all := map[string]bool{}
			for _, n := range odd {
				old.Exec(t, `INSERT INTO channels (name, created_at, updated_at) VALUES (?, 1, 1)`, n)
				all[n] = true
			}
			old.Open(t).Close()
			check(old, "migration 11", all)

			// Names an older Wharf inserts later, keyed by the trigger; a look-alike of one
			// inserted before is refused as a taken name.
			later := b.Make(t, 1)
			later.Open(t).Close()
			inserted := map[string]bool{}
			for _, n := range odd {
				if _, err := later.DB.ExecContext(ctx, later.Rebind(oldInsertChannel), n, ""); err == nil {
					inserted[n] = true
				}
			}
			check(later, "trigger", inserted)
		})
	}
}

// Two processes opening one old database at once (wharf serve and wharf admin after an
// upgrade) both get a migrated store: on SQLite, where goose takes no lock, the one that
// finds the other's migration applied goes on from there instead of failing.
func TestConcurrentOpensMigrate(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			rounds := 4 // the race is SQLite's; PostgreSQL's openers take turns (a second each)
			if b.Name == "postgres" {
				rounds = 1
			}
			for round := range rounds {
				old := b.Make(t, 9)
				old.Exec(t, `INSERT INTO channels (name, created_at, updated_at) VALUES ('acme', 1, 1)`)
				old.Exec(t, `INSERT INTO packages (channel_id, kind, name, created_at) VALUES (1, 'pypi', 'demo', 1)`)
				old.Exec(t, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
					INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, created_at)
					SELECT 1, 1, 'pypi', 'demo_' || i || '-1.0-py3-none-any.whl', 'sha', 'md5', 1, '1.0', '', 0, 0, '{}', i FROM n`)
				errs := make([]error, 3)
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() {
						st, err := store.Open(context.Background(), old.DSN)
						if err == nil {
							st.Close()
						}
						errs[i] = err
					})
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("round %d, opening %d: %v", round, i, err)
					}
				}
			}
		})
	}
}

// A migration that fails by itself (here on a column someone added by hand) still stops the
// opening with its error: going on after a race does not retry it forever.
func TestFailingMigrationStopsOpen(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			old := b.Make(t, 10)
			old.Exec(t, `ALTER TABLE channels ADD COLUMN name_shadowed INTEGER`)
			st, err := store.Open(context.Background(), old.DSN)
			if err == nil {
				st.Close()
				t.Fatal("the store opened though migration 11 cannot run")
			}
			if !strings.Contains(err.Error(), "migrate") || !strings.Contains(err.Error(), "name_shadowed") {
				t.Errorf("the error %q does not say which migration failed on what", err)
			}
		})
	}
}

// A change an older Wharf makes after migration 18 moves the channel's revision alone, as it
// always did: every index of the channel then counts as changed, also after the next change
// that moves revisions per index, since the older change may have touched any of them.
func TestOlderWriterMovesEveryIndex(t *testing.T) {
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 17)
			st := old.Open(t)
			ch, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			add := func(subdir, name string) {
				t.Helper()
				rec := []byte(`{"name":"` + name + `","version":"1","build":"0","build_number":0,"depends":[]}`)
				if _, _, err := st.AddFile(ctx, store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: name, Subdir: subdir, Filename: name + "-1-0.conda",
					SHA256: strings.Repeat("a", 63) + name[:1], MD5: strings.Repeat("b", 32), Size: 1, Version: "1", Build: "0", Record: rec}); err != nil {
					t.Fatal(err)
				}
			}
			add("noarch", "n")
			add("linux-64", "l")
			revs := func() store.IndexRevisions {
				t.Helper()
				r, err := st.IndexRevisions(ctx, ch.ID)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			before := revs()
			// What an older Wharf's change does to the channel row (bump before migration 18).
			old.Exec(t, `UPDATE channels SET revision = revision + 1, updated_at = ? WHERE id = ?`, time.Now().UnixMicro(), ch.ID)
			older := revs()
			for _, sd := range []string{"noarch", "linux-64", "osx-64"} {
				if older.Subdir("main", sd) != older.Channel || older.Subdir("main", sd) <= before.Subdir("main", sd) {
					t.Errorf("after an older Wharf's change, main/%s is at %d (was %d); want the channel's %d", sd, older.Subdir("main", sd), before.Subdir("main", sd), older.Channel)
				}
			}
			if snap, err := st.SubdirSnapshot(ctx, ch.ID, "main", "noarch"); err != nil || snap.Revision != older.Channel {
				t.Errorf("snapshot of main/noarch at %d, %v; want %d", snap.Revision, err, older.Channel)
			}
			add("linux-64", "m")
			after := revs()
			if after.Subdir("main", "noarch") != older.Channel || after.Subdir("main", "linux-64") != after.Channel {
				t.Errorf("after a change to linux-64: noarch at %d (want the older change's %d), linux-64 at %d (want %d)",
					after.Subdir("main", "noarch"), older.Channel, after.Subdir("main", "linux-64"), after.Channel)
			}
		})
	}
}
