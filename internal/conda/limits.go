package conda

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/archivecheck"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Limits bound what ReadPackage will read from one upload. Every cap exists because an uploader
// controls the bytes: without them a 50 KiB file could make the server decompress terabytes or
// hold gigabytes of JSON. A zero field means the DefaultLimits value, so Limits{} is safe.
type Limits struct {
	// Largest accepted size of info members that are held in memory and parsed whole.
	MaxIndexJSON      int64 // info/index.json
	MaxAboutJSON      int64 // info/about.json
	MaxRunExportsJSON int64 // info/run_exports.json
	// MaxRecipeYAML caps the rendered recipe (info/recipe/meta.yaml), read for channeldata's
	// source_url; a larger one is passed over, not refused: the recipe is optional.
	MaxRecipeYAML int64
	// MaxListing caps info/files, info/has_prefix and info/paths.json. They are scanned as a
	// stream and never held, but scanning still costs time.
	MaxListing int64

	// The decompressed bytes of one package (every tar header and member, both tars of a .conda)
	// may not exceed max(MinDecompressed, DecompressionRatio × compressed size), and never
	// MaxDecompressed. Warehouse uses the same 64 MiB / 50× rule for wheels.
	MinDecompressed    int64
	DecompressionRatio int64
	MaxDecompressed    int64

	MaxMembers    int    // tar members in one package, both tars of a .conda together
	MaxZstdMemory uint64 // zstd decoder memory and window size

	// JSON caps for index.json, about.json and run_exports.json.
	MaxJSONDepth  int
	MaxJSONList   int // elements in one array, keys in one object
	MaxJSONString int // bytes in one string or key, after unescaping

	// ExtraSubdirs are accepted as index.json "subdir" besides KnownSubdirs (for example a
	// test platform such as "linux-fake"); nil accepts only KnownSubdirs.
	ExtraSubdirs []string
}

// DefaultLimits returns the caps Wharf uses for uploads.
func DefaultLimits() Limits {
	return Limits{
		MaxIndexJSON:       1 * mib,
		MaxAboutJSON:       1 * mib,
		MaxRunExportsJSON:  1 * mib,
		MaxRecipeYAML:      1 * mib,
		MaxListing:         32 * mib,
		MinDecompressed:    64 * mib,
		DecompressionRatio: 50,
		MaxDecompressed:    32 * gib,
		MaxMembers:         1_000_000,
		MaxZstdMemory:      128 * mib,
		MaxJSONDepth:       64,
		MaxJSONList:        10_000,
		MaxJSONString:      64 * kib,
	}
}

// orDefaults fills zero fields from DefaultLimits.
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
	set(&l.MaxIndexJSON, d.MaxIndexJSON)
	set(&l.MaxAboutJSON, d.MaxAboutJSON)
	set(&l.MaxRunExportsJSON, d.MaxRunExportsJSON)
	set(&l.MaxRecipeYAML, d.MaxRecipeYAML)
	set(&l.MaxListing, d.MaxListing)
	set(&l.MinDecompressed, d.MinDecompressed)
	set(&l.DecompressionRatio, d.DecompressionRatio)
	set(&l.MaxDecompressed, d.MaxDecompressed)
	setInt(&l.MaxMembers, d.MaxMembers)
	setInt(&l.MaxJSONDepth, d.MaxJSONDepth)
	setInt(&l.MaxJSONList, d.MaxJSONList)
	setInt(&l.MaxJSONString, d.MaxJSONString)
	if l.MaxZstdMemory == 0 {
		l.MaxZstdMemory = d.MaxZstdMemory
	}
	return l
}

// DecompressedCap returns the most decompressed bytes accepted for a package of the given
// compressed size.
func (l Limits) DecompressedCap(compressed int64) int64 {
	l = l.orDefaults()
	return archivecheck.DecompressedCap(compressed, l.MinDecompressed, l.DecompressionRatio, l.MaxDecompressed)
}

func (l Limits) subdirOK(s string) bool {
	if ValidSubdir(s) {
		return true
	}
	for _, x := range l.ExtraSubdirs {
		if s == x {
			return true
		}
	}
	return false
}

// humanSize formats a byte count the way the error messages use it ("1 MiB", "64 MiB", "1234 bytes").
func humanSize(n int64) string {
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}
