package transforms

import (
	"errors"
	"fmt"
	"sync"

	"github.com/spur-connect/spur/connect"
)

// Schema type names as the JsonConverter writes them.
const (
	typeBoolean = "boolean"
	typeInt8    = "int8"
	typeInt16   = "int16"
	typeInt32   = "int32"
	typeInt64   = "int64"
	typeFloat32 = "float"
	typeFloat64 = "double"
	typeString  = "string"
	typeBytes   = "bytes"
	typeArray   = "array"
	typeMap     = "map"
	typeStruct  = "struct"
)

// Logical type names.
const (
	logicalDecimal   = "org.apache.kafka.connect.data.Decimal"
	logicalDate      = "org.apache.kafka.connect.data.Date"
	logicalTime      = "org.apache.kafka.connect.data.Time"
	logicalTimestamp = "org.apache.kafka.connect.data.Timestamp"
)

var errNoField = errors.New("field not found in schema")

func intPtr(n int) *int { return &n }

// primitive returns a schema of a plain type.
func primitive(typ string, optional bool) *connect.Schema {
	return &connect.Schema{Type: typ, Optional: optional}
}

// logical returns the schema of a logical type (version 1, as Kafka's).
func logical(name string, optional bool) *connect.Schema {
	typ := typeInt32
	if name == logicalTimestamp {
		typ = typeInt64
	}
	return &connect.Schema{Type: typ, Optional: optional, Name: name, Version: intPtr(1)}
}

// named returns a copy of s as the schema of field name.
func named(s *connect.Schema, name string) *connect.Schema {
	c := *s
	c.Field = name
	return &c
}

// cloneStruct copies a struct schema so its field list can change. The
// struct default is dropped: it would no longer match the fields (Kafka's
// copySchemaBasics drops it too). The optional flag is kept.
func cloneStruct(s *connect.Schema) *connect.Schema {
	c := *s
	c.Fields = append([]*connect.Schema(nil), s.Fields...)
	c.Default = nil
	return &c
}

func fieldIndex(s *connect.Schema, name string) int {
	for i, f := range s.Fields {
		if f.Field == name {
			return i
		}
	}
	return -1
}

// addField appends a field, failing like Kafka's SchemaBuilder on a duplicate.
func addField(s *connect.Schema, name string, fs *connect.Schema) error {
	if fieldIndex(s, name) >= 0 {
		return fmt.Errorf("Cannot create field because of field name duplication %s", name)
	}
	s.Fields = append(s.Fields, named(fs, name))
	return nil
}

// schemaAt returns the schema of the struct field at the steps, or nil.
func schemaAt(s *connect.Schema, steps []string) *connect.Schema {
	for _, st := range steps {
		if s == nil || s.Type != typeStruct {
			return nil
		}
		i := fieldIndex(s, st)
		if i < 0 {
			return nil
		}
		s = s.Fields[i]
	}
	return s
}

// editStruct returns a copy of the struct schema s in which the struct
// reached through steps is replaced by edit's change of a copy of it. Every
// struct on the way is copied; s is never changed. A step that is not a
// struct field gives errNoField.
func editStruct(s *connect.Schema, steps []string, edit func(st *connect.Schema) error) (*connect.Schema, error) {
	if s.Type != typeStruct {
		return nil, errNoField
	}
	c := cloneStruct(s)
	if len(steps) == 0 {
		if err := edit(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	i := fieldIndex(c, steps[0])
	if i < 0 {
		return nil, errNoField
	}
	child, err := editStruct(c.Fields[i], steps[1:], edit)
	if err != nil {
		return nil, err
	}
	c.Fields[i] = child
	return c, nil
}

// withDefaults replaces null fields of a struct value by their schema
// default, as Kafka's Struct.get does when replace.null.with.default is on.
func withDefaults(m map[string]any, s *connect.Schema) {
	for _, f := range s.Fields {
		if f.Default == nil {
			continue
		}
		if v, ok := m[f.Field]; !ok || v == nil {
			m[f.Field] = deepCopy(f.Default)
		}
	}
}

// schemaCache remembers the schema a transform derives from an input schema,
// keyed by pointer: converters hand out the same *Schema for the same
// schema, and schemas are treated as immutable everywhere. The map holds its
// keys alive, so an address is never reused while cached.
type schemaCache struct {
	mu sync.Mutex
	m  map[*connect.Schema]*connect.Schema
}

const schemaCacheMax = 64

func (c *schemaCache) get(in *connect.Schema, build func(*connect.Schema) (*connect.Schema, error)) (*connect.Schema, error) {
	c.mu.Lock()
	out, ok := c.m[in]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := build(in)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= schemaCacheMax {
		c.m = make(map[*connect.Schema]*connect.Schema)
	}
	c.m[in] = out
	c.mu.Unlock()
	return out, nil
}
