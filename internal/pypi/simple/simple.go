// Package simple renders the PyPI Simple Repository API: the project list and the project
// pages, as PEP 503 HTML or PEP 691 JSON, with PEP 592 yanking, the PEP 629 version tag,
// PEP 658/714 core-metadata attributes and the PEP 700 fields (api-version 1.1).
//
// It is pure: it knows nothing of HTTP handlers, storage or access control. The server
// decides what a caller may see, builds a [Project], picks a [Format] with [Negotiate] and
// writes what [ProjectPage] or [IndexPage] return. Output is a function of the input only, so
// it is byte-stable and may be hashed into an ETag or cached.
package simple

import (
	"time"
)

// APIVersion is the Simple API version every page declares: 1.1 adds the PEP 700 fields
// (versions, size, upload-time).
const APIVersion = "1.1"

// The Content-Type values [Negotiate] returns.
const (
	ContentTypeJSON     = "application/vnd.pypi.simple.v1+json"
	ContentTypeHTML     = "application/vnd.pypi.simple.v1+html"
	ContentTypeTextHTML = "text/html; charset=utf-8"
)

// File is one distribution file of a project as the index lists it.
type File struct {
	Filename string
	// URL is where the file is downloaded, as the server chose it. Keep it relative
	// ("../../files/<sha256>/<filename>") so a /t/<token>/ prefix carries through, and
	// percent-escape the filename in it (url.PathEscape): it is written as given, a '#' or
	// '?' in it is taken as a fragment or query. A URL that would start with a scheme other
	// than http or https ("javascript:…") is made relative by a "./" prefix.
	URL            string
	SHA256         string    // hex; "" renders no #sha256= and an empty hashes object
	Size           int64     // bytes
	UploadTime     time.Time // rendered in UTC with microseconds and Z; the zero time is left out
	RequiresPython string    // "" = absent
	Yanked         bool
	YankedReason   string // only read when Yanked
	// MetadataSHA256 is "" when no core metadata file is served, else the sha256 (hex) of the
	// exact bytes served at URL+".metadata" (PEP 658/714).
	MetadataSHA256 string
}

// Project is one project page.
type Project struct {
	Name     string   // PEP 503 normalized; normalized again here, which changes nothing if it was
	Versions []string // in the caller's order (sorted by the caller); only JSON lists them
	Files    []File   // in the caller's order (sorted by the caller)
}

// Format is the negotiated representation.
type Format int

// The representations a page is rendered in.
const (
	HTML Format = iota // PEP 503 HTML, served as text/html or application/vnd.pypi.simple.v1+html
	JSON               // PEP 691 JSON, served as application/vnd.pypi.simple.v1+json
)

// String names the format.
func (f Format) String() string {
	switch f {
	case HTML:
		return "html"
	case JSON:
		return "json"
	}
	return "unknown"
}

// uploadTime renders t as PEP 700 wants it: UTC, microseconds, Z.
func uploadTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// safeURL returns u, or "./"+u when a browser would read u as having a scheme other than
// http or https: a link on the page must never run script, whatever name a file was given.
// A browser drops leading C0 controls and spaces and every tab and newline before it looks
// for the scheme, so this does too.
func safeURL(u string) string {
	var buf [len("https")]byte // enough to tell http and https from the rest
	n := 0                     // scheme characters seen
	started := false
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c == '\t' || c == '\n' || c == '\r' || !started && c <= ' ' {
			continue
		}
		started = true
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case 'a' <= c && c <= 'z', n > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
			if n < len(buf) {
				buf[n] = c
			}
			n++
		case c == ':' && n > 0:
			if s := string(buf[:min(n, len(buf))]); n <= len(buf) && (s == "http" || s == "https") {
				return u
			}
			return "./" + u
		default:
			return u
		}
	}
	return u
}
