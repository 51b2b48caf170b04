package avro

import (
	"testing"

	"github.com/spur-connect/spur/connect"
)

// fuzzSchemas cover every type, recursion and the zero-width cases.
var fuzzSchemas = []string{
	eventSchema,
	`{"type":"record","name":"N","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","N"]},{"name":"m","type":{"type":"map","values":["null","N","string"]}}]}`,
	`{"type":"array","items":{"type":"array","items":"null"}}`,
	`{"type":"array","items":{"type":"record","name":"E","fields":[{"name":"f","type":{"type":"fixed","name":"Z","size":0}}]}}`,
	`{"type":"map","values":{"type":"bytes","logicalType":"decimal","precision":40,"scale":5}}`,
}

// Any bytes either read as valid JSON or fail with an error: no panic, no
// runaway memory.
func FuzzDecode(f *testing.F) {
	f.Add(0, []byte{})
	f.Add(1, []byte{2, 2, 0, 0})
	f.Add(2, []byte{0x7f, 0x7f, 0})
	f.Add(4, []byte{2, 2, 'k', 2, 0xff, 0})
	schemas := make([]*schema, len(fuzzSchemas))
	for i, text := range fuzzSchemas {
		s, err := parseSchema(text)
		if err != nil {
			f.Fatal(err)
		}
		schemas[i] = s
	}
	f.Fuzz(func(t *testing.T, which int, data []byte) {
		s := schemas[uint(which)%uint(len(schemas))]
		d := decoder{buf: data}
		out, err := d.appendJSON(nil, s)
		if err != nil {
			return
		}
		if !connect.ValidJSON(out) {
			t.Fatalf("invalid JSON %q from %x", out, data)
		}
		if len(out) > 64*len(data)+16*maxEmptyItems+64 { // items that take no bytes write at most 10 here
			t.Fatalf("%d bytes of JSON from %d bytes", len(out), len(data))
		}
	})
}

// Any schema text parses or fails with an error; a parsed schema has a
// Connect form or none, and reads bytes without panicking.
func FuzzParseSchema(f *testing.F) {
	for _, s := range fuzzSchemas {
		f.Add(s, []byte{2, 4, 6})
	}
	f.Add(`["null",{"type":"enum","name":"E","symbols":["A","B"]}]`, []byte{2, 2})
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		s, err := parseSchema(text)
		if err != nil {
			return
		}
		if cs := connectSchema(s); cs != nil {
			if err := cs.Validate(); err != nil {
				t.Fatalf("derived schema invalid: %v", err)
			}
		}
		d := decoder{buf: data}
		if out, err := d.appendJSON(nil, s); err == nil && !connect.ValidJSON(out) {
			t.Fatalf("invalid JSON %q", out)
		}
	})
}

// Any JSON either writes by the schema or fails with an error; what it
// writes reads back (with Spur's decoder) as valid JSON.
func FuzzEncode(f *testing.F) {
	f.Add(`{"device":"d","seq":1,"temp":1.5,"cost":"1e999999999"}`)
	f.Add(`{"device":"d","seq":-1,"temp":1,"battery":5,"label":7,"geo":{"lat":1,"lon":2},"tags":["x"],"extra":{"a":"b"},"cost":-0.01}`)
	s, err := parseSchema(sensorSchema)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := connect.DecodeJSON([]byte(in))
		if err != nil {
			return
		}
		var e encoder
		b, err := e.appendValue(nil, s, v, false)
		if err != nil {
			return
		}
		d := decoder{buf: b}
		out, err := d.appendJSON(nil, s)
		if err != nil || d.pos != len(b) || !connect.ValidJSON(out) {
			t.Fatalf("%s wrote %x, which reads as %s (%v, %d of %d bytes)", in, b, out, err, d.pos, len(b))
		}
	})
}
