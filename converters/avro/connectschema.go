package avro

import (
	"strconv"

	"github.com/spur-connect/spur/connect"
)

// Kafka Connect's names for the logical types and Confluent's for unions
// and enums, as AvroData gives them.
const (
	decimalName   = "org.apache.kafka.connect.data.Decimal"
	dateName      = "org.apache.kafka.connect.data.Date"
	timeName      = "org.apache.kafka.connect.data.Time"
	timestampName = "org.apache.kafka.connect.data.Timestamp"
	unionName     = "io.confluent.connect.avro.Union"
	enumParameter = "io.confluent.connect.avro.Enum"
)

var one = 1 // the version Kafka Connect gives its logical types

// connectSchema derives the Kafka Connect schema of values read with s, as
// Confluent's AvroData does, so schema-aware transforms (Cast, Flatten,
// ReplaceField...) work on Avro records. A recursive schema has no Connect
// form: it returns nil and the values are schemaless.
//
// A schema whose Connect form would have more than maxConnectNodes nodes
// (a named record used in many places is copied into each) reads
// schemaless too, so a small hostile schema cannot exhaust memory.
func connectSchema(s *schema) *connect.Schema {
	b := connectBuilder{open: map[*schema]bool{}}
	cs, ok := b.build(s)
	if !ok {
		return nil
	}
	return cs
}

const maxConnectNodes = 100_000

type connectBuilder struct {
	open  map[*schema]bool // records being built: a second visit is recursion
	nodes int
}

func (b *connectBuilder) build(s *schema) (*connect.Schema, bool) {
	if b.nodes++; b.nodes > maxConnectNodes {
		return nil, false
	}
	cs, ok := b.node(s)
	if !ok || cs == nil {
		return cs, ok
	}
	if s.connectName != "" || s.connectType != "" || s.connectVersion != nil || s.connectParams != nil {
		c := *cs
		if s.connectName != "" {
			c.Name = s.connectName
		}
		if s.connectType != "" {
			c.Type = s.connectType
		}
		if s.connectVersion != nil {
			c.Version = s.connectVersion
		}
		if s.connectParams != nil {
			c.Parameters = s.connectParams
		}
		cs = &c
	}
	return cs, true
}

func (b *connectBuilder) node(s *schema) (*connect.Schema, bool) {
	switch s.kind {
	case kindNull:
		// Only inside unions, where the branch is dropped.
		return &connect.Schema{Type: "string", Optional: true}, true
	case kindBoolean:
		return &connect.Schema{Type: "boolean"}, true
	case kindInt:
		switch s.logical {
		case "date":
			return &connect.Schema{Type: "int32", Name: dateName, Version: &one}, true
		case "time-millis":
			return &connect.Schema{Type: "int32", Name: timeName, Version: &one}, true
		}
		return &connect.Schema{Type: "int32"}, true
	case kindLong:
		if s.logical == "timestamp-millis" {
			return &connect.Schema{Type: "int64", Name: timestampName, Version: &one}, true
		}
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
		if s.kind == kindFixed {
			return &connect.Schema{Type: "bytes", Name: s.name, Parameters: map[string]string{"connect.fixed.size": strconv.Itoa(s.size)}}, true
		}
		return &connect.Schema{Type: "bytes"}, true
	case kindEnum:
		params := map[string]string{enumParameter: s.name}
		for _, sym := range s.symbols {
			params[enumParameter+"."+sym] = sym
		}
		return &connect.Schema{Type: "string", Name: s.name, Parameters: params}, true
	case kindArray:
		items, ok := b.build(s.items)
		return &connect.Schema{Type: "array", Items: items}, ok
	case kindMap:
		values, ok := b.build(s.values)
		return &connect.Schema{Type: "map", Keys: &connect.Schema{Type: "string"}, Values: values}, ok
	case kindRecord:
		if b.open[s] {
			return nil, false
		}
		b.open[s] = true
		defer delete(b.open, s)
		out := &connect.Schema{Type: "struct", Name: s.name}
		for _, f := range s.fields {
			fs, ok := b.build(f.schema)
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
			inner, ok := b.build(s.branches[1-s.nullable])
			if !ok {
				return nil, false
			}
			c := *inner
			c.Optional = true
			return &c, true
		}
		out := &connect.Schema{Type: "struct", Name: unionName}
		for _, br := range s.branches {
			if br.kind == kindNull {
				out.Optional = true
				continue
			}
			bs, ok := b.build(br)
			if !ok {
				return nil, false
			}
			c := *bs
			c.Field, c.Optional = branchName(br), true
			out.Fields = append(out.Fields, &c)
		}
		return out, true
	}
	return nil, false
}
