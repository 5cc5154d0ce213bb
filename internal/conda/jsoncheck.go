package conda

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// checkJSON validates an uploaded JSON document before anything decodes it. encoding/json alone
// is too forgiving for data that ends up in every client's repodata: it replaces invalid UTF-8
// and lone surrogates with U+FFFD, keeps the last of duplicate keys, and has no caps on depth,
// list length or string size. what names the member in error messages.
func checkJSON(what string, data []byte, lim Limits, allowArray bool) error {
	if !utf8.Valid(data) {
		return invalidf("%s is not valid UTF-8", what)
	}
	if err := walkJSON(what, data, lim, allowArray); err != nil {
		return err
	}
	return checkEscapes(what, data)
}

type jsonFrame struct {
	obj     bool
	wantKey bool
	n       int
	keys    map[string]struct{}
}

func walkJSON(what string, data []byte, lim Limits, allowArray bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	started := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !started {
				return invalidf("%s is empty", what)
			}
			if len(stack) > 0 {
				return invalidf("%s is not valid JSON: unexpected end of input", what)
			}
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return invalidf("%s is not valid JSON: %v (at byte %d)", what, err, se.Offset)
			}
			return invalidf("%s is not valid JSON: %v", what, err)
		}
		if !started {
			started = true
			d, ok := tok.(json.Delim)
			if !ok || d != '{' && !(allowArray && d == '[') {
				if allowArray {
					return invalidf("%s must be a JSON object or list", what)
				}
				return invalidf("%s must be a JSON object", what)
			}
		} else if len(stack) == 0 {
			return invalidf("%s is not valid JSON: data after the top-level value", what)
		}

		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.obj && top.wantKey {
			key, _ := tok.(string) // the decoder only yields strings in key position
			if len(key) > lim.MaxJSONString {
				return invalidf("%s has a key longer than %s", what, humanSize(int64(lim.MaxJSONString)))
			}
			if _, dup := top.keys[key]; dup {
				return invalidf("%s has the key %q more than once", what, key)
			}
			top.n++
			if top.n > lim.MaxJSONList {
				return invalidf("%s has an object with more than %d keys", what, lim.MaxJSONList)
			}
			top.keys[key] = struct{}{}
			top.wantKey = false
			continue
		}
		if top != nil {
			if top.obj {
				top.wantKey = true
			} else {
				top.n++
				if top.n > lim.MaxJSONList {
					return invalidf("%s has a list with more than %d elements", what, lim.MaxJSONList)
				}
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			if len(stack) >= lim.MaxJSONDepth {
				return invalidf("%s is nested more than %d levels deep", what, lim.MaxJSONDepth)
			}
			f := &jsonFrame{obj: t == '{', wantKey: t == '{'}
			if f.obj {
				f.keys = make(map[string]struct{})
			}
			stack = append(stack, f)
		case string:
			if len(t) > lim.MaxJSONString {
				return invalidf("%s has a string longer than %s", what, humanSize(int64(lim.MaxJSONString)))
			}
		case json.Number:
			if len(t) > lim.MaxJSONString {
				return invalidf("%s has a number longer than %s", what, humanSize(int64(lim.MaxJSONString)))
			}
			// 1e999 is valid JSON, but Go and Rust (serde_json) clients refuse to decode it.
			if _, err := strconv.ParseFloat(string(t), 64); err != nil {
				return invalidf("%s has the number %.40s, which is out of range", what, t)
			}
		}
	}
}

// checkEscapes rejects \u0000 (PostgreSQL cannot store it in jsonb or text) and lone UTF-16
// surrogates (Python accepts them, Rust's serde_json does not, so one package could make a whole
// subdir's repodata unreadable to pixi). data must already be valid JSON, so every backslash is
// inside a string.
func checkEscapes(what string, data []byte) error {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++
		if i >= len(data) || data[i] != 'u' {
			continue
		}
		r, ok := hex4(data, i+1)
		if !ok {
			return invalidf("%s is not valid JSON: bad \\u escape", what)
		}
		i += 4
		switch {
		case r == 0:
			return invalidf("%s contains a NUL character (\\u0000)", what)
		case r >= 0xD800 && r < 0xDC00:
			if i+6 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
				if lo, ok := hex4(data, i+3); ok && lo >= 0xDC00 && lo < 0xE000 {
					i += 6
					continue
				}
			}
			return invalidf("%s contains an unpaired UTF-16 surrogate escape", what)
		case r >= 0xDC00 && r < 0xE000:
			return invalidf("%s contains an unpaired UTF-16 surrogate escape", what)
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// compactJSON returns data without insignificant whitespace. data must be valid JSON.
func compactJSON(data []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return json.RawMessage(bytes.Clone(data))
	}
	return json.RawMessage(b.Bytes())
}
