package repodata

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
)

// BuildRepodata returns repodata.json for one subdir. recs must be sorted by filename (the
// store returns them so); each record's JSON is emitted byte for byte. It appends into one
// pre-sized buffer: on a channel of 500k packages this is the hot path.
func BuildRepodata(subdir string, recs []Record) []byte {
	return buildIndex(subdir, recs, nil, func(b []byte, r Record) []byte { return append(b, r.JSON...) })
}

// buildIndex writes {"info":{"subdir":S},"packages":{…},"packages.conda":{…},"removed":[],
// "repodata_version":1}; keep, if set, picks the records; value writes one record's value.
func buildIndex(subdir string, recs []Record, keep func(int) bool, value func([]byte, Record) []byte) []byte {
	size := 160 + len(subdir)
	for _, r := range recs {
		size += len(r.Filename) + len(r.JSON) + 8
	}
	b := make([]byte, 0, size)
	b = append(b, `{"info":{"subdir":`...)
	b = appendString(b, subdir)
	b = append(b, `},"packages":{`...)
	b = appendGroup(b, recs, ".tar.bz2", keep, value)
	b = append(b, `},"packages.conda":{`...)
	b = appendGroup(b, recs, ".conda", keep, value)
	b = append(b, `},"removed":[],"repodata_version":1}`...)
	return b
}

func appendGroup(b []byte, recs []Record, suffix string, keep func(int) bool, value func([]byte, Record) []byte) []byte {
	first := true
	for i, r := range recs {
		if !strings.HasSuffix(r.Filename, suffix) || (keep != nil && !keep(i)) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, r.Filename)
		b = append(b, ':')
		b = value(b, r)
	}
	return b
}

// appendString appends s as a JSON string. Filenames and subdirs are plain ASCII, so the
// fast path is a copy; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// CompressZstd compresses b with zstd, on every core, at the fastest level: repodata of a
// large channel is hundreds of megabytes and is recompressed on every change, and on
// repodata the fastest level costs about half the time of the default for a file as small.
func CompressZstd(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b)/8 + 1024)
	w, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
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
	return buildIndex(subdir, recs, keep, func(b []byte, r Record) []byte { return append(b, r.JSON...) })
}

// BuildRunExports returns run_exports.json (CEP-12): every package, with {} when it exports
// nothing.
func BuildRunExports(subdir string, recs []Record) []byte {
	b := buildIndex(subdir, recs, nil, func(b []byte, r Record) []byte {
		b = append(b, `{"run_exports":`...)
		if len(r.RunExports) == 0 {
			b = append(b, `{}`...)
		} else {
			b = append(b, r.RunExports...)
		}
		return append(b, '}')
	})
	// CEP-12 puts the format version in info and has no removed list.
	b = bytes.Replace(b, []byte(`{"info":{"subdir":`), []byte(`{"info":{"version":1,"subdir":`), 1)
	return bytes.Replace(b, []byte(`},"removed":[],"repodata_version":1}`), []byte(`}}`), 1)
}
