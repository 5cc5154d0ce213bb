package repodata

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/internal/conda/matchspec"
)

// BuildCurrentRepodata returns current_repodata.json: the part of repodata.json that conda
// reads first, chosen as conda-index 0.12.1 chooses it (conda_index/index/current_repodata.py,
// which resolves with conda's Resolve and MatchSpec):
//
//   - for each package name, every build whose version matches "name=V" for the newest
//     version V (the builds of V, and of its pre-releases: "1.10rc1" is a "1.10*");
//   - for each dependency of those that none of them satisfies, every build of the newest
//     version that satisfies it ("versioned 1.*" keeps versioned-1.0 next to versioned-2.0):
//     one level, not the dependencies of what this adds;
//   - for a name whose kept builds track features, also its newest older build without any.
//
// The dependencies are resolved within a budget of comparisons (matchBudget).
//
// Without the dependencies, conda's first solve fails and it fetches repodata.json as well.
// Records are resolved per subdir, as conda-index resolves them: a dependency on a noarch
// package is not looked for in the platform subdir. A .tar.bz2 whose .conda is in recs is
// left out (conda prefers the .conda), and each .conda record gains legacy_bz2_md5, the md5
// of its .tar.bz2 or null, as conda-index writes it. Records are otherwise as in repodata.json.
//
// Left out of conda-index's rules: pinned versions (conda-index's current_index_versions,
// which Wharf has no setting for), records with record_version above 1 or a virtual
// package_type (which conda ignores and which real channels do not hold), and dependencies
// with a glob for a name (conda would look for them among every record).
func BuildCurrentRepodata(subdir string, recs []Record) []byte {
	recs = sortedByFilename(recs)
	keep, _ := currentSelection(subdir, recs, matchBudget(recs))
	cur := make([]Record, 0, len(keep))
	for i, r := range recs {
		if !keep[i] {
			continue
		}
		if stem, ok := strings.CutSuffix(r.Filename, extV2); ok {
			r.JSON = setKey(r.JSON, "legacy_bz2_md5", legacyMD5(recs, stem, extV1))
		}
		cur = append(cur, r)
	}
	l := repodataLayout(subdir)
	b := &appendWriter{b: make([]byte, 0, l.size(cur, nil, recordLen))}
	l.write(b, cur, nil, writeRecord)
	return b.b
}

// candidate is a record as conda's Resolve sees it.
type candidate struct {
	i       int // in recs
	r       *Record
	ms      matchspec.Record
	version matchspec.Version
	ok      bool    // the version parses
	seconds float64 // the timestamp as conda boxes it
	fields  *recordFields
}

// recordFields are what the selection reads from a record's JSON, decoded when first needed.
type recordFields struct {
	Depends       []string        `json:"depends"`
	TrackFeatures json.RawMessage `json:"track_features"`
	Features      json.RawMessage `json:"features"`
	MD5           string          `json:"md5"`
	SHA256        string          `json:"sha256"`
	License       string          `json:"license"`
	LicenseFamily string          `json:"license_family"`
}

func (c *candidate) decoded() *recordFields {
	if c.fields == nil {
		c.fields = &recordFields{}
		json.Unmarshal(c.r.JSON, c.fields) // a record that does not decode has none of them
	}
	return c.fields
}

// depends returns the record's depends. Only they are decoded: this runs for every newest
// record, and decoding whole records cost more than the rest of the selection.
func (c *candidate) depends() []string {
	if c.fields != nil {
		return c.fields.Depends
	}
	var deps []string
	if raw, ok := topLevelValue(c.r.JSON, "depends"); ok {
		json.Unmarshal(raw, &deps) // not a list of strings: none
	}
	return deps
}

func (c *candidate) field(key string) string {
	f := c.decoded()
	switch key {
	case "md5":
		return f.MD5
	case "sha256":
		return f.SHA256
	case "fn":
		return c.r.Filename
	case "license":
		return f.License
	case "license_family":
		return f.LicenseFamily
	case "track_features":
		return featuresText(f.TrackFeatures)
	case "features":
		return featuresText(f.Features)
	}
	return ""
}

