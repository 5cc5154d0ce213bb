package repodata

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
)

// BuildRepodata returns repodata.json for one subdir:
//
//	{"info":{"subdir":S},"packages":{…},"packages.conda":{…},"removed":[],"repodata_version":1}
//
// .tar.bz2 records go to packages and .conda records to packages.conda (a file with neither
// suffix is left out), keyed by filename in byte order; each record's JSON is emitted byte for
// byte. recs should come sorted by filename (the store returns them so); if they are not, a
// sorted copy is used. There is no base_url: an absolute one would drop conda's /t/<token>/
// from download URLs, and a relative one needs repodata_version 2.
func BuildRepodata(subdir string, recs []Record) []byte {
	recs = sortedByFilename(recs)
	l := repodataLayout(subdir)
	// Exactly sized, made rather than grown: growing zero-fills the whole buffer, and on a large
	// channel faulting in fresh memory costs more than the copying.
	b := &appendWriter{b: make([]byte, 0, l.size(recs, nil, recordLen))}
	l.write(b, recs, nil, writeRecord)
	return b.b
}

// WriteRepodata writes repodata.json (the bytes of BuildRepodata) to w without holding it: for
// serving a large subdir's plain JSON straight from the records, with the length and sha256
// BuildRepodataZstd gave as Content-Length and validator. It returns the bytes written.
func WriteRepodata(w io.Writer, subdir string, recs []Record) (int64, error) {
	recs = sortedByFilename(recs)
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	repodataLayout(subdir).write(bw, recs, nil, writeRecord)
	err := bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// BuildRepodataZstd returns repodata.json.zst for one subdir, the same bytes as
// CompressZstd(BuildRepodata(subdir, recs)), and the sha256 and length of the JSON, so that
// repodata.json can be served (built when first asked for) with a validator known in advance.
// On a large channel the JSON is streamed through the compressor and never held whole.
func BuildRepodataZstd(subdir string, recs []Record) (zst []byte, jsonSHA256 [32]byte, jsonLen int64, err error) {
	recs = sortedByFilename(recs)
	l := repodataLayout(subdir)
	size := l.size(recs, nil, recordLen)
	if size < streamMin {
		b := &appendWriter{b: make([]byte, 0, size)}
		l.write(b, recs, nil, writeRecord)
		return encodeAll(b.b), sha256.Sum256(b.b), int64(len(b.b)), nil
	}
	out := &chunkWriter{}
	zw, err := streamEncoder(out)
	if err != nil {
		return nil, jsonSHA256, 0, err
	}
	hw := &hashingWriter{w: zw, h: sha256.New()}
	bw := bufio.NewWriterSize(hw, 1<<20)
	l.write(bw, recs, nil, writeRecord)
	if err := bw.Flush(); err != nil {
		zw.Close()
		return nil, jsonSHA256, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, jsonSHA256, 0, err
	}
	streamEncoders.Put(zw)
	hw.h.Sum(jsonSHA256[:0])
	return out.Bytes(), jsonSHA256, hw.n, nil
}

// BuildRunExports returns run_exports.json (CEP-12):
//
//	{"info":{"subdir":S,"version":1},"packages":{fn:{"run_exports":{…}}},"packages.conda":{…}}
//
// Every package has an entry, with {} when it exports nothing.
func BuildRunExports(subdir string, recs []Record) []byte {
	recs = sortedByFilename(recs)
	l := layout{
		head:  `{"info":{"subdir":` + quote(subdir) + `,"version":1},"packages":{`,
		mid:   `},"packages.conda":{`,
		trail: `}}`,
	}
	b := &appendWriter{b: make([]byte, 0, l.size(recs, nil, runExportsLen))}
	l.write(b, recs, nil, writeRunExports)
	return b.b
}

func recordLen(r *Record) int { return len(r.JSON) }

func writeRecord(w indexWriter, r *Record) { w.Write(r.JSON) }

func runExportsLen(r *Record) int { return len(`{"run_exports":}`) + max(len(r.RunExports), 2) }

func writeRunExports(w indexWriter, r *Record) {
	w.WriteString(`{"run_exports":`)
	if len(r.RunExports) == 0 {
		w.WriteString(`{}`)
	} else {
		w.Write(r.RunExports)
	}
	w.WriteByte('}')
}

// indexWriter is what appendWriter and *bufio.Writer offer. Their writes fail only through
// the underlying writer, which callers check when they flush.
type indexWriter interface {
	Write(p []byte) (int, error)
	WriteString(s string) (int, error)
	WriteByte(c byte) error
}

// appendWriter appends to a slice made with the right capacity. Unlike bytes.Buffer.Grow,
// make does not zero-fill memory fresh from the OS, so only the pages written are touched.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

// chunkWriter collects output of unknown size in chunks, then returns it in one slice of the
// exact size: guessing the compression ratio either regrows the buffer (a copy and a larger
// allocation) or leaves capacity unused for as long as the result is cached.
type chunkWriter struct {
	chunks [][]byte
	n      int
}

const chunkSize = 4 << 20

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(w.chunks) == 0 || len(w.chunks[len(w.chunks)-1]) == chunkSize {
			w.chunks = append(w.chunks, make([]byte, 0, chunkSize))
		}
		c := &w.chunks[len(w.chunks)-1]
		k := min(len(p), chunkSize-len(*c))
		*c = append(*c, p[:k]...)
		p = p[k:]
	}
	w.n += n
	return n, nil
}

func (w *chunkWriter) Bytes() []byte {
	out := make([]byte, 0, w.n)
	for _, c := range w.chunks {
		out = append(out, c...)
	}
	return out
}

