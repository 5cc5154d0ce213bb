package repodata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// zstdEncoder is shared: EncodeAll is safe for concurrent use and deterministic.
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))

// BuildShards returns the CEP-16 shard index of one subdir and its shards, keyed by the hex
// sha256 of each compressed shard. There is one shard per package name. The index is served
// at <subdir>/repodata_shards.msgpack.zst, shards at <subdir>/shards/<hash>.msgpack.zst, and
// both URLs in info resolve against the index URL, so "./" points at the subdir.
func BuildShards(subdir string, recs []Record, createdAt time.Time) (index []byte, shards map[string][]byte, err error) {
	byName := map[string][]Record{}
	for _, r := range recs {
		byName[r.Name] = append(byName[r.Name], r)
	}
	shards = make(map[string][]byte, len(byName))
	// map[string]any: msgpack sorts the keys of only a few map types.
	hashes := make(map[string]any, len(byName))
	for name, rs := range byName {
		shard := map[string]any{"packages": map[string]any{}, "packages.conda": map[string]any{}, "removed": []string{}}
		for _, r := range rs {
			rec, err := msgpackRecord(r.JSON)
			if err != nil {
				return nil, nil, fmt.Errorf("shard %s: %s: %w", name, r.Filename, err)
			}
			group := "packages"
			if strings.HasSuffix(r.Filename, ".conda") {
				group = "packages.conda"
			}
			shard[group].(map[string]any)[r.Filename] = rec
		}
		raw, err := marshalSorted(shard)
		if err != nil {
			return nil, nil, err
		}
		z := zstdEncoder.EncodeAll(raw, nil)
		sum := sha256.Sum256(z)
		shards[hex.EncodeToString(sum[:])] = z
		hashes[name] = sum[:]
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
	raw, err := marshalSorted(idx)
	if err != nil {
		return nil, nil, err
	}
	return zstdEncoder.EncodeAll(raw, nil), shards, nil
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