// hasFeatures is conda's truth of track_features or features: at least one name.
func (c *candidate) hasFeatures() bool {
	if !bytes.Contains(c.r.JSON, []byte(`features"`)) {
		return false // most records: no need to decode
	}
	return strings.Trim(c.field("track_features")+c.field("features"), " ,\t") != ""
}

// featuresText reads a features value, a string or (in some packages) a list of strings.
func featuresText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, " ")
	}
	return ""
}

// compareCandidates is conda's Resolve.version_key, for one channel and subdir: version,
// build number, timestamp, build string; ties (which distinct files cannot really have) go
// by filename.
func compareCandidates(a, b *candidate) int {
	switch {
	case a.ok && b.ok:
		if c := a.version.Compare(b.version); c != 0 {
			return c
		}
	case a.ok != b.ok: // conda cannot order a version it cannot read: put it lowest
		if a.ok {
			return 1
		}
		return -1
	default:
		if c := strings.Compare(a.r.Version, b.r.Version); c != 0 {
			return c
		}
	}
	if c := compareInt(a.r.BuildNumber, b.r.BuildNumber); c != 0 {
		return c
	}
	switch {
	case a.seconds < b.seconds:
		return -1
	case a.seconds > b.seconds:
		return 1
	}
	if c := strings.Compare(a.r.Build, b.r.Build); c != 0 {
		return c
	}
	return -strings.Compare(a.r.Filename, b.r.Filename) // newest first puts them in name order
}

// sameVersionPrefix is conda's MatchSpec("name=V") for the version of v: the builds of V and
// of the versions that start with it.
func sameVersionPrefix(v, c *candidate) bool {
	if !v.ok || !c.ok {
		return v.r.Version == c.r.Version
	}
	return c.version.StartsWith(v.version)
}

// matchBudget bounds the version comparisons BuildCurrentRepodata spends on the dependencies
// of recs: about as much as building the rest of the index costs. Real channels need far
// less (the benchmark's 100k records shaped like conda-forge's take 115k; conda's test
// indexes, 10 to 3,000 per thousand records). A channel whose depends would take more (an
// uploader can write a thousand distinct "x >=0,…,<0" against a name of many builds) gets
// the newest versions and only part of what they depend on: conda then reads repodata.json
// as well, as it would without current_repodata.json.
func matchBudget(recs []Record) int { return 1_000_000 + 200*len(recs) }

