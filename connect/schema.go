package connect

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
