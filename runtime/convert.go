package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spur-connect/spur/connect"
)

// Class names of the converters Kafka Connect ships, which Spur implements.
const (
	JSONConverterClass         = "org.apache.kafka.connect.json.JsonConverter"
	StringConverterClass       = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayConverterClass    = "org.apache.kafka.connect.converters.ByteArrayConverter"
	SimpleHeaderConverterClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)

var jsonConverterSpec = connect.NewSpec(
	connect.ConfigKey{Name: "schemas.enable", Type: connect.TypeBoolean, Default: "true", Importance: connect.High,
		Doc: `Read and write the {"schema": ..., "payload": ...} envelope. Set false for plain JSON.`},
	connect.ConfigKey{Name: "schemas.cache.size", Type: connect.TypeInt, Default: "1000", Importance: connect.Low,
		Doc: "How many distinct schemas to keep parsed; records with a cached schema share one *Schema."},
	connect.ConfigKey{Name: "decimal.format", Default: "BASE64", Importance: connect.Low, Validate: connect.OneOf("BASE64", "NUMERIC"),
		Doc: "Accepted for compatibility; decimals pass through in the form they were read."},
	connect.ConfigKey{Name: "replace.null.with.default", Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Accepted for compatibility."},
)

var stringConverterSpec = connect.NewSpec(
	connect.ConfigKey{Name: "converter.encoding", Default: "UTF-8", Importance: connect.High, Validate: connect.OneOf("UTF-8", "UTF8"),
		Doc: "Character encoding; only UTF-8 is supported."},
)

// ConverterPlugins returns the built-in converters.
func ConverterPlugins() []*connect.Plugin {
	return []*connect.Plugin{
		{Class: JSONConverterClass, Aliases: []string{"json"}, Type: connect.PluginConverter, Version: Version, Spec: jsonConverterSpec,
			Doc: "JSON values, optionally in the schema envelope; raw JSON is validated, never rewritten.",
			NewConverter: func(cfg connect.Config, _ bool) (connect.Converter, error) {
				return &jsonConverter{schemas: cfg.Bool("schemas.enable"), cacheSize: int(cfg.Int("schemas.cache.size")), cache: map[string]*connect.Schema{}}, nil
			}},
		{Class: StringConverterClass, Aliases: []string{"string"}, Type: connect.PluginConverter, Version: Version, Spec: stringConverterSpec,
			Doc: "UTF-8 strings.",
			NewConverter: func(connect.Config, bool) (connect.Converter, error) {
				return rawConverter{connect.FormatString}, nil
			}},
		{Class: ByteArrayConverterClass, Aliases: []string{"bytes"}, Type: connect.PluginConverter, Version: Version, Spec: connect.NewSpec(),
			Doc: "Opaque bytes, passed through.",
			NewConverter: func(connect.Config, bool) (connect.Converter, error) {
				return rawConverter{connect.FormatBytes}, nil
			}},
		{Class: SimpleHeaderConverterClass, Type: connect.PluginHeaderConverter, Version: Version, Spec: connect.NewSpec(),
			Doc: "Header values are kept as the bytes they were read with.",
			NewConverter: func(connect.Config, bool) (connect.Converter, error) {
				return rawConverter{connect.FormatBytes}, nil
			}},
	}
}

// rawConverter hands bytes through in a fixed format.
type rawConverter struct{ format connect.Format }

func (c rawConverter) ToData(_ string, b []byte) (connect.Data, error) {
	return connect.RawData(c.format, b), nil
}

func (c rawConverter) FromData(_ string, d *connect.Data) ([]byte, error) {
	if d.IsNull() {
		return nil, nil
	}
	if d.Format() == connect.FormatJSON {
		// A structured value written with a string converter: JSON text,
		// which is what a reader of the topic can parse back.
		return d.AppendJSON(nil)
	}
	return d.Raw()
}

// jsonConverter is Kafka Connect's JsonConverter. Plain JSON is validated
// (connect.ValidJSON, no allocation) and kept as raw bytes; it is decoded only if a
// transform or sink asks for the structure. Data in FormatJSON that comes out
// of this converter is therefore always valid JSON.
type jsonConverter struct {
	schemas   bool
	cacheSize int
	mu        sync.Mutex
	cache     map[string]*connect.Schema // raw schema JSON -> parsed; shared, never mutated
}

var errEnvelope = errors.New(`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`)

func (c *jsonConverter) ToData(topic string, b []byte) (connect.Data, error) {
	if b == nil {
		return connect.RawData(connect.FormatJSON, nil), nil
	}
	if !c.schemas {
		if !connect.ValidJSON(b) {
			return connect.Data{}, fmt.Errorf("converting byte[] to Kafka Connect data failed due to serialization error of topic %s: invalid JSON", topic)
		}
		return connect.RawData(connect.FormatJSON, b), nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(b, &env); err != nil {
		return connect.Data{}, fmt.Errorf("converting byte[] to Kafka Connect data failed due to serialization error of topic %s: %w", topic, err)
	}
	schema, hasSchema := env["schema"]
	payload, hasPayload := env["payload"]
	if !hasSchema || !hasPayload || len(env) != 2 {
		return connect.Data{}, errEnvelope
	}
	d := connect.RawData(connect.FormatJSON, payload)
	if s := bytes.TrimSpace(schema); len(s) > 0 && string(s) != "null" {
		sc, err := c.schema(s)
		if err != nil {
			return connect.Data{}, fmt.Errorf("invalid schema in JsonConverter envelope of topic %s: %w", topic, err)
		}
		d.Schema = sc
	}
	if isNullJSON(payload) {
		d.SetRaw(connect.FormatJSON, nil)
	}
	return d, nil
}

func (c *jsonConverter) FromData(_ string, d *connect.Data) ([]byte, error) {
	if !c.schemas {
		if d.IsNull() {
			return nil, nil
		}
		if d.Format() == connect.FormatJSON {
			return d.Raw()
		}
		return d.AppendJSON(nil)
	}
	if d.IsNull() && d.Schema == nil {
		return nil, nil
	}
	out := append(make([]byte, 0, 64), `{"schema":`...)
	if d.Schema == nil {
		out = append(out, "null"...)
	} else {
		s, err := connect.EncodeJSON(d.Schema)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	out = append(out, `,"payload":`...)
	out, err := d.AppendJSON(out)
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

func isNullJSON(b []byte) bool { return strings.TrimSpace(string(b)) == "null" }

// schema parses a schema (numbers kept exact) through a bounded cache.
// Transforms must treat a record's Schema as read-only and build a new one.
func (c *jsonConverter) schema(raw []byte) (*connect.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.cache[string(raw)]; ok {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	s := new(connect.Schema)
	if err := dec.Decode(s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(c.cache) >= max(c.cacheSize, 1) {
		clear(c.cache)
	}
	c.cache[string(raw)] = s
	return s, nil
}