// currentSelection returns which of recs (sorted by filename) current_repodata keeps, and the
// comparisons it spent on dependencies (at most a little over budget).
func currentSelection(subdir string, recs []Record, budget int) ([]bool, int) {
	versions := map[string]struct {
		v  matchspec.Version
		ok bool
	}{}
	cands := make([]candidate, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		// What conda reads: every .conda, and the .tar.bz2 files without one.
		if stem, ok := strings.CutSuffix(r.Filename, extV1); ok && hasFile(recs, stem, extV2) {
			continue
		} else if !ok && !strings.HasSuffix(r.Filename, extV2) {
			continue
		}
		pv, seen := versions[r.Version]
		if !seen {
			pv.v, pv.ok = parseOK(r.Version)
			versions[r.Version] = pv
		}
		secs := float64(r.Timestamp)
		if r.Timestamp > 253402300799 { // conda's bound between seconds and milliseconds
			secs /= 1000
		}
		cands = append(cands, candidate{i: i, r: r, version: pv.v, ok: pv.ok, seconds: secs})
	}
	// Groups by name, newest first.
	groups := map[string][]*candidate{}
	for i := range cands {
		c := &cands[i]
		c.ms = matchspec.Record{Name: c.r.Name, Version: c.r.Version, Build: c.r.Build, BuildNumber: c.r.BuildNumber,
			Subdir: subdir, Parsed: &c.version, ParsedOK: c.ok, Field: c.field}
		groups[c.r.Name] = append(groups[c.r.Name], c)
	}
	for _, g := range groups {
		slices.SortFunc(g, func(a, b *candidate) int { return -compareCandidates(a, b) })
	}

	keep := make([]bool, len(recs))
	// The newest version of each name, all its builds.
	newest := map[string][]*candidate{}
	for name, g := range groups {
		for _, c := range g {
			if sameVersionPrefix(g[0], c) {
				newest[name] = append(newest[name], c)
				keep[c.i] = true
			}
		}
	}
	// What the newest depend on and do not satisfy among themselves. Uploaders write the
	// depends, and each can cost a comparison with every record of a name (more for a long
	// "1|2|3|…"): work counts them, and past budget the rest of the closure is left out.
	work := 0
	match := func(spec *matchspec.Spec, c *candidate) bool {
		if work > budget {
			return false
		}
		work += spec.Cost()
		return spec.Match(&c.ms)
	}
	seen := map[string]bool{}
closure:
	for _, name := range sortedNames(newest) {
		for _, c := range newest[name] {
			for _, dep := range c.depends() {
				if work > budget {
					break closure
				}
				if seen[dep] {
					continue
				}
				seen[dep] = true
				if n, ok := plainName(dep); ok && groups[n] == nil {
					continue // nothing here is called that: no need to read the rest
				}
				spec, err := matchspec.Parse(dep)
				if err != nil {
					continue // conda-index would stop on it; it can match nothing here
				}
				dn, exact := spec.Name()
				if !exact || slices.ContainsFunc(newest[dn], func(c *candidate) bool { return match(spec, c) }) {
					continue
				}
				for _, m := range groups[dn] {
					if match(spec, m) {
						for _, o := range groups[dn] {
							if sameVersionPrefix(m, o) {
								keep[o.i] = true
							}
						}
						break
					}
				}
			}
		}
	}
	// For names that track features, the newest build without them, no newer than the newest
	// kept one.
	for _, g := range groups {
		var latest *candidate
		features := false
		for _, c := range g {
			if keep[c.i] {
				if latest == nil {
					latest = c
				}
				features = features || c.hasFeatures()
			}
		}
		if !features {
			continue
		}
		for _, c := range g {
			if compareVersionsOf(c, latest) <= 0 && !c.hasFeatures() {
				keep[c.i] = true
				break
			}
		}
	}
	return keep, work
}

// plainName returns the package name of a dependency written without a channel, brackets,
// parentheses or comment ("python >=3.8", "libzlib"), as matchspec.Parse would read it.
func plainName(dep string) (string, bool) {
	if strings.ContainsAny(dep, ":[(#@") {
		return "", false
	}
	if i := strings.IndexAny(dep, " =<>!~"); i >= 0 {
		dep = dep[:i]
	}
	return strings.ToLower(dep), dep != "" && !strings.Contains(dep, "*")
}

func parseOK(v string) (matchspec.Version, bool) {
	pv, err := matchspec.ParseVersion(v)
	return pv, err == nil
}

// compareVersionsOf orders by version alone (conda's VersionOrder comparison).
func compareVersionsOf(a, b *candidate) int {
	if a.ok && b.ok {
		return a.version.Compare(b.version)
	}
	return matchspec.CompareVersions(a.r.Version, b.r.Version)
}

// findFile returns the index in recs (sorted) of the file stem+ext.
func findFile(recs []Record, stem, ext string) (int, bool) {
	return slices.BinarySearchFunc(recs, stem, func(r Record, stem string) int {
		// r.Filename against stem+ext, without making that string.
		f := r.Filename
		if rest, ok := strings.CutPrefix(f, stem); ok {
			return strings.Compare(rest, ext)
		}
		n := min(len(f), len(stem))
		if c := strings.Compare(f[:n], stem[:n]); c != 0 {
			return c
		}
		return -1 // f is a proper prefix of stem
	})
}

func hasFile(recs []Record, stem, ext string) bool {
	_, ok := findFile(recs, stem, ext)
	return ok
}

