package avro

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/converters/avro/srtest"
	"github.com/spur-connect/spur/runtime"
)

// startRegistry serves a stand-in Schema Registry on 127.0.0.1.
func startRegistry(t testing.TB) (*srtest.Registry, *httptest.Server) {
	t.Helper()
	reg := srtest.New()
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return reg, srv
}

// newConverter parses props with the converter's spec, as the runtime does.
func newConverter(t testing.TB, props map[string]string) *Converter {
	t.Helper()
	cfg, errs := Spec.Parse(props)
	if len(errs) > 0 {
		t.Fatalf("config %v: %v", props, errs)
	}
	c, err := New(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// frame encodes native with goavro, an independent Avro implementation,
// in the Schema Registry wire format.
func frame(t testing.TB, id int, schemaText string, native any) []byte {
	t.Helper()
	codec, err := goavro.NewCodec(schemaText)
	if err != nil {
		t.Fatalf("goavro schema: %v", err)
	}
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	out, err = codec.BinaryFromNative(out, native)
	if err != nil {
		t.Fatalf("goavro encode: %v", err)
	}
	return out
}

const eventSchema = `{"type":"record","name":"Event","namespace":"shop.tracking","fields":[
 {"name":"id","type":"long"},
 {"name":"ok","type":"boolean"},
 {"name":"n","type":"int"},
 {"name":"ratio","type":"float"},
 {"name":"score","type":"double"},
 {"name":"name","type":"string"},
 {"name":"raw","type":"bytes"},
 {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
 {"name":"hash","type":{"type":"fixed","name":"MD5","size":4}},
 {"name":"user","type":["null","string"],"default":null},
 {"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"attrs","type":{"type":"map","values":"long"}},
 {"name":"choice","type":["string","int"]},
 {"name":"maybe","type":["null","string","long"]},
 {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"day","type":{"type":"int","logicalType":"date"}},
 {"name":"item","type":{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}},
 {"name":"next","type":["null","Item"]}
]}`

func eventNative() map[string]any {
	return map[string]any{
		"id": int64(9007199254740993), "ok": true, "n": int32(-42), "ratio": float32(1.5), "score": -0.25,
		"name": "h\u00e9 \"quoted\"\n", "raw": []byte{0, 1, 2}, "color": "GREEN", "hash": []byte{0xde, 0xad, 0xbe, 0xef},
		"user": goavro.Union("string", "u-1"), "tags": []any{"a", "b"}, "attrs": map[string]any{"k": int64(7)},
		"choice": goavro.Union("int", int32(3)), "maybe": nil,
		"price": big.NewRat(-12345, 100), "at": time.UnixMilli(1700000000123).UTC(), "day": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"item": map[string]any{"sku": "x1", "qty": int32(2)}, "next": goavro.Union("shop.tracking.Item", map[string]any{"sku": "y", "qty": int32(1)}),
	}
}

// The JSON a record reads as is the JSON Kafka Connect's JsonConverter
// writes for it (decimals as numbers): field order kept, 64-bit longs
// exact, bytes base64, unions as Connect's structs.
func TestReadsWhatConfluentWrites(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	id := reg.Register("events-value", eventSchema)
	d, err := c.ToData("events", frame(t, id, eventSchema, eventNative()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := d.Raw()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":9007199254740993,"ok":true,"n":-42,"ratio":1.5,"score":-0.25,"name":"hé \"quoted\"\n",` +
		`"raw":"AAEC","color":"GREEN","hash":"3q2+7w==","user":"u-1","tags":["a","b"],"attrs":{"k":7},` +
		`"choice":{"string":null,"int":3},"maybe":null,"price":-123.45,"at":1700000000123,"day":19782,` +
		`"item":{"sku":"x1","qty":2},"next":{"sku":"y","qty":1}}`
	if string(raw) != want {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
	if d.Format() != connect.FormatJSON || !connect.ValidJSON(raw) {
		t.Fatalf("format %v, valid %v", d.Format(), connect.ValidJSON(raw))
	}
	// The Kafka Connect schema, as AvroData derives it.
	s := d.Schema
	if s == nil || s.Type != "struct" || s.Name != "shop.tracking.Event" || len(s.Fields) != 19 {
		t.Fatalf("schema %+v", s)
	}
	for _, f := range []struct {
		name, typ, schemaName string
		optional              bool
	}{
		{"id", "int64", "", false}, {"n", "int32", "", false}, {"ratio", "float32", "", false},
		{"user", "string", "", true}, {"color", "string", "shop.tracking.Color", false},
		{"choice", "struct", "io.confluent.connect.avro.Union", false}, {"maybe", "struct", "io.confluent.connect.avro.Union", true},
		{"price", "bytes", "org.apache.kafka.connect.data.Decimal", false}, {"item", "struct", "shop.tracking.Item", false},
		{"next", "struct", "shop.tracking.Item", true}, {"tags", "array", "", false}, {"attrs", "map", "", false},
	} {
		fs := s.FieldByName(f.name)
		if fs == nil || fs.Type != f.typ || fs.Name != f.schemaName || fs.Optional != f.optional {
			t.Errorf("field %s: %+v, want %s %q optional=%v", f.name, fs, f.typ, f.schemaName, f.optional)
		}
	}
	if p := s.FieldByName("price").Parameters; p["scale"] != "2" {
		t.Errorf("decimal parameters %v", p)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("derived schema is not a valid Connect schema: %v", err)
	}
	// Transforms decode the JSON as they would JsonConverter's.
	v, err := d.Value()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(map[string]any)["id"]; got != json.Number("9007199254740993") {
		t.Errorf("decoded id %v", got)
	}
}

func TestValuesOneByOne(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		native       any
		want         string
	}{
		{"string", `"string"`, "plain", `"plain"`},
		{"long min", `"long"`, int64(math.MinInt64), `-9223372036854775808`},
		{"long max", `"long"`, int64(math.MaxInt64), `9223372036854775807`},
		{"int min", `"int"`, int32(math.MinInt32), `-2147483648`},
		{"float", `"float"`, float32(0.1), `0.1`},
		{"double tiny", `"double"`, 5e-324, `5e-324`},
		{"double NaN", `"double"`, math.NaN(), `"NaN"`},
		{"double -Inf", `"double"`, math.Inf(-1), `"-Infinity"`},
		{"null", `"null"`, nil, `null`},
		{"optional null", `["null","long"]`, nil, `null`},
		{"optional set, null second", `["long","null"]`, goavro.Union("long", int64(5)), `5`},
		{"union of three, null", `["null","string","int"]`, nil, `null`},
		{"union of three, set", `["null","string","int"]`, goavro.Union("string", "s"), `{"string":"s","int":null}`},
		{"union with a record", `["int",{"type":"record","name":"a.R","fields":[{"name":"x","type":"int"}]}]`,
			goavro.Union("a.R", map[string]any{"x": int32(1)}), `{"int":null,"R":{"x":1}}`},
		{"empty array", `{"type":"array","items":"int"}`, []any{}, `[]`},
		{"array of nulls", `{"type":"array","items":"null"}`, []any{nil, nil}, `[null,null]`},
		{"nested arrays", `{"type":"array","items":{"type":"array","items":"long"}}`, []any{[]any{int64(1)}, []any{}}, `[[1],[]]`},
		{"map", `{"type":"map","values":"string"}`, map[string]any{"a\"b": "c"}, `{"a\"b":"c"}`},
		{"decimal zero", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`, big.NewRat(0, 1), `0.00`},
		{"decimal small", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":3}`, big.NewRat(-5, 1000), `-0.005`},
		{"decimal scale 0", `{"type":"bytes","logicalType":"decimal","precision":4}`, big.NewRat(1234, 1), `1234`},
		{"decimal wide", `{"type":"bytes","logicalType":"decimal","precision":38,"scale":4}`,
			new(big.Rat).SetFrac(mustInt("-123456789012345678901234567890123"), big.NewInt(10000)), `-12345678901234567890123456789.0123`},
		{"decimal fixed", `{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":18,"scale":1}`, big.NewRat(-1, 10), `-0.1`},
		{"uuid", `{"type":"string","logicalType":"uuid"}`, "6f1e…", `"6f1e…"`},
		{"time-millis", `{"type":"int","logicalType":"time-millis"}`, time.Duration(3723004) * time.Millisecond, `3723004`},
		{"timestamp-micros", `{"type":"long","logicalType":"timestamp-micros"}`, time.UnixMicro(1700000000123456).UTC(), `1700000000123456`},
		{"recursive list", `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}`,
			map[string]any{"v": int32(1), "next": goavro.Union("Node", map[string]any{"v": int32(2), "next": nil})}, `{"v":1,"next":{"v":2,"next":null}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, srv := startRegistry(t)
			c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
			id := reg.Register("t-value", tc.schema)
			d, err := c.ToData("t", frame(t, id, tc.schema, tc.native))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := d.Raw()
			if string(raw) != tc.want {
				t.Fatalf("got %s, want %s", raw, tc.want)
			}
			if !connect.ValidJSON(raw) {
				t.Fatalf("not valid JSON: %s", raw)
			}
		})
	}
}

func mustInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

// A recursive schema has no Kafka Connect form: values read schemaless.
func TestRecursiveSchemaReadsSchemaless(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	s := `{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}`
	d, err := c.ToData("t", frame(t, reg.Register("t-value", s), s, map[string]any{"next": nil}))
	if err != nil || d.Schema != nil {
		t.Fatalf("data %+v, err %v", d, err)
	}
}

// A schema is fetched once per id; a tombstone is null and asks nothing.
func TestSchemasAreFetchedOnce(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	id := reg.Register("events-value", eventSchema)
	b := frame(t, id, eventSchema, eventNative())
	for range 100 {
		if _, err := c.ToData("events", b); err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.Gets(id); n != 1 {
		t.Fatalf("schema fetched %d times", n)
	}
	d, err := c.ToData("events", nil)
	if err != nil || !d.IsNull() {
		t.Fatalf("tombstone: %+v %v", d, err)
	}
}

// Errors say what is wrong. The record's faults (bad framing, unknown id,
// bad data) are plain errors the error policy handles; the registry's
// (down, refusing credentials) are system errors, transient ones retriable.
func TestErrors(t *testing.T) {
	good := `{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}`
	type outcome struct {
		contains          string
		system, retriable bool
	}
	for _, tc := range []struct {
		name  string
		setup func(reg *srtest.Registry) []byte
		want  outcome
	}{
		{"no magic byte", func(*srtest.Registry) []byte { return []byte(`{"a":1}`) }, outcome{contains: "Unknown magic byte"}},
		{"too short", func(*srtest.Registry) []byte { return []byte{0, 0, 0} }, outcome{contains: "Unknown magic byte"}},
		{"unknown id", func(*srtest.Registry) []byte { return []byte{0, 0, 0, 0, 99, 2} }, outcome{contains: "Schema 99 not found"}},
		{"truncated data", func(reg *srtest.Registry) []byte {
			b := frame(t, reg.Register("s", good), good, map[string]any{"a": int64(1), "b": "hello"})
			return b[:len(b)-2]
		}, outcome{contains: "R.b: unexpected end of data"}},
		{"not an Avro schema", func(reg *srtest.Registry) []byte {
			return []byte{0, 0, 0, 0, byte(reg.RegisterType("s", `syntax = "proto3";`, "PROTOBUF")), 0}
		}, outcome{contains: "is a PROTOBUF schema, not Avro"}},
		{"registry down", func(reg *srtest.Registry) []byte {
			reg.FailNext(503)
			return frame(t, reg.Register("s", good), good, map[string]any{"a": int64(1), "b": "x"})
		}, outcome{contains: "503", system: true, retriable: true}},
		{"credentials refused", func(reg *srtest.Registry) []byte {
			reg.RequireBasicAuth("u", "p")
			return frame(t, reg.Register("s", good), good, map[string]any{"a": int64(1), "b": "x"})
		}, outcome{contains: "401", system: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, srv := startRegistry(t)
			c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
			_, err := c.ToData("t", tc.setup(reg))
			if err == nil {
				t.Fatal("no error")
			}
			var r connect.Retriable
			retriable := errors.As(err, &r) && r.Retriable()
			if !strings.Contains(err.Error(), tc.want.contains) || connect.IsSystemError(err) != tc.want.system || retriable != tc.want.retriable {
				t.Fatalf("error %q: system %v, retriable %v; want %+v", err, connect.IsSystemError(err), retriable, tc.want)
			}
		})
	}
}

// An outage is not cached: once the registry answers, records read.
// An unknown id is remembered for a while, not asked for every record.
func TestRegistryRecoversAndUnknownIdsAreRemembered(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	s := `"string"`
	b := frame(t, reg.Register("s", s), s, "x")
	reg.FailNext(500, 502)
	for i := range 2 {
		if _, err := c.ToData("t", b); err == nil {
			t.Fatalf("attempt %d read during the outage", i)
		}
	}
	if _, err := c.ToData("t", b); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	for range 10 {
		if _, err := c.ToData("t", []byte{0, 0, 0, 0, 42}); err == nil {
			t.Fatal("unknown id read")
		}
	}
	if n := reg.Gets(42); n != 1 {
		t.Fatalf("unknown id asked for %d times", n)
	}
}

func TestAuthAndFailover(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused
	for _, tc := range []struct {
		name  string
		setup func(reg *srtest.Registry, url string) map[string]string
	}{
		{"user info", func(reg *srtest.Registry, url string) map[string]string {
			reg.RequireBasicAuth("alice", "s:cret")
			return map[string]string{"schema.registry.url": url, "basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "alice:s:cret"}
		}},
		{"user info, schema.registry prefix", func(reg *srtest.Registry, url string) map[string]string {
			reg.RequireBasicAuth("alice", "pw")
			return map[string]string{"schema.registry.url": url, "basic.auth.credentials.source": "USER_INFO", "schema.registry.basic.auth.user.info": "alice:pw"}
		}},
		{"URL user info", func(reg *srtest.Registry, url string) map[string]string {
			reg.RequireBasicAuth("bob", "pw")
			return map[string]string{"schema.registry.url": strings.Replace(url, "http://", "http://bob:pw@", 1)}
		}},
		{"bearer", func(reg *srtest.Registry, url string) map[string]string {
			reg.RequireToken("tok")
			return map[string]string{"schema.registry.url": url, "bearer.auth.credentials.source": "STATIC_TOKEN", "bearer.auth.token": "tok"}
		}},
		{"first URL unreachable", func(reg *srtest.Registry, url string) map[string]string {
			return map[string]string{"schema.registry.url": deadURL + "," + url}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, srv := startRegistry(t)
			c := newConverter(t, tc.setup(reg, srv.URL))
			s := `"long"`
			d, err := c.ToData("t", frame(t, reg.Register("s", s), s, int64(7)))
			if err != nil {
				t.Fatal(err)
			}
			if raw, _ := d.Raw(); string(raw) != "7" {
				t.Fatalf("read %s", raw)
			}
		})
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		key   string
	}{
		{map[string]string{}, "schema.registry.url"},
		{map[string]string{"schema.registry.url": "localhost:8081"}, "schema.registry.url"},
		{map[string]string{"schema.registry.url": "http://r", "basic.auth.credentials.source": "SASL_INHERIT"}, "basic.auth.credentials.source"},
		{map[string]string{"schema.registry.url": "http://r", "schemas.cache.config": "0"}, "schemas.cache.config"},
	} {
		_, errs := Spec.Parse(tc.props)
		if len(errs) == 0 || !strings.Contains(errs.Error(), tc.key) {
			t.Errorf("%v: errors %v, want one naming %s", tc.props, errs, tc.key)
		}
	}
	cfg, _ := Spec.Parse(map[string]string{"schema.registry.url": "http://r", "basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "nocolon"})
	if _, err := New(cfg, false); err == nil || !strings.Contains(err.Error(), "basic.auth.user.info") {
		t.Errorf("user info without a colon: %v", err)
	}
}

// Without use.latest.version, writing is refused with the reason.
func TestWritingNeedsUseLatestVersion(t *testing.T) {
	c := newConverter(t, map[string]string{"schema.registry.url": "http://127.0.0.1:1"})
	d := connect.ValueData(map[string]any{"a": 1})
	if _, err := c.FromData("t", &d); err == nil || !strings.Contains(err.Error(), "use.latest.version=true") {
		t.Fatalf("FromData: %v", err)
	}
}

func TestHostileDataIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		data         []byte
		contains     string
	}{
		{"huge array of nulls", `{"type":"array","items":"null"}`, []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}, "take no bytes"},
		{"many blocks of nulls", `{"type":"array","items":"null"}`, append(repeat([]byte{0x80, 0x80, 0x02}, 5), 0), "take no bytes"},
		{"block larger than data", `{"type":"array","items":"long"}`, []byte{0xfe, 0xff, 0x03, 2}, "items in"},
		{"deep recursion", `{"type":"record","name":"N","fields":[{"name":"n","type":["null","N"]}]}`, repeat([]byte{2}, 10000), "nested deeper"},
		{"long overflow", `"long"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "overflows"},
		{"negative length", `"string"`, []byte{1}, "negative length"},
		{"bad boolean", `"boolean"`, []byte{7}, "neither 0 nor 1"},
		{"enum out of range", `{"type":"enum","name":"E","symbols":["A"]}`, []byte{2}, "no symbol 1"},
		{"union out of range", `["null","int"]`, []byte{4}, "no branch 2"},
		{"int out of range", `"int"`, []byte{0x80, 0x80, 0x80, 0x80, 0x20}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSchema(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			d := decoder{buf: tc.data}
			_, err = d.appendJSON(nil, s)
			if err == nil || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %v, want one containing %q", err, tc.contains)
			}
		})
	}
}

// An invalid logical type is ignored, as the Avro specification says: a
// decimal without a precision reads as bytes.
func TestInvalidDecimalReadsAsBytes(t *testing.T) {
	s, err := parseSchema(`{"type":"bytes","logicalType":"decimal","precision":0}`)
	if err != nil {
		t.Fatal(err)
	}
	d := decoder{buf: []byte{2, 1}}
	if out, err := d.appendJSON(nil, s); err != nil || string(out) != `"AQ=="` {
		t.Fatalf("read %s, %v", out, err)
	}
}

func repeat(b []byte, n int) []byte {
	var out []byte
	for range n {
		out = append(out, b...)
	}
	return out
}

func TestSchemaErrors(t *testing.T) {
	for _, tc := range []struct{ schema, contains string }{
		{`{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}`, `unknown type "Nope"`},
		{`{"type":"record","fields":[]}`, "needs a name"},
		{`{"type":"enum","name":"E","symbols":[]}`, "needs symbols"},
		{`["int","int"]`, "two branches named int"},
		{`[{"type":"record","name":"a.R","fields":[]},{"type":"record","name":"b.R","fields":[]}]`, "two branches named R"},
		{`{"type":"record","name":"R","fields":[{"name":"x","type":"int"},{"name":"x","type":"string"}]}`, "two fields named x"},
		{`[["int"]]`, "may not hold a union"},
		{`{"type":"array"}`, `needs "items"`},
		{`{"type":"fixed","name":"F"}`, "needs a size"},
		{`[{"type":"record","name":"R","fields":[]},{"type":"record","name":"R","fields":[]}]`, "defined twice"},
		{`not json`, "not JSON"},
		{strings.Repeat(`{"type":"array","items":`, 300) + `"int"` + strings.Repeat(`}`, 300), "nested deeper"},
	} {
		if _, err := parseSchema(tc.schema); err == nil || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%.60s: error %v, want one containing %q", tc.schema, err, tc.contains)
		}
	}
	// Namespaces: a simple name resolves in the enclosing namespace.
	s, err := parseSchema(`{"type":"record","name":"A","namespace":"n","fields":[
		{"name":"b","type":{"type":"record","name":"B","fields":[]}},{"name":"c","type":"B"},{"name":"d","type":"n.B"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if s.fields[1].schema != s.fields[0].schema || s.fields[2].schema != s.fields[0].schema || s.fields[0].schema.name != "n.B" {
		t.Fatalf("names not resolved: %+v", s.fields)
	}
}

func TestConnectSchemaOfOptionalRecordKeepsFields(t *testing.T) {
	s, err := parseSchema(`{"type":"record","name":"R","fields":[{"name":"o","type":["null",{"type":"record","name":"I","fields":[{"name":"x","type":"int"}]}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &connect.Schema{Type: "struct", Name: "R", Fields: []*connect.Schema{
		{Type: "struct", Name: "I", Optional: true, Field: "o", Fields: []*connect.Schema{{Type: "int32", Field: "x"}}}}}
	if got := connectSchema(s); !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		t.Fatalf("schema %s", gb)
	}
}

// TestAgainstRealSchemaRegistry registers the event schema in the registry
// SPUR_TEST_SCHEMA_REGISTRY_URL names (examples/avro/docker-compose.yml
// brings Confluent's up) and reads a record framed with the id it gave.
func TestAgainstRealSchemaRegistry(t *testing.T) {
	url := os.Getenv("SPUR_TEST_SCHEMA_REGISTRY_URL")
	if url == "" {
		t.Skip("SPUR_TEST_SCHEMA_REGISTRY_URL is not set")
	}
	body, _ := json.Marshal(map[string]string{"schema": eventSchema})
	resp, err := http.Post(url+"/subjects/spur-test-events-value/versions", "application/vnd.schemaregistry.v1+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ID int `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil || resp.StatusCode != 200 || reg.ID == 0 {
		t.Fatalf("register: %s %v %+v", resp.Status, err, reg)
	}
	c := newConverter(t, map[string]string{"schema.registry.url": url})
	d, err := c.ToData("spur-test-events", frame(t, reg.ID, eventSchema, eventNative()))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := d.Raw()
	if !bytes.HasPrefix(raw, []byte(`{"id":9007199254740993,"ok":true,`)) || d.Schema == nil {
		t.Fatalf("read %s", raw)
	}
	if _, err := c.ToData("t", []byte{0, 0x7f, 0xff, 0xff, 0xf0}); err == nil || !strings.Contains(err.Error(), "not found") || connect.IsSystemError(err) {
		t.Fatalf("unknown id: %v", err)
	}
}

// A source connector writes with the subject's latest schema, so it must
// say use.latest.version=true: validation names the key.
func TestSourceConnectorsNeedUseLatestVersion(t *testing.T) {
	reg := connect.NewRegistry()
	reg.MustRegister(Plugins()...)
	reg.MustRegister(&connect.Plugin{Class: "test.Source", Type: connect.PluginSource, Spec: connect.NewSpec(),
		NewConnector: func() connect.Connector { return noConnector{} }, NewSourceTask: func() connect.SourceTask { return nil }})
	raw := map[string]string{"name": "s", "connector.class": "test.Source",
		"value.converter": Class, "value.converter.schema.registry.url": "http://127.0.0.1:8081"}
	v := runtime.ValidateConnector(runtime.Options{Registry: reg}, raw)
	if !strings.Contains(v.Errors.Error(), "value.converter.use.latest.version") {
		t.Fatalf("errors %v", v.Errors)
	}
	raw["value.converter.use.latest.version"] = "true"
	if v := runtime.ValidateConnector(runtime.Options{Registry: reg}, raw); len(v.Errors) > 0 {
		t.Fatalf("errors %v", v.Errors)
	}
}

type noConnector struct{}

func (noConnector) Validate(connect.Config) []connect.KeyError { return nil }
func (noConnector) TaskConfigs(connect.Config, int) ([]map[string]string, error) {
	return []map[string]string{{}}, nil
}

// An https registry signed by a private CA is reached with the trust store
// the config names, and refused without it.
func TestHTTPSRegistryWithAPrivateCA(t *testing.T) {
	reg := srtest.New()
	srv := httptest.NewTLSServer(reg)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := `"string"`
	b := frame(t, reg.Register("s", s), s, "over tls")
	// httptest's certificate names 127.0.0.1 and example.com.
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL, "schema.registry.ssl.truststore.location": ca})
	if d, err := c.ToData("t", b); err != nil {
		t.Fatal(err)
	} else if raw, _ := d.Raw(); string(raw) != `"over tls"` {
		t.Fatalf("read %s", raw)
	}
	without := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	if _, err := without.ToData("t", b); err == nil || !connect.IsSystemError(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	for _, bad := range []map[string]string{
		{"schema.registry.url": srv.URL, "schema.registry.ssl.truststore.location": filepath.Join(t.TempDir(), "missing.pem")},
		{"schema.registry.url": srv.URL, "schema.registry.ssl.key.password": "secret"},
	} {
		cfg, errs := Spec.Parse(bad)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if _, err := New(cfg, false); err == nil || !strings.Contains(err.Error(), "schema.registry.ssl.") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// fanoutSchema is a small, valid schema whose records use the next level's
// record in every field: its Connect form and its JSON grow as fanout^depth.
func fanoutSchema(fanout, depth int) string {
	var rec func(i int) string
	rec = func(i int) string {
		if i == depth {
			return ""
		}
		var fs []string
		for j := range fanout {
			if j == 0 {
				fs = append(fs, fmt.Sprintf(`{"name":"f0","type":{"type":"record","name":"R%d","fields":[%s]}}`, i, rec(i+1)))
			} else {
				fs = append(fs, fmt.Sprintf(`{"name":"f%d","type":"R%d"}`, j, i))
			}
		}
		return strings.Join(fs, ",")
	}
	return `{"type":"record","name":"Top","fields":[` + rec(0) + `]}`
}

// Hostile schemas cost no more than their records' size suggests: JSON is
// bounded by the record's size, a huge decimal scale writes an exponent,
// and a schema whose Connect form would explode reads schemaless.
func TestHostileSchemasAreBounded(t *testing.T) {
	s, err := parseSchema(`{"type":"array","items":` + fanoutSchema(4, 6) + `}`)
	if err != nil {
		t.Fatal(err)
	}
	d := decoder{buf: []byte{0x80, 0x80, 0x08, 0}} // 65536 items of 4^6 empty records
	if _, err := d.appendJSON(nil, s); err == nil || !strings.Contains(err.Error(), "bytes of JSON") {
		t.Fatalf("exploding record: %v", err)
	}
	big, err := parseSchema(fanoutSchema(4, 10))
	if err != nil {
		t.Fatal(err)
	}
	if cs := connectSchema(big); cs != nil {
		t.Fatal("a Connect schema of millions of nodes was built")
	}
	dec, err := parseSchema(`{"type":"bytes","logicalType":"decimal","precision":100000000,"scale":100000000}`)
	if err != nil {
		t.Fatal(err)
	}
	d = decoder{buf: []byte{2, 0xfb}}
	if out, err := d.appendJSON(nil, dec); err != nil || string(out) != "-5e-100000000" {
		t.Fatalf("huge scale: %s %v", out, err)
	}
}

// Credentials in the URL are sent as basic auth and never shown: not in
// errors (which reach logs and DLQ headers), not in validation messages.
func TestCredentialsStayOutOfErrors(t *testing.T) {
	reg, srv := startRegistry(t)
	reg.RequireBasicAuth("bob", "hunter2")
	u := strings.Replace(srv.URL, "http://", "http://bob:hunter2@", 1)
	c := newConverter(t, map[string]string{"schema.registry.url": u})
	_, err := c.ToData("t", []byte{0, 0, 0, 0, 99, 2})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "Schema 99 not found") {
		t.Fatalf("error %v", err)
	}
	if _, errs := Spec.Parse(map[string]string{"schema.registry.url": "ftp://bob:hunter2@r"}); len(errs) == 0 || strings.Contains(errs.Error(), "hunter2") {
		t.Fatalf("validation %v", errs)
	}
}

// A schema that uses types of other subjects (schema references, Confluent's
// way of putting several event types in one topic) reads.
func TestSchemaReferences(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	geo := `{"type":"record","name":"Geo","namespace":"com.acme","fields":[{"name":"lat","type":"double"}]}`
	address := `{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"},{"name":"geo","type":"com.acme.Geo"}]}`
	order := `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"ship_to","type":"com.acme.Address"},{"name":"bill_to","type":"com.acme.Address"}]}`
	reg.Register("geo", geo)
	reg.RegisterWithReferences("address", address, "AVRO", []srtest.Reference{{Name: "com.acme.Geo", Subject: "geo", Version: 1}})
	id := reg.RegisterWithReferences("orders-value", order, "AVRO", []srtest.Reference{
		{Name: "com.acme.Address", Subject: "address", Version: 1}, {Name: "com.acme.Geo", Subject: "geo", Version: 1}})
	full := `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"ship_to","type":` +
		strings.Replace(address, `"com.acme.Geo"`, geo, 1) + `},{"name":"bill_to","type":"com.acme.Address"}]}`
	addr := map[string]any{"city": "Köln", "geo": map[string]any{"lat": 50.9}}
	d, err := c.ToData("orders", frame(t, id, full, map[string]any{"ship_to": addr, "bill_to": addr}))
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := d.Raw(); string(raw) != `{"ship_to":{"city":"Köln","geo":{"lat":50.9}},"bill_to":{"city":"Köln","geo":{"lat":50.9}}}` {
		t.Fatalf("read %s", raw)
	}
	// A reference the registry does not have is a record error, remembered.
	bad := reg.RegisterWithReferences("broken-value", order, "AVRO", []srtest.Reference{{Name: "com.acme.Address", Subject: "nope", Version: 1}})
	if bad == id {
		bad = reg.RegisterWithReferences("broken-value", order+" ", "AVRO", []srtest.Reference{{Name: "com.acme.Address", Subject: "nope", Version: 1}})
	}
	if _, err := c.ToData("t", []byte{0, 0, 0, 0, byte(bad), 0}); err == nil || connect.IsSystemError(err) || !strings.Contains(err.Error(), "Subject 'nope' not found") {
		t.Fatalf("missing reference: %v", err)
	}
}

// A schema id that is not Avro is asked for once, not per record.
func TestNonAvroSchemaIsFetchedOnce(t *testing.T) {
	reg, srv := startRegistry(t)
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL})
	id := reg.RegisterType("s", `syntax = "proto3";`, "PROTOBUF")
	for range 10 {
		if _, err := c.ToData("t", []byte{0, 0, 0, 0, byte(id), 0}); err == nil {
			t.Fatal("read")
		}
	}
	if n := reg.Gets(id); n != 1 {
		t.Fatalf("fetched %d times", n)
	}
}

// The Connect schema carries what AvroData gives schema-aware transforms:
// logical type names (TimestampConverter), Connect's own properties
// (Debezium), fixed sizes and enum symbols.
func TestConnectSchemaLikeAvroData(t *testing.T) {
	s, err := parseSchema(`{"type":"record","name":"R","fields":[
	 {"name":"day","type":{"type":"int","logicalType":"date"}},
	 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"tod","type":{"type":"int","logicalType":"time-millis"}},
	 {"name":"dbz","type":{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTimestamp"}},
	 {"name":"small","type":{"type":"int","connect.type":"int16"}},
	 {"name":"h","type":{"type":"fixed","name":"MD5","namespace":"x","size":16}},
	 {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	cs := connectSchema(s)
	for _, w := range []struct{ field, typ, name string }{
		{"day", "int32", "org.apache.kafka.connect.data.Date"}, {"at", "int64", "org.apache.kafka.connect.data.Timestamp"},
		{"tod", "int32", "org.apache.kafka.connect.data.Time"}, {"dbz", "int64", "io.debezium.time.MicroTimestamp"},
		{"small", "int16", ""}, {"h", "bytes", "x.MD5"}, {"e", "string", "E"},
	} {
		if f := cs.FieldByName(w.field); f == nil || f.Type != w.typ || f.Name != w.name {
			t.Errorf("%s: %+v, want %s %q", w.field, f, w.typ, w.name)
		}
	}
	if p := cs.FieldByName("h").Parameters["connect.fixed.size"]; p != "16" {
		t.Errorf("fixed size parameter %q", p)
	}
	if p := cs.FieldByName("e").Parameters; p["io.confluent.connect.avro.Enum.B"] != "B" {
		t.Errorf("enum parameters %v", p)
	}
	if err := cs.Validate(); err != nil {
		t.Error(err)
	}
}

// Whole floating-point numbers keep a ".0", as Jackson writes them, so a
// reader that guesses types sees a double.
func TestWholeDoublesKeepAPoint(t *testing.T) {
	for _, tc := range []struct {
		schema string
		bits   []byte
		want   string
	}{
		{`"double"`, binary.LittleEndian.AppendUint64(nil, math.Float64bits(10)), "10.0"},
		{`"double"`, binary.LittleEndian.AppendUint64(nil, math.Float64bits(-0.0)), "0.0"},
		{`"double"`, binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e21)), "1e+21"},
		{`"float"`, binary.LittleEndian.AppendUint32(nil, math.Float32bits(3)), "3.0"},
	} {
		s, _ := parseSchema(tc.schema)
		d := decoder{buf: tc.bits}
		if out, err := d.appendJSON(nil, s); err != nil || string(out) != tc.want {
			t.Errorf("%s %x: %s %v, want %s", tc.schema, tc.bits, out, err, tc.want)
		}
	}
}

const sensorSchema = `{"type":"record","name":"Reading","namespace":"iot","fields":[
 {"name":"device","type":"string"},
 {"name":"seq","type":"long"},
 {"name":"temp","type":"double"},
 {"name":"ok","type":"boolean","default":true},
 {"name":"unit","type":{"type":"enum","name":"Unit","symbols":["C","F"]},"default":"C"},
 {"name":"battery","type":["null","int"],"default":null},
 {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
 {"name":"extra","type":{"type":"map","values":"string"},"default":{}},
 {"name":"cost","type":{"type":"bytes","logicalType":"decimal","precision":6,"scale":2},"default":"\u0000"},
 {"name":"raw","type":"bytes","default":"\u00ff"},
 {"name":"geo","type":["null",{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}],"default":null},
 {"name":"label","type":["string","long"],"default":"none"}
]}`

// startWriter registers schemas under subject and returns a converter that
// writes with the latest.
func startWriter(t *testing.T, subject string, schemas ...string) (*srtest.Registry, *Converter, int) {
	t.Helper()
	reg, srv := startRegistry(t)
	id := 0
	for _, s := range schemas {
		id = reg.Register(subject, s)
	}
	return reg, newConverter(t, map[string]string{"schema.registry.url": srv.URL, "use.latest.version": "true"}), id
}

// Schemaless JSON from a source (an MQTT payload) is written with the
// subject's latest schema, in the wire format Confluent's deserializers
// read: goavro, an independent implementation, decodes it to the values
// and defaults expected, and Spur reads it back to the same JSON.
func TestWritesJSONWithTheLatestSchema(t *testing.T) {
	_, c, id := startWriter(t, "sensors-value", `"string"`, sensorSchema)
	in := `{"device":"d-1","seq":9007199254740993,"temp":21.5,"unit":"F","battery":87,"tags":["a","b"],"extra":{"fw":"1.2"},` +
		`"cost":"12.30","raw":"AAE=","geo":{"lat":50.9,"lon":6.9},"label":42}`
	d := connect.RawData(connect.FormatJSON, []byte(in))
	b, err := c.FromData("sensors", &d)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0 || binary.BigEndian.Uint32(b[1:5]) != uint32(id) {
		t.Fatalf("framing %x, want schema id %d", b[:5], id)
	}
	codec, err := goavro.NewCodec(sensorSchema)
	if err != nil {
		t.Fatal(err)
	}
	native, rest, err := codec.NativeFromBinary(b[5:])
	if err != nil || len(rest) != 0 {
		t.Fatalf("goavro: %v, %d bytes left", err, len(rest))
	}
	m := native.(map[string]any)
	for k, want := range map[string]any{"device": "d-1", "seq": int64(9007199254740993), "temp": 21.5, "ok": true, "unit": "F",
		"battery": map[string]any{"int": int32(87)}, "label": map[string]any{"long": int64(42)}, "raw": []byte{0, 1}} {
		if !reflect.DeepEqual(m[k], want) {
			t.Errorf("%s: goavro read %#v, want %#v", k, m[k], want)
		}
	}
	if r := m["cost"].(*big.Rat); r.Cmp(big.NewRat(1230, 100)) != 0 {
		t.Errorf("cost %v", r)
	}
	back, err := c.ToData("sensors", b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := back.Raw()
	want := `{"device":"d-1","seq":9007199254740993,"temp":21.5,"ok":true,"unit":"F","battery":87,"tags":["a","b"],"extra":{"fw":"1.2"},` +
		`"cost":12.30,"raw":"AAE=","geo":{"lat":50.9,"lon":6.9},"label":{"string":null,"long":42}}`
	if string(raw) != want {
		t.Fatalf("read back %s\nwant        %s", raw, want)
	}

	// Only the required fields: the defaults fill the rest.
	d = connect.RawData(connect.FormatJSON, []byte(`{"device":"d-2","seq":1,"temp":-3}`))
	if b, err = c.FromData("sensors", &d); err != nil {
		t.Fatal(err)
	}
	back, err = c.ToData("sensors", b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = back.Raw()
	want = `{"device":"d-2","seq":1,"temp":-3.0,"ok":true,"unit":"C","battery":null,"tags":[],"extra":{},"cost":0.00,"raw":"/w==","geo":null,"label":{"string":"none","long":null}}`
	if string(raw) != want {
		t.Fatalf("defaults read back %s\nwant                 %s", raw, want)
	}
	// A tombstone stays one.
	null := connect.RawData(connect.FormatJSON, nil)
	if b, err := c.FromData("sensors", &null); err != nil || b != nil {
		t.Fatalf("tombstone: %x %v", b, err)
	}
}

// A value that does not fit the schema is the record's error, naming the
// field; a subject without a schema is the configuration's (a system error).
func TestWriteErrorsNameTheField(t *testing.T) {
	_, c, _ := startWriter(t, "sensors-value", sensorSchema)
	base := `"device":"d","seq":1,"temp":1`
	for _, tc := range []struct{ value, contains string }{
		{`{"seq":1,"temp":1}`, "device: missing, and the field has no default"},
		{`{` + base + `,"color":"red"}`, "color: not a field of record iot.Reading"},
		{`{"device":"d","seq":"one","temp":1}`, `seq: want an integer, got "one"`},
		{`{` + base + `,"battery":3000000000}`, "battery: as int: want an integer in the range of an Avro int"},
		{`{` + base + `,"unit":"K"}`, `unit: "K" is not a symbol of enum iot.Unit`},
		{`{` + base + `,"cost":"twelve"}`, `cost: want a decimal number, got "twelve"`},
		{`{` + base + `,"cost":"1.234"}`, "more than 2 digits after the point"},
		{`{` + base + `,"cost":1.234}`, "more than 2 digits after the point"},
		{`{` + base + `,"cost":12345.6}`, "more than the 6 digits of its precision"},
		{`{` + base + `,"geo":{"lat":1}}`, "geo.lon: missing"},
		{`{` + base + `,"label":true}`, "fits no branch of the union"},
		{`{` + base + `,"raw":"not base64!"}`, "raw: want base64 bytes"},
		{`[1,2]`, "want an object for record iot.Reading"},
	} {
		d := connect.RawData(connect.FormatJSON, []byte(tc.value))
		_, err := c.FromData("sensors", &d)
		if err == nil || !strings.Contains(err.Error(), tc.contains) || connect.IsSystemError(err) {
			t.Errorf("%s: error %v, want one containing %q", tc.value, err, tc.contains)
		}
	}
	d := connect.RawData(connect.FormatJSON, []byte(`{}`))
	if _, err := c.FromData("unregistered", &d); err == nil || !connect.IsSystemError(err) || !strings.Contains(err.Error(), "subject unregistered-value has no schema") {
		t.Fatalf("no subject: %v", err)
	}
}

// Strings (a StringConverter-shaped value) write into a string schema, and
// keys use the -key subject.
func TestWritesKeysAndStrings(t *testing.T) {
	reg, srv := startRegistry(t)
	id := reg.Register("t-key", `"string"`)
	cfg, _ := Spec.Parse(map[string]string{"schema.registry.url": srv.URL, "use.latest.version": "true"})
	c, err := New(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	d := connect.RawData(connect.FormatString, []byte("device-7"))
	b, err := c.FromData("t", &d)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(id)), append([]byte{16}, "device-7"...)...); !bytes.Equal(b, want) {
		t.Fatalf("wrote %x, want %x", b, want)
	}
}

// encodeJSON writes a JSON value by a schema, as FromData does.
func encodeJSON(t *testing.T, schemaText, value string) ([]byte, error) {
	t.Helper()
	s, err := parseSchema(schemaText)
	if err != nil {
		t.Fatal(err)
	}
	v, err := connect.DecodeJSON([]byte(value))
	if err != nil {
		t.Fatal(err)
	}
	var e encoder
	return e.appendValue(nil, s, v, false)
}

// Unions of records: many values pick their branch without exhausting the
// nesting budget, ambiguous deep unions stop at a bound instead of taking
// exponential time, and an error names what did not fit.
func TestUnionsOfRecords(t *testing.T) {
	batch := `{"type":"record","name":"Batch","fields":[{"name":"events","type":{"type":"array","items":[
	  {"type":"record","name":"View","fields":[{"name":"page","type":"string"}]},
	  {"type":"record","name":"Click","fields":[{"name":"button","type":"string"}]}]}}]}`
	ev := make([]string, 1000)
	for i := range ev {
		ev[i] = `{"button":"ok"}`
	}
	b, err := encodeJSON(t, batch, `{"events":[`+strings.Join(ev, ",")+`]}`)
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := goavro.NewCodec(batch)
	if native, _, err := codec.NativeFromBinary(b); err != nil || len(native.(map[string]any)["events"].([]any)) != 1000 {
		t.Fatalf("goavro: %v", err)
	}
	if _, err := encodeJSON(t, `{"type":"record","name":"R","fields":[{"name":"u","type":[
	  {"type":"record","name":"View","fields":[{"name":"page","type":"string"}]},
	  {"type":"record","name":"Click","fields":[{"name":"button","type":"string"}]}]}]}`, `{"u":{"button":5}}`); err == nil ||
		!strings.Contains(err.Error(), "button: want a string") {
		t.Fatalf("wrong type in a union of records: %v", err)
	}
	deep := `{"type":"record","name":"A","fields":[
	 {"name":"next","type":["null","A",{"type":"record","name":"B","fields":[{"name":"next","type":["null","A","B"]},{"name":"b","type":"int"}]}]},
	 {"name":"a","type":"int"}]}`
	v := `null`
	for range 40 {
		v = `{"next":` + v + `,"b":1}`
	}
	start := time.Now()
	_, err = encodeJSON(t, deep, `{"next":`+v+`,"a":1}`)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("40 ambiguous levels took %v", time.Since(start))
	}
	if err != nil && !strings.Contains(err.Error(), "too ambiguous") {
		t.Fatalf("deep union: %v", err)
	}
}

func TestWriteEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, schema, value string
		want                any // goavro's reading, or an error substring (string starting with "error: ")
	}{
		{"float overflow is an error", `"float"`, `1e39`, "error: range of an Avro float"},
		{"a double takes what a float cannot", `["null","float","double"]`, `1e300`, map[string]any{"double": 1e300}},
		{"NaN text stays text", `["null","double","string"]`, `"NaN"`, map[string]any{"string": "NaN"}},
		{"NaN into a double", `"double"`, `"NaN"`, "nan"},
		{"decimal -128 in one byte", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, `-128`, "bytes:80"},
		{"decimal 128 in two bytes", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, `128`, "bytes:0080"},
		{"decimal -129", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, `-129`, "bytes:ff7f"},
		{"decimal 0", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, `0`, "bytes:00"},
		{"negative fixed decimal is sign-extended", `{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9,"scale":2}`, `-1.00`, "bytes:ffffff9c"},
		{"huge mantissa", `{"type":"bytes","logicalType":"decimal","precision":4,"scale":0}`, strings.Repeat("9", 100000), "error: longer than a decimal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeJSON(t, tc.schema, tc.value)
			want, _ := tc.want.(string)
			if strings.HasPrefix(want, "error: ") {
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(want, "error: ")) {
					t.Fatalf("error %v, want one containing %q", err, strings.TrimPrefix(want, "error: "))
				}
				if len(err.Error()) > 500 {
					t.Fatalf("error of %d characters", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hexb, ok := strings.CutPrefix(want, "bytes:"); ok {
				// The decimal's unscaled bytes, after the length (bytes) or as they are (fixed).
				got := fmt.Sprintf("%x", b)
				if !strings.HasSuffix(got, hexb) || len(got) > len(hexb)+2 {
					t.Fatalf("wrote %s, want the bytes %s", got, hexb)
				}
				return
			}
			codec, err := goavro.NewCodec(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			native, _, err := codec.NativeFromBinary(b)
			if err != nil {
				t.Fatal(err)
			}
			if want == "nan" {
				if f, ok := native.(float64); !ok || !math.IsNaN(f) {
					t.Fatalf("goavro read %#v", native)
				}
				return
			}
			if !reflect.DeepEqual(native, tc.want) {
				t.Fatalf("goavro read %#v, want %#v", native, tc.want)
			}
		})
	}
}

// Text from a string-format source is written into a bytes schema as it
// is (not decoded as base64), and bytes that are text into a string schema.
func TestWritesTextAndBytesAcrossFormats(t *testing.T) {
	_, c, _ := startWriter(t, "b-value", `"bytes"`)
	d := connect.RawData(connect.FormatString, []byte("abcd"))
	b, err := c.FromData("b", &d)
	if err != nil || string(b[5:]) != "\x08abcd" {
		t.Fatalf("text into bytes: %x %v", b, err)
	}
	_, c, _ = startWriter(t, "s-value", `"string"`)
	d = connect.RawData(connect.FormatBytes, []byte("héllo"))
	if b, err = c.FromData("s", &d); err != nil || string(b[6:]) != "héllo" {
		t.Fatalf("bytes into string: %x %v", b, err)
	}
	d = connect.RawData(connect.FormatBytes, []byte{0xff})
	if _, err = c.FromData("s", &d); err == nil {
		t.Fatal("invalid UTF-8 written as a string")
	}
}

// A latest schema that is not Avro fails the task (a system error), not
// each record.
func TestNonAvroLatestSchemaIsASystemError(t *testing.T) {
	reg, srv := startRegistry(t)
	reg.RegisterType("t-value", `syntax = "proto3"; message M {}`, "PROTOBUF")
	c := newConverter(t, map[string]string{"schema.registry.url": srv.URL, "use.latest.version": "true"})
	d := connect.RawData(connect.FormatJSON, []byte(`{}`))
	if _, err := c.FromData("t", &d); !connect.IsSystemError(err) || !strings.Contains(err.Error(), "PROTOBUF") {
		t.Fatalf("error %v", err)
	}
}

// What Spur reads from a union of several types ({"string":null,"long":5},
// Kafka Connect's form) writes back to the same branch.
func TestUnionStructsRoundTrip(t *testing.T) {
	schema := `{"type":"record","name":"R","fields":[{"name":"u","type":["null","string","long",{"type":"map","values":["null","string"]}]}]}`
	for _, in := range []string{`{"u":{"string":null,"long":5,"map":null}}`, `{"u":{"string":"x","long":null,"map":null}}`,
		`{"u":{"string":null,"long":null,"map":{"string":"not the union"}}}`, `{"u":null}`} {
		b, err := encodeJSON(t, schema, in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		s, _ := parseSchema(schema)
		d := decoder{buf: b}
		out, err := d.appendJSON(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("%s read back as %s", in, out)
		}
	}
}
