package transforms

import (
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

const structID = `{"type":"struct","optional":false,"name":"ev","fields":[{"type":"int64","optional":false,"field":"id"}]}`

func TestInsertField(t *testing.T) {
	all := map[string]string{
		"topic.field": "topic", "partition.field": "partition", "offset.field": "offset",
		"timestamp.field": "ts", "static.field": "src", "static.value": "web",
	}
	runCases(t, []tcase{
		{
			name: "schemaless all fields, numbers and strings survive", typ: "org.apache.kafka.connect.transforms.InsertField$Value", cfg: all,
			value: `{"id":12345678901234567890,"price":1.10,"u":"é✓ <&>","j":"{\"a\":1}"}`,
			want:  `{"id":12345678901234567890,"j":"{\"a\":1}","offset":42,"partition":3,"price":1.10,"src":"web","topic":"events","ts":1700000000123,"u":"é✓ <&>"}`,
		},
		{
			name: "short alias", typ: "insert-field-value", cfg: map[string]string{"static.field": "src", "static.value": "web"},
			value: `{}`, want: `{"src":"web"}`,
		},
		{
			name: "simple class name", typ: "InsertField$Value", cfg: map[string]string{"topic.field": "t!"},
			value: `{"a":1}`, want: `{"a":1,"t":"events"}`,
		},
		{
			name: "null value passes through undecoded", typ: "InsertField$Value", cfg: all,
			value: "", want: "null", check: notDecoded(false),
		},
		{
			name: "no partition or timestamp: not inserted", typ: "InsertField$Value", cfg: all,
			value: `{}`, prep: func(r *connect.Record) { r.Partition = -1; r.Timestamp = time.Time{} },
			want: `{"offset":42,"src":"web","topic":"events"}`,
		},
		{
			name: "not an object", typ: "InsertField$Value", cfg: all, value: `[1]`,
			wantErr: "Only Map objects supported in absence of schema for [field insertion], found: array",
		},
		{
			name: "offset on a source record", typ: "InsertField$Value", cfg: map[string]string{"offset.field": "o"}, value: `{}`,
			prep:    func(r *connect.Record) { r.SourcePartition = map[string]any{"f": "x"} },
			wantErr: "Only SinkRecord supported for [field insertion]",
		},
		{
			name: "key variant leaves the value undecoded", typ: "InsertField$Key", cfg: map[string]string{"topic.field": "topic"},
			key: `{"k":1}`, value: `not json`, wantKey: `{"k":1,"topic":"events"}`, check: notDecoded(false),
		},
		{
			name: "V1 dotted name is a top-level name", typ: "InsertField$Value", cfg: map[string]string{"topic.field": "meta.topic"},
			value: `{"meta":{}}`, want: `{"meta":{},"meta.topic":"events"}`,
		},
		{
			name: "V2 nested path creates parents", typ: "InsertField$Value",
			cfg:   map[string]string{"topic.field": "meta.kafka.topic", "partition.field": "meta.partition", "field.syntax.version": "V2"},
			value: `{"meta":{"a":1}}`, want: `{"meta":{"a":1,"kafka":{"topic":"events"},"partition":3}}`,
		},
		{
			name: "V2 parent is not an object", typ: "InsertField$Value",
			cfg:   map[string]string{"topic.field": "meta.topic", "field.syntax.version": "V2"},
			value: `{"meta":"x"}`, wantErr: `"meta" holds string, not an object`,
		},
		{
			name: "with schema", typ: "InsertField$Value",
			cfg:      map[string]string{"topic.field": "topic!", "timestamp.field": "ts", "partition.field": "p?"},
			value:    `{"id":9223372036854775807}`,
			valueSch: structID,
			want:     `{"id":9223372036854775807,"p":3,"topic":"events","ts":1700000000123}`,
			wantSch: `{"type":"struct","optional":false,"name":"ev","fields":[{"type":"int64","optional":false,"field":"id"},` +
				`{"type":"string","optional":false,"field":"topic"},{"type":"int32","optional":true,"field":"p"},` +
				`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}]}`,
		},
		{
			name: "with schema, default replaces null", typ: "InsertField$Value", cfg: map[string]string{"static.field": "s", "static.value": "v"},
			value:    `{"n":null}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"int32","optional":true,"default":7,"field":"n"}]}`,
			want:     `{"n":7,"s":"v"}`,
		},
		{
			name: "with schema, duplicate field", typ: "InsertField$Value", cfg: map[string]string{"topic.field": "id"},
			value: `{"id":1}`, valueSch: structID, wantErr: "Cannot create field because of field name duplication id",
		},
		{
			name: "with schema, V2 nested", typ: "InsertField$Value", cfg: map[string]string{"topic.field": "m.topic", "field.syntax.version": "V2"},
			value:    `{"m":{"a":true}}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":true,"field":"m","fields":[{"type":"boolean","optional":false,"field":"a"}]}]}`,
			want:     `{"m":{"a":true,"topic":"events"}}`,
			wantSch:  `{"type":"struct","optional":false,"fields":[{"type":"struct","optional":true,"field":"m","fields":[{"type":"boolean","optional":false,"field":"a"},{"type":"string","optional":true,"field":"topic"}]}]}`,
		},
		{name: "config: nothing to insert", typ: "InsertField$Value", cfg: map[string]string{}, cfgErr: "transforms.x.topic.field: No field insertion configured"},
		{name: "config: static field without value", typ: "InsertField$Value", cfg: map[string]string{"static.field": "s"},
			cfgErr: "transforms.x.static.value: No value specified for static field: s"},
		{name: "config: bad syntax version", typ: "InsertField$Value", cfg: map[string]string{"topic.field": "t", "field.syntax.version": "V3"},
			cfgErr: "transforms.x.field.syntax.version: Invalid value V3 for configuration transforms.x.field.syntax.version"},
	})
}
