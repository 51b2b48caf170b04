package transforms

import (
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

func TestTimestampConverter(t *testing.T) {
	iso := "yyyy-MM-dd'T'HH:mm:ss.SSSX"
	cfg := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tsSchema := `{"type":"struct","optional":false,"fields":[{"type":"string","optional":true,"field":"ts"},{"type":"int64","optional":false,"field":"id"}]}`
	runCases(t, []tcase{
		{name: "string to unix", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", iso, "target.type", "unix"),
			value: `{"ts":"2023-11-14T22:13:20.123Z","id":12345678901234567890}`, want: `{"id":12345678901234567890,"ts":1700000000123}`},
		{name: "string with offset to unix", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", "yyyy-MM-dd HH:mm:ssZ", "target.type", "unix"),
			value: `{"ts":"2023-11-14 23:13:20+0100"}`, want: `{"ts":1700000000000}`},
		{name: "unix to string", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", "yyyy-MM-dd HH:mm:ss", "target.type", "string"),
			value: `{"ts":1700000000123}`, want: `{"ts":"2023-11-14 22:13:20"}`},
		{name: "unix seconds to string", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", "EEE, d MMM yyyy HH:mm:ss z", "target.type", "string", "unix.precision", "seconds"),
			value: `{"ts":1700000000}`, want: `{"ts":"Tue, 14 Nov 2023 22:13:20 UTC"}`},
		{name: "unix micros lose sub-milliseconds, as in Kafka", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "unix", "unix.precision", "microseconds"),
			value: `{"ts":1700000000123456}`, want: `{"ts":1700000000123000}`},
		{name: "whole value", typ: "TimestampConverter$Value", cfg: cfg("format", "yyyyMMdd", "target.type", "string"),
			value: `1700000000123`, want: `"20231114"`},
		{name: "Timestamp, Date and Time write the logical encoding", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "Date"),
			value: `{"ts":1700000000123}`, want: `{"ts":19675}`},
		{name: "Time", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "Time"),
			value: `{"ts":1700000000123}`, want: `{"ts":80000123}`},
		{name: "Timestamp", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "Timestamp", "format", iso),
			value: `{"ts":"2023-11-14T22:13:20.123Z"}`, want: `{"ts":1700000000123}`},
		{name: "null field and absent field", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "unix"),
			value: `{"ts":null}`, want: `{"ts":null}`},
		{name: "absent field becomes null", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "unix"),
			value: `{}`, want: `{"ts":null}`},
		{name: "V2 nested", typ: "TimestampConverter$Value", cfg: cfg("field", "meta.ts", "target.type", "string", "format", "yyyy", "field.syntax.version", "V2"),
			value: `{"meta":{"ts":1700000000123}}`, want: `{"meta":{"ts":"2023"}}`},
		{name: "bad string", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", iso, "target.type", "unix"),
			value: `{"ts":"yesterday"}`, wantErr: "Could not parse timestamp: value (yesterday) does not match pattern (yyyy-MM-dd'T'HH:mm:ss.SSSX)"},
		{name: "double", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "string", "format", "yyyy"),
			value: `{"ts":1.5}`, wantErr: "non-integral"},
		{name: "object", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "string", "format", "yyyy"),
			value: `{"ts":{}}`, wantErr: "TimestampConverter does not support object objects as timestamps"},
		{name: "string without format", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "target.type", "unix"),
			value: `{"ts":"2023"}`, wantErr: "requires format"},
		{name: "with schema, string to Timestamp", typ: "TimestampConverter$Value", cfg: cfg("field", "ts", "format", iso, "target.type", "Timestamp"),
			value: `{"ts":"2023-11-14T22:13:20.123Z","id":1}`, valueSch: tsSchema,
			want:    `{"id":1,"ts":1700000000123}`,
			wantSch: `{"type":"struct","optional":false,"fields":[{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},{"type":"int64","optional":false,"field":"id"}]}`},
		{name: "with schema, Date to string", typ: "TimestampConverter$Value", cfg: cfg("format", "dd.MM.yyyy", "target.type", "string"),
			value: `19675`, valueSch: `{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1}`,
			want: `"14.11.2023"`, wantSch: `{"type":"string","optional":false}`},
		{name: "with schema, int32 is no timestamp", typ: "TimestampConverter$Value", cfg: cfg("target.type", "unix"),
			value: `5`, valueSch: `{"type":"int32","optional":false}`, wantErr: "Schema int32 does not correspond to a known timestamp type format"},
		{name: "config: string needs format", typ: "TimestampConverter$Value", cfg: cfg("target.type", "string"),
			cfgErr: "transforms.x.format: TimestampConverter requires format option to be specified when using string timestamps"},
		{name: "config: bad target", typ: "TimestampConverter$Value", cfg: cfg("target.type", "date"),
			cfgErr: "transforms.x.target.type: Invalid value date for configuration transforms.x.target.type: String must be one of: string, unix, Date, Time, Timestamp"},
		{name: "config: bad format", typ: "TimestampConverter$Value", cfg: cfg("target.type", "unix", "format", "yyyy-bb"),
			cfgErr: "Illegal pattern character 'b'"},
	})
}

