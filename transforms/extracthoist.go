package transforms

import (
	"errors"

	"github.com/spur-connect/spur/connect"
)

const extractPurpose = "field extraction"

func extractFieldSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "field", Type: connect.TypeString, Required: true, Importance: connect.Medium,
			Doc: "Field name to extract (a path with field.syntax.version=V2)."},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type extractField struct {
	key         bool
	path        fieldPath
	replaceNull bool
}

func newExtractField(cfg connect.Config, key bool) (connect.Transformation, error) {
	p, err := parsePath(cfg.String("field"), syntaxV2Enabled(cfg))
	if err != nil {
		return nil, connect.KeyError{Key: "field", Message: err.Error()}
	}
	return &extractField{key: key, path: p, replaceNull: cfg.Bool(replaceNullKey)}, nil
}

func (t *extractField) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.Schema == nil {
		if d.IsNull() {
			return r, nil
		}
		v, err := d.Value()
		if err != nil {
			return nil, err
		}
		m, err := requireMap(v, extractPurpose)
		if err != nil {
			return nil, err
		}
		out, err := t.path.lookup(m)
		if err != nil {
			return nil, err
		}
		d.Set(out)
		return r, nil
	}
	fs := schemaAt(d.Schema, t.path.steps)
	if d.Schema.Type != typeStruct || fs == nil {
		return nil, errors.New("Unknown field: " + t.path.text)
	}
	schema := named(fs, "")
	if d.IsNull() {
		d.Set(nil)
		d.Schema = schema
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	m, err := requireStruct(v, d.Schema, extractPurpose)
	if err != nil {
		return nil, err
	}
	out, _ := t.path.get(m)
	if out == nil && t.replaceNull && fs.Default != nil {
		out = deepCopy(fs.Default)
	}
	d.Set(out)
	d.Schema = schema
	return r, nil
}

func hoistFieldSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "field", Type: connect.TypeString, Required: true, Importance: connect.Medium,
			Doc: "Field name for the single field that will be created in the resulting Struct or Map."},
	)
}

type hoistField struct {
	key   bool
	field string
	cache schemaCache
}

func newHoistField(cfg connect.Config, key bool) (connect.Transformation, error) {
	return &hoistField{key: key, field: cfg.String("field")}, nil
}

func (t *hoistField) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	d.Set(map[string]any{t.field: v})
	if d.Schema != nil {
		d.Schema, _ = t.cache.get(d.Schema, func(s *connect.Schema) (*connect.Schema, error) {
			return &connect.Schema{Type: typeStruct, Fields: []*connect.Schema{named(s, t.field)}}, nil
		})
	}
	return r, nil
}
