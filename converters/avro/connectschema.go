package avro

import (
	"strconv"

	"github.com/spur-connect/spur/connect"
)

// Kafka Connect's names for the logical types and Confluent's for unions
// and enums, as AvroData gives them.
const (
	decimalName   = "org.apache.kafka.connect.data.Decimal"
	unionName     = "io.confluent.connect.avro.Union"
	enumParameter = "io.confluent.connect.avro.Enum"
)

// connectSchema derives the Kafka Connect schema of values read with s, as
// Confluent's AvroData does, so schema-aware transforms (Cast, Flatten,
// ReplaceField...) work on Avro records. A recursive schema has no Connect
// form: it returns nil and the values are schemaless.
func connectSchema(s *schema) *connect.Schema {
	cs, ok := toConnect(s, map[*schema]bool{})
	if !ok {
		return nil
	}
	return cs
}

func toConnect(s *schema, open map[*schema]bool) (*connect.Schema, bool) {
	switch s.kind {
	case kindNull:
		// Only inside unions, where the branch is dropped.
		return &connect.Schema{Type: "string", Optional: true}, true
	case kindBoolean:
		return &connect.Schema{Type: "boolean"}, true
	case kindInt:
		return &connect.Schema{Type: "int32"}, true
	case kindLong:
		return &connect.Schema{Type: "int64"}, true
	case kindFloat:
		return &connect.Schema{Type: "float32"}, true
	case kindDouble:
		return &connect.Schema{Type: "float64"}, true
	case kindString:
		return &connect.Schema{Type: "string"}, true
	case kindBytes, kindFixed:
		if s.logical == "decimal" {
			return &connect.Schema{Type: "bytes", Name: decimalName, Parameters: map[string]string{
				"scale": strconv.Itoa(s.scale), "connect.decimal.precision": strconv.Itoa(s.precision)}}, true
		}
		return &connect.Schema{Type: "bytes"}, true
	case kindEnum:
		return &connect.Schema{Type: "string", Name: s.name, Parameters: map[string]string{enumParameter: s.name}}, true
	case kindArray:
		items, ok := toConnect(s.items, open)
		return &connect.Schema{Type: "array", Items: items}, ok
	case kindMap:
		values, ok := toConnect(s.values, open)
		return &connect.Schema{Type: "map", Keys: &connect.Schema{Type: "string"}, Values: values}, ok
	case kindRecord:
		if open[s] {
			return nil, false
		}
		open[s] = true
		defer delete(open, s)
		out := &connect.Schema{Type: "struct", Name: s.name}
		for _, f := range s.fields {
			fs, ok := toConnect(f.schema, open)
			if !ok {
				return nil, false
			}
			c := *fs
			c.Field = f.name
			out.Fields = append(out.Fields, &c)
		}
		return out, true
	case kindUnion:
		if s.nullable >= 0 {
			inner, ok := toConnect(s.branches[1-s.nullable], open)
			if !ok {
				return nil, false
			}
			c := *inner
			c.Optional = true
			return &c, true
		}
		out := &connect.Schema{Type: "struct", Name: unionName}
		for _, b := range s.branches {
			if b.kind == kindNull {
				out.Optional = true
				continue
			}
			bs, ok := toConnect(b, open)
			if !ok {
				return nil, false
			}
			c := *bs
			c.Field, c.Optional = branchName(b), true
			out.Fields = append(out.Fields, &c)
		}
		return out, true
	}
	return nil, false
}
