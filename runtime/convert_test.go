package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
)

func newJSONConverter(schemas bool) *jsonConverter {
	return &jsonConverter{schemas: schemas, cacheSize: 4, cache: map[string]*connect.Schema{}}
}

func TestJsonConverterReadsWhatKafkaConnectWrites(t *testing.T) {
	for _, tc := range []struct {
		name       string
		schemas    bool
		in         string
		nilIn      bool
		wantErr    string // substring; "" means success
		wantNull   bool
		wantSchema string // Schema.Type, "" for none
		wantRaw    string // the payload bytes as kept
	}{
		{name: "plain object kept byte for byte", in: `{"id":9223372036854775807, "price":1.10}`, wantRaw: `{"id":9223372036854775807, "price":1.10}`},
		{name: "plain scalar", in: `"x"`, wantRaw: `"x"`},
		{name: "tombstone", nilIn: true, wantNull: true},
		{name: "JSON null", in: `null`, wantNull: true},
		{name: "invalid JSON names the topic", in: `{"a":`, wantErr: "serialization error of topic t: invalid JSON"},
		{name: "envelope", schemas: true, in: `{"schema":{"type":"int64","optional":false},"payload":42}`, wantSchema: "int64", wantRaw: `42`},
		{name: "envelope with null schema", schemas: true, in: `{"schema":null,"payload":{"a":1}}`, wantRaw: `{"a":1}`},
		{name: "envelope with null payload", schemas: true, in: `{"schema":{"type":"string","optional":true},"payload":null}`, wantNull: true, wantSchema: "string"},
		{name: "envelope without schema", schemas: true, in: `{"payload":1}`, wantErr: `requires "schema" and "payload"`},
		{name: "envelope with an extra field", schemas: true, in: `{"schema":null,"payload":1,"x":2}`, wantErr: "may not contain additional fields"},
		{name: "plain JSON with schemas.enable", schemas: true, in: `{"a":1}`, wantErr: "set schemas.enable=false"},
		{name: "envelope that is not JSON", schemas: true, in: `{"schema":`, wantErr: "serialization error of topic t"},
		{name: "schema of the wrong shape", schemas: true, in: `{"schema":[1],"payload":1}`, wantErr: "invalid schema in JsonConverter envelope of topic t"},
		{name: "schema without a type", schemas: true, in: `{"schema":{"fields":[]},"payload":{}}`, wantErr: "invalid schema in JsonConverter envelope of topic t: Schema must contain 'type' field"},
		{name: "unknown schema type", schemas: true, in: `{"schema":{"type":"uuid"},"payload":"x"}`, wantErr: "Unknown schema type: uuid"},
		{name: "array without items", schemas: true, in: `{"schema":{"type":"array"},"payload":[]}`, wantErr: "Array schema did not specify the element type"},
		{name: "map without values", schemas: true, in: `{"schema":{"type":"map","keys":{"type":"string"}},"payload":{}}`, wantErr: "Map schema did not specify the value type"},
		{name: "struct field without a name", schemas: true, in: `{"schema":{"type":"struct","fields":[{"type":"string"}]},"payload":{}}`, wantErr: "Struct schema's field name not specified properly"},
		{name: "nested field of an unknown type", schemas: true, in: `{"schema":{"type":"struct","fields":[{"type":"text","field":"a"}]},"payload":{}}`, wantErr: "field a: Unknown schema type: text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []byte
			if !tc.nilIn {
				in = []byte(tc.in)
			}
			d, err := newJSONConverter(tc.schemas).ToData("t", in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.IsNull() != tc.wantNull {
				t.Fatalf("null %v, want %v", d.IsNull(), tc.wantNull)
			}
			if got := ""; d.Schema != nil {
				got = d.Schema.Type
				if got != tc.wantSchema {
					t.Fatalf("schema %q, want %q", got, tc.wantSchema)
				}
			} else if tc.wantSchema != "" {
				t.Fatalf("no schema, want %q", tc.wantSchema)
			}
			if tc.wantNull {
				return
			}
			if raw, err := d.Raw(); err != nil || string(raw) != tc.wantRaw {
				t.Fatalf("raw %s (%v), want %s", raw, err, tc.wantRaw)
			}
		})
	}
}

func TestJsonConverterWritesTheEnvelopeItReads(t *testing.T) {
	c := newJSONConverter(true)
	in := []byte(`{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},"payload":{"id":9007199254740993}}`)
	d, err := c.ToData("t", in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.FromData("t", &d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.ToData("t", out)
	if err != nil {
		t.Fatalf("reading back %s: %v", out, err)
	}
	if !reflect.DeepEqual(again.Schema, d.Schema) {
		t.Fatalf("schema changed: %+v vs %+v", again.Schema, d.Schema)
	}
	if raw, _ := again.Raw(); string(raw) != `{"id":9007199254740993}` {
		t.Fatalf("payload %s", raw)
	}
	// Without the envelope, structured data is written as plain JSON.
	plain := connect.ValueData(map[string]any{"n": json.Number("1.10")})
	if b, err := newJSONConverter(false).FromData("t", &plain); err != nil || string(b) != `{"n":1.10}` {
		t.Fatalf("plain: %s %v", b, err)
	}
}

// FuzzJsonConverter feeds arbitrary record values through both modes: never
// a panic; what is accepted is exactly what json.Valid accepts (plain), and
// an accepted envelope is written back into one that reads the same.
func FuzzJsonConverter(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `{"schema":null,"payload":1}`, `{"schema":{"type":"int64"},"payload":42}`,
		`{"schema":{"type":"struct","fields":[{"type":"string","field":"a"}]},"payload":{"a":"x"}}`,
		`{"schema":{"type":"bytes"},"payload":"AAE="}`, `{"schema":[],"payload":1}`, `[1,2`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plain := newJSONConverter(false)
		d, err := plain.ToData("t", b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("plain converter accepted=%v, json.Valid=%v for %q", err == nil, json.Valid(b), b)
		}
		if err == nil && !d.IsNull() {
			if out, err := plain.FromData("t", &d); err != nil || !bytes.Equal(out, b) {
				t.Fatalf("plain round trip: %q (%v), want %q", out, err, b)
			}
		}

		env := newJSONConverter(true)
		d, err = env.ToData("t", b)
		if err != nil {
			if errors.Is(err, errEnvelope) || strings.Contains(err.Error(), "topic t") {
				return
			}
			t.Fatalf("error without context: %v", err)
		}
		_, _ = d.Value() // may fail on a payload that contradicts its schema, must not panic
		out, err := env.FromData("t", &d)
		if err != nil {
			return
		}
		again, err := env.ToData("t", out)
		if err != nil {
			t.Fatalf("written envelope %q does not read back: %v", out, err)
		}
		if again.IsNull() != d.IsNull() || schemaJSON(t, again.Schema) != schemaJSON(t, d.Schema) {
			t.Fatalf("envelope round trip changed %q into %q", b, out)
		}
	})
}

func schemaJSON(t *testing.T, s *connect.Schema) string {
	if s == nil {
		return "null"
	}
	b, err := connect.EncodeJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
