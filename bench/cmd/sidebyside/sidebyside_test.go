package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/store"
)

// The benchmark is not run by the tests (it takes minutes); these keep its parts from rotting.

func TestScriptParses(t *testing.T) {
	if out, err := exec.Command("bash", "-n", "../../sidebyside.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n bench/sidebyside.sh: %v\n%s", err, out)
	}
}

// gen fills a store with what an upload of each package would store, blobs included.
func TestGenMakesChannelsOfRealPackages(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "wharf.db")
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateUser(ctx, store.NewUser{Name: "bench", Email: "bench@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dir, "info.json")
	if err := cmdGen([]string{"-db", dsn, "-storage", filepath.Join(dir, "blobs"), "-n", "50", "-pypi-files", "6", "-big-size", "3000", "-out", info}); err != nil {
		t.Fatal(err)
	}
	var got Info
	b, err := os.ReadFile(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.BigFile != "linux-64/bigpkg-1.0-0.conda" || got.BigSize < 3000 || got.ShardName == "" {
		t.Errorf("info = %+v", got)
	}

	blobs, err := blob.Open(ctx, filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	for _, name := range []string{pubChannel, privChannel} {
		ch, err := st.ChannelByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Private != (name == privChannel) {
			t.Errorf("%s: private = %v", name, ch.Private)
		}
		for sd, want := range map[string]int{"linux-64": 51, "noarch": 50} {
			snap, err := st.SubdirSnapshot(ctx, ch.ID, "main", sd)
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Records) != want {
				t.Errorf("%s/%s: %d records, want %d", name, sd, len(snap.Records), want)
				continue
			}
			// Every record names a stored blob of its bytes.
			r := snap.Records[len(snap.Records)/2]
			var rec struct {
				SHA256, Subdir string
				Size           int64
			}
			if err := json.Unmarshal(r.JSON, &rec); err != nil || rec.Subdir != sd {
				t.Fatalf("%s/%s: record %s: %v", name, sd, r.JSON, err)
			}
			rd, err := blobs.Open(ctx, blob.Key(rec.SHA256), 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, _ := io.Copy(h, rd)
			rd.Close()
			if hex.EncodeToString(h.Sum(nil)) != rec.SHA256 || n != rec.Size {
				t.Errorf("%s/%s: the blob of %s is not the package the record describes", name, sd, r.Filename)
			}
		}
		snap, err := st.PyPIProjectFiles(ctx, ch.ID, pypiProject)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Files) != 6 {
			t.Errorf("%s: %d PyPI files, want 6", name, len(snap.Files))
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:8080/conda/pub/linux-64/repodata.json.zst
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.51ms    2.10ms  28.06ms   90.91%
    Req/Sec    12.00k     1.23k   14.20k    70.00%
  Latency Distribution
     50%    0.98ms
     75%    1.51ms
     90%    2.96ms
     99%   11.20ms
  23880 requests in 2.00s, 7.43GB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:  11940.37
Transfer/sec:      3.71GB
`
	sm, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if sm.rps != 11940.37 || sm.requests != 23880 || sm.p99 != 11200*time.Microsecond {
		t.Errorf("rps %v, requests %d, p99 %v", sm.rps, sm.requests, sm.p99)
	}
	if want := 7.43 * (1 << 30) / 1e6 / 2; sm.mbps < want-0.01 || sm.mbps > want+0.01 {
		t.Errorf("MB/s = %v, want %v", sm.mbps, want)
	}
	if e := sm.errorText(); e != "12 answers not 2xx or 3xx, 3 timeout errors" {
		t.Errorf("errors = %q", e)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("no error for wrk's failure")
	}
}
