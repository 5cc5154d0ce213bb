package pypi

import (
	"archive/zip"
	"errors"
	"io"

	"github.com/wharfhq/wharf/internal/archivecheck"
)

// openZip opens a wheel or .zip sdist with archivecheck.OpenZip (a reader of the central
// directory, such as pip, and a reader streaming the local headers must see the same members),
// then applies the rules for distributions: entries must be stored or deflated and not
// encrypted, and the archive may have no comment (room for a second format, as Warehouse says).
func (d *distReader) openZip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := archivecheck.OpenZip(r, size, d.lim.MaxZipEntries)
	if err != nil {
		var ze *archivecheck.ZipError
		if !errors.As(err, &ze) {
			return nil, err // r failed; ReadDist reports that
		}
		switch ze.Problem {
		case archivecheck.TooManyEntries:
			return nil, d.invalidf("the zip archive has %d entries; at most %d are accepted", ze.Entries, d.lim.MaxZipEntries)
		case archivecheck.NoEntries:
			return nil, d.invalidf("the zip archive is empty")
		case archivecheck.LocalHeaderMismatch:
			return nil, d.invalidf("the zip's local headers disagree with its central directory: %s", ze.Reason)
		}
		return nil, d.invalidf("not a valid zip archive: %s", ze.Reason)
	}
	if zr.Comment != "" {
		return nil, d.invalidf("the zip archive has a comment; rebuild it without one")
	}
	for _, f := range zr.File {
		switch {
		case f.Flags&0x1 != 0:
			return nil, d.invalidf("zip member %s is encrypted", quoteShort(f.Name))
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return nil, d.invalidf("zip member %s uses compression method %d; only stored and deflated members are accepted", quoteShort(f.Name), f.Method)
		}
	}
	return zr, nil
}