// hashingWriter hashes and counts what it passes on.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	n, err := w.w.Write(p)
	w.n += int64(n)
	return n, err
}

// layout is one of the per-subdir indexes: head, the .tar.bz2 entries, mid, the .conda
// entries, trail.
type layout struct{ head, mid, trail string }

func repodataLayout(subdir string) layout {
	return layout{
		head:  `{"info":{"subdir":` + quote(subdir) + `},"packages":{`,
		mid:   `},"packages.conda":{`,
		trail: `},"removed":[],"repodata_version":1}`,
	}
}

const (
	extV1 = ".tar.bz2"
	extV2 = ".conda"
)

// write writes the index; keep, if not nil, picks the records.
func (l layout) write(w indexWriter, recs []Record, keep []bool, value func(indexWriter, *Record)) {
	w.WriteString(l.head)
	writeGroup(w, recs, extV1, keep, value)
	w.WriteString(l.mid)
	writeGroup(w, recs, extV2, keep, value)
	w.WriteString(l.trail)
}

func writeGroup(w indexWriter, recs []Record, ext string, keep []bool, value func(indexWriter, *Record)) {
	first := true
	for i := range recs {
		r := &recs[i]
		if !strings.HasSuffix(r.Filename, ext) || (keep != nil && !keep[i]) {
			continue
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		if plainString(r.Filename) {
			w.WriteByte('"')
			w.WriteString(r.Filename)
			w.WriteByte('"')
		} else {
			w.WriteString(quote(r.Filename))
		}
		w.WriteByte(':')
		value(w, r)
	}
}

// size is the exact length write will produce, so that buffers are allocated once.
func (l layout) size(recs []Record, keep []bool, valueLen func(*Record) int) int {
	n := len(l.head) + len(l.mid) + len(l.trail)
	for i := range recs {
		r := &recs[i]
		if (keep != nil && !keep[i]) || (!strings.HasSuffix(r.Filename, extV1) && !strings.HasSuffix(r.Filename, extV2)) {
			continue
		}
		n += quotedLen(r.Filename) + 1 + valueLen(r) + 1 // "fn":value,
	}
	return n
}

func quote(s string) string {
	if plainString(s) {
		return `"` + s + `"`
	}
	q, _ := json.Marshal(s) // a string always marshals
	return string(q)
}

func quotedLen(s string) int {
	if plainString(s) {
		return len(s) + 2
	}
	return len(quote(s))
}

// plainString reports whether s needs no JSON escaping, as filenames and subdirs never do.
// It is strict (it also refuses what encoding/json escapes for HTML) so that the rare name
// that is not plain is quoted exactly as encoding/json would quote it.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// sortedByFilename returns recs if they are sorted by filename, and a sorted copy otherwise
// (the check costs little next to the build, and the caller's slice is left alone).
func sortedByFilename(recs []Record) []Record {
	byName := func(a, b Record) int { return strings.Compare(a.Filename, b.Filename) }
	if slices.IsSortedFunc(recs, byName) {
		return recs
	}
	recs = slices.Clone(recs)
	slices.SortFunc(recs, byName)
	return recs
}

// streamMin is the size from which repodata is compressed as a stream, in parallel jobs: below
// it one goroutine compresses faster than jobs can be set up, and the JSON is small enough to
// hold whole.
const streamMin = 16 << 20

// encoder compresses what is below streamMin, shards, and indexes. EncodeAll is safe for
// concurrent use, and its output does not depend on the concurrency (one encoder per core).
var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))

// encodeAll compresses b in one go. The fastest level: on repodata it compresses as well as
// the default level (the records repeat each other's keys and dependencies) in less time.
func encodeAll(b []byte) []byte {
	return encoder.EncodeAll(b, make([]byte, 0, len(b)/4+64))
}

// streamOptions compress large repodata in parallel jobs of 8 MB (four windows of 2 MB). The
// output depends on the job size but not on the number of goroutines (always at least two,
// so that a one-core machine writes the same bytes), nor on how the input is split into
// writes: the same JSON always gives the same .zst. On 2 cores this halves the time of a
// 350 MB repodata.json, and a 2 MB window also keeps clients' decoding memory small.
func streamOptions() []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(max(2, runtime.GOMAXPROCS(0))),
		zstd.WithConcurrentBlocks(true),
		zstd.WithWindowSize(2 << 20),
	}
}

// streamEncoders keeps stream encoders between builds: each holds some 70 MB of job buffers,
// which would otherwise be allocated (and faulted in) again on every build.
var streamEncoders sync.Pool

func streamEncoder(w io.Writer) (*zstd.Encoder, error) {
	if e, ok := streamEncoders.Get().(*zstd.Encoder); ok {
		e.Reset(w)
		return e, nil
	}
	return zstd.NewWriter(w, streamOptions()...)
}

// CompressZstd compresses b with zstd (repodata.json.zst and the other .zst files). It gives
// the same bytes for the same input, whatever the machine.
func CompressZstd(b []byte) ([]byte, error) {
	if len(b) < streamMin {
		return encodeAll(b), nil
	}
	out := &chunkWriter{}
	w, err := streamEncoder(out)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	streamEncoders.Put(w)
	return out.Bytes(), nil
}

// CompressBzip2 compresses b with bzip2 (repodata.json.bz2, deprecated but still fetched by
// old clients; Go's compress/bzip2 cannot write).
func CompressBzip2(b []byte) ([]byte, error) {
	out := &appendWriter{b: make([]byte, 0, len(b)/6+1024)}
	w, err := bzip2.NewWriter(out, &bzip2.WriterConfig{Level: bzip2.DefaultCompression})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.b, nil
}
