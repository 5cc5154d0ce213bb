package repodata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// The URLs a shard index gives for the package files and the shards. Both resolve against the
// index URL, <channel>/<subdir>/repodata_shards.msgpack.zst (CEP-16: "The urls are relative to
// the shard index"; rattler joins them to <channel>/<subdir>/, conda urljoins them to the
// index URL, mamba ≥ 2.6 takes "", "." and "./" as the index's directory). So "./" names the
// subdir, where the packages are, and "./shards/" the shards beside it. Relative URLs also keep
// conda's /t/<token>/ prefix, which an absolute URL would drop.
const (
	IndexBaseURL       = "./"
	IndexShardsBaseURL = "./shards/"
)

// BuildShards returns the CEP-16 shard index of one subdir, zstd(msgpack):
//
//	{"info":{"base_url":"./","created_at":RFC 3339,"shards_base_url":"./shards/","subdir":S},
//	 "shards":{name: bin(sha256)},"version":1}
//
// and its shards, keyed by the hex sha256 of each compressed shard (the shard URL is
// <shards_base_url><hex>.msgpack.zst). There is one shard per package name,
// {"packages":{fn:rec},"packages.conda":{fn:rec},"removed":[]}, with the records as
// EncodeShardRecord makes them (Record.Msgpack when set, else encoded here) and, last,
// run_exports (CEP-21): the package's run_exports, {} when it has none, as conda-index
// 0.12.1 adds it after the index.json keys, so that clients need not fetch run_exports.json.
// Map keys are otherwise sorted, so the same records and createdAt always give the same bytes.
// A zero createdAt leaves created_at out.
func BuildShards(subdir string, recs []Record, createdAt time.Time) (index []byte, shards map[string][]byte, err error) {
	index, shards, _, err = BuildShardsCached(subdir, recs, createdAt, nil)
	return index, shards, err
}

// ShardCache is what BuildShardsCached built for one subdir: each package's shard, with a
// digest of the records it was made from.
type ShardCache struct {
	seeds  [2]maphash.Seed // of the digests, random per cache and handed on to the next
	byName map[string]cachedShard
}

type cachedShard struct {
	digest [2]uint64
	z      []byte
	sum    [32]byte
}

// BuildShardsCached is BuildShards that takes from prev (the cache of an earlier build of the
// same subdir, or nil) the shard of each package whose records are the same, byte for byte, as
// those it was made from, and encodes and compresses only the others: after a change to a few
// packages, the cost is a digest of the records rather than every shard. It returns the cache
// of this build, for the next. The bytes are those BuildShards gives.
func BuildShardsCached(subdir string, recs []Record, createdAt time.Time, prev *ShardCache) (index []byte, shards map[string][]byte, next *ShardCache, err error) {
	recs = sortedByFilename(recs)
	byName := map[string][]Record{}
	for _, r := range recs {
		byName[r.Name] = append(byName[r.Name], r) // in filename order, as recs are
	}
	names := sortedNames(byName)
	type built struct {
		cachedShard
		err error
	}
	out := make([]built, len(names))
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	if prev != nil {
		seeds = prev.seeds
	}
	// Shards are many and small: build and compress them on every core.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			var raw bytes.Buffer
			for i := w; i < len(names); i += workers {
				rs := byName[names[i]]
				out[i].digest = shardDigest(&seeds, rs)
				if prev != nil {
					if c, ok := prev.byName[names[i]]; ok && c.digest == out[i].digest {
						out[i].cachedShard = c
						continue
					}
				}
				raw.Reset()
				if err := writeShard(&raw, rs); err != nil {
					out[i].err = fmt.Errorf("shard %s: %w", names[i], err)
					continue
				}
				out[i].z = encoder.EncodeAll(raw.Bytes(), nil)
				out[i].sum = sha256.Sum256(out[i].z)
			}
		})
	}
	wg.Wait()
	shards = make(map[string][]byte, len(names))
	hashes := make(map[string]any, len(names)) // map[string]any: the type whose keys msgpack sorts
	next = &ShardCache{seeds: seeds, byName: make(map[string]cachedShard, len(names))}
	for i, name := range names {
		if out[i].err != nil {
			return nil, nil, nil, out[i].err
		}
		shards[hex.EncodeToString(out[i].sum[:])] = out[i].z
		hashes[name] = out[i].sum[:] // []byte: msgpack bin, as CEP-16 says
		next.byName[name] = out[i].cachedShard
	}
	info := map[string]any{
		"subdir":          subdir,
		"base_url":        IndexBaseURL,
		"shards_base_url": IndexShardsBaseURL,
	}
	if !createdAt.IsZero() {
		// Optional to clients; left out rather than dated the year 1.
		info["created_at"] = createdAt.UTC().Format(time.RFC3339)
	}
	b, err := marshalSorted(map[string]any{"version": 1, "info": info, "shards": hashes})
	if err != nil {
		return nil, nil, nil, err
	}
	return encoder.EncodeAll(b, nil), shards, next, nil
}

