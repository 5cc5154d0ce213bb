package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// The channels and files gen makes, which run and visible read.
const (
	pubChannel  = "pub"
	privChannel = "priv"
	pypiProject = "bigproject"
	bigName     = "bigpkg"
)

// Info is what gen tells the rest of the benchmark about what it made.
type Info struct {
	N          int      `json:"n"`
	Subdirs    []string `json:"subdirs"`
	BigFile    string   `json:"big_file"` // linux-64/<filename>
	BigSize    int64    `json:"big_size"`
	ShardName  string   `json:"shard_name"` // a package of linux-64 with a typical shard
	ShardPath  string   `json:"shard_path"` // its shard on the public channel (set by mirror)
	PyPIFiles  int      `json:"pypi_files"`
	PyPIProj   string   `json:"pypi_project"`
	GenSeconds float64  `json:"gen_seconds"`
}

// builder is the testing.TB the package builders want: they call only Helper and Fatalf.
type builder struct{ testing.TB }

func (builder) Helper() {}
func (builder) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
func (builder) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

// item is one built package, ready for the stores.
type item struct {
	nf   store.NewFile // ChannelID left 0
	data []byte
}

func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	var dbs multiFlag
	fs.Var(&dbs, "db", "a store to fill (SQLite path or postgres:// DSN); repeat for several")
	storage := fs.String("storage", "", "blob directory shared by the stores")
	n := fs.Int("n", 10000, "conda records per subdir")
	subdirs := fs.String("subdirs", "linux-64,noarch", "subdirs to fill")
	pypiFiles := fs.Int("pypi-files", 2000, "files of the PyPI project")
	bigSize := fs.Int("big-size", 1<<20, "payload bytes of the big conda package")
	user := fs.String("user", "bench", "the account (made beforehand) that owns the channels")
	out := fs.String("out", "", "write what was made as JSON here")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the generation here")
	fs.Parse(args)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if len(dbs) == 0 || *storage == "" {
		return errors.New("gen: -db and -storage are required")
	}
	start := time.Now()
	ctx := context.Background()
	blobs, err := blob.Open(ctx, *storage)
	if err != nil {
		return err
	}
	defer blobs.Close()

	type target struct {
		st         store.Store
		pub, priv  store.Channel
		uploaderID int64
		in         chan item
		addNS      atomic.Int64
	}
	var targets []*target
	for _, dsn := range dbs {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			return fmt.Errorf("gen: open %s: %w", redactDSN(dsn), err)
		}
		defer st.Close()
		u, err := st.UserByName(ctx, *user)
		if err != nil {
			return fmt.Errorf("gen: the account %s (make it with wharf admin create-user first): %w", *user, err)
		}
		t := &target{st: st, uploaderID: u.ID, in: make(chan item, 64)}
		if t.pub, err = st.CreateChannel(ctx, store.NewChannel{Name: pubChannel, OwnerUserID: u.ID, ActorID: u.ID}); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		if t.priv, err = st.CreateChannel(ctx, store.NewChannel{Name: privChannel, OwnerUserID: u.ID, Private: true, ActorID: u.ID}); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		targets = append(targets, t)
	}

	sds := strings.Split(*subdirs, ",")
	info := Info{N: *n, Subdirs: sds, PyPIFiles: *pypiFiles, PyPIProj: pypiProject}
	names := max(1, *n/10) // ten versions a package, as a busy channel has
	info.ShardName = condaName(names / 2)

	// Jobs: every conda record of every subdir, the PyPI files, the big package.
	type job func() (item, error)
	jobs := make(chan job, 256)
	go func() {
		defer close(jobs)
		for _, sd := range sds {
			for i := range *n {
				jobs <- func() (item, error) { return condaItem(sd, i, names) }
			}
		}
		for i := range *pypiFiles {
			jobs <- func() (item, error) { return pypiItem(i) }
		}
		jobs <- func() (item, error) { return bigItem(*bigSize) }
	}()

	// Builders (one per core) build, read as an upload is read, and store the blob; one
	// writer per store records the files in upload order of arrival.
	var firstErr error
	var failed atomic.Bool
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err; failed.Store(true) }) }
	var buildNS, putNS atomic.Int64
	defer func() {
		slog.Info("gen time", "build", time.Duration(buildNS.Load()), "put", time.Duration(putNS.Load()))
		for i, t := range targets {
			slog.Info("gen time", "store", i, "add", time.Duration(t.addNS.Load()))
		}
	}()
	var builders sync.WaitGroup
	var bigMu sync.Mutex
	for range runtime.NumCPU() {
		builders.Add(1)
		go func() {
			defer builders.Done()
			for j := range jobs {
				if failed.Load() {
					continue
				}
				t0 := time.Now()
				it, err := j()
				buildNS.Add(int64(time.Since(t0)))
				if err == nil {
					t0 = time.Now()
					err = blobs.Put(ctx, blob.Key(it.nf.SHA256), bytes.NewReader(it.data), it.nf.Size)
					putNS.Add(int64(time.Since(t0)))
				}
				if err != nil {
					fail(err)
					continue
				}
				if it.nf.Package == bigName {
					bigMu.Lock()
					info.BigFile, info.BigSize = it.nf.Subdir+"/"+it.nf.Filename, it.nf.Size
					bigMu.Unlock()
				}
				it.data = nil
				for _, t := range targets {
					t.in <- it
				}
			}
		}()
	}
	var writers sync.WaitGroup
	var done int64
	var doneMu sync.Mutex
	total := int64(len(sds)**n + *pypiFiles + 1)
	for ti, t := range targets {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for it := range t.in {
				if failed.Load() {
					continue
				}
				nf := it.nf
				nf.ChannelID, nf.UploaderID = t.pub.ID, t.uploaderID
				t0 := time.Now()
				_, _, err := t.st.AddFile(ctx, nf)
				t.addNS.Add(int64(time.Since(t0)))
				if err != nil {
					fail(fmt.Errorf("gen: add %s/%s: %w", nf.Subdir, nf.Filename, err))
					continue
				}
				if ti == 0 {
					doneMu.Lock()
					done++
					if done%5000 == 0 {
						slog.Info("gen", "files", done, "of", total, "elapsed", time.Since(start).Round(time.Second))
					}
					doneMu.Unlock()
				}
			}
		}()
	}
	builders.Wait()
	for _, t := range targets {
		close(t.in)
	}
	writers.Wait()
	if firstErr != nil {
		return firstErr
	}
	// The private channel holds the same files: one copy, sharing the blobs.
	for _, t := range targets {
		if _, err := t.st.CopyFiles(ctx, store.CopyRequest{FromChannelID: t.pub.ID, FromLabel: "main", ToChannelID: t.priv.ID, ActorID: t.uploaderID}); err != nil {
			return fmt.Errorf("gen: copy to the private channel: %w", err)
		}
	}
	info.GenSeconds = time.Since(start).Seconds()
	slog.Info("gen done", "files", total, "stores", len(targets), "elapsed", time.Since(start).Round(time.Millisecond))
	if *out != "" {
		b, _ := json.MarshalIndent(info, "", "  ")
		return os.WriteFile(*out, b, 0o644)
	}
	return nil
}

