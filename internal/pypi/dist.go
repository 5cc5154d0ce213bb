// Package pypi reads uploaded Python distributions (wheels and sdists) and validates the names
// and versions in them. It is pure: no HTTP, no storage. Everything a user uploads to the PyPI
// side of Wharf passes through ReadDist, which reads only what it needs, as a stream, under
// hard caps (Limits), and refuses anything wrong with an *InvalidDistError.
package pypi

// Dist is what Wharf keeps of an uploaded distribution.
type Dist struct {
	Filename        Filename
	Name            string // from the metadata, as written ("Foo.Bar"); NormalizeName gives the project key
	Version         string // from the metadata, in the normalized PEP 440 form (ParseVersion)
	MetadataVersion string // "1.0" … "2.4"
	RequiresPython  string // as written, trimmed; "" if absent
	Summary         string // one line; "" if absent
	// Metadata is the exact METADATA (wheel) or PKG-INFO (sdist) bytes: Wharf serves them as the
	// PEP 658 ".metadata" file and hashes them for data-core-metadata.
	Metadata []byte
}
