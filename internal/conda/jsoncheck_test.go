package conda

import (
	"encoding/json"
	"testing"
)

// FuzzCheckJSON: whatever checkJSON accepts must be valid JSON that encoding/json decodes to
// the same shape, since the rest of the package relies on that.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `{"a":1,"a":2}`, `[1]`, `{"\ud800":1}`,
		`{"a":"\u0000"}`, `{"a":"\ud83d\ude00"}`, "{\"a\":\"\xff\"}", `{} {}`, `{"a":1e999}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	lim := DefaultLimits()
	lim.MaxJSONDepth, lim.MaxJSONList, lim.MaxJSONString = 8, 16, 64
	f.Fuzz(func(t *testing.T, data []byte, allowArray bool) {
		if err := checkJSON("x.json", data, lim, allowArray); err != nil {
			if _, ok := err.(*InvalidPackageError); !ok {
				t.Fatalf("error %v is not an *InvalidPackageError", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("accepted %q but Unmarshal fails: %v", data, err)
		}
		switch v.(type) {
		case map[string]any:
		case []any:
			if !allowArray {
				t.Fatalf("accepted a top-level list: %q", data)
			}
		default:
			t.Fatalf("accepted a scalar: %q", data)
		}
		if c := compactJSON(data); !json.Valid(c) {
			t.Fatalf("compactJSON broke %q", data)
		}
	})
}

func TestCheckJSON(t *testing.T) {
	lim := DefaultLimits()
	for _, tt := range []struct {
		in   string
		want string // "" = accepted
	}{
		{`{"a":"\ud83d\ude00"}`, ""},
		{`{"a":"\\u0000"}`, ""}, // an escaped backslash followed by "u0000" is just text
		{`{"a":"\ud83d"}`, "x.json contains an unpaired UTF-16 surrogate escape"},
		{`{"a":"\ude00"}`, "x.json contains an unpaired UTF-16 surrogate escape"},
		{`{"a":"\ud83d\u0041"}`, "x.json contains an unpaired UTF-16 surrogate escape"},
		{`{"a":{"b":1},"b":{"b":2}}`, ""}, // the same key in different objects is fine
		{`{"a":[{"k":1},{"k":2}]}`, ""},
		{`{"a":{"k":1,"k":2}}`, `x.json has the key "k" more than once`},
		{` `, "x.json is empty"},
	} {
		err := checkJSON("x.json", []byte(tt.in), lim, false)
		got := ""
		if err != nil {
			got = err.(*InvalidPackageError).Reason
		}
		if got != tt.want {
			t.Errorf("checkJSON(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