func condaName(i int) string { return fmt.Sprintf("pkg%05d", i) }

// condaItem is record i of subdir sd: package i%names, version i/names, with the depends,
// constrains and license of an ordinary compiled package.
func condaItem(sd string, i, names int) (item, error) {
	name, v := condaName(i%names), i/names
	spec := condatest.Spec{
		Name: name, Version: fmt.Sprintf("1.%d.0", v), Build: fmt.Sprintf("h%08x_0", uint32(i)*2654435761),
		Subdir: sd, Timestamp: 1700000000000 + int64(i)*1000, License: "BSD-3-Clause",
		Depends:    []string{"libzlib >=1.3.1,<2.0a0", "openssl >=3.3.1,<4.0a0", condaName((i+1)%names) + " >=1.0", "__glibc >=2.17,<3.0.a0"},
		Constrains: []string{"pyside6 >=6.5"},
		Files:      map[string][]byte{"lib/" + name + ".txt": fmt.Appendf(nil, "%s %d\n", name, i)},
	}
	if sd == "noarch" {
		spec.Noarch = "generic"
		spec.Depends = spec.Depends[2:3]
	}
	return condaPackage(spec)
}

// bigItem is a conda package of size bytes of incompressible payload.
func bigItem(size int) (item, error) {
	payload := make([]byte, size)
	rand.Read(payload)
	return condaPackage(condatest.Spec{Name: bigName, Version: "1.0", Build: "0", Subdir: "linux-64",
		Files: map[string][]byte{"share/bigpkg/data.bin": payload}})
}

