package repodata

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
)

// BuildRepodata returns repodata.json for one subdir. recs must be sorted by filename (the
// store returns them so); each record's JSON is emitted byte for byte.
func BuildRepodata(subdir string, recs []Record) []byte {
	var b bytes.Buffer
	b.Grow(indexSize(subdir, recs))
	writeIndex(&b, subdir, recs, nil, writeRecord)
	return b.Bytes()
}

// BuildRepodataZstd streams repodata.json for one subdir through zstd, without ever holding
// the whole JSON: on a large channel that is hundreds of megabytes, and on many machines
// faulting in that much fresh memory costs more than building it. It also returns the sha256
// and length of the JSON, so repodata.json can be served (built on demand) with a validator
// known in advance.
func BuildRepodataZstd(subdir string, recs []Record) (zst []byte, jsonSHA256 [32]byte, jsonLen int64, err error) {
	var out bytes.Buffer
	out.Grow(indexSize(subdir, recs)/5 + 1024)
	zw, err := zstd.NewWriter(&out, zstdOptions()...)
	if err != nil {
		return nil, jsonSHA256, 0, err
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(zw, h)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	writeIndex(bw, subdir, recs, nil, writeRecord)
	if err := bw.Flush(); err != nil {
		zw.Close()
		return nil, jsonSHA256, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, jsonSHA256, 0, err
	}
	copy(jsonSHA256[:], h.Sum(nil))
	return out.Bytes(), jsonSHA256, cw.n, nil
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

// indexWriter is what both *bytes.Buffer and *bufio.Writer offer; their writes only fail
// through the underlying writer, which callers check when they flush.
type indexWriter interface {
	Write(p []byte) (int, error)
	WriteString(s string) (int, error)
	WriteByte(c byte) error
}

func writeRecord(w indexWriter, r Record) { w.Write(r.JSON) }

func indexSize(subdir string, recs []Record) int {
	size := 160 + len(subdir)
	for _, r := range recs {
		size += len(r.Filename) + len(r.JSON) + 8
	}
	return size
}

// writeIndex writes {"info":{"subdir":S},"packages":{…},"packages.conda":{…},"removed":[],
// "repodata_version":1}; keep, if set, picks the records; value writes one record's value.
func writeIndex(w indexWriter, subdir string, recs []Record, keep func(int) bool, value func(indexWriter, Record)) {
	w.WriteString(`{"info":{"subdir":`)
	writeString(w, subdir)
	w.WriteString(`},"packages":{`)
	writeGroup(w, recs, ".tar.bz2", keep, value)
	w.WriteString(`},"packages.conda":{`)
	writeGroup(w, recs, ".conda", keep, value)
	w.WriteString(`},"removed":[],"repodata_version":1}`)
}

func writeGroup(w indexWriter, recs []Record, suffix string, keep func(int) bool, value func(indexWriter, Record)) {
	first := true
	for i, r := range recs {
		if !strings.HasSuffix(r.Filename, suffix) || (keep != nil && !keep(i)) {
			continue
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		writeString(w, r.Filename)
		w.WriteByte(':')
		value(w, r)
	}
}

func writeString(w indexWriter, s string) {
	if !plainString(s) {
		q, _ := json.Marshal(s)
		w.Write(q)
		return
	}
	w.WriteByte('"')
	w.WriteString(s)
	w.WriteByte('"')
}

// plainString reports whether s needs no JSON escaping (filenames and subdirs always).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// CompressZstd compresses b with zstd, on every core, at the fastest level: repodata of a
// large channel is hundreds of megabytes and is recompressed on every change, and on
// repodata the fastest level costs about half the time of the default for a file as small.
func CompressZstd(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b)/8 + 1024)
	w, err := zstd.NewWriter(&out, zstdOptions()...)
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
	return out.Bytes(), nil
}

func zstdOptions() []zstd.EOption {
	return []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0))}
}

// CompressBzip2 compresses b with bzip2 (repodata.json.bz2, deprecated but still fetched).
func CompressBzip2(b []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := bzip2.NewWriter(&out, &bzip2.WriterConfig{Level: bzip2.DefaultCompression})
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
	return out.Bytes(), nil
}

// BuildCurrentRepodata keeps, for each package name, the records of its newest version (by
// cmp, conda's version order). conda reads it first and falls back to repodata.json when the
// newest versions do not solve.
func BuildCurrentRepodata(subdir string, recs []Record, cmp func(a, b string) int) []byte {
	newest := map[string]string{}
	for _, r := range recs {
		if v, ok := newest[r.Name]; !ok || cmp(r.Version, v) > 0 {
			newest[r.Name] = r.Version
		}
	}
	keep := func(i int) bool { return cmp(recs[i].Version, newest[recs[i].Name]) == 0 }
	var b bytes.Buffer
	writeIndex(&b, subdir, recs, keep, writeRecord)
	return b.Bytes()
}

// BuildRunExports returns run_exports.json (CEP-12): every package, with {} when it exports
// nothing.
func BuildRunExports(subdir string, recs []Record) []byte {
	var w bytes.Buffer
	writeIndex(&w, subdir, recs, nil, func(w indexWriter, r Record) {
		w.WriteString(`{"run_exports":`)
		if len(r.RunExports) == 0 {
			w.WriteString(`{}`)
		} else {
			w.Write(r.RunExports)
		}
		w.WriteByte('}')
	})
	b := w.Bytes()
	// CEP-12 puts the format version in info and has no removed list.
	b = bytes.Replace(b, []byte(`{"info":{"subdir":`), []byte(`{"info":{"version":1,"subdir":`), 1)
	return bytes.Replace(b, []byte(`},"removed":[],"repodata_version":1}`), []byte(`}}`), 1)
}
