package transforms

import (
	"errors"

	"github.com/spur-connect/spur/connect"
)

const valueToKeyPurpose = "copying fields from value to key"

func valueToKeySpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High, Validate: nonEmptyList,
			Doc: "Field names on the record value to extract as the record key (paths with field.syntax.version=V2; the key keeps their nesting)."},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type valueToKey struct {
	paths       []fieldPath
	trie        *pathTrie
	replaceNull bool
	cache       schemaCache
}

func newValueToKey(cfg connect.Config) (connect.Transformation, error) {
	paths, err := parsePaths(cfg.List("fields"), syntaxV2Enabled(cfg))
	if err != nil {
		return nil, connect.KeyError{Key: "fields", Message: err.Error()}
	}
	return &valueToKey{paths: paths, trie: newPathTrie(paths), replaceNull: cfg.Bool(replaceNullKey)}, nil
}

func (t *valueToKey) Apply(r *connect.Record) (*connect.Record, error) {
	v, err := r.Value.Value()
	if err != nil {
		return nil, err
	}
	key := map[string]any{}
	if r.Value.Schema == nil {
		m, err := requireMap(v, valueToKeyPurpose)
		if err != nil {
			return nil, err
		}
		for _, p := range t.paths {
			fv, _ := p.get(m) // absent: null
			parent, err := p.makeParent(key)
			if err != nil {
				return nil, err
			}
			parent[p.last()] = deepCopy(fv)
		}
		r.Key.Set(key)
		r.Key.Schema = nil
		return r, nil
	}
	m, err := requireStruct(v, r.Value.Schema, valueToKeyPurpose)
	if err != nil {
		return nil, err
	}
	schema, err := t.cache.get(r.Value.Schema, t.keySchema)
	if err != nil {
		return nil, err
	}
	if t.replaceNull {
		withDefaults(m, r.Value.Schema)
	}
	for _, p := range t.paths {
		fv, _ := p.get(m)
		parent, err := p.makeParent(key)
		if err != nil {
			return nil, err
		}
		parent[p.last()] = deepCopy(fv)
	}
	r.Key.Set(key)
	r.Key.Schema = schema
	return r, nil
}

// keySchema builds the key struct from the value schema: the listed fields,
// in the order listed, nested paths as nested structs.
func (t *valueToKey) keySchema(vs *connect.Schema) (*connect.Schema, error) {
	key := &connect.Schema{Type: typeStruct}
	built := map[*connect.Schema]bool{key: true} // structs made here, safe to append to
next:
	for _, p := range t.paths {
		fs := schemaAt(vs, p.steps)
		if fs == nil {
			return nil, errors.New("Field does not exist: " + p.text)
		}
		parent := key
		for i, step := range p.parents() {
			j := fieldIndex(parent, step)
			if j < 0 {
				src := schemaAt(vs, p.steps[:i+1])
				parent.Fields = append(parent.Fields, &connect.Schema{Type: typeStruct, Optional: src.Optional, Name: src.Name, Field: step})
				j = len(parent.Fields) - 1
				built[parent.Fields[j]] = true
			}
			if !built[parent.Fields[j]] { // a whole parent is already in the key
				continue next
			}
			parent = parent.Fields[j]
		}
		if j := fieldIndex(parent, p.last()); j >= 0 {
			parent.Fields[j] = named(fs, p.last()) // the whole field replaces a partial one
		} else {
			parent.Fields = append(parent.Fields, named(fs, p.last()))
		}
	}
	return key, nil
}