// shardDigest names everything a package's shard is made from: each record's filename, JSON,
// stored msgpack and run_exports, each with its length. Two 64-bit hashes under seeds no
// one outside the process knows: a sha256 of the records would cost as much as a tenth of
// building the shards.
func shardDigest(seeds *[2]maphash.Seed, rs []Record) [2]uint64 {
	var h [2]maphash.Hash
	for i := range h {
		h[i].SetSeed(seeds[i])
	}
	for _, r := range rs {
		for i := range h {
			maphash.WriteComparable(&h[i], [4]int{len(r.Filename), len(r.JSON), len(r.Msgpack), len(r.RunExports)})
			h[i].WriteString(r.Filename)
			h[i].Write(r.JSON)
			h[i].Write(r.Msgpack)
			h[i].Write(r.RunExports)
		}
	}
	return [2]uint64{h[0].Sum64(), h[1].Sum64()}
}

// writeShard writes {"packages":{…},"packages.conda":{…},"removed":[]} (keys in sorted order)
// from records already encoded as msgpack, so that a shard costs a copy, not a JSON decode.
func writeShard(buf *bytes.Buffer, rs []Record) error {
	enc := msgpack.NewEncoder(buf)
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	for _, g := range []struct{ key, ext string }{{"packages", extV1}, {"packages.conda", extV2}} {
		n := 0
		for _, r := range rs {
			if strings.HasSuffix(r.Filename, g.ext) {
				n++
			}
		}
		if err := errors.Join(enc.EncodeString(g.key), enc.EncodeMapLen(n)); err != nil {
			return err
		}
		for _, r := range rs {
			if !strings.HasSuffix(r.Filename, g.ext) {
				continue
			}
			if err := enc.EncodeString(r.Filename); err != nil {
				return err
			}
			// The encoder writes straight to buf, so this lands in order.
			if err := writeShardRecord(buf, &r); err != nil {
				return fmt.Errorf("%s: %w", r.Filename, err)
			}
		}
	}
	return errors.Join(enc.EncodeString("removed"), enc.EncodeArrayLen(0))
}

