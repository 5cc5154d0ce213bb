package clientconfig

import (
	"slices"
	"strings"
)

// The INI files pip and twine read are Python configparser files: [section] headers,
// "key = value" or "key: value" entries, values continued on more deeply indented lines, and
// whole-line comments starting with # or ;. iniDoc edits them line by line, so that
// everything it is not asked to change stays as it was.

type iniEntry struct {
	key      string // as written
	indent   int
	from, to int // lines [from, to): the key line and its continuation lines
	valStart int // byte offset of the value in the key line
}

type iniSection struct {
	name    string
	header  int // line of the [name] header; -1 for the lines before the first header
	end     int // one past its last line
	entries []iniEntry
}

type iniDoc struct {
	t        *text
	sections []iniSection
}

// normKey is how configparser (lower case) and pip (also "_" as "-") compare keys.
func normKey(k string) string { return strings.ReplaceAll(strings.ToLower(k), "_", "-") }

func parseINI(src []byte) *iniDoc {
	d := &iniDoc{t: splitText(src)}
	d.reparse()
	return d
}

func (d *iniDoc) reparse() {
	d.sections = []iniSection{{header: -1}}
	cur := &d.sections[0]
	var last *iniEntry
	for i, line := range d.t.lines {
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			continue
		case last != nil && indent > last.indent:
			last.to = i + 1
			continue
		case trimmed[0] == '[' && strings.Contains(trimmed[1:], "]"):
			cur.end = i
			name := trimmed[1:strings.LastIndex(trimmed, "]")]
			d.sections = append(d.sections, iniSection{name: name, header: i})
			cur, last = &d.sections[len(d.sections)-1], nil
			continue
		}
		idx := strings.IndexAny(line, "=:")
		if idx < 0 {
			last = nil // not something configparser accepts; left alone
			continue
		}
		vs := idx + 1
		for vs < len(line) && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		cur.entries = append(cur.entries, iniEntry{key: strings.TrimSpace(line[:idx]), indent: indent, from: i, to: i + 1, valStart: vs})
		last = &cur.entries[len(cur.entries)-1]
	}
	cur.end = len(d.t.lines)
}

func (d *iniDoc) section(name string) *iniSection {
	for i := range d.sections {
		if d.sections[i].header >= 0 && d.sections[i].name == name {
			return &d.sections[i]
		}
	}
	return nil
}

func (s *iniSection) entry(key string) *iniEntry {
	for i := range s.entries {
		if normKey(s.entries[i].key) == normKey(key) {
			return &s.entries[i]
		}
	}
	return nil
}

