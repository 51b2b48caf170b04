package avro

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// kind is an Avro type.
type kind uint8

const (
	kindNull kind = iota
	kindBoolean
	kindInt
	kindLong
	kindFloat
	kindDouble
	kindBytes
	kindString
	kindRecord
	kindEnum
	kindArray
	kindMap
	kindUnion
	kindFixed
)

var primitives = map[string]kind{
	"null": kindNull, "boolean": kindBoolean, "int": kindInt, "long": kindLong,
	"float": kindFloat, "double": kindDouble, "bytes": kindBytes, "string": kindString,
}

// schema is a parsed Avro schema: what the decoder walks. Named types are
// shared by pointer, so a recursive record refers to itself.
type schema struct {
	kind     kind
	name     string // full name of a record, enum or fixed
	fields   []field
	symbols  []string // enum
	items    *schema  // array
	values   *schema  // map
	branches []*schema
	keys     [][]byte // union: each branch's field name as a JSON key
	size     int      // fixed

	// logical is a logical type Spur knows: "decimal" reads as numbers,
	// not bytes; "date", "time-millis" and "timestamp-millis" read as
	// their underlying int or long, as Kafka Connect's JsonConverter writes
	// them, and only name the Connect schema. Others are ignored.
	logical   string
	precision int
	scale     int

	// Kafka Connect schema properties of a primitive (connect.name...).
	connectName    string
	connectType    string // int8 or int16 for an Avro int
	connectVersion *int
	connectParams  map[string]string

	// nullable is the index of the null branch of a two-branch union with
	// null (Kafka Connect's optional field), or -1.
	nullable int
}

type field struct {
	name   string
	key    []byte // the name as a JSON object key: "name":
	schema *schema
	// def is the field's default in Avro's JSON form (bytes as
	// ISO-8859-1 strings, a union's for its first branch), for writers.
	def    any
	hasDef bool
}

// jsonKey encodes name once as `"name":`, so records do not escape their
// field names for every value.
func jsonKey(name string) []byte {
	return append(connect.AppendJSONString(nil, name), ':')
}

// maxSchemaDepth bounds nesting of a schema's text, so a hostile registry
// answer cannot exhaust the stack.
const maxSchemaDepth = 200

// parseSchema parses an Avro schema in its JSON form, as the Schema
// Registry returns it. refs are the texts of the schemas it references, in
// an order where each comes after those it references: they define the
// named types the schema uses.
func parseSchema(text string, refs ...string) (*schema, error) {
	p := &parser{named: map[string]*schema{}}
	for _, ref := range refs {
		if _, err := p.parseText(ref); err != nil {
			return nil, fmt.Errorf("referenced avro schema: %w", err)
		}
	}
	s, err := p.parseText(text)
	if err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	return s, nil
}

func (p *parser) parseText(text string) (*schema, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return p.parse(v, "", 0)
}

type parser struct {
	named map[string]*schema
}

func (p *parser) parse(v any, namespace string, depth int) (*schema, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxSchemaDepth)
	}
	switch t := v.(type) {
	case string:
		if k, ok := primitives[t]; ok {
			return &schema{kind: k, nullable: -1}, nil
		}
		if s := p.lookup(t, namespace); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("unknown type %q", t)
	case []any:
		return p.union(t, namespace, depth)
	case map[string]any:
		return p.complex(t, namespace, depth)
	}
	return nil, fmt.Errorf("a type must be a string, an array or an object, not %s", jsonKind(v))
}

func (p *parser) lookup(name, namespace string) *schema {
	if !strings.Contains(name, ".") && namespace != "" {
		if s := p.named[namespace+"."+name]; s != nil {
			return s
		}
	}
	return p.named[name]
}

