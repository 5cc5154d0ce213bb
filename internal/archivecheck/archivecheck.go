// Package archivecheck holds the checks that the conda and Python package readers share for
// archives uploaded by strangers: a zip opener that refuses archives which different readers
// would read differently (OpenZip), a decompressed-bytes budget against decompression bombs,
// and small rules for tar members (types, drive letters, members written through a symlink).
//
// It reports problems; wording them for the uploader is left to each reader, whose messages
// name its own formats.
package archivecheck

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
)

// RecordingReaderAt remembers the first real I/O error of R (anything but io.EOF), so that a
// reader can tell a failing disk from a corrupt upload: parsers report both as a bad archive.
type RecordingReaderAt struct {
	R   io.ReaderAt
	Err error
}

func (x *RecordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := x.R.ReadAt(p, off)
	if err != nil && err != io.EOF && x.Err == nil {
		x.Err = err
	}
	return n, err
}

// ErrTooLarge is returned by a CountingReader once its Budget is spent.
var ErrTooLarge = errors.New("decompressed size cap exceeded")

// Budget is the decompressed-byte allowance of one upload, shared by all its streams.
type Budget struct {
	Used, Max int64
	Exceeded  bool // set once a read went past Max; callers report a bomb rather than the error they got
}

// CountingReader reads from R and charges every byte to B. It reads at most one byte past the
// cap, so a stream of exactly B.Max bytes passes and a larger one fails with ErrTooLarge.
type CountingReader struct {
	R io.Reader
	B *Budget
}

func (c *CountingReader) Read(p []byte) (int, error) {
	rem := c.B.Max - c.B.Used
	if rem < 0 {
		c.B.Exceeded = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > rem+1 {
		p = p[:rem+1] // read at most one byte past the cap
	}
	n, err := c.R.Read(p)
	c.B.Used += int64(n)
	if c.B.Used > c.B.Max {
		c.B.Exceeded = true
		return n, ErrTooLarge
	}
	return n, err
}

// DecompressedCap returns max(minimum, ratio × compressed), never more than maximum: the rule
// Warehouse uses (64 MiB and 50× there). The product is not computed when it would exceed
// maximum, so it cannot overflow.
func DecompressedCap(compressed, minimum, ratio, maximum int64) int64 {
	c := minimum
	if compressed > 0 && ratio > 0 {
		if compressed > maximum/ratio {
			c = maximum
		} else {
			c = max(c, compressed*ratio)
		}
	}
	return min(c, maximum)
}

// HasDriveLetter reports whether s starts like a Windows absolute path ("C:"), which an
// extractor on Windows would take as one even with '/' separators.
func HasDriveLetter(s string) bool {
	return len(s) >= 2 && s[1] == ':' && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// SymlinkAbove returns the first proper prefix of the cleaned member name (a run of its
// '/'-separated segments) whose hash is in symlinks: a member there would be written through
// the link on extraction. symlinks must hold maphash.String(seed, linkName) of each symlink.
//
// The prefixes are hashed incrementally, one segment at a time, which maphash guarantees to
// equal hashing each prefix whole; rehashing every prefix would cost O(len²) per member.
func SymlinkAbove(name string, seed maphash.Seed, symlinks map[uint64]struct{}) (link string, ok bool) {
	if len(symlinks) == 0 {
		return "", false
	}
	var h maphash.Hash
	h.SetSeed(seed)
	start := 0
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			h.WriteString(name[start:i]) // h now holds name[:i]
			start = i
			if _, ok := symlinks[h.Sum64()]; ok {
				return name[:i], true
			}
		}
	}
	return "", false
}

// TarTypeProblem returns what is wrong with a tar member's type or mode, as a phrase to follow
// the member's name ("is a FIFO"), or "" when nothing is. Only regular files, directories and
// links are accepted, none setuid or setgid. (PAX global headers are for the caller to skip.)
func TarTypeProblem(hdr *tar.Header) string {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeChar, tar.TypeBlock:
		return "is a device file"
	case tar.TypeFifo:
		return "is a FIFO"
	default:
		return fmt.Sprintf("has the unsupported tar type %q", hdr.Typeflag)
	}
	if hdr.Mode&0o6000 != 0 {
		return "has the setuid or setgid bit set"
	}
	return ""
}
