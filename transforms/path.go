package transforms

import (
	"fmt"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// Field path syntax, as Kafka's KIP-821 defines it for ExtractField and Spur
// extends to every field-level transform.
const (
	syntaxKey = "field.syntax.version"
	syntaxV1  = "V1"
	syntaxV2  = "V2"
)

var syntaxConfigKey = connect.ConfigKey{
	Name: syntaxKey, Type: connect.TypeString, Default: syntaxV1, Importance: connect.High,
	Doc: "Field path syntax. V1: a field name is a top-level name, dots included. " +
		"V2: dotted paths into nested objects (context.ip); wrap a name containing dots in backticks " +
		"(`foo.bar`.baz), and escape a backtick inside backticks with a backslash.",
	Validate:    connect.OneOf(syntaxV1, syntaxV2),
	Recommended: []string{syntaxV1, syntaxV2},
}

func syntaxV2Enabled(cfg connect.Config) bool {
	return strings.EqualFold(cfg.String(syntaxKey), syntaxV2)
}

// fieldPath is a parsed field path: one step in syntax V1, one or more in V2.
type fieldPath struct {
	text  string
	steps []string
}

// parsePath parses a path as Kafka's SingleFieldPath does.
func parsePath(text string, v2 bool) (fieldPath, error) {
	if !v2 {
		return fieldPath{text: text, steps: []string{text}}, nil
	}
	steps, err := splitPathV2(text)
	if err != nil {
		return fieldPath{}, err
	}
	if len(steps) == 0 {
		steps = []string{""}
	}
	return fieldPath{text: text, steps: steps}, nil
}

// splitPathV2 is a port of Kafka's SingleFieldPath.buildFieldPathV2: steps
// are separated by dots; a step starting with a backtick runs to the next
// backtick that is followed by a dot or ends the path, and a backslash
// before such a backtick keeps it in the name.
func splitPathV2(path string) ([]string, error) {
	var steps []string
	idx := 0
	for idx >= 0 && idx < len(path) {
		if path[idx] != '`' {
			start := idx
			dot := strings.IndexByte(path[idx:], '.')
			if dot >= 0 {
				idx += dot
				steps = append(steps, path[start:idx])
				idx++
			} else {
				steps = append(steps, path[start:])
				idx = -1
			}
			continue
		}
		backtickAt := idx
		idx++
		start := idx
		var field strings.Builder
		for {
			next := -1
			if idx < len(path) {
				next = strings.IndexByte(path[idx:], '`')
			}
			if next < 0 {
				return nil, incompleteBacktick(path, backtickAt)
			}
			idx += next
			escaped := path[idx-1] == '\\'
			if idx >= len(path)-1 { // the backtick ends the path
				if escaped {
					return nil, incompleteBacktick(path, backtickAt)
				}
				field.WriteString(path[start:idx])
				steps = append(steps, field.String())
				idx++
				break
			}
			if path[idx+1] != '.' { // not followed by a dot: part of the name
				idx++
				continue
			}
			if escaped { // \` followed by a dot: a backtick in the name
				field.WriteString(path[start : idx-1])
				field.WriteByte('`')
				idx++
				start = idx
				continue
			}
			field.WriteString(path[start:idx])
			steps = append(steps, field.String())
			idx += 2 // the backtick and the dot after it
			break
		}
	}
	if path != "" && path[len(path)-1] == '.' {
		steps = append(steps, "")
	}
	return steps, nil
}

func incompleteBacktick(path string, at int) error {
	return fmt.Errorf("Incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it", path, at)
}

// parsePaths parses a list of paths, naming the offending one.
func parsePaths(texts []string, v2 bool) ([]fieldPath, error) {
	out := make([]fieldPath, 0, len(texts))
	for _, t := range texts {
		p, err := parsePath(t, v2)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (p fieldPath) last() string      { return p.steps[len(p.steps)-1] }
func (p fieldPath) parents() []string { return p.steps[:len(p.steps)-1] }
func (p fieldPath) String() string    { return p.text }

// parent returns the object holding the path's last step, or nil when a step
// before it is absent or not an object.
func (p fieldPath) parent(m map[string]any) map[string]any {
	cur := m
	for _, s := range p.parents() {
		next, ok := cur[s].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// get returns the value at the path and whether it is there.
func (p fieldPath) get(m map[string]any) (any, bool) {
	parent := p.parent(m)
	if parent == nil {
		return nil, false
	}
	v, ok := parent[p.last()]
	return v, ok
}

// lookup is Kafka's SingleFieldPath.valueFrom: an absent or null step gives
// null, a step that holds something other than an object is an error.
func (p fieldPath) lookup(m map[string]any) (any, error) {
	cur := m
	for _, s := range p.parents() {
		switch next := cur[s].(type) {
		case nil:
			return nil, nil
		case map[string]any:
			cur = next
		default:
			return nil, fmt.Errorf("Only Map objects supported in absence of schema for [nested field access], found: %s", typeName(next))
		}
	}
	return cur[p.last()], nil
}

// makeParent is parent that creates absent or null intermediate objects; a
// step holding something other than an object is an error.
func (p fieldPath) makeParent(m map[string]any) (map[string]any, error) {
	cur := m
	for i, s := range p.parents() {
		switch next := cur[s].(type) {
		case nil:
			child := map[string]any{}
			cur[s] = child
			cur = child
		case map[string]any:
			cur = next
		default:
			return nil, fmt.Errorf("cannot set field %q: %q holds %s, not an object", p.text, strings.Join(p.steps[:i+1], "."), typeName(next))
		}
	}
	return cur, nil
}

// pathTrie holds a set of paths, for include lists and nested keys.
type pathTrie struct {
	leaf     bool // a path ends here: the whole subtree is selected
	children map[string]*pathTrie
}

func newPathTrie(paths []fieldPath) *pathTrie {
	root := &pathTrie{}
	for _, p := range paths {
		n := root
		for _, s := range p.steps {
			if n.children == nil {
				n.children = map[string]*pathTrie{}
			}
			c := n.children[s]
			if c == nil {
				c = &pathTrie{}
				n.children[s] = c
			}
			n = c
		}
		n.leaf = true
	}
	return root
}