// legacyMD5 returns the JSON of the md5 of the file stem+ext in recs (sorted), or null.
func legacyMD5(recs []Record, stem, ext string) json.RawMessage {
	i, ok := findFile(recs, stem, ext)
	if !ok {
		return json.RawMessage("null")
	}
	if md5, ok := topLevelValue(recs[i].JSON, "md5"); ok {
		return md5
	}
	return json.RawMessage("null")
}

// members walks the top-level members of the JSON object j, calling fn with each key (only
// valid during the call), where the member starts (its key's quote) and where its value ends;
// fn returns false to stop. It returns where the object's closing brace is, or -1 if j is not
// an object it can read.
func members(j []byte, fn func(key []byte, start, end int) bool) int {
	i := skipSpace(j, 0)
	if i >= len(j) || j[i] != '{' {
		return -1
	}
	for i = skipSpace(j, i+1); i < len(j); {
		switch j[i] {
		case '}':
			return i
		case ',':
			i = skipSpace(j, i+1)
			continue
		case '"':
		default:
			return -1
		}
		start := i
		end := skipValue(j, i)
		if end-start < 2 {
			return -1
		}
		k := j[start+1 : end-1]
		if bytes.IndexByte(k, '\\') >= 0 { // an escaped key: rare, so decoding it may cost
			var s string
			if json.Unmarshal(j[start:end], &s) != nil {
				return -1
			}
			k = []byte(s)
		}
		i = skipSpace(j, end)
		if i >= len(j) || j[i] != ':' {
			return -1
		}
		vStart := skipSpace(j, i+1)
		vEnd := skipValue(j, vStart)
		if !fn(k, start, vEnd) {
			return -2
		}
		i = skipSpace(j, vEnd)
	}
	return -1
}

// topLevelValue returns the value of key in the JSON object j.
func topLevelValue(j []byte, key string) (json.RawMessage, bool) {
	var v json.RawMessage
	members(j, func(k []byte, start, end int) bool {
		if string(k) != key {
			return true
		}
		i := skipSpace(j, skipValue(j, start)) // at the ':'
		v = json.RawMessage(j[skipSpace(j, i+1):end])
		return false
	})
	return v, v != nil
}

// setKey returns the JSON object j (a record: compact, keys sorted) with key set to value,
// keeping the keys sorted. j is not changed; if it is not an object it is returned as it is.
func setKey(j json.RawMessage, key string, value json.RawMessage) json.RawMessage {
	entry := append(append(append(make([]byte, 0, len(key)+3+len(value)), quote(key)...), ':'), value...)
	splice := func(from, to int, pre, post string) json.RawMessage {
		out := make([]byte, 0, len(j)+len(entry)+1)
		out = append(append(out, j[:from]...), pre...)
		out = append(append(out, entry...), post...)
		return append(out, j[to:]...)
	}
	var out json.RawMessage
	first := true
	end := members(j, func(k []byte, start, vEnd int) bool {
		switch {
		case string(k) == key:
			out = splice(start, vEnd, "", "")
			return false
		case string(k) > key:
			out = splice(start, start, "", ",")
			return false
		}
		first = false
		return true
	})
	switch {
	case out != nil:
		return out
	case end < 0:
		return j
	case first:
		return splice(end, end, "", "")
	}
	return splice(end, end, ",", "")
}

func skipSpace(j []byte, i int) int {
	for i < len(j) && (j[i] == ' ' || j[i] == '\n' || j[i] == '\t' || j[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value that starts at i (len(j) if it runs off).
func skipValue(j []byte, i int) int {
	depth := 0
	for i < len(j) {
		switch c := j[i]; c {
		case '"':
			for i++; i < len(j) && j[i] != '"'; i++ {
				if j[i] == '\\' {
					i++
				}
			}
			i++
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case ',', ' ', '\n', '\t', '\r', ':':
			if depth == 0 {
				return i
			}
			i++
		default:
			i++
		}
		if depth == 0 && i > 0 && (j[i-1] == '"' || j[i-1] == '}' || j[i-1] == ']') {
			return min(i, len(j))
		}
	}
	return len(j)
}
