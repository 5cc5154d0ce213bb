package repodata

import "encoding/json"

// aboutKeys are the about.json fields channeldata.json carries, as conda-index writes them.
var aboutKeys = []string{"description", "dev_url", "doc_url", "home", "license", "source_url", "summary", "identifiers", "keywords", "tags", "icon_url", "icon_hash", "recipe_origin", "source_git_url"}

// BuildChanneldata returns channeldata.json (CEP-38) for the files of one label of a channel.
// For each package name it describes the newest version (by cmp), with the subdirs the name
// is built for and the run_exports of each version.
func BuildChanneldata(infos []PackageInfo, cmp func(a, b string) int) []byte {
	type pkg struct {
		newest     *PackageInfo
		subdirs    map[string]bool
		runExports map[string]json.RawMessage
		flags      map[string]Flags // per version string
	}
	pkgs := map[string]*pkg{}
	allSubdirs := map[string]bool{"noarch": true}
	for i := range infos {
		in := &infos[i]
		allSubdirs[in.Subdir] = true
		p := pkgs[in.Name]
		if p == nil {
			p = &pkg{subdirs: map[string]bool{}, runExports: map[string]json.RawMessage{}, flags: map[string]Flags{}}
			pkgs[in.Name] = p
		}
		p.subdirs[in.Subdir] = true
		p.flags[in.Version] = orFlags(p.flags[in.Version], in.Flags)
		if len(in.RunExports) > 0 {
			p.runExports[in.Version] = in.RunExports
		}
		if p.newest == nil || newer(in, p.newest, cmp) {
			p.newest = in
		}
	}
	out := map[string]any{}
	for name, p := range pkgs {
		n := p.newest
		// The flags describe the newest version, OR-ed over its builds.
		f := p.flags[n.Version]
		entry := map[string]any{
			"version":           n.Version,
			"subdirs":           sortedNames(p.subdirs),
			"reference_package": n.Subdir + "/" + n.Filename,
			"run_exports":       map[string]json.RawMessage{},
			"activate.d":        f.ActivateD,
			"deactivate.d":      f.DeactivateD,
			"pre_link":          f.PreLink,
			"post_link":         f.PostLink,
			"pre_unlink":        f.PreUnlink,
			"binary_prefix":     f.BinaryPrefix,
			"text_prefix":       f.TextPrefix,
		}
		if re, ok := p.runExports[n.Version]; ok {
			entry["run_exports"] = re
		}
		if n.Timestamp > 0 {
			ts := n.Timestamp
			if ts > 253402300799 { // milliseconds; CEP-38 wants seconds
				ts /= 1000
			}
			entry["timestamp"] = ts
		}
		var about map[string]json.RawMessage
		if len(n.About) > 0 && json.Unmarshal(n.About, &about) == nil {
			for _, k := range aboutKeys {
				if v, ok := about[k]; ok && string(v) != "null" {
					entry[k] = v
				}
			}
		}
		if _, ok := entry["license"]; !ok {
			var rec map[string]json.RawMessage
			if json.Unmarshal(n.JSON, &rec) == nil {
				if v, ok := rec["license"]; ok {
					entry["license"] = v
				}
			}
		}
		out[name] = entry
	}
	b, _ := json.Marshal(map[string]any{
		"channeldata_version": 1,
		"packages":            out,
		"subdirs":             sortedNames(allSubdirs),
	})
	return b
}

// newer orders files of one name: version, then build number, then timestamp.
func newer(a, b *PackageInfo, cmp func(a, b string) int) bool {
	if c := cmp(a.Version, b.Version); c != 0 {
		return c > 0
	}
	if a.BuildNumber != b.BuildNumber {
		return a.BuildNumber > b.BuildNumber
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Subdir+"/"+a.Filename > b.Subdir+"/"+b.Filename
}

func orFlags(a, b Flags) Flags {
	return Flags{
		ActivateD: a.ActivateD || b.ActivateD, DeactivateD: a.DeactivateD || b.DeactivateD,
		PreLink: a.PreLink || b.PreLink, PostLink: a.PostLink || b.PostLink, PreUnlink: a.PreUnlink || b.PreUnlink,
		BinaryPrefix: a.BinaryPrefix || b.BinaryPrefix, TextPrefix: a.TextPrefix || b.TextPrefix,
	}
}
