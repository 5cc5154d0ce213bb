package repodata

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// channeldataKeys are the fields channeldata.json takes from about.json, as conda-index does
// (CHANNELDATA_FIELDS). license is among them, but the record's own license, from index.json,
// comes first.
var channeldataKeys = []string{
	"description", "dev_url", "doc_url", "doc_source_url", "home", "license", "source_url",
	"source_git_url", "summary", "icon_url", "icon_hash", "tags", "identifiers", "keywords",
	"recipe_origin",
}

// BuildChanneldata returns channeldata.json (CEP-38) for the files of one channel (or label)
// across its subdirs:
//
//	{"channeldata_version":1,"packages":{name:{…}},"subdirs":[…]}
//
// subdirs is every subdir with a file, and noarch. For each package name, as CEP-38 and
// conda-index have it:
//   - version, reference_package ("<subdir>/<fn>"): of the newest file, ordered by version
//     (cmp, conda's order), then timestamp, build number, .conda before .tar.bz2, and path;
//   - the about.json fields of channeldataKeys, with source_url and source_git_url taken
//     from the package's source (the rendered recipe's; see fileFields): each from the newest
//     file that has it (a non-empty value wins over an empty one), except license: the
//     newest file's that has one, from its record (index.json) or else from its about.json;
//   - subdirs: where the name has files;
//   - run_exports: {version: run_exports} for every version that has some, from the newest
//     file of that version that has some; {} when none do;
//   - timestamp: the most recent of all its files, in seconds (0 if none has one);
//   - the booleans of Flags: true if any file of the name sets it (conda-index ORs them over
//     every version and subdir, since the file has one value per name).
func BuildChanneldata(infos []PackageInfo, cmp func(a, b string) int) []byte {
	type pkg struct {
		files   []*PackageInfo
		subdirs map[string]bool
		flags   Flags
		ts      int64
	}
	pkgs := map[string]*pkg{}
	subdirs := map[string]bool{"noarch": true}
	for i := range infos {
		in := &infos[i]
		if in.Name == "" {
			continue
		}
		subdirs[in.Subdir] = true
		p := pkgs[in.Name]
		if p == nil {
			p = &pkg{subdirs: map[string]bool{}}
			pkgs[in.Name] = p
		}
		p.files = append(p.files, in)
		p.subdirs[in.Subdir] = true
		p.flags = orFlags(p.flags, in.Flags)
		p.ts = max(p.ts, seconds(in.Timestamp))
	}
	out := make(map[string]map[string]any, len(pkgs))
	for name, p := range pkgs {
		// Newest first.
		slices.SortFunc(p.files, func(a, b *PackageInfo) int { return -compareFiles(a, b, cmp) })
		n := p.files[0]
		f := p.flags
		entry := map[string]any{
			"version":           n.Version,
			"reference_package": n.Subdir + "/" + n.Filename,
			"subdirs":           sortedNames(p.subdirs),
			"timestamp":         p.ts,
			"activate.d":        f.ActivateD,
			"deactivate.d":      f.DeactivateD,
			"pre_link":          f.PreLink,
			"post_link":         f.PostLink,
			"pre_unlink":        f.PreUnlink,
			"binary_prefix":     f.BinaryPrefix,
			"text_prefix":       f.TextPrefix,
		}
		runExports := map[string]json.RawMessage{}
		merged := seenFields{} // builds often share one about.json and recipe: merge each once
		var license json.RawMessage
		for _, in := range p.files {
			if _, ok := runExports[in.Version]; !ok && !emptyJSON(in.RunExports) {
				runExports[in.Version] = in.RunExports
			}
			var about map[string]json.RawMessage
			if merged.add(in) {
				about = fileFields(in)
				for k, v := range about {
					if old, ok := entry[k].(json.RawMessage); k != "license" && (!ok || (emptyJSON(old) && !emptyJSON(v))) {
						entry[k] = v
					}
				}
			}
			if license == nil { // the newest file's license: its record's, else its about's
				if license = recordLicense(in.JSON); license == nil && about != nil && !emptyJSON(about["license"]) {
					license = about["license"]
				}
			}
		}
		if license != nil {
			entry["license"] = license
		}
		entry["run_exports"] = runExports
		out[name] = entry
	}
	return marshalText(map[string]any{
		"channeldata_version": 1,
		"packages":            out,
		"subdirs":             sortedNames(subdirs),
	})
}

// seenFields remembers what fileFields read (about.json, then recipe), so that files sharing
// both merge once. Lookups by string(bytes) do not copy.
type seenFields map[string]map[string]bool

// add reports whether in's fields are new, and remembers them.
func (m seenFields) add(in *PackageInfo) bool {
	recipes := m[string(in.About)]
	if recipes == nil {
		recipes = map[string]bool{}
		m[string(in.About)] = recipes
	}
	if recipes[string(in.RecipeSource)] {
		return false
	}
	recipes[string(in.RecipeSource)] = true
	return true
}