// condaPackage builds spec and turns it into what an upload of it stores (ingestConda).
func condaPackage(spec condatest.Spec) (item, error) {
	data := condatest.Build(builder{}, spec)
	fn := spec.Filename()
	pkg, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), fn, conda.DefaultLimits())
	if err != nil {
		return item{}, fmt.Errorf("gen: %s: %w", fn, err)
	}
	sha, md := sums(data)
	rec, err := pkg.Record(sha, md, int64(len(data)))
	if err != nil {
		return item{}, err
	}
	shardRec, err := repodata.EncodeShardRecord(rec.JSON)
	if err != nil {
		return item{}, err
	}
	return item{data: data, nf: store.NewFile{Kind: "conda", Package: pkg.Name, Subdir: pkg.Subdir, Filename: fn,
		SHA256: sha, MD5: md, Size: int64(len(data)), Version: pkg.Version, Build: pkg.Build, BuildNumber: pkg.BuildNumber,
		Timestamp: pkg.Timestamp, Record: rec.JSON, RecordMsgpack: shardRec, RunExports: pkg.RunExports, About: pkg.About,
		RecipeSource: pkg.RecipeSource, Flags: pkg.Flags, Labels: []string{"main"}}}, nil
}

// pypiItem is file i of the PyPI project: a wheel and an sdist per release.
func pypiItem(i int) (item, error) {
	spec := pypitest.Spec{Name: pypiProject, Version: fmt.Sprintf("1.%d.%d", i/200, i/2%100),
		Fields: []string{"Summary: A project with many releases", "Requires-Python: >=3.9", "Requires-Dist: requests>=2"},
		Files:  map[string][]byte{pypiProject + "/__init__.py": fmt.Appendf(nil, "VERSION = %d\n", i)}}
	if i%2 == 1 {
		spec.Kind = pypitest.TarGz
	}
	data := pypitest.Build(builder{}, spec)
	fn := spec.Filename()
	dist, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), fn, pypi.DefaultLimits())
	if err != nil {
		return item{}, fmt.Errorf("gen: %s: %w", fn, err)
	}
	sha, md := sums(data)
	rec, _ := json.Marshal(map[string]any{"name": dist.Name, "version": dist.Version, "summary": dist.Summary,
		"requires_python": dist.RequiresPython, "metadata_version": dist.MetadataVersion, "uploaded_as": fn})
	return item{data: data, nf: store.NewFile{Kind: "pypi", Package: pypi.NormalizeName(dist.Name), Subdir: store.PyPISubdir, Filename: fn,
		SHA256: sha, MD5: md, Size: int64(len(data)), Version: dist.Version, Build: dist.Filename.Build, Record: rec,
		CoreMetadata: dist.Metadata, RequiresPython: dist.RequiresPython, Labels: []string{"main"}}}, nil
}

func sums(data []byte) (string, string) {
	s, m := sha256.Sum256(data), md5.Sum(data)
	return hex.EncodeToString(s[:]), hex.EncodeToString(m[:])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// redactDSN drops a password from a DSN for messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i >= 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
	}
	return dsn
}