func TestTimestampRouter(t *testing.T) {
	runCases(t, []tcase{
		{name: "defaults", typ: "TimestampRouter", cfg: map[string]string{}, value: "not json",
			check: func(t *testing.T, r *connect.Record) {
				if r.Topic != "events-20231114" {
					t.Errorf("topic %s", r.Topic)
				}
				notDecoded(false)(t, r)
			}},
		{name: "formats", typ: "timestamp-router", cfg: map[string]string{"topic.format": "${topic}_${timestamp}_x", "timestamp.format": "yyyy-MM'T'HH"}, value: "{}",
			check: func(t *testing.T, r *connect.Record) {
				if r.Topic != "events_2023-11T22_x" {
					t.Errorf("topic %s", r.Topic)
				}
			}},
		{name: "no timestamp", typ: "TimestampRouter", cfg: map[string]string{}, value: "{}",
			prep: func(r *connect.Record) { r.Timestamp = time.Time{} }, wantErr: "Timestamp missing on record: events/3@42"},
	})
}

func TestDateFormat(t *testing.T) {
	ts := time.Date(2024, 1, 7, 15, 4, 5, 9e6, time.UTC) // a Sunday
	for _, tc := range []struct{ pattern, want string }{
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-01-07T15:04:05.009Z"},
		{"yy/M/d h:m:s a", "24/1/7 3:4:5 PM"},
		{"EEEE, MMMM dd, yyyy G", "Sunday, January 07, 2024 AD"},
		{"EEE MMM D w W F u k K", "Sun Jan 7 2 2 1 7 15 3"},
		{"'It''s' HH 'o''clock' Z z", "It's 15 o'clock +0000 UTC"},
		{"S SS SSSS", "9 09 0009"},
	} {
		f, err := compileDateFormat(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := f.format(ts); got != tc.want {
			t.Errorf("format %q = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct{ pattern, in, want string }{
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-01-07T15:04:05.009+01:00", "2024-01-07T14:04:05.009Z"},
		{"yyyyMMddHHmmss", "20240107150405", "2024-01-07T15:04:05Z"},
		{"yyyy-MM-dd", "2024-01-07T15:04:05Z trailing text is ignored", "2024-01-07T00:00:00Z"},
		{"dd MMM yyyy hh:mm a", "07 jan 2024 03:04 pm", "2024-01-07T15:04:00Z"},
		{"dd MMMM yyyy", "7 January 2024", "2024-01-07T00:00:00Z"},
		{"yyyy-MM-dd", "2024-13-01", "2025-01-01T00:00:00Z"}, // lenient, like Java
		{"yyyy-D", "2024-38", "2024-02-07T00:00:00Z"},
		{"yyyy-MM-dd HH:mm z", "2024-01-07 15:04 PST", "2024-01-07T23:04:00Z"},
		{"yyyy-MM-dd HH:mm z", "2024-01-07 15:04 GMT+02:00", "2024-01-07T13:04:00Z"},
		{"EEE, dd MMM yyyy HH:mm:ss Z", "Sun, 07 Jan 2024 15:04:05 -0800", "2024-01-07T23:04:05Z"},
		{"ss.SSS", "01.5", "1970-01-01T00:00:01.005Z"}, // S counts milliseconds, as in Java
	} {
		f, err := compileDateFormat(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		got, err := f.parse(tc.in)
		if err != nil {
			t.Errorf("parse(%q, %q): %v", tc.pattern, tc.in, err)
			continue
		}
		if s := got.UTC().Format(time.RFC3339Nano); s != tc.want {
			t.Errorf("parse(%q, %q) = %s, want %s", tc.pattern, tc.in, s, tc.want)
		}
	}
	for _, tc := range []struct{ pattern, in string }{
		{"yyyy-MM-dd", "2024/01/07"}, {"yyyyMMdd", "2024A107"}, {"HH:mm", "ab:cd"}, {"MMM", "Foo"},
	} {
		f, _ := compileDateFormat(tc.pattern)
		if got, err := f.parse(tc.in); err == nil {
			t.Errorf("parse(%q, %q) = %v, want an error", tc.pattern, tc.in, got)
		}
	}
	for _, bad := range []string{"yyyy-bb", "'open", "XXXX"} {
		if _, err := compileDateFormat(bad); err == nil {
			t.Errorf("compile %q accepted", bad)
		}
	}
}

func TestTwoDigitYear(t *testing.T) {
	old := dfNow
	defer func() { dfNow = old }()
	dfNow = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	f, _ := compileDateFormat("yy-MM-dd")
	for in, want := range map[string]int{"24-01-01": 2024, "43-01-01": 2043, "44-01-01": 1944, "99-01-01": 1999} {
		got, err := f.parse(in)
		if err != nil || got.Year() != want {
			t.Errorf("parse %s = %v %v, want year %d", in, got, err, want)
		}
	}
}

func TestWeekYear(t *testing.T) {
	f, _ := compileDateFormat("YYYY-ww")
	for in, want := range map[string]string{"2024-12-31": "2025-01", "2024-12-28": "2024-52", "2023-01-01": "2023-01", "2022-01-01": "2022-01", "2022-01-02": "2022-02"} {
		d, _ := time.Parse("2006-01-02", in)
		if got := f.format(d); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