// value is an entry's value as configparser reads it: lines joined with "\n", trimmed.
func (d *iniDoc) value(e *iniEntry) string {
	parts := []string{strings.TrimSpace(d.t.lines[e.from][e.valStart:])}
	for i := e.from + 1; i < e.to; i++ {
		if t := strings.TrimSpace(d.t.lines[i]); t != "" && t[0] != '#' && t[0] != ';' {
			parts = append(parts, t)
		}
	}
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

func (d *iniDoc) get(section, key string) (string, bool) {
	s := d.section(section)
	if s == nil {
		return "", false
	}
	e := s.entry(key)
	if e == nil {
		return "", false
	}
	return d.value(e), true
}

// endOfContent is one past the last line of s that is not blank.
func (d *iniDoc) endOfContent(s *iniSection) int {
	i := s.end
	for i > s.header+1 && strings.TrimSpace(d.t.lines[i-1]) == "" {
		i--
	}
	return i
}

// addSection appends "[name]" and lines at the end, after a blank line.
func (d *iniDoc) addSection(name string, lines ...string) {
	at := len(d.t.lines)
	for at > 0 && strings.TrimSpace(d.t.lines[at-1]) == "" {
		at--
	}
	var add []string
	if at > 0 {
		add = append(add, "")
	}
	add = append(add, "["+name+"]")
	add = append(add, lines...)
	d.t.delete(at, len(d.t.lines))
	d.t.insert(at, add...)
	d.reparse()
}

// set gives key the one-line value in section, keeping how the key and its delimiter were
// written; a missing key goes after the section's last entry, a missing section at the end.
func (d *iniDoc) set(section, key, value string) {
	s := d.section(section)
	if s == nil {
		d.addSection(section, strings.TrimRight(key+" = "+value, " "))
		return
	}
	if e := s.entry(key); e != nil {
		line := d.t.lines[e.from]
		prefix := line[:e.valStart]
		if e.valStart == len(line) && !strings.HasSuffix(prefix, " ") {
			prefix += " "
		}
		d.t.lines[e.from] = strings.TrimRight(prefix+value, " \t")
		d.t.delete(e.from+1, e.to)
		d.reparse()
		return
	}
	d.t.insert(d.endOfContent(s), strings.TrimRight(key+" = "+value, " "))
	d.reparse()
}

// remove deletes key from section, and the section if nothing (no entry, no comment) is
// left in it.
func (d *iniDoc) remove(section, key string) {
	s := d.section(section)
	if s == nil {
		return
	}
	e := s.entry(key)
	if e == nil {
		return
	}
	d.t.delete(e.from, e.to)
	d.reparse()
	if s = d.section(section); s != nil && d.emptySection(s) {
		d.removeSection(section)
	}
}

func (d *iniDoc) emptySection(s *iniSection) bool {
	for i := s.header + 1; i < s.end; i++ {
		if strings.TrimSpace(d.t.lines[i]) != "" {
			return false
		}
	}
	return true
}

// removeSection deletes a section with the blank lines after it; a file left ending in
// blank lines loses them.
func (d *iniDoc) removeSection(name string) {
	s := d.section(name)
	if s == nil {
		return
	}
	d.t.delete(s.header, s.end)
	n := len(d.t.lines)
	for n > 0 && strings.TrimSpace(d.t.lines[n-1]) == "" {
		n--
	}
	d.t.delete(n, len(d.t.lines))
	d.reparse()
}

// addWord adds w to a value that is a white-space separated list (twine's index-servers),
// on a line of its own when the list continues over lines.
func (d *iniDoc) addWord(section, key, w string) {
	s := d.section(section)
	e := s.entry(key)
	if slices.Contains(strings.Fields(d.value(e)), w) {
		return
	}
	last := e.from
	for i := e.from + 1; i < e.to; i++ {
		if t := strings.TrimSpace(d.t.lines[i]); t != "" && t[0] != '#' && t[0] != ';' {
			last = i
		}
	}
	switch {
	case last > e.from:
		line := d.t.lines[last]
		d.t.insert(last+1, line[:len(line)-len(strings.TrimLeft(line, " \t"))]+w)
	case strings.TrimSpace(d.t.lines[e.from][e.valStart:]) == "":
		d.t.insert(e.from+1, strings.Repeat(" ", e.indent+4)+w)
	default:
		d.t.lines[e.from] = strings.TrimRight(d.t.lines[e.from], " \t") + " " + w
	}
	d.reparse()
}

// removeWord takes w out of such a list, dropping continuation lines left empty.
func (d *iniDoc) removeWord(section, key, w string) {
	s := d.section(section)
	if s == nil {
		return
	}
	e := s.entry(key)
	if e == nil {
		return
	}
	without := func(v string) (string, bool) {
		f := strings.Fields(v)
		i := slices.Index(f, w)
		if i < 0 {
			return v, false
		}
		return strings.Join(slices.Delete(f, i, i+1), " "), true
	}
	for i := e.to - 1; i >= e.from; i-- {
		line := d.t.lines[i]
		if i == e.from {
			if v, ok := without(line[e.valStart:]); ok {
				d.t.lines[i] = strings.TrimRight(line[:e.valStart], " \t")
				if v != "" {
					d.t.lines[i] = line[:e.valStart] + v
				}
			}
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if v, ok := without(t); ok {
			if v == "" {
				d.t.delete(i, i+1)
			} else {
				d.t.lines[i] = line[:len(line)-len(strings.TrimLeft(line, " \t"))] + v
			}
		}
	}
	d.reparse()
}
