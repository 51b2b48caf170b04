package transforms

import (
	"errors"
	"regexp"
	"strings"

	"github.com/spur-connect/spur/connect"
)

const replacePurpose = "field replacement"

func replaceFieldSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "exclude", Type: connect.TypeList, Importance: connect.Medium,
			Doc: "Fields to exclude. This takes precedence over the fields to include. With field.syntax.version=V2 these are paths: drop a nested field with parent.child."},
		connect.ConfigKey{Name: "exclude.regex", Importance: connect.Medium, Validate: connect.ValidRegex,
			Doc: "Spur extension: drop every field whose whole name matches this regular expression (RE2), at any depth of nested objects and arrays, e.g. (?i).*(email|phone).* to strip PII wherever it appears."},
		connect.ConfigKey{Name: "blacklist", Type: connect.TypeList, Importance: connect.Low,
			Doc: "Deprecated. Use exclude instead."},
		connect.ConfigKey{Name: "include", Type: connect.TypeList, Importance: connect.Medium,
			Doc: "Fields to include. If specified, only these fields will be used. With V2 paths, a nested path keeps its parents with only the listed children."},
		connect.ConfigKey{Name: "whitelist", Type: connect.TypeList, Importance: connect.Low,
			Doc: "Deprecated. Use include instead."},
		connect.ConfigKey{Name: "renames", Type: connect.TypeList, Importance: connect.Medium,
			Doc: "Field rename mappings: list of colon-delimited pairs, e.g. foo:bar,abc:xyz. With V2 the left side is a path and the right side the new name of its last step.",
			Validate: func(v any) error {
				_, err := parseRenames(v.([]string))
				return err
			}},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type renamePair struct{ from, to string }

// parseRenames splits old:new pairs the way Kafka does (String.split(":"),
// which drops trailing empty parts).
func parseRenames(list []string) ([]renamePair, error) {
	var out []renamePair
	for _, m := range list {
		parts := javaSplit(m, ":")
		if len(parts) != 2 {
			return nil, errors.New("Invalid rename mapping: " + m)
		}
		out = append(out, renamePair{parts[0], parts[1]})
	}
	return out, nil
}

// javaSplit is Java's String.split for a literal separator.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// renameGroup holds the renames of fields of one parent object, applied at
// once so that a:b,b:a swaps.
type renameGroup struct {
	parent fieldPath // its steps are the parent; last() is unused
	names  map[string]string
}

type replaceField struct {
	key         bool
	include     *pathTrie // nil: keep everything not excluded
	exclude     []fieldPath
	excludeRe   *regexp.Regexp // exclude.regex: names dropped at any depth
	renames     []renameGroup
	replaceNull bool
	cache       schemaCache
}

func newReplaceField(cfg connect.Config, key bool) (connect.Transformation, error) {
	v2 := syntaxV2Enabled(cfg)
	exclude, include := cfg.List("exclude"), cfg.List("include")
	if !cfg.IsSet("exclude") {
		exclude = cfg.List("blacklist")
	}
	if !cfg.IsSet("include") {
		include = cfg.List("whitelist")
	}
	t := &replaceField{key: key, replaceNull: cfg.Bool(replaceNullKey)}
	var err error
	if t.exclude, err = parsePaths(exclude, v2); err != nil {
		return nil, connect.KeyError{Key: "exclude", Message: err.Error()}
	}
	inc, err := parsePaths(include, v2)
	if err != nil {
		return nil, connect.KeyError{Key: "include", Message: err.Error()}
	}
	if len(inc) > 0 {
		t.include = newPathTrie(inc)
	}
	if re := cfg.String("exclude.regex"); re != "" {
		if t.excludeRe, err = regexp.Compile(`^(?:` + re + `)$`); err != nil {
			return nil, connect.KeyError{Key: "exclude.regex", Message: err.Error()}
		}
	}
	pairs, _ := parseRenames(cfg.List("renames")) // validated by the spec
	for _, rp := range pairs {
		from, err := parsePath(rp.from, v2)
		if err != nil {
			return nil, connect.KeyError{Key: "renames", Message: err.Error()}
		}
		t.addRename(from, rp.to)
	}
	return t, nil
}

func (t *replaceField) addRename(from fieldPath, to string) {
	key := strings.Join(from.parents(), "\x00")
	for i := range t.renames {
		if strings.Join(t.renames[i].parent.parents(), "\x00") == key && len(t.renames[i].parent.steps) == len(from.steps) {
			t.renames[i].names[from.last()] = to
			return
		}
	}
	t.renames = append(t.renames, renameGroup{parent: from, names: map[string]string{from.last(): to}})
}

