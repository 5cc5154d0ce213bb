package clientconfig

import (
	"errors"
	"strings"
)

// A .netrc is a list of entries, "machine HOST login L password P" (or "default …"),
// separated by white space only, on one line or over several; "macdef NAME" starts a macro
// that runs to the next blank line, and # a comment to the end of its line. Python's netrc
// (which pip, requests and conda read) takes the first entry of a host.

type netrcToken struct {
	s          string
	start, end int // byte offsets in the file
}

type netrcEntry struct {
	machine    string // "" for default
	login      string
	start, end int // bytes [start, end) from the keyword to the end of its last token
}

func lexNetrc(s string) []netrcToken {
	var toks []netrcToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		var b strings.Builder
		if c == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++
		} else {
			for i < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[i])) {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
		}
		i = min(i, len(s))
		toks = append(toks, netrcToken{s: b.String(), start: start, end: i})
		if b.String() == "macdef" {
			// The name, then the macro's lines up to a blank line.
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if j := strings.Index(s[i:], "\n\n"); j >= 0 {
				i += j + 2
			} else {
				i = len(s)
			}
			toks[len(toks)-1].end = i
		}
	}
	return toks
}

func parseNetrc(s string) []netrcEntry {
	var entries []netrcEntry
	var cur *netrcEntry
	toks := lexNetrc(s)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.s {
		case "machine", "default", "macdef":
			entries = append(entries, netrcEntry{start: t.start, end: t.end})
			cur = &entries[len(entries)-1]
			if t.s == "machine" && i+1 < len(toks) {
				i++
				cur.machine, cur.end = toks[i].s, toks[i].end
			}
			if t.s == "macdef" {
				cur.machine = "\x00macdef" // matches no host
			}
			continue
		}
		if cur == nil {
			continue
		}
		cur.end = t.end
		if (t.s == "login" || t.s == "password" || t.s == "account") && i+1 < len(toks) {
			i++
			cur.end = toks[i].end
			if t.s == "login" {
				cur.login = toks[i].s
			}
		}
	}
	return entries
}

// NetrcLogin is the login of host's entry.
func NetrcLogin(src []byte, host string) (login string, ok bool) {
	for _, e := range parseNetrc(string(src)) {
		if e.machine == host {
			return e.login, true
		}
	}
	return "", false
}

// EditNetrc makes host's entry "machine HOST login LOGIN password PASSWORD", replacing the
// host's entry if it has one, else adding it on a line of its own before any default entry
// (which has to be last), or at the end.
// A file it cannot read back with the entry in it (an unclosed quote) is refused.
func EditNetrc(src []byte, host, login, password string) ([]byte, error) {
	out := editNetrc(string(src), host, login, password)
	if l, ok := NetrcLogin(out, host); !ok || l != login {
		return nil, errors.New("could not add the entry to .netrc (is a quote left open?); fix the file, or add the line by hand")
	}
	return out, nil
}

func editNetrc(s, host, login, password string) []byte {
	line := "machine " + host + " login " + login + " password " + password
	for _, e := range parseNetrc(s) {
		if e.machine == host {
			return []byte(s[:e.start] + line + s[e.end:])
		}
	}
	for _, e := range parseNetrc(s) {
		if e.machine == "" {
			return []byte(s[:e.start] + line + "\n" + s[e.start:])
		}
	}
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + line + "\n")
}

// RemoveFromNetrc drops host's entry when its login is login, with the line it was on when
// it had the line to itself.
func RemoveFromNetrc(src []byte, host, login string) []byte {
	s := string(src)
	for _, e := range parseNetrc(s) {
		if e.machine != host {
			continue
		}
		if e.login != login {
			return src
		}
		start, end := e.start, e.end
		ls := strings.LastIndexByte(s[:start], '\n') + 1
		le := strings.IndexByte(s[end:], '\n')
		if le < 0 {
			le = len(s)
		} else {
			le += end
		}
		if strings.TrimSpace(s[ls:start]) == "" && strings.TrimSpace(s[end:le]) == "" {
			start, end = ls, min(le+1, len(s))
		}
		return []byte(s[:start] + s[end:])
	}
	return src
}