// fileFields returns the channeldata fields of one file, as conda-index reads them: the
// channeldataKeys of its about.json, description and summary on one line; then source_url
// and source_git_url from the url and git_url of the package's source, which is the rendered
// recipe's (RecipeSource) unless about.json has a "source" of its own, and which replace
// about.json's. (conda-index would also let index.json's own "source", source_url or
// source_git_url decide, which conda-build never writes there; reading every record for
// them would cost a quarter of the build.)
func fileFields(in *PackageInfo) map[string]json.RawMessage {
	var about map[string]json.RawMessage
	json.Unmarshal(in.About, &about) // nil About, or not an object: none
	fields := aboutFields(about)
	source := in.RecipeSource
	if v, ok := about["source"]; ok {
		source = v
	}
	var src map[string]json.RawMessage
	if json.Unmarshal(source, &src) == nil {
		for _, k := range []string{"url", "git_url"} {
			if v, ok := src[k]; ok {
				fields["source_"+k] = v
			}
		}
	}
	return fields
}

// aboutFields returns the channeldataKeys fields of an about.json (decoded), description and
// summary on one line.
func aboutFields(about map[string]json.RawMessage) map[string]json.RawMessage {
	fields := map[string]json.RawMessage{}
	for _, k := range channeldataKeys {
		if v, ok := about[k]; ok && !isNull(v) {
			fields[k] = v
		}
	}
	for _, k := range []string{"description", "summary"} {
		if v, ok := fields[k]; ok {
			fields[k] = oneLine(v)
		}
	}
	return fields
}

// recordLicense returns the license of a repodata record (from index.json), or nil.
func recordLicense(raw json.RawMessage) json.RawMessage {
	var rec struct {
		License json.RawMessage `json:"license"`
	}
	if json.Unmarshal(raw, &rec) != nil || emptyJSON(rec.License) {
		return nil
	}
	return rec.License
}

// compareFiles orders the files of one name, oldest first.
func compareFiles(a, b *PackageInfo, cmp func(a, b string) int) int {
	if c := cmp(a.Version, b.Version); c != 0 {
		return c
	}
	if c := compareInt(seconds(a.Timestamp), seconds(b.Timestamp)); c != 0 {
		return c
	}
	if c := compareInt(a.BuildNumber, b.BuildNumber); c != 0 {
		return c
	}
	if c := compareInt(extRank(a.Filename), extRank(b.Filename)); c != 0 {
		return c
	}
	// Any fixed order will do; reversed so that, newest first, paths come in ascending order.
	return -strings.Compare(a.Subdir+"/"+a.Filename, b.Subdir+"/"+b.Filename)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// extRank puts .conda after (newer than) .tar.bz2: the format conda prefers.
func extRank(fn string) int64 {
	if strings.HasSuffix(fn, extV2) {
		return 1
	}
	return 0
}

// seconds turns a timestamp into seconds: index.json has milliseconds, old packages seconds,
// and conda-index tells them apart by this bound (the year 9999 in seconds).
func seconds(ts int64) int64 {
	if ts > 253402300799 {
		return ts / 1000
	}
	return ts
}

// oneLine strips a description or summary and puts it on one line, as conda-index does (it
// also joins a list of strings, which some recipes give).
func oneLine(v json.RawMessage) json.RawMessage {
	var s string
	if json.Unmarshal(v, &s) != nil {
		var parts []string
		if json.Unmarshal(v, &parts) != nil {
			return v
		}
		s = strings.Join(parts, "")
	}
	return marshalText(strings.ReplaceAll(strings.TrimSpace(s), "\n", " "))
}

// marshalText encodes v as JSON, leaving <, > and & as they are.
func marshalText(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // descriptions are full of <, > and &
	enc.Encode(v)            // cannot fail: v holds only strings, numbers, bools, maps, JSON
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// emptyJSON reports whether v is absent, null, "", [] or {}: what conda-index treats as no
// value.
func emptyJSON(v json.RawMessage) bool {
	var x any
	if len(v) == 0 || json.Unmarshal(v, &x) != nil {
		return true
	}
	switch x := x.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func orFlags(a, b Flags) Flags {
	return Flags{
		ActivateD: a.ActivateD || b.ActivateD, DeactivateD: a.DeactivateD || b.DeactivateD,
		PreLink: a.PreLink || b.PreLink, PostLink: a.PostLink || b.PostLink, PreUnlink: a.PreUnlink || b.PreUnlink,
		BinaryPrefix: a.BinaryPrefix || b.BinaryPrefix, TextPrefix: a.TextPrefix || b.TextPrefix,
	}
}
