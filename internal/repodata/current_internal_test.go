package repodata

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSetKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{}`, `{"k":1}`},
		{`{"a":1}`, `{"a":1,"k":1}`},
		{`{"z":1}`, `{"k":1,"z":1}`},
		{`{"a":[1,{"k":2}],"b":"}","z":{"a":1}}`, `{"a":[1,{"k":2}],"b":"}","k":1,"z":{"a":1}}`},
		{`{"a":1,"k":"old","z":2}`, `{"a":1,"k":1,"z":2}`},
		{`{ "a" : 1 , "z" : 2 }`, `{ "a" : 1 , "k":1,"z" : 2 }`},
		{`[1]`, `[1]`}, // not an object: left alone
	} {
		got := setKey(json.RawMessage(c.in), "k", json.RawMessage("1"))
		if string(got) != c.want {
			t.Errorf("setKey(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// FuzzSetKey: for any JSON object, setKey gives valid JSON with the same members and the key
// set.
func FuzzSetKey(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,{"k":"\"}"}],"z":null}`, `{"k":1}`, ` { "b" : "x\\" } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want map[string]any
		if json.Unmarshal([]byte(in), &want) != nil || want == nil || !utf8.ValidString(in) {
			return // records are valid UTF-8 (uploads refuse anything else)
		}
		if _, dup := duplicateKey(in); dup {
			return // the last of duplicate keys wins in a decoder; setKey may set the first
		}
		// topLevelValue finds each member as a decoder does.
		for k, v := range want {
			raw, ok := topLevelValue([]byte(in), k)
			var got any
			if !ok || json.Unmarshal(raw, &got) != nil || !reflect.DeepEqual(got, v) {
				t.Fatalf("topLevelValue(%s, %q) = %s, %v", in, k, raw, ok)
			}
		}
		if _, ok := topLevelValue([]byte(in), "no such key\x00"); ok {
			t.Fatalf("topLevelValue(%s) found a key that is not there", in)
		}
		want["legacy_bz2_md5"] = "x"
		got := setKey(json.RawMessage(in), "legacy_bz2_md5", json.RawMessage(`"x"`))
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatalf("setKey(%s) = %s: %v", in, got, err)
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("setKey(%s) = %s", in, got)
		}
	})
}

// duplicateKey reports whether an object has a key twice at its top level.
func duplicateKey(in string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(in))
	dec.Token()
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := t.(string)
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return "", false
		}
	}
	return "", false
}

func TestFindFile(t *testing.T) {
	var recs []Record
	for _, fn := range []string{"a-1-0.conda", "a-1-0.dx-2-0.conda", "a-1-0.tar.bz2", "a-1-0x.conda", "a-1-0x.tar.bz2", "b-1-0.conda"} {
		recs = append(recs, Record{Filename: fn})
	}
	for _, c := range []struct {
		stem, ext string
		want      int
	}{
		{"a-1-0", ".tar.bz2", 2}, {"a-1-0", ".conda", 0}, {"a-1-0x", ".tar.bz2", 4}, {"b-1-0", ".conda", 5},
		{"a-1", ".conda", -1}, {"a-1-0.dx-2-0", ".tar.bz2", -1}, {"b-1-0", ".tar.bz2", -1}, {"", ".conda", -1},
	} {
		i, ok := findFile(recs, c.stem, c.ext)
		if !ok {
			i = -1
		}
		if i != c.want {
			t.Errorf("findFile(%q, %q) = %d, want %d", c.stem, c.ext, i, c.want)
		}
	}
}
