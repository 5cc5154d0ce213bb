package repodata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// zstdEncoder is shared: EncodeAll is safe for concurrent use (one encoder per core) and
// deterministic.
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))

// BuildShards returns the CEP-16 shard index of one subdir and its shards, keyed by the hex
// sha256 of each compressed shard. There is one shard per package name. The index is served
// at <subdir>/repodata_shards.msgpack.zst, shards at <subdir>/shards/<hash>.msgpack.zst, and
// both URLs in info resolve against the index URL, so "./" points at the subdir.
func BuildShards(subdir string, recs []Record, createdAt time.Time) (index []byte, shards map[string][]byte, err error) {
	// recs are sorted by filename, so each name's records come out sorted too.
	byName := map[string][]Record{}
	for _, r := range recs {
		byName[r.Name] = append(byName[r.Name], r)
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	// Shards are many and small: compress them on every core.
	type built struct {
		z   []byte
		sum [32]byte
		err error
	}
	out := make([]built, len(names))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw bytes.Buffer
			for i := w; i < len(names); i += workers {
				raw.Reset()
				if err := writeShard(&raw, byName[names[i]]); err != nil {
					out[i].err = fmt.Errorf("shard %s: %w", names[i], err)
					continue
				}
				out[i].z = zstdEncoder.EncodeAll(raw.Bytes(), nil)
				out[i].sum = sha256.Sum256(out[i].z)
			}
		}()
	}
	wg.Wait()
	shards = make(map[string][]byte, len(names))
	// map[string]any: msgpack sorts the keys of only a few map types.
	hashes := make(map[string]any, len(names))
	for i, name := range names {
		if out[i].err != nil {
			return nil, nil, out[i].err
		}
		shards[hex.EncodeToString(out[i].sum[:])] = out[i].z
		hashes[name] = out[i].sum[:]
	}
	idx := map[string]any{
		"version": 1,
		"info": map[string]any{
			"subdir":          subdir,
			"base_url":        "./",
			"shards_base_url": "./shards/",
			"created_at":      createdAt.UTC().Format(time.RFC3339),
		},
		"shards": hashes,
	}
	b, err := marshalSorted(idx)
	if err != nil {
		return nil, nil, err
	}
	return zstdEncoder.EncodeAll(b, nil), shards, nil
}

// writeShard writes {"packages":{…},"packages.conda":{…},"removed":[]} (keys in sorted order)
// from records already encoded as msgpack, so a shard costs a copy, not a JSON decode.
func writeShard(buf *bytes.Buffer, rs []Record) error {
	enc := msgpack.NewEncoder(buf) // writes straight into buf: it is an io.ByteWriter
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	for _, group := range []string{".tar.bz2", ".conda"} {
		key := "packages"
		if group == ".conda" {
			key = "packages.conda"
		}
		n := 0
		for _, r := range rs {
			if strings.HasSuffix(r.Filename, group) {
				n++
			}
		}
		if err := errors.Join(enc.EncodeString(key), enc.EncodeMapLen(n)); err != nil {
			return err
		}
		for _, r := range rs {
			if !strings.HasSuffix(r.Filename, group) {
				continue
			}
			m := r.Msgpack
			if m == nil {
				var err error
				if m, err = EncodeShardRecord(r.JSON); err != nil {
					return fmt.Errorf("%s: %w", r.Filename, err)
				}
			}
			if err := enc.EncodeString(r.Filename); err != nil {
				return err
			}
			buf.Write(m)
		}
	}
	return errors.Join(enc.EncodeString("removed"), enc.EncodeArrayLen(0))
}

// EncodeShardRecord encodes a repodata record (JSON) as a CEP-16 shard holds it: map keys
// sorted, integers as integers, md5 and sha256 as binary.
func EncodeShardRecord(j json.RawMessage) ([]byte, error) {
	m, err := msgpackRecord(j)
	if err != nil {
		return nil, err
	}
	return marshalSorted(m)
}

func marshalSorted(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// msgpackRecord turns a JSON record into msgpack values: integers stay integers, and md5 and
// sha256 become binary, as CEP-16 says.
func msgpackRecord(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		m[k] = numbers(v)
	}
	for _, k := range []string{"md5", "sha256"} {
		if s, ok := m[k].(string); ok {
			b, err := hex.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("%s is not hex", k)
			}
			m[k] = b
		}
	}
	return m, nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// sortedNames is used by tests and channeldata.
func sortedNames[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