func (t *replaceField) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.IsNull() {
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if d.Schema == nil {
		m, err := requireMap(v, replacePurpose)
		if err != nil {
			return nil, err
		}
		t.edit(m)
		d.Set(m)
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, replacePurpose)
	if err != nil {
		return nil, err
	}
	schema, err := t.cache.get(d.Schema, t.updateSchema)
	if err != nil {
		return nil, err
	}
	if t.replaceNull {
		withDefaults(m, d.Schema)
	}
	t.edit(m)
	d.Set(m)
	d.Schema = schema
	return r, nil
}

// edit filters and renames the fields of m in place.
func (t *replaceField) edit(m map[string]any) {
	if t.include != nil {
		pruneMap(m, t.include)
	}
	for _, p := range t.exclude {
		if parent := p.parent(m); parent != nil {
			delete(parent, p.last())
		}
	}
	if t.excludeRe != nil {
		dropMatching(m, t.excludeRe)
	}
	for _, g := range t.renames {
		parent := g.parent.parent(m)
		if parent == nil {
			continue
		}
		if len(g.names) == 1 { // the common case, without a temporary map
			for from, to := range g.names {
				if v, ok := parent[from]; ok {
					delete(parent, from)
					parent[to] = v
				}
			}
			continue
		}
		moved := make(map[string]any, len(g.names))
		for from, to := range g.names {
			if v, ok := parent[from]; ok {
				delete(parent, from)
				moved[to] = v
			}
		}
		for to, v := range moved {
			parent[to] = v
		}
	}
}

// dropMatching deletes, at every depth, the fields whose name matches re.
func dropMatching(v any, re *regexp.Regexp) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if re.MatchString(k) {
				delete(t, k)
				continue
			}
			dropMatching(x, re)
		}
	case []any:
		for _, x := range t {
			dropMatching(x, re)
		}
	}
}

// dropMatchingSchema is dropMatching for struct schemas.
func dropMatchingSchema(s *connect.Schema, re *regexp.Regexp) *connect.Schema {
	switch s.Type {
	case typeStruct:
		c := cloneStruct(s)
		c.Fields = c.Fields[:0]
		for _, f := range s.Fields {
			if !re.MatchString(f.Field) {
				c.Fields = append(c.Fields, dropMatchingSchema(f, re))
			}
		}
		return c
	case "array":
		if s.Items != nil {
			c := *s
			c.Items = dropMatchingSchema(s.Items, re)
			return &c
		}
	}
	return s
}

// pruneMap keeps only the fields of m selected by the trie.
func pruneMap(m map[string]any, n *pathTrie) {
	for k, v := range m {
		c := n.children[k]
		switch {
		case c == nil:
			delete(m, k)
		case c.leaf:
		default:
			if sub, ok := v.(map[string]any); ok {
				pruneMap(sub, c)
			} else {
				delete(m, k)
			}
		}
	}
}

func pruneSchema(s *connect.Schema, n *pathTrie) *connect.Schema {
	c := cloneStruct(s)
	c.Fields = c.Fields[:0]
	for _, f := range s.Fields {
		child := n.children[f.Field]
		switch {
		case child == nil:
		case child.leaf:
			c.Fields = append(c.Fields, f)
		case f.Type == typeStruct:
			c.Fields = append(c.Fields, pruneSchema(f, child))
		}
	}
	return c
}

func (t *replaceField) updateSchema(s *connect.Schema) (*connect.Schema, error) {
	if t.include != nil {
		s = pruneSchema(s, t.include)
	}
	if t.excludeRe != nil {
		s = dropMatchingSchema(s, t.excludeRe)
	}
	for _, p := range t.exclude {
		out, err := editStruct(s, p.parents(), func(st *connect.Schema) error {
			if i := fieldIndex(st, p.last()); i >= 0 {
				st.Fields = append(st.Fields[:i], st.Fields[i+1:]...)
			}
			return nil
		})
		if err == nil {
			s = out
		} else if !errors.Is(err, errNoField) {
			return nil, err
		}
	}
	for _, g := range t.renames {
		out, err := editStruct(s, g.parent.parents(), func(st *connect.Schema) error {
			seen := make(map[string]bool, len(st.Fields))
			for i, f := range st.Fields {
				if to, ok := g.names[f.Field]; ok {
					st.Fields[i] = named(f, to)
				}
			}
			for _, f := range st.Fields {
				if seen[f.Field] {
					return errors.New("Cannot create field because of field name duplication " + f.Field)
				}
				seen[f.Field] = true
			}
			return nil
		})
		if err == nil {
			s = out
		} else if !errors.Is(err, errNoField) {
			return nil, err
		}
	}
	return s, nil
}