// writeShardRecord writes r's shard record: its msgpack map with run_exports added at the end.
func writeShardRecord(buf *bytes.Buffer, r *Record) error {
	rx, err := runExportsMsgpack(r.RunExports)
	if err != nil {
		return err
	}
	if ownRunExports(r.JSON) {
		// The package's index.json has a run_exports key of its own; run_exports.json wins,
		// as in conda-index, and a map must not hold the key twice (rattler refuses it).
		m, err := msgpackRecord(r.JSON)
		if err != nil {
			return err
		}
		var v any
		if err := msgpack.Unmarshal(rx, &v); err != nil {
			return err
		}
		m["run_exports"] = v
		b, err := marshalSorted(m)
		buf.Write(b)
		return err
	}
	m := r.Msgpack
	if m == nil {
		if m, err = EncodeShardRecord(r.JSON); err != nil {
			return err
		}
	}
	n, body, err := mapHeader(m)
	if err != nil {
		return err
	}
	// By hand rather than with an encoder: this runs for every record of every shard.
	switch n++; {
	case n < 16:
		buf.WriteByte(0x80 | byte(n)) // fixmap
	case n < 1<<16:
		buf.Write([]byte{0xde, byte(n >> 8), byte(n)}) // map 16
	default:
		buf.Write([]byte{0xdf, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) // map 32
	}
	buf.Write(body)
	buf.WriteString(runExportsKey)
	buf.Write(rx)
	return nil
}

// runExportsKey is "run_exports" as a msgpack fixstr.
const runExportsKey = "\xab" + "run_exports"

// ownRunExports reports whether a record (index.json) has a run_exports key of its own. The
// first test is cheap, and almost never passes.
func ownRunExports(j json.RawMessage) bool {
	if !bytes.Contains(j, []byte(`_exports"`)) {
		return false
	}
	_, ok := topLevelValue(j, "run_exports")
	return ok
}

// emptyMap is {} in msgpack.
var emptyMap = []byte{0x80}

// runExportsMsgpack encodes a record's run_exports (JSON, nil for none) as a shard holds it.
func runExportsMsgpack(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "{}" || string(raw) == "null" {
		return emptyMap, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("run_exports: %w", err)
	}
	return marshalSorted(numbers(v))
}

// mapHeader reads the header of an encoded msgpack map: its length and what follows.
func mapHeader(m []byte) (int, []byte, error) {
	switch {
	case len(m) >= 1 && m[0]&0xf0 == 0x80: // fixmap
		return int(m[0] & 0x0f), m[1:], nil
	case len(m) >= 3 && m[0] == 0xde: // map 16
		return int(m[1])<<8 | int(m[2]), m[3:], nil
	case len(m) >= 5 && m[0] == 0xdf: // map 32
		return int(m[1])<<24 | int(m[2])<<16 | int(m[3])<<8 | int(m[4]), m[5:], nil
	}
	return 0, nil, errors.New("shard record is not a msgpack map")
}

// EncodeShardRecord encodes a repodata record (JSON) as a CEP-16 shard holds it: msgpack with
// every map's keys sorted, integers as integers, and md5 and sha256 as binary (bin 16 and
// bin 32) rather than hex. The server computes it once, at upload, into Record.Msgpack.
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

// msgpackRecord decodes a JSON record into values msgpack encodes as CEP-16 wants.
func msgpackRecord(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep integers integers (a float64 would turn size and timestamp to floats)
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("record is not an object")
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

func sortedNames[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ShardIndex is a decoded CEP-16 shard index.
type ShardIndex struct {
	Version int // 0 when absent (some producers leave it out)
	Info    ShardIndexInfo
	Shards  map[string][32]byte // package name → sha256 of the compressed shard
}

// ShardIndexInfo is the index's info. CreatedAt is "" when absent.
type ShardIndexInfo struct {
	Subdir, BaseURL, ShardsBaseURL, CreatedAt string
}

// Shard is a decoded CEP-16 shard. Records are as msgpack decodes them: md5 and sha256 are
// []byte (or hex strings, as older conda-index wrote them), integers are integers.
type Shard struct {
	Packages      map[string]map[string]any // .tar.bz2 records
	PackagesConda map[string]map[string]any // .conda records
	Removed       []string
}

// DecodeShardIndex decodes repodata_shards.msgpack.zst and checks what clients require: info
// with string subdir, base_url and shards_base_url (rattler refuses an index without them),
// and each shard hash a 32-byte msgpack bin.
func DecodeShardIndex(zst []byte) (*ShardIndex, error) {
	top, err := decodeMap(zst)
	if err != nil {
		return nil, err
	}
	idx := &ShardIndex{Shards: map[string][32]byte{}}
	if v, ok := top["version"]; ok {
		n, ok := toInt(v)
		if !ok {
			return nil, fmt.Errorf("version is %T", v)
		}
		idx.Version = int(n)
	}
	info, ok := top["info"].(map[string]any)
	if !ok {
		return nil, errors.New("info missing or not a map")
	}
	for _, f := range []struct {
		key      string
		dst      *string
		required bool
	}{
		{"subdir", &idx.Info.Subdir, true},
		{"base_url", &idx.Info.BaseURL, true},
		{"shards_base_url", &idx.Info.ShardsBaseURL, true},
		{"created_at", &idx.Info.CreatedAt, false},
	} {
		v, ok := info[f.key]
		if !ok {
			if f.required {
				return nil, fmt.Errorf("info.%s missing", f.key)
			}
			continue
		}
		if *f.dst, ok = v.(string); !ok {
			return nil, fmt.Errorf("info.%s is %T", f.key, v)
		}
	}
	shards, ok := top["shards"].(map[string]any)
	if !ok {
		return nil, errors.New("shards missing or not a map")
	}
	for name, v := range shards {
		h, ok := v.([]byte)
		if !ok || len(h) != 32 {
			return nil, fmt.Errorf("shard hash of %s is not a 32-byte bin", name)
		}
		idx.Shards[name] = [32]byte(h)
	}
	return idx, nil
}

// DecodeShard decodes one shard (.msgpack.zst). packages is required (rattler has no default
// for it); packages.conda and removed may be absent.
func DecodeShard(zst []byte) (*Shard, error) {
	top, err := decodeMap(zst)
	if err != nil {
		return nil, err
	}
	s := &Shard{Packages: map[string]map[string]any{}, PackagesConda: map[string]map[string]any{}, Removed: []string{}}
	for _, g := range []struct {
		key      string
		dst      map[string]map[string]any
		required bool
	}{{"packages", s.Packages, true}, {"packages.conda", s.PackagesConda, false}} {
		v, ok := top[g.key]
		if !ok {
			if g.required {
				return nil, fmt.Errorf("%s missing", g.key)
			}
			continue
		}
		recs, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is %T", g.key, v)
		}
		for fn, r := range recs {
			if g.dst[fn], ok = r.(map[string]any); !ok {
				return nil, fmt.Errorf("%s: record is %T", fn, r)
			}
		}
	}
	if v, ok := top["removed"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("removed is %T", v)
		}
		for _, e := range list {
			fn, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("removed holds a %T", e)
			}
			s.Removed = append(s.Removed, fn)
		}
	}
	return s, nil
}

var decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))

func decodeMap(zst []byte) (map[string]any, error) {
	raw, err := decoder.DecodeAll(zst, nil)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	var top map[string]any
	if err := msgpack.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if top == nil {
		return nil, errors.New("not a map")
	}
	return top, nil
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}
