package pypi

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/archivecheck"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Limits bound the work one upload can cause. Every cap exists because the uploader controls the
// bytes: without them a 100 KiB file could make the server decompress terabytes or hold
// gigabytes of metadata. A zero field means the DefaultLimits value, so Limits{} is safe.
type Limits struct {
	// MaxMetadata caps METADATA (wheels) and PKG-INFO (sdists), which are held in memory.
	MaxMetadata int64

	// The decompressed size of one distribution may not exceed
	// max(MinDecompressed, DecompressionRatio × compressed size), and never MaxDecompressed.
	// This is Warehouse's rule (reject above 64 MiB *and* a ratio of 50). For zips (wheels, .zip
	// sdists) it applies to the sizes the archive declares, as Warehouse does; for .tar.gz, whose
	// tar is streamed through to the end, to the bytes actually decompressed.
	MinDecompressed    int64
	DecompressionRatio int64
	MaxDecompressed    int64

	MaxZipEntries int // entries in a wheel's or .zip sdist's central directory
	MaxTarMembers int // members of a .tar.gz sdist
}

// DefaultLimits returns the caps Wharf uses for uploads.
func DefaultLimits() Limits {
	return Limits{
		MaxMetadata:        1 * mib,
		MinDecompressed:    64 * mib,
		DecompressionRatio: 50,
		MaxDecompressed:    16 * gib,
		MaxZipEntries:      100_000,
		MaxTarMembers:      100_000,
	}
}

// orDefaults fills zero (or negative) fields from DefaultLimits.
func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxMetadata, d.MaxMetadata)
	set(&l.MinDecompressed, d.MinDecompressed)
	set(&l.DecompressionRatio, d.DecompressionRatio)
	set(&l.MaxDecompressed, d.MaxDecompressed)
	setInt(&l.MaxZipEntries, d.MaxZipEntries)
	setInt(&l.MaxTarMembers, d.MaxTarMembers)
	return l
}

// DecompressedCap returns the most decompressed bytes accepted for a distribution of the given
// compressed size.
func (l Limits) DecompressedCap(compressed int64) int64 {
	l = l.orDefaults()
	return archivecheck.DecompressedCap(compressed, l.MinDecompressed, l.DecompressionRatio, l.MaxDecompressed)
}

// humanSize formats a byte count for messages ("1 MiB", "64 MiB", "1234 bytes").
func humanSize(n int64) string {
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}
