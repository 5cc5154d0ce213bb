package conda

import (
	"archive/zip"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/archivecheck"
)

// A .conda holds three members; anything much larger is not a .conda. archivecheck.OpenZip
// refuses more than maxZipMembers entries before archive/zip allocates a File for each.
const (
	maxZipMembers   = 16
	maxZipDirectory = 64 * kib
)

// openZip opens the outer zip of a .conda with archivecheck.OpenZip (a central-directory reader
// and a streaming reader of the local headers must see the same members), then applies the
// .conda rules: no comment, flat member names each present once, stored or deflated members.
func openZip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := archivecheck.OpenZip(r, size, maxZipMembers)
	if err != nil {
		var ze *archivecheck.ZipError
		if !errors.As(err, &ze) {
			return nil, err // r failed; ReadPackage reports that
		}
		switch ze.Problem {
		case archivecheck.TooManyEntries:
			return nil, invalidf("the .conda archive has %d members; a .conda has 3", ze.Entries)
		case archivecheck.NoEntries:
			return nil, invalidf("the .conda archive has no members")
		case archivecheck.LocalHeaderMismatch:
			return nil, invalidf("the .conda zip's local headers disagree with its central directory: %s", ze.Reason)
		}
		return nil, invalidf("not a valid .conda (zip) archive: %s", ze.Reason)
	}
	if zr.Comment != "" {
		// Nothing writes comments into a .conda; like Warehouse, refuse room for a second format.
		return nil, invalidf("the .conda archive has a zip comment")
	}
	// OpenZip has checked that the records fill the central directory exactly, so their
	// lengths add up to its size. archive/zip has read them already, but at most
	// maxZipMembers of them.
	var dirSize int
	for _, f := range zr.File {
		dirSize += 46 + len(f.Name) + len(f.Extra) + len(f.Comment) // a record's fixed part, then its fields
	}
	if dirSize > maxZipDirectory {
		return nil, invalidf("not a valid .conda (zip) archive: central directory too large")
	}
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		n := f.Name
		switch {
		case n == "" || n == "." || n == "..":
			return nil, invalidf("the .conda archive has a member named %q", n)
		case !utf8.ValidString(n):
			return nil, invalidf("the .conda archive has a member name that is not UTF-8: %q", n)
		case strings.ContainsAny(n, "/\\\x00"):
			return nil, invalidf("the .conda archive has a member with a path in its name: %q", n)
		case seen[n]:
			return nil, invalidf("the .conda archive has the member %q more than once", n)
		case f.Flags&0x1 != 0:
			return nil, invalidf("member %q of the .conda archive is encrypted", n)
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return nil, invalidf("member %q of the .conda archive uses the unsupported compression method %d", n, f.Method)
		}
		seen[n] = true
	}
	return zr, nil
}
