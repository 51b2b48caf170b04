package transforms

import (
	"testing"

	"github.com/spur-connect/spur/connect"
)

func topicIs(want string) func(t *testing.T, r *connect.Record) {
	return func(t *testing.T, r *connect.Record) {
		t.Helper()
		if r.Topic != want {
			t.Errorf("topic %q, want %q", r.Topic, want)
		}
		notDecoded(false)(t, r)
		notDecoded(true)(t, r)
	}
}

func TestRegexRouter(t *testing.T) {
	rr := func(re, repl string) map[string]string { return map[string]string{"regex": re, "replacement": repl} }
	runCases(t, []tcase{
		{name: "route", typ: "org.apache.kafka.connect.transforms.RegexRouter", cfg: rr(`ev(.*)`, `archive-$1`), key: "bad", value: "bad json", check: topicIs("archive-ents")},
		{name: "must match the whole topic", typ: "RegexRouter", cfg: rr(`event`, `x`), value: "x", check: topicIs("events")},
		{name: "named group and escapes", typ: "regex-router", cfg: rr(`(?P<base>[a-z]+)`, `\$${base}\\`), value: "x", check: topicIs(`$events\`)},
		{name: "$10 is group 1 then 0 when there is one group", typ: "RegexRouter", cfg: rr(`(e)vents`, `$10`), value: "x", check: topicIs("e0")},
		{name: "replaceFirst replaces the leftmost-first match", typ: "RegexRouter", cfg: rr(`e|events`, `X`), value: "x", check: topicIs("Xvents")},
		{name: "unmatched group is empty", typ: "RegexRouter", cfg: rr(`(x)?events`, `[$1]`), value: "x", check: topicIs("[]")},
		{name: "config: missing group", typ: "RegexRouter", cfg: rr(`(e)vents`, `$2`), cfgErr: "transforms.x.replacement: No group 2"},
		{name: "config: bad regex", typ: "RegexRouter", cfg: rr(`(`, `x`), cfgErr: "transforms.x.regex: Invalid value ( for configuration transforms.x.regex: not a valid regular expression"},
		{name: "config: dangling escape", typ: "RegexRouter", cfg: rr(`e`, `x\`), cfgErr: "character to be escaped is missing"},
		{name: "config: required", typ: "RegexRouter", cfg: map[string]string{}, cfgErr: `Missing required configuration "transforms.x.regex"`},
	})
}

func TestFlatten(t *testing.T) {
	sch := `{"type":"struct","optional":false,"name":"top","fields":[` +
		`{"type":"struct","optional":true,"field":"a","fields":[{"type":"int32","optional":false,"field":"b"},{"type":"string","optional":false,"default":"x","field":"c"}]},` +
		`{"type":"boolean","optional":false,"field":"d"},` +
		`{"type":"array","optional":false,"items":{"type":"int32","optional":false},"field":"e"}]}`
	runCases(t, []tcase{
		{name: "schemaless", typ: "Flatten$Value", cfg: map[string]string{},
			value: `{"a":{"b":{"c":1.10},"d":[{"x":1}],"e":{}},"n":null,"f":"s","big":12345678901234567890}`,
			want:  `{"a.b.c":1.10,"a.d":[{"x":1}],"big":12345678901234567890,"f":"s","n":null}`},
		{name: "delimiter", typ: "flatten-value", cfg: map[string]string{"delimiter": "_"}, value: `{"a":{"b":1}}`, want: `{"a_b":1}`},
		{name: "clash resolves the same way every time", typ: "Flatten$Value", cfg: map[string]string{}, value: `{"a.b":1,"a":{"b":2}}`, want: `{"a.b":1}`},
		{name: "null passes through", typ: "Flatten$Value", cfg: map[string]string{}, value: "", want: "null"},
		{name: "array value", typ: "Flatten$Value", cfg: map[string]string{}, value: `[1]`,
			wantErr: "Only Map objects supported in absence of schema for [flattening], found: array"},
		{name: "key", typ: "Flatten$Key", cfg: map[string]string{}, key: `{"k":{"v":1}}`, value: "x", wantKey: `{"k.v":1}`, check: notDecoded(false)},
		{name: "with schema", typ: "Flatten$Value", cfg: map[string]string{},
			value: `{"a":{"b":1,"c":"y"},"d":true,"e":[1]}`, valueSch: sch,
			want: `{"a.b":1,"a.c":"y","d":true,"e":[1]}`,
			wantSch: `{"type":"struct","optional":false,"name":"top","fields":[{"type":"int32","optional":true,"field":"a.b"},` +
				`{"type":"string","optional":true,"default":"x","field":"a.c"},{"type":"boolean","optional":false,"field":"d"},` +
				`{"type":"array","optional":false,"field":"e","items":{"type":"int32","optional":false}}]}`},
		{name: "with schema, null struct", typ: "Flatten$Value", cfg: map[string]string{},
			value: `{"a":null,"d":true,"e":[]}`, valueSch: sch, want: `{"a.b":null,"a.c":null,"d":true,"e":[]}`},
	})
}

func TestFilter(t *testing.T) {
	runCases(t, []tcase{
		{name: "drops", typ: "org.apache.kafka.connect.transforms.Filter", value: "{}", dropped: true},
		{name: "alias", typ: "filter", value: "{}", dropped: true},
	})
}

func TestHeaders(t *testing.T) {
	in := `{"id":12345678901234567890,"ctx":{"a":"b"},"s":"str","n":null,"b":"AAEC"}`
	hf := func(fields, headers, op string) map[string]string {
		return map[string]string{"fields": fields, "headers": headers, "operation": op}
	}
	runCases(t, []tcase{
		{name: "InsertHeader", typ: "org.apache.kafka.connect.transforms.InsertHeader", cfg: map[string]string{"header": "h", "value.literal": "42"},
			key: "bad", value: "bad json", prep: func(r *connect.Record) { r.Headers.Add("h", []byte("1")) },
			check: func(t *testing.T, r *connect.Record) {
				if len(r.Headers) != 2 || header(r, "h") != "42" {
					t.Errorf("headers %v", r.Headers)
				}
				topicIs("events")(t, r)
			}},
		{name: "InsertHeader config", typ: "InsertHeader", cfg: map[string]string{"header": "h"}, cfgErr: `Missing required configuration "transforms.x.value.literal"`},
		{name: "DropHeaders", typ: "drop-headers", cfg: map[string]string{"headers": "a, c"}, value: "bad json",
			prep: func(r *connect.Record) {
				for _, k := range []string{"a", "b", "a", "c", "d"} {
					r.Headers.Add(k, []byte(k))
				}
			},
			check: func(t *testing.T, r *connect.Record) {
				if len(r.Headers) != 2 || r.Headers[0].Key != "b" || r.Headers[1].Key != "d" {
					t.Errorf("headers %v", r.Headers)
				}
				topicIs("events")(t, r)
			}},
		{name: "DropHeaders config", typ: "DropHeaders", cfg: map[string]string{"headers": ""}, cfgErr: "Empty list"},
		{name: "HeaderFrom copy", typ: "org.apache.kafka.connect.transforms.HeaderFrom$Value", cfg: hf("id,ctx,s,n,absent", "h_id,h_ctx,h_s,h_n,h_a", "copy"),
			key: "bad key", value: in,
			check: func(t *testing.T, r *connect.Record) {
				for k, want := range map[string]string{"h_id": "12345678901234567890", "h_ctx": `{"a":"b"}`, "h_s": "str", "h_n": "<null>", "h_a": "<null>"} {
					if got := header(r, k); got != want {
						t.Errorf("header %s = %s, want %s", k, got, want)
					}
				}
				sameBytes(in)(t, r)
				notDecoded(true)(t, r)
			}},
		{name: "HeaderFrom move", typ: "HeaderFrom$Value", cfg: hf("s,ctx", "hs,hc", "move"), value: in,
			want: `{"b":"AAEC","id":12345678901234567890,"n":null}`,
			check: func(t *testing.T, r *connect.Record) {
				if header(r, "hs") != "str" || header(r, "hc") != `{"a":"b"}` {
					t.Errorf("headers %v", r.Headers)
				}
			}},
		{name: "HeaderFrom V2 move", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "ctx.a", "headers": "ha", "operation": "move", "field.syntax.version": "V2"},
			value: in, want: `{"b":"AAEC","ctx":{},"id":12345678901234567890,"n":null,"s":"str"}`},
		{name: "HeaderFrom key", typ: "HeaderFrom$Key", cfg: hf("k", "hk", "copy"), key: `{"k":"v"}`, value: "bad json",
			check: func(t *testing.T, r *connect.Record) {
				if header(r, "hk") != "v" {
					t.Errorf("headers %v", r.Headers)
				}
				notDecoded(false)(t, r)
			}},
		{name: "HeaderFrom with schema, bytes as bytes", typ: "HeaderFrom$Value", cfg: hf("b", "hb", "move"), value: `{"b":"AAEC","i":1}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"bytes","optional":false,"field":"b"},{"type":"int8","optional":false,"field":"i"}]}`,
			want:     `{"i":1}`, wantSch: `{"type":"struct","optional":false,"fields":[{"type":"int8","optional":false,"field":"i"}]}`,
			check: func(t *testing.T, r *connect.Record) {
				if header(r, "hb") != "\x00\x01\x02" {
					t.Errorf("headers %v", r.Headers)
				}
			}},
		{name: "HeaderFrom null value", typ: "HeaderFrom$Value", cfg: hf("s", "h", "copy"), value: "", wantErr: "[header copy], found: null"},
		{name: "HeaderFrom config: lengths", typ: "HeaderFrom$Value", cfg: hf("a,b", "h", "copy"),
			cfgErr: "transforms.x.headers: 'fields' config must have the same number of elements as 'headers' config."},
		{name: "HeaderFrom config: operation", typ: "HeaderFrom$Value", cfg: hf("a", "h", "cut"),
			cfgErr: "transforms.x.operation: Invalid value cut for configuration transforms.x.operation: String must be one of: move, copy"},
	})
}

func TestSetSchemaMetadata(t *testing.T) {
	runCases(t, []tcase{
		{name: "name and version", typ: "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "com.x.Ev", "schema.version": "3"},
			value: `{"id":1}`, valueSch: structID,
			wantSch: `{"type":"struct","optional":false,"name":"com.x.Ev","version":3,"fields":[{"type":"int64","optional":false,"field":"id"}]}`,
			check:   notDecoded(false)},
		{name: "version only", typ: "SetSchemaMetadata$Key", cfg: map[string]string{"schema.version": "2"},
			key: `"k"`, keySch: `{"type":"string","optional":false,"name":"k"}`, value: "x",
			wantKeySc: `{"type":"string","optional":false,"name":"k","version":2}`, check: notDecoded(true)},
		{name: "no schema, null value", typ: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "n"}, value: "", want: "null"},
		{name: "no schema", typ: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "n"}, value: "{}",
			wantErr: "Schema required for [updating schema metadata]"},
		{name: "config: nothing to set", typ: "SetSchemaMetadata$Value", cfg: map[string]string{}, cfgErr: "transforms.x.schema.name: Neither schema name nor version configured"},
		{name: "config: version not an int", typ: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.version": "v1"}, cfgErr: "transforms.x.schema.version: Invalid value v1"},
	})
}