func (p *parser) union(branches []any, namespace string, depth int) (*schema, error) {
	if len(branches) == 0 {
		return nil, errors.New("a union needs at least one branch")
	}
	s := &schema{kind: kindUnion, nullable: -1}
	seen := map[string]bool{}
	for _, b := range branches {
		bs, err := p.parse(b, namespace, depth+1)
		if err != nil {
			return nil, err
		}
		if bs.kind == kindUnion {
			return nil, errors.New("a union may not hold a union")
		}
		// Avro allows two named types with the same simple name in a
		// union (a.R and b.R); Kafka Connect names union fields by the
		// simple name, so it refuses them, and so does Spur.
		key := branchName(bs)
		if seen[key] {
			return nil, fmt.Errorf("union has two branches named %s", key)
		}
		seen[key] = true
		s.branches = append(s.branches, bs)
		s.keys = append(s.keys, jsonKey(branchName(bs)))
	}
	if len(s.branches) == 2 {
		for i, b := range s.branches {
			if b.kind == kindNull && s.branches[1-i].kind != kindNull {
				s.nullable = i
			}
		}
	}
	return s, nil
}

func (p *parser) complex(m map[string]any, namespace string, depth int) (*schema, error) {
	typ, ok := m["type"]
	if !ok {
		return nil, errors.New(`an object schema needs "type"`)
	}
	name, _ := typ.(string)
	switch name {
	case "record", "error":
		return p.record(m, namespace, depth)
	case "enum":
		s, err := p.define(m, namespace, kindEnum)
		if err != nil {
			return nil, err
		}
		syms, _ := m["symbols"].([]any)
		if len(syms) == 0 {
			return nil, fmt.Errorf("enum %s needs symbols", s.name)
		}
		for _, sym := range syms {
			str, ok := sym.(string)
			if !ok {
				return nil, fmt.Errorf("enum %s: a symbol must be a string", s.name)
			}
			s.symbols = append(s.symbols, str)
		}
		return s, nil
	case "fixed":
		s, err := p.define(m, namespace, kindFixed)
		if err != nil {
			return nil, err
		}
		n, err := intProp(m, "size")
		if err != nil || n < 0 {
			return nil, fmt.Errorf("fixed %s needs a size", s.name)
		}
		s.size = n
		return s, p.logical(s, m)
	case "array":
		items, ok := m["items"]
		if !ok {
			return nil, errors.New(`an array needs "items"`)
		}
		is, err := p.parse(items, namespace, depth+1)
		if err != nil {
			return nil, err
		}
		return &schema{kind: kindArray, items: is, nullable: -1}, nil
	case "map":
		values, ok := m["values"]
		if !ok {
			return nil, errors.New(`a map needs "values"`)
		}
		vs, err := p.parse(values, namespace, depth+1)
		if err != nil {
			return nil, err
		}
		return &schema{kind: kindMap, values: vs, nullable: -1}, nil
	}
	// {"type": "long", "logicalType": ...} or {"type": {...}}: the type
	// itself, with a logical type when it names one.
	s, err := p.parse(typ, namespace, depth+1)
	if err != nil {
		return nil, err
	}
	if s.name != "" || s.kind == kindUnion || s.kind == kindArray || s.kind == kindMap {
		return s, nil // {"type": <a named type or a complex one>}: that type
	}
	c := *s // a fresh primitive: keep its properties on a copy
	s = &c
	// Properties Kafka Connect's AvroData writes on primitives to keep the
	// Connect schema (Debezium's io.debezium.time.MicroTimestamp, int16...).
	s.connectName, _ = m["connect.name"].(string)
	if t, ok := m["connect.type"].(string); ok && (t == "int8" || t == "int16") && s.kind == kindInt {
		s.connectType = t
	}
	if v, err := intProp(m, "connect.version"); err == nil {
		s.connectVersion = &v
	}
	if ps, ok := m["connect.parameters"].(map[string]any); ok {
		s.connectParams = map[string]string{}
		for k, v := range ps {
			if str, ok := v.(string); ok {
				s.connectParams[k] = str
			}
		}
	}
	return s, p.logical(s, m)
}

