package pypi

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"unicode/utf8"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// coreMetadata is what ReadDist takes from METADATA or PKG-INFO.
type coreMetadata struct {
	metadataVersion string
	name            string
	versionText     string // as written
	version         pep440.Version
	summary         string
	requiresPython  string
}

// readHeaders reads RFC 822 header lines ("Field: value", continuation lines indented) up to the
// first empty line or the end. Field names are matched case-insensitively; fields may repeat.
func readHeaders(b []byte) (textproto.MIMEHeader, error) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	if err == io.EOF {
		err = nil // headers without a body, and without the empty line that would start one
	}
	return h, err
}

// parseMetadata parses core metadata (PyPA core-metadata.rst): UTF-8 email headers, where
// multiple-use fields repeat and, from 2.1, the description may be the body.
func (d *distReader) parseMetadata(what string, raw []byte) (coreMetadata, error) {
	var md coreMetadata
	if len(bytes.TrimSpace(raw)) == 0 {
		return md, d.invalidf("%s is empty", what)
	}
	if !utf8.Valid(raw) {
		line, field := badUTF8(raw)
		where := "in the description"
		if field != "" {
			where = "in the field " + quoteShort(field)
		}
		return md, d.invalidf("%s is not valid UTF-8 (line %d, %s); core metadata is UTF-8: rebuild the distribution with the text saved as UTF-8",
			what, line, where)
	}
	if pos := controlInHeader(raw); pos >= 0 {
		line, field := locate(raw, pos)
		return md, d.invalidf("%s has a control character on line %d (field %s); remove it", what, line, quoteShort(field))
	}
	h, err := readHeaders(raw)
	if err != nil {
		return md, d.invalidf("%s is not a list of 'Field: value' lines: %s", what, shortErr(err))
	}
	one := func(field string, required bool) (string, error) {
		v := h.Values(field)
		switch {
		case len(v) > 1:
			return "", d.invalidf("%s has %d %s fields; it may have only one", what, len(v), field)
		case len(v) == 0 && required:
			return "", d.invalidf("%s has no %s field", what, field)
		case len(v) == 0:
			return "", nil
		}
		return v[0], nil
	}
	if md.metadataVersion, err = one("Metadata-Version", true); err != nil {
		return md, err
	}
	if !knownMetadataVersion(md.metadataVersion) {
		return md, d.invalidf("%s has Metadata-Version %s; Wharf reads versions 1.0 to 2.x", what, quoteShort(md.metadataVersion))
	}
	if md.name, err = one("Name", true); err != nil {
		return md, err
	}
	if !ValidName(md.name) {
		return md, d.invalidf("the Name %s in %s is not a valid project name (letters, digits, '.', '_' and '-', starting and ending with a letter or digit)",
			quoteShort(md.name), what)
	}
	if md.versionText, err = one("Version", true); err != nil {
		return md, err
	}
	if md.version, err = parseVersion(md.versionText); err != nil {
		return md, d.invalidf("the Version %s in %s is %v%s", quoteShort(md.versionText), what, err, versionHint)
	}
	if md.summary, err = one("Summary", false); err != nil {
		return md, err
	}
	if md.requiresPython, err = one("Requires-Python", false); err != nil {
		return md, err
	}
	if md.requiresPython != "" {
		if err := checkSpecifierSet(md.requiresPython); err != nil {
			return md, d.invalidf("the Requires-Python %s in %s is not a valid version specifier: %v", quoteShort(md.requiresPython), what, err)
		}
	}
	return md, nil
}

// knownMetadataVersion accepts "1.x" and "2.x".
func knownMetadataVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	return ok && (major == "1" || major == "2") && allDigits(minor) && len(minor) <= 3
}

// badUTF8 returns the 1-based line of the first invalid UTF-8 in b and, if that line is in the
// header part, the field it belongs to.
func badUTF8(b []byte) (line int, field string) {
	pos := 0
	for pos < len(b) {
		r, size := utf8.DecodeRune(b[pos:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		pos += size
	}
	return locate(b, pos)
}

// controlInHeader returns the position of the first control character other than tab, CR and
// LF in the header part of b (up to the first empty line), or -1.
func controlInHeader(b []byte) int {
	for start := 0; start < len(b); {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		line := bytes.TrimSuffix(b[start:end], []byte("\r"))
		if len(line) == 0 {
			return -1
		}
		for i, c := range line {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return start + i
			}
		}
		start = end + 1
	}
	return -1
}

// locate returns the 1-based line of byte pos in b and, if that line is in the header part,
// the name of the field it belongs to (continuation lines belong to the field above).
func locate(b []byte, pos int) (line int, field string) {
	line = 1
	inHeader := true
	for start := 0; start <= len(b); {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		l := bytes.TrimRight(b[start:end], "\r")
		if inHeader {
			switch {
			case len(l) == 0:
				inHeader = false
				field = ""
			case l[0] != ' ' && l[0] != '\t':
				field = ""
				if k, _, ok := bytes.Cut(l, []byte(":")); ok {
					field = strings.ToValidUTF8(string(k), "?")
				}
			}
		}
		if pos <= end {
			return line, field
		}
		line++
		start = end + 1
	}
	return line, ""
}
