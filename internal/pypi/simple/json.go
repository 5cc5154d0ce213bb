package simple

import (
	"encoding/json"

	"github.com/wharfhq/wharf/internal/pypi"
)

// The PEP 691 shapes, field order fixed so the output is byte-stable.
type (
	jsonMeta struct {
		APIVersion string `json:"api-version"`
	}
	jsonHashes struct {
		SHA256 string `json:"sha256,omitempty"`
	}
	jsonFile struct {
		Filename       string     `json:"filename"`
		URL            string     `json:"url"`
		Hashes         jsonHashes `json:"hashes"`
		RequiresPython string     `json:"requires-python,omitempty"`
		// CoreMetadata is PEP 714's name. The older dist-info-metadata is never sent in
		// JSON: pip 22.3 to 23.0 (Debian 12's pip is 23.0.1) crash on it whatever its value
		// (they take it for the HTML attribute's string), so PEP 714 keeps the old name
		// for HTML only.
		CoreMetadata *jsonHashes `json:"core-metadata,omitempty"`
		Size         int64       `json:"size"`
		UploadTime   string      `json:"upload-time,omitempty"`
		Yanked       any         `json:"yanked"` // false, true or the reason
	}
	jsonProject struct {
		Meta     jsonMeta   `json:"meta"`
		Name     string     `json:"name"`
		Versions []string   `json:"versions"`
		Files    []jsonFile `json:"files"`
	}
	jsonName struct {
		Name string `json:"name"`
	}
	jsonIndex struct {
		Meta     jsonMeta   `json:"meta"`
		Projects []jsonName `json:"projects"`
	}
)

func projectJSON(p Project) []byte {
	out := jsonProject{
		Meta:     jsonMeta{APIVersion: APIVersion},
		Name:     pypi.NormalizeName(p.Name),
		Versions: p.Versions,
		Files:    make([]jsonFile, len(p.Files)),
	}
	if out.Versions == nil {
		out.Versions = []string{}
	}
	for i, f := range p.Files {
		jf := jsonFile{
			Filename:       f.Filename,
			URL:            safeURL(f.URL),
			Hashes:         jsonHashes{SHA256: f.SHA256},
			RequiresPython: f.RequiresPython,
			Size:           f.Size,
			Yanked:         false,
		}
		if f.MetadataSHA256 != "" {
			jf.CoreMetadata = &jsonHashes{SHA256: f.MetadataSHA256}
		}
		if !f.UploadTime.IsZero() {
			jf.UploadTime = uploadTime(f.UploadTime)
		}
		if f.Yanked {
			// PEP 592/691: true, or a non-empty reason.
			jf.Yanked = true
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			}
		}
		out.Files[i] = jf
	}
	return marshal(out)
}

func indexJSON(names []string) []byte {
	out := jsonIndex{Meta: jsonMeta{APIVersion: APIVersion}, Projects: make([]jsonName, len(names))}
	for i, n := range names {
		out.Projects[i] = jsonName{Name: n}
	}
	return marshal(out)
}

// marshal encodes v with a final newline. The values here always encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("simple: encoding a page: " + err.Error())
	}
	return append(b, '\n')
}