// logical records a schema's logical type: decimal changes how a value
// reads; date, time-millis and timestamp-millis only name its Connect
// schema. An invalid logical type is ignored, as the Avro specification asks.
func (p *parser) logical(s *schema, m map[string]any) error {
	lt, _ := m["logicalType"].(string)
	switch {
	case lt == "date" && s.kind == kindInt, lt == "time-millis" && s.kind == kindInt, lt == "timestamp-millis" && s.kind == kindLong:
		s.logical = lt
		return nil
	case lt != "decimal" || (s.kind != kindBytes && s.kind != kindFixed):
		return nil
	}
	prec, err := intProp(m, "precision")
	if err != nil || prec <= 0 {
		return nil
	}
	scale := 0
	if _, ok := m["scale"]; ok {
		if scale, err = intProp(m, "scale"); err != nil || scale < 0 || scale > prec {
			return nil
		}
	}
	s.logical, s.precision, s.scale = "decimal", prec, scale
	return nil
}

func (p *parser) define(m map[string]any, namespace string, k kind) (*schema, error) {
	name, _ := m["name"].(string)
	if name == "" {
		return nil, errors.New("a record, enum or fixed needs a name")
	}
	if ns, ok := m["namespace"].(string); ok && !strings.Contains(name, ".") {
		namespace = ns
	}
	full := name
	if !strings.Contains(name, ".") && namespace != "" {
		full = namespace + "." + name
	}
	if _, dup := p.named[full]; dup {
		return nil, fmt.Errorf("type %s is defined twice", full)
	}
	s := &schema{kind: k, name: full, nullable: -1}
	p.named[full] = s
	return s, nil
}

func (p *parser) record(m map[string]any, namespace string, depth int) (*schema, error) {
	s, err := p.define(m, namespace, kindRecord)
	if err != nil {
		return nil, err
	}
	ns := s.name[:max(strings.LastIndexByte(s.name, '.'), 0)]
	fields, ok := m["fields"].([]any)
	if !ok {
		return nil, fmt.Errorf("record %s needs fields", s.name)
	}
	names := map[string]bool{}
	for _, f := range fields {
		fm, ok := f.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record %s: a field must be an object", s.name)
		}
		fname, _ := fm["name"].(string)
		if fname == "" {
			return nil, fmt.Errorf("record %s: a field needs a name", s.name)
		}
		if names[fname] {
			return nil, fmt.Errorf("record %s has two fields named %s", s.name, fname)
		}
		names[fname] = true
		ft, ok := fm["type"]
		if !ok {
			return nil, fmt.Errorf("record %s: field %s needs a type", s.name, fname)
		}
		fs, err := p.parse(ft, ns, depth+1)
		if err != nil {
			return nil, fmt.Errorf("record %s, field %s: %w", s.name, fname, err)
		}
		def, hasDef := fm["default"]
		s.fields = append(s.fields, field{name: fname, key: jsonKey(fname), schema: fs, def: def, hasDef: hasDef})
	}
	return s, nil
}

func intProp(m map[string]any, key string) (int, error) {
	n, ok := m[key].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number", key)
	}
	i, err := n.Int64()
	if err != nil || i > 1<<30 || i < -(1<<30) {
		return 0, fmt.Errorf("%s is not a small integer", key)
	}
	return int(i), nil
}

// branchName is the name Kafka Connect gives a union branch's field: the
// simple name of a named type, else the type's name.
func branchName(s *schema) string {
	if s.name != "" {
		return s.name[strings.LastIndexByte(s.name, '.')+1:]
	}
	switch s.kind {
	case kindNull:
		return "null"
	case kindBoolean:
		return "boolean"
	case kindInt:
		return "int"
	case kindLong:
		return "long"
	case kindFloat:
		return "float"
	case kindDouble:
		return "double"
	case kindBytes:
		return "bytes"
	case kindString:
		return "string"
	case kindArray:
		return "array"
	case kindMap:
		return "map"
	}
	return "union"
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
