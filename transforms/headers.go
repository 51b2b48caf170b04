package transforms

import (
	"encoding/base64"
	"errors"

	"github.com/spur-connect/spur/connect"
)

type filter struct{}

func newFilter(connect.Config) (connect.Transformation, error) { return filter{}, nil }

// Apply drops the record.
func (filter) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }

func insertHeaderSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "header", Type: connect.TypeString, Required: true, Importance: connect.High,
			Doc: "The name of the header."},
		connect.ConfigKey{Name: "value.literal", Type: connect.TypeString, Required: true, Importance: connect.High,
			Doc: "The literal value that is to be set as the header value on all records (as its UTF-8 bytes)."},
	)
}

type insertHeader struct {
	name  string
	value []byte
}

func newInsertHeader(cfg connect.Config) (connect.Transformation, error) {
	return &insertHeader{name: cfg.String("header"), value: []byte(cfg.String("value.literal"))}, nil
}

func (t *insertHeader) Apply(r *connect.Record) (*connect.Record, error) {
	r.Headers.Add(t.name, t.value)
	return r, nil
}

func dropHeadersSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "headers", Type: connect.TypeList, Required: true, Importance: connect.High, Validate: nonEmptyList,
			Doc: "The name of the headers to be removed."},
	)
}

type dropHeaders struct{ names []string }

func newDropHeaders(cfg connect.Config) (connect.Transformation, error) {
	return &dropHeaders{names: cfg.List("headers")}, nil
}

func (t *dropHeaders) Apply(r *connect.Record) (*connect.Record, error) {
	out := r.Headers[:0]
	for _, h := range r.Headers {
		if !contains(t.names, h.Key) {
			out = append(out, h)
		}
	}
	clear(r.Headers[len(out):]) // let dropped values be collected
	r.Headers = out
	return r, nil
}

func headerFromSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High, Validate: nonEmptyList,
			Doc: "Field names in the record whose values are to be copied or moved to headers (paths with field.syntax.version=V2)."},
		connect.ConfigKey{Name: "headers", Type: connect.TypeList, Required: true, Importance: connect.High, Validate: nonEmptyList,
			Doc: "Header names, in the same order as the field names listed in the fields configuration property."},
		connect.ConfigKey{Name: "operation", Type: connect.TypeString, Required: true, Importance: connect.High,
			Validate: validString("move", "copy"), Recommended: []string{"move", "copy"},
			Doc: "Either move if the fields are to be moved to the headers (removed from the key/value), " +
				"or copy if the fields are to be copied to the headers (retained in the key/value)."},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type headerFrom struct {
	key         bool
	paths       []fieldPath
	headers     []string
	move        bool
	replaceNull bool
	cache       schemaCache
}

func newHeaderFrom(cfg connect.Config, key bool) (connect.Transformation, error) {
	paths, err := parsePaths(cfg.List("fields"), syntaxV2Enabled(cfg))
	if err != nil {
		return nil, connect.KeyError{Key: "fields", Message: err.Error()}
	}
	headers := cfg.List("headers")
	if len(headers) != len(paths) {
		return nil, connect.KeyError{Key: "headers", Message: "'fields' config must have the same number of elements as 'headers' config."}
	}
	return &headerFrom{key: key, paths: paths, headers: headers, move: cfg.String("operation") == "move", replaceNull: cfg.Bool(replaceNullKey)}, nil
}

func (t *headerFrom) purpose() string {
	if t.move {
		return "header move"
	}
	return "header copy"
}

func (t *headerFrom) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if d.Schema == nil {
		if m, err = requireMap(v, t.purpose()); err != nil {
			return nil, err
		}
	} else if m, err = requireStruct(v, d.Schema, t.purpose()); err != nil {
		return nil, err
	} else if t.replaceNull {
		withDefaults(m, d.Schema)
	}
	// Render every header before changing anything, so a failure leaves the record as it was.
	values := make([][]byte, len(t.paths))
	for i, p := range t.paths {
		fv, _ := p.get(m)
		if fs := schemaAt(d.Schema, p.steps); fs != nil && fs.Type == typeBytes && fs.Name == "" {
			if s, ok := fv.(string); ok { // bytes travel base64-encoded in JSON: the header gets the bytes
				if values[i], err = base64.StdEncoding.DecodeString(s); err != nil {
					return nil, errors.New("invalid base64 in bytes field " + p.text)
				}
				continue
			}
		}
		if values[i], err = headerBytes(fv); err != nil {
			return nil, err
		}
	}
	if t.move {
		schema := d.Schema
		if schema != nil {
			if schema, err = t.cache.get(d.Schema, t.moveSchema); err != nil {
				return nil, err
			}
		}
		for _, p := range t.paths {
			if parent := p.parent(m); parent != nil {
				delete(parent, p.last())
			}
		}
		d.Set(m)
		d.Schema = schema
	}
	for i, h := range t.headers {
		r.Headers.Add(h, values[i])
	}
	return r, nil
}

func (t *headerFrom) moveSchema(s *connect.Schema) (*connect.Schema, error) {
	for _, p := range t.paths {
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
	return s, nil
}

func setSchemaMetadataSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "schema.name", Type: connect.TypeString, Importance: connect.High, Doc: "Schema name to set."},
		connect.ConfigKey{Name: "schema.version", Type: connect.TypeInt, Importance: connect.High, Doc: "Schema version to set."},
	)
}

type setSchemaMetadata struct {
	key     bool
	name    *string
	version *int
}

func newSetSchemaMetadata(cfg connect.Config, key bool) (connect.Transformation, error) {
	t := &setSchemaMetadata{key: key}
	if cfg.IsSet("schema.name") {
		n := cfg.String("schema.name")
		t.name = &n
	}
	if cfg.IsSet("schema.version") {
		t.version = intPtr(int(cfg.Int("schema.version")))
	}
	if t.name == nil && t.version == nil {
		return nil, connect.KeyError{Key: "schema.name", Message: "Neither schema name nor version configured"}
	}
	return t, nil
}

// Apply changes only the schema; the value is never decoded.
func (t *setSchemaMetadata) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.Schema == nil {
		if d.IsNull() {
			return r, nil
		}
		return nil, errors.New("Schema required for [updating schema metadata]")
	}
	s := *d.Schema
	if t.name != nil {
		s.Name = *t.name
	}
	if t.version != nil {
		s.Version = intPtr(*t.version)
	}
	d.Schema = &s
	return r, nil
}
