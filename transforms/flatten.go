package transforms

import (
	"fmt"
	"slices"

	"github.com/spur-connect/spur/connect"
)

const flattenPurpose = "flattening"

func flattenSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "delimiter", Type: connect.TypeString, Default: ".", Importance: connect.Medium,
			Doc: "Delimiter to insert between field names from the input record when generating field names for the output record."},
	)
}

type flatten struct {
	key   bool
	delim string
	cache schemaCache
}

func newFlatten(cfg connect.Config, key bool) (connect.Transformation, error) {
	return &flatten{key: key, delim: cfg.String("delimiter")}, nil
}

func (t *flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delim + field
}

func (t *flatten) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.IsNull() {
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if d.Schema == nil {
		m, err := requireMap(v, flattenPurpose)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		t.flattenMap(out, "", m)
		d.Set(out)
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, flattenPurpose)
	if err != nil {
		return nil, err
	}
	schema, err := t.cache.get(d.Schema, func(s *connect.Schema) (*connect.Schema, error) {
		out := cloneStruct(s)
		out.Fields = nil
		if err := t.flattenSchema(out, "", s, s.Optional, nil); err != nil {
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(schema.Fields))
	t.flattenStruct(out, "", m, d.Schema)
	d.Set(out)
	d.Schema = schema
	return r, nil
}

// flattenMap flattens nested objects; arrays, primitives and nulls are kept
// as they are. Keys are visited in sorted order so that a name clash
// ("a.b" next to {"a":{"b":..}}) resolves the same way every time.
func (t *flatten) flattenMap(out map[string]any, prefix string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := t.name(prefix, k)
		if sub, ok := m[k].(map[string]any); ok {
			t.flattenMap(out, name, sub)
			continue
		}
		out[name] = m[k]
	}
}

// flattenSchema adds the flattened fields of struct s to out. A field is
// optional if any ancestor is; a field without a default takes its
// ancestors' default, as in Kafka.
func (t *flatten) flattenSchema(out *connect.Schema, prefix string, s *connect.Schema, optional bool, parentDefault map[string]any) error {
	for _, f := range s.Fields {
		name := t.name(prefix, f.Field)
		def := f.Default
		if def == nil && parentDefault != nil {
			def = parentDefault[f.Field]
		}
		opt := optional || f.Optional
		if f.Type == typeStruct {
			sub, _ := def.(map[string]any)
			if err := t.flattenSchema(out, name, f, opt, sub); err != nil {
				return err
			}
			continue
		}
		c := named(f, name)
		c.Optional = opt
		c.Default = def
		if fieldIndex(out, name) >= 0 {
			return fmt.Errorf("Cannot create field because of field name duplication %s", name)
		}
		out.Fields = append(out.Fields, c)
	}
	return nil
}

func (t *flatten) flattenStruct(out map[string]any, prefix string, m map[string]any, s *connect.Schema) {
	for _, f := range s.Fields {
		name := t.name(prefix, f.Field)
		v := m[f.Field]
		if f.Type == typeStruct {
			sub, _ := v.(map[string]any)
			if sub == nil {
				sub = map[string]any{} // a null struct: its fields are null
			}
			t.flattenStruct(out, name, sub, f)
			continue
		}
		out[name] = v
	}
}
