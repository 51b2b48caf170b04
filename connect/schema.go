package connect

import (
	"errors"
	"fmt"
)

// Schema is a Kafka Connect schema as the JsonConverter writes it in the
// "schema" field of its envelope. Field names follow that JSON form so a
// schema read from a record is written back unchanged. Records with the same
// schema may share one *Schema: treat it as read-only and build a new one to
// change it.
type Schema struct {
	Type       string            `json:"type"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name,omitempty"`
	Version    *int              `json:"version,omitempty"`
	Doc        string            `json:"doc,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Default    any               `json:"default,omitempty"`
	Field      string            `json:"field,omitempty"`  // set on struct fields
	Fields     []*Schema         `json:"fields,omitempty"` // struct
	Items      *Schema           `json:"items,omitempty"`  // array
	Keys       *Schema           `json:"keys,omitempty"`   // map
	Values     *Schema           `json:"values,omitempty"` // map
}

// FieldByName returns a struct schema's field, or nil.
func (s *Schema) FieldByName(name string) *Schema {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Field == name {
			return f
		}
	}
	return nil
}

// Validate checks a schema the way Kafka's JsonConverter does when it reads
// an envelope: every schema has a known type, arrays name their items, maps
// their keys and values, and struct fields their names. The messages are
// Kafka's.
func (s *Schema) Validate() error {
	switch s.Type {
	case "":
		return errors.New("Schema must contain 'type' field") //nolint:staticcheck // Kafka's message
	case "int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string", "bytes":
	case "array":
		if s.Items == nil {
			return errors.New("Array schema did not specify the element type") //nolint:staticcheck // Kafka's message
		}
		return s.Items.Validate()
	case "map":
		if s.Keys == nil {
			return errors.New("Map schema did not specify the key type") //nolint:staticcheck // Kafka's message
		}
		if s.Values == nil {
			return errors.New("Map schema did not specify the value type") //nolint:staticcheck // Kafka's message
		}
		if err := s.Keys.Validate(); err != nil {
			return err
		}
		return s.Values.Validate()
	case "struct":
		for _, f := range s.Fields {
			if f == nil || f.Field == "" {
				return errors.New("Struct schema's field name not specified properly") //nolint:staticcheck // Kafka's message
			}
			if err := f.Validate(); err != nil {
				return fmt.Errorf("field %s: %w", f.Field, err)
			}
		}
	default:
		return fmt.Errorf("Unknown schema type: %s", s.Type) //nolint:staticcheck // Kafka's message
	}
	return nil
}
