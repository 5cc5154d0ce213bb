package conda

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/wharfhq/wharf/internal/repodata"
)

// parseIndex validates info/index.json against the filename and returns the Package it
// describes (without Filename, Format, About, RunExports and Flags).
func parseIndex(data []byte, lim Limits, name, version, build string) (*Package, error) {
	const what = "info/index.json"
	if err := checkJSON(what, data, lim, false); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, invalidf("%s is not valid: %v", what, err)
	}
	index := make(map[string]json.RawMessage, len(raw)+1)
	for k, v := range raw {
		index[k] = compactJSON(v)
	}
	p := &Package{Index: index}

	str := func(key string) (string, error) {
		v, ok := index[key]
		if !ok {
			return "", invalidf("%s has no %q", what, key)
		}
		var s string
		if v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return "", invalidf("%q in %s must be a string, not %s", key, what, v)
		}
		return s, nil
	}
	var err error
	for _, f := range []struct {
		key, want string
		dst       *string
	}{{"name", name, &p.Name}, {"version", version, &p.Version}, {"build", build, &p.Build}} {
		if *f.dst, err = str(f.key); err != nil {
			return nil, err
		}
		if *f.dst != f.want {
			return nil, invalidf("%s in %s is %q but the filename says %q", f.key, what, *f.dst, f.want)
		}
	}
	bn, ok := index["build_number"]
	if !ok {
		return nil, invalidf("%s has no \"build_number\"", what)
	}
	if p.BuildNumber, ok = nonNegativeInt(bn); !ok {
		return nil, invalidf("\"build_number\" in %s must be a non-negative integer, not %s", what, bn)
	}
	if ts, ok := index["timestamp"]; ok && string(ts) != "null" {
		if p.Timestamp, ok = nonNegativeInt(ts); !ok {
			return nil, invalidf("\"timestamp\" in %s must be a non-negative integer, not %s", what, ts)
		}
	}
	if p.Subdir, err = str("subdir"); err != nil {
		return nil, err
	}
	if !lim.subdirOK(p.Subdir) {
		return nil, invalidf("subdir %q in %s is not a known conda subdir", p.Subdir, what)
	}
	if err := checkNoarch(index["noarch"], p.Subdir); err != nil {
		return nil, err
	}
	for _, key := range []string{"depends", "constrains"} {
		v, ok := index[key]
		switch {
		case !ok && key == "constrains":
			// conda-index only emits constrains when the package has it.
		case !ok || string(v) == "null":
			index[key] = json.RawMessage("[]")
		default:
			var list []string
			if v[0] != '[' || json.Unmarshal(v, &list) != nil {
				return nil, invalidf("%q in %s must be a list of strings", key, what)
			}
		}
	}
	// Keys clients decode into string fields: a wrong type here would break repodata parsing
	// for everybody using the channel, not just for this package.
	for _, key := range []string{"license", "license_family", "python_site_packages_path", "features", "track_features"} {
		v, ok := index[key]
		if !ok || v[0] == '"' || string(v) == "null" {
			continue
		}
		if key == "features" || key == "track_features" {
			var list []string
			if v[0] == '[' && json.Unmarshal(v, &list) == nil {
				continue
			}
		}
		return nil, invalidf("%q in %s must be a string, not %s", key, what, v)
	}
	return p, nil
}

func nonNegativeInt(v json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil && n >= 0
}

// checkNoarch allows noarch "generic" or "python" (or the legacy true) only in subdir noarch.
func checkNoarch(v json.RawMessage, subdir string) error {
	const what = "info/index.json"
	if v == nil {
		return nil
	}
	switch string(v) {
	case "null", "false", `""`:
		return nil
	case `"generic"`, `"python"`, "true":
		if subdir != "noarch" {
			return invalidf("%s says noarch %s but subdir %q; noarch packages belong in subdir \"noarch\"", what, v, subdir)
		}
		return nil
	}
	return invalidf("\"noarch\" in %s must be \"generic\" or \"python\", not %s", what, v)
}

// droppedKeys are index.json keys that never reach repodata: values only the server may compute
// (checksums, size, location: an uploader must not choose them), and what conda-index filters
// out (arch, platform and other build-machine details).
var droppedKeys = map[string]bool{
	"md5": true, "sha256": true, "size": true, "url": true, "fn": true, "base_url": true,
	"channel": true, "legacy_bz2_md5": true, "legacy_bz2_size": true, "indexed_timestamp": true,
	// conda-index's filter_fields (conda_index/index/cache.py)
	"arch": true, "has_prefix": true, "mtime": true, "platform": true, "ucs": true,
	"requires_features": true, "binstar": true, "target-triplet": true, "machine": true,
	"operatingsystem": true,
}

// Record builds the repodata record of p: every index.json key that is not dropped, verbatim
// (compacted), plus md5, sha256 and size of the stored file. Keys are sorted; depends is always
// present.
func (p *Package) Record(sha256hex, md5hex string, size int64) (repodata.Record, error) {
	if !isHex(sha256hex, 64) {
		return repodata.Record{}, fmt.Errorf("conda: sha256 %q is not 64 lowercase hex digits", sha256hex)
	}
	if !isHex(md5hex, 32) {
		return repodata.Record{}, fmt.Errorf("conda: md5 %q is not 32 lowercase hex digits", md5hex)
	}
	if size < 0 {
		return repodata.Record{}, fmt.Errorf("conda: negative size %d", size)
	}
	m := make(map[string]json.RawMessage, len(p.Index)+3)
	for k, v := range p.Index {
		if !droppedKeys[k] {
			m[k] = v
		}
	}
	// Clients decode these into lists, so never emit null (a Package may come from storage
	// rather than from ReadPackage, which already normalises them).
	if v, ok := m["depends"]; !ok || string(v) == "null" {
		m["depends"] = json.RawMessage("[]")
	}
	if v, ok := m["constrains"]; ok && string(v) == "null" {
		m["constrains"] = json.RawMessage("[]")
	}
	m["md5"] = json.RawMessage(strconv.Quote(md5hex))
	m["sha256"] = json.RawMessage(strconv.Quote(sha256hex))
	m["size"] = json.RawMessage(strconv.FormatInt(size, 10))

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<" in "vc >=14.1,<15.0a0" as it is
	if err := enc.Encode(m); err != nil {
		return repodata.Record{}, fmt.Errorf("conda: encoding the record of %s: %w", p.Filename, err)
	}
	return repodata.Record{
		Filename:    p.Filename,
		Name:        p.Name,
		Version:     p.Version,
		Build:       p.Build,
		BuildNumber: p.BuildNumber,
		Timestamp:   p.Timestamp,
		JSON:        json.RawMessage(bytes.TrimSuffix(b.Bytes(), []byte("\n"))),
		RunExports:  p.RunExports,
	}, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && s == lowerASCII(s)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
