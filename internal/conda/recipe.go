package conda

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// recipeSourceKeys are the keys of a recipe's source that reach channeldata.json: conda-index
// adds every source key as "source_<key>", and copies source_url and source_git_url.
var recipeSourceKeys = []string{"git_url", "url"}

// emptyRecipe is RecipeSource's answer when the recipe gives nothing.
var emptyRecipe = json.RawMessage(`{}`)

// RecipeSource reads a rendered recipe (info/recipe/meta.yaml, as conda-build writes it into
// a package) the way conda-index does, and returns what channeldata.json takes from it: the
// url and git_url of its source, as {"git_url":…,"url":…} with the keys the source has
// (their values as the YAML gives them, a list of mirrors included). It returns {} for no
// recipe, one that is not a single YAML document of a mapping or that has a key twice
// (conda-index reads those as empty), and a source that is a list of sources (conda-index
// takes nothing from those).
//
// The input is untrusted (ReadPackage caps its size). It is parsed into nodes, never into
// values: aliases are not expanded, except within the two values taken, under a budget, so a
// small "billion laughs" document costs no more than its size.
func RecipeSource(data []byte) json.RawMessage {
	if len(data) == 0 {
		return emptyRecipe
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return emptyRecipe
	}
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return emptyRecipe // a second document: conda's YAML loader refuses the file
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || hasDuplicateKey(doc.Content[0]) {
		return emptyRecipe
	}
	src := lookup(deref(doc.Content[0]), "source", 0)
	if src == nil || src.Kind != yaml.MappingNode {
		return emptyRecipe
	}
	out := map[string]any{}
	for _, k := range recipeSourceKeys {
		v := lookup(src, k, 0)
		if v == nil {
			continue
		}
		budget := maxValueNodes
		if jv, ok := nodeValue(v, &budget, 0); ok {
			out[k] = jv
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return emptyRecipe
	}
	return b
}

// maxValueNodes and maxValueDepth bound one value taken from a recipe (aliases expanded).
const (
	maxValueNodes = 10_000
	maxValueDepth = 32
)

// deref follows aliases (a chain of them is bounded by the document: an alias names an
// earlier anchor).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// lookup returns the value of key in the mapping m (nil if absent), looking into merged
// mappings ("<<: *base") as a YAML loader does when m does not have it itself.
func lookup(m *yaml.Node, key string, depth int) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode || depth > 10 {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge":
			merges = append(merges, v)
		case k.Kind == yaml.ScalarNode && k.Tag == "!!str" && k.Value == key:
			return v
		}
	}
	for _, v := range merges {
		v = deref(v)
		if v != nil && v.Kind == yaml.SequenceNode {
			for _, e := range v.Content {
				if found := lookup(deref(e), key, depth+1); found != nil {
					return found
				}
			}
		} else if found := lookup(v, key, depth+1); found != nil {
			return found
		}
	}
	return nil
}

// hasDuplicateKey reports whether any mapping of the document has a scalar key twice, which
// conda's YAML loader refuses. Aliases are not followed: each mapping is checked where it is
// written.
func hasDuplicateKey(n *yaml.Node) bool {
	stack := []*yaml.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.MappingNode {
			seen := make(map[[2]string]bool, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || (k.Value == "<<" && k.Tag == "!!merge") {
					continue
				}
				id := [2]string{k.Tag, k.Value}
				if seen[id] {
					return true
				}
				seen[id] = true
			}
		}
		stack = append(stack, n.Content...)
	}
	return false
}

// nodeValue turns a YAML node into a value encoding/json writes as conda-index's JSON would
// hold it; false for what JSON cannot hold (NaN, a timestamp, binary), deep nesting, or more
// than the budget of nodes.
func nodeValue(n *yaml.Node, budget *int, depth int) (any, bool) {
	if *budget--; *budget < 0 || depth > maxValueDepth {
		return nil, false
	}
	if n = deref(n); n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, false
		}
		return scalarValue(v)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, ok := nodeValue(e, budget, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, ok := nodeValue(n.Content[i], budget, depth+1)
			if !ok {
				return nil, false
			}
			ks, ok := jsonKey(k)
			if !ok || ks == "<<" {
				return nil, false // a complex key, or a merge: nothing a URL would hold
			}
			v, ok := nodeValue(n.Content[i+1], budget, depth+1)
			if !ok {
				return nil, false
			}
			out[ks] = v
		}
		return out, true
	}
	return nil, false
}

// jsonKey spells a mapping key as Python's json.dumps does; other keys fail there.
func jsonKey(k any) (string, bool) {
	switch k := k.(type) {
	case string:
		return k, true
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(k), true
	case int:
		return strconv.Itoa(k), true
	case int64:
		return strconv.FormatInt(k, 10), true
	case uint64:
		return strconv.FormatUint(k, 10), true
	case float64:
		return strconv.FormatFloat(k, 'g', -1, 64), true
	}
	return "", false
}

// scalarValue returns a decoded YAML scalar as encoding/json writes it; false for what JSON
// cannot hold (NaN, infinities, a timestamp, binary).
func scalarValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string, int, int64, uint64:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return nil, false
}
