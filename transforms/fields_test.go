package transforms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/spur-connect/spur/connect"
)

const tracking = `{"event":"click","context":{"ip":"1.2.3.4","ua":"x"},"user":{"id":7,"email":"a@b.c"}}`

func TestReplaceField(t *testing.T) {
	abc := `{"a":1,"b":2.50,"c":"3"}`
	v2 := func(kv ...string) map[string]string {
		m := map[string]string{"field.syntax.version": "V2"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	sch := `{"type":"struct","optional":true,"name":"n","version":2,"fields":[{"type":"int32","optional":false,"field":"a"},{"type":"double","optional":false,"field":"b"},{"type":"string","optional":true,"field":"c"}]}`
	runCases(t, []tcase{
		{name: "exclude", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "b"}, value: abc, want: `{"a":1,"c":"3"}`},
		{name: "exclude.regex drops PII at any depth", typ: "ReplaceField$Value", cfg: map[string]string{"exclude.regex": "(?i).*(email|phone).*"},
			value: `{"id":9007199254740993,"Email":"a@b","user":{"phone_number":"1","name":"x"},"items":[{"email":"c@d","sku":"s"}]}`,
			want:  `{"id":9007199254740993,"items":[{"sku":"s"}],"user":{"name":"x"}}`},
		{name: "exclude.regex matches whole names only", typ: "ReplaceField$Value", cfg: map[string]string{"exclude.regex": "ip"},
			value: `{"ip":"1.2.3.4","zip":"12345"}`, want: `{"zip":"12345"}`},
		{name: "exclude.regex with a schema", typ: "ReplaceField$Value", cfg: map[string]string{"exclude.regex": "[bc]"}, value: abc, valueSch: sch,
			want: `{"a":1}`, wantSch: `{"type":"struct","optional":true,"name":"n","version":2,"fields":[{"type":"int32","optional":false,"field":"a"}]}`},
		{name: "include", typ: "ReplaceField$Value", cfg: map[string]string{"include": "a,c"}, value: abc, want: `{"a":1,"c":"3"}`},
		{name: "exclude wins over include", typ: "ReplaceField$Value", cfg: map[string]string{"include": "a,b", "exclude": "b"}, value: abc, want: `{"a":1}`},
		{name: "renames swap", typ: "ReplaceField$Value", cfg: map[string]string{"renames": "a:b,b:a"}, value: abc, want: `{"a":2.50,"b":1,"c":"3"}`},
		{name: "rename of an excluded field", typ: "ReplaceField$Value", cfg: map[string]string{"renames": "a:x", "exclude": "a"}, value: abc, want: `{"b":2.50,"c":"3"}`},
		{name: "deprecated blacklist", typ: "ReplaceField$Value", cfg: map[string]string{"blacklist": "a,b"}, value: abc, want: `{"c":"3"}`},
		{name: "deprecated whitelist", typ: "ReplaceField$Value", cfg: map[string]string{"whitelist": "a"}, value: abc, want: `{"a":1}`},
		{name: "exclude wins over blacklist", typ: "ReplaceField$Value", cfg: map[string]string{"blacklist": "a", "exclude": "c"}, value: abc, want: `{"a":1,"b":2.50}`},
		{name: "null passes through", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "a"}, value: "", want: "null", check: notDecoded(false)},
		{name: "not an object", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "a"}, value: `"s"`,
			wantErr: "Only Map objects supported in absence of schema for [field replacement], found: string"},
		{name: "key variant", typ: "replace-field-key", cfg: map[string]string{"exclude": "a"}, key: abc, value: "x", wantKey: `{"b":2.50,"c":"3"}`, check: notDecoded(false)},
		{name: "V1: a dotted name is literal", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "context.ip"},
			value: `{"context.ip":"x","context":{"ip":"y"}}`, want: `{"context":{"ip":"y"}}`},
		{name: "V2: drop nested PII", typ: "ReplaceField$Value", cfg: v2("exclude", "context.ip,user.email,absent.x"),
			value: tracking, want: `{"context":{"ua":"x"},"event":"click","user":{"id":7}}`},
		{name: "V2: include nested", typ: "ReplaceField$Value", cfg: v2("include", "event,context.ua,user"),
			value: tracking, want: `{"context":{"ua":"x"},"event":"click","user":{"email":"a@b.c","id":7}}`},
		{name: "V2: rename nested", typ: "ReplaceField$Value", cfg: v2("renames", "context.ip:client_ip,event:type"),
			value: tracking, want: `{"context":{"client_ip":"1.2.3.4","ua":"x"},"type":"click","user":{"email":"a@b.c","id":7}}`},
		{name: "V2: backticks", typ: "ReplaceField$Value", cfg: v2("exclude", "`a.b`.c"),
			value: `{"a.b":{"c":1,"d":2},"a":{"b":{"c":3}}}`, want: `{"a":{"b":{"c":3}},"a.b":{"d":2}}`},
		{name: "with schema", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "b", "renames": "a:aa"},
			value: `{"a":1,"b":2.5,"c":null}`, valueSch: sch, want: `{"aa":1,"c":null}`,
			wantSch: `{"type":"struct","optional":true,"name":"n","version":2,"fields":[{"type":"int32","optional":false,"field":"aa"},{"type":"string","optional":true,"field":"c"}]}`},
		{name: "with schema, include", typ: "ReplaceField$Value", cfg: map[string]string{"include": "c,a"},
			value: `{"a":1,"b":2.5,"c":"x"}`, valueSch: sch, want: `{"a":1,"c":"x"}`,
			wantSch: `{"type":"struct","optional":true,"name":"n","version":2,"fields":[{"type":"int32","optional":false,"field":"a"},{"type":"string","optional":true,"field":"c"}]}`},
		{name: "with schema, rename clash", typ: "ReplaceField$Value", cfg: map[string]string{"renames": "a:c"},
			value: `{"a":1,"b":2.5,"c":"x"}`, valueSch: sch, wantErr: "Cannot create field because of field name duplication c"},
		{name: "with schema, V2 nested drop", typ: "ReplaceField$Value", cfg: v2("exclude", "ctx.ip"),
			value:    `{"ctx":{"ip":"1.2.3.4","ua":"x"}}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":false,"field":"ctx","fields":[{"type":"string","optional":false,"field":"ip"},{"type":"string","optional":false,"field":"ua"}]}]}`,
			want:     `{"ctx":{"ua":"x"}}`,
			wantSch:  `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":false,"field":"ctx","fields":[{"type":"string","optional":false,"field":"ua"}]}]}`},
		{name: "config: bad rename", typ: "ReplaceField$Value", cfg: map[string]string{"renames": "a:b,c"},
			cfgErr: "transforms.x.renames: Invalid value a:b,c for configuration transforms.x.renames: Invalid rename mapping: c"},
		{name: "config: incomplete backtick", typ: "ReplaceField$Value", cfg: v2("exclude", "`a.b"),
			cfgErr: "transforms.x.exclude: Incomplete backtick pair in path: [`a.b], consider adding a backslash before backtick at position 0 to escape it"},
	})
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hmacSHA(key, s string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

func TestMaskField(t *testing.T) {
	in := `{"s":"secret","i":12345678901234567890,"f":1.10,"b":true,"arr":[1],"obj":{"k":1},"n":null,"keep":1.10}`
	runCases(t, []tcase{
		{name: "zero values", typ: "MaskField$Value", cfg: map[string]string{"fields": "s,i,f,b,arr,obj,n,absent"}, value: in,
			want: `{"absent":null,"arr":[],"b":false,"f":0.0,"i":0,"keep":1.10,"n":null,"obj":{},"s":""}`},
		{name: "replacement", typ: "MaskField$Value", cfg: map[string]string{"fields": "s,i,f,n", "replacement": "42"}, value: in,
			want: `{"arr":[1],"b":true,"f":42.0,"i":42,"keep":1.10,"n":null,"obj":{"k":1},"s":"42"}`},
		{name: "replacement on a boolean", typ: "MaskField$Value", cfg: map[string]string{"fields": "b", "replacement": "x"}, value: in,
			wantErr: "Cannot mask value of type boolean with custom replacement."},
		{name: "replacement not a number", typ: "MaskField$Value", cfg: map[string]string{"fields": "i", "replacement": "xx"}, value: in,
			wantErr: "Unable to convert xx (string) to number"},
		{name: "null value fails as in Kafka", typ: "MaskField$Value", cfg: map[string]string{"fields": "s"}, value: "",
			wantErr: "Only Map objects supported in absence of schema for [mask fields], found: null"},
		{name: "sha256", typ: "MaskField$Value", cfg: map[string]string{"fields": "s,i,obj,n", "hash.algorithm": "sha256"}, value: in,
			want: `{"arr":[1],"b":true,"f":1.10,"i":"` + sha("12345678901234567890") + `","keep":1.10,"n":null,"obj":"` + sha(`{"k":1}`) + `","s":"` + sha("secret") + `"}`},
		{name: "V2 salted hash of nested PII", typ: "mask-field-value",
			cfg:   map[string]string{"fields": "context.ip,user.email,user.absent,nothere.x", "hash.algorithm": "sha256", "hash.salt": "pepper", "field.syntax.version": "V2"},
			value: tracking,
			want:  `{"context":{"ip":"` + hmacSHA("pepper", "1.2.3.4") + `","ua":"x"},"event":"click","user":{"absent":null,"email":"` + hmacSHA("pepper", "a@b.c") + `","id":7}}`},
		{name: "with schema", typ: "MaskField$Value", cfg: map[string]string{"fields": "a,s,d,o,t,absent"},
			value:    `{"a":5,"s":"x","d":2.5,"o":null,"t":1700000000123}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"int32","optional":false,"field":"a"},{"type":"string","optional":false,"field":"s"},{"type":"double","optional":false,"field":"d"},{"type":"string","optional":true,"field":"o"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"t"}]}`,
			want:     `{"a":0,"d":0.0,"o":null,"s":"","t":0}`,
			wantSch:  `{"type":"struct","optional":false,"fields":[{"type":"int32","optional":false,"field":"a"},{"type":"string","optional":false,"field":"s"},{"type":"double","optional":false,"field":"d"},{"type":"string","optional":true,"field":"o"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"t"}]}`},
		{name: "with schema, replacement checks the width", typ: "MaskField$Value", cfg: map[string]string{"fields": "a", "replacement": "300"},
			value: `{"a":5}`, valueSch: `{"type":"struct","optional":false,"fields":[{"type":"int8","optional":false,"field":"a"}]}`,
			wantErr: "Unable to convert 300 (string) to number"},
		{name: "with schema, struct field", typ: "MaskField$Value", cfg: map[string]string{"fields": "m"},
			value: `{"m":{}}`, valueSch: `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":false,"field":"m","fields":[]}]}`,
			wantErr: "Cannot mask value of type: struct"},
		{name: "with schema, hash makes a string", typ: "MaskField$Value", cfg: map[string]string{"fields": "id", "hash.algorithm": "sha256"},
			value: `{"id":12}`, valueSch: structID,
			want:    `{"id":"` + sha("12") + `"}`,
			wantSch: `{"type":"struct","optional":false,"name":"ev","fields":[{"type":"string","optional":false,"field":"id"}]}`},
		{name: "config: no fields", typ: "MaskField$Value", cfg: map[string]string{}, cfgErr: `Missing required configuration "transforms.x.fields" which has no default value.`},
		{name: "config: empty fields", typ: "MaskField$Value", cfg: map[string]string{"fields": " "}, cfgErr: "transforms.x.fields: Invalid value   for configuration transforms.x.fields: Empty list"},
		{name: "config: empty replacement", typ: "MaskField$Value", cfg: map[string]string{"fields": "a", "replacement": ""}, cfgErr: "transforms.x.replacement"},
		{name: "config: hash and replacement", typ: "MaskField$Value", cfg: map[string]string{"fields": "a", "replacement": "x", "hash.algorithm": "sha256"},
			cfgErr: "transforms.x.hash.algorithm: hash.algorithm and replacement cannot both be set"},
		{name: "config: unknown hash", typ: "MaskField$Value", cfg: map[string]string{"fields": "a", "hash.algorithm": "md5"}, cfgErr: "transforms.x.hash.algorithm"},
		{name: "config: salt without hash", typ: "MaskField$Value", cfg: map[string]string{"fields": "a", "hash.salt": "s"}, cfgErr: "transforms.x.hash.salt: hash.salt needs hash.algorithm"},
	})
}

func TestValueToKey(t *testing.T) {
	in := `{"id":12345678901234567890,"user":{"id":7},"x":1.10}`
	runCases(t, []tcase{
		{name: "schemaless", typ: "org.apache.kafka.connect.transforms.ValueToKey", cfg: map[string]string{"fields": "id,missing"}, value: in,
			wantKey: `{"id":12345678901234567890,"missing":null}`, check: sameBytes(in)},
		{name: "V2 nested keeps nesting", typ: "value-to-key", cfg: map[string]string{"fields": "user.id,x", "field.syntax.version": "V2"}, value: in,
			wantKey: `{"user":{"id":7},"x":1.10}`},
		{name: "null value", typ: "ValueToKey", cfg: map[string]string{"fields": "id"}, value: "",
			wantErr: "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"},
		{name: "with schema", typ: "ValueToKey", cfg: map[string]string{"fields": "name,id"},
			value:     `{"id":1,"name":"n"}`,
			valueSch:  `{"type":"struct","optional":false,"fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}]}`,
			wantKey:   `{"id":1,"name":"n"}`,
			wantKeySc: `{"type":"struct","optional":false,"fields":[{"type":"string","optional":true,"field":"name"},{"type":"int64","optional":false,"field":"id"}]}`},
		{name: "with schema, V2 nested", typ: "ValueToKey", cfg: map[string]string{"fields": "u.id,u", "field.syntax.version": "V2"},
			value:     `{"u":{"id":1,"n":"x"}}`,
			valueSch:  `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":false,"field":"u","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"n"}]}]}`,
			wantKey:   `{"u":{"id":1,"n":"x"}}`,
			wantKeySc: `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":false,"field":"u","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"n"}]}]}`},
		{name: "with schema, unknown field", typ: "ValueToKey", cfg: map[string]string{"fields": "zz"}, value: `{"id":1}`, valueSch: structID,
			wantErr: "Field does not exist: zz"},
	})
}

// A subtree copied into the key must not change when the value is edited later.
func TestValueToKeyCopiesSubtrees(t *testing.T) {
	raw := map[string]string{
		"transforms":                           "key,mask",
		"transforms.key.type":                  "ValueToKey",
		"transforms.key.fields":                "user",
		"transforms.mask.type":                 "MaskField$Value",
		"transforms.mask.fields":               "user.id",
		"transforms.mask.field.syntax.version": "V2",
	}
	c, errs := NewChain(newRegistry(t), raw)
	if errs != nil {
		t.Fatal(errs)
	}
	r, err := c.Apply(newRecord(t, "", tracking))
	if err != nil {
		t.Fatal(err)
	}
	if got := dataJSON(t, &r.Key); got != `{"user":{"email":"a@b.c","id":7}}` {
		t.Errorf("key %s", got)
	}
	if got := dataJSON(t, &r.Value); got != `{"context":{"ip":"1.2.3.4","ua":"x"},"event":"click","user":{"email":"a@b.c","id":0}}` {
		t.Errorf("value %s", got)
	}
}

func TestExtractField(t *testing.T) {
	in := `{"id":12345678901234567890,"a":{"b":"x","n":1.10},"j":"{\"a\":1}","s":"str"}`
	v2 := map[string]string{"field.syntax.version": "V2"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	sch := `{"type":"struct","optional":false,"fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"default":"dflt","field":"name"}]}`
	runCases(t, []tcase{
		{name: "64-bit id", typ: "ExtractField$Value", cfg: map[string]string{"field": "id"}, value: in, want: `12345678901234567890`},
		{name: "object", typ: "ExtractField$Value", cfg: map[string]string{"field": "a"}, value: in, want: `{"b":"x","n":1.10}`},
		{name: "string holding JSON stays a string", typ: "ExtractField$Value", cfg: map[string]string{"field": "j"}, value: in, want: `"{\"a\":1}"`},
		{name: "missing is null", typ: "ExtractField$Value", cfg: map[string]string{"field": "zz"}, value: in, want: `null`},
		{name: "V1 dotted name", typ: "ExtractField$Value", cfg: map[string]string{"field": "a.b"}, value: `{"a.b":1,"a":{"b":2}}`, want: `1`},
		{name: "V2 path", typ: "ExtractField$Value", cfg: with(v2, "field", "a.b"), value: in, want: `"x"`},
		{name: "V2 path through null", typ: "ExtractField$Value", cfg: with(v2, "field", "n.b"), value: `{"n":null}`, want: `null`},
		{name: "V2 path through a string", typ: "ExtractField$Value", cfg: with(v2, "field", "s.b"), value: in,
			wantErr: "Only Map objects supported in absence of schema for [nested field access], found: string"},
		{name: "null passes through", typ: "ExtractField$Value", cfg: map[string]string{"field": "a"}, value: "", want: "null"},
		{name: "not an object", typ: "ExtractField$Value", cfg: map[string]string{"field": "a"}, value: `[1]`,
			wantErr: "Only Map objects supported in absence of schema for [field extraction], found: array"},
		{name: "key", typ: "ExtractField$Key", cfg: map[string]string{"field": "id"}, key: `{"id":"k1"}`, value: "x", wantKey: `"k1"`, check: notDecoded(false)},
		{name: "with schema", typ: "ExtractField$Value", cfg: map[string]string{"field": "name"}, value: `{"id":1,"name":"n"}`, valueSch: sch,
			want: `"n"`, wantSch: `{"type":"string","optional":true,"default":"dflt"}`},
		{name: "with schema, default for null", typ: "ExtractField$Value", cfg: map[string]string{"field": "name"}, value: `{"id":1,"name":null}`, valueSch: sch,
			want: `"dflt"`},
		{name: "with schema, default off", typ: "ExtractField$Value", cfg: map[string]string{"field": "name", "replace.null.with.default": "false"}, value: `{"id":1,"name":null}`, valueSch: sch,
			want: `null`},
		{name: "with schema, unknown field", typ: "ExtractField$Value", cfg: map[string]string{"field": "zz"}, value: `{"id":1}`, valueSch: sch,
			wantErr: "Unknown field: zz"},
		{name: "config: field required", typ: "ExtractField$Value", cfg: map[string]string{}, cfgErr: `Missing required configuration "transforms.x.field"`},
	})
}

func TestHoistField(t *testing.T) {
	runCases(t, []tcase{
		{name: "object", typ: "HoistField$Value", cfg: map[string]string{"field": "w"}, value: `{"id":12345678901234567890}`, want: `{"w":{"id":12345678901234567890}}`},
		{name: "null", typ: "HoistField$Value", cfg: map[string]string{"field": "w"}, value: "", want: `{"w":null}`},
		{name: "string value", typ: "HoistField$Value", cfg: map[string]string{"field": "w"}, prep: func(r *connect.Record) {
			r.Value = connect.RawData(connect.FormatString, []byte(`he said "hi"`))
		}, want: `{"w":"he said \"hi\""}`},
		{name: "key", typ: "HoistField$Key", cfg: map[string]string{"field": "id"}, key: `1.10`, value: "x", wantKey: `{"id":1.10}`, check: notDecoded(false)},
		{name: "with schema", typ: "HoistField$Value", cfg: map[string]string{"field": "w"}, value: `5`, valueSch: `{"type":"int64","optional":true}`,
			want: `{"w":5}`, wantSch: `{"type":"struct","optional":false,"fields":[{"type":"int64","optional":true,"field":"w"}]}`},
	})
}
