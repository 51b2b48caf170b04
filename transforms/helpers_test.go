package transforms

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

// testTime is the timestamp of test records: 2023-11-14T22:13:20.123Z.
var testTime = time.UnixMilli(1700000000123)

func newRegistry(t testing.TB) *connect.Registry {
	t.Helper()
	reg := connect.NewRegistry()
	if err := reg.Register(Plugins()...); err != nil {
		t.Fatal(err)
	}
	return reg
}

// chainOf builds a chain of one transform, alias "x", of plugin typ.
func chainOf(t testing.TB, typ string, cfg map[string]string) (*Chain, connect.ConfigErrors) {
	t.Helper()
	raw := map[string]string{"transforms": "x", "transforms.x.type": typ}
	for k, v := range cfg {
		raw["transforms.x."+k] = v
	}
	return NewChain(newRegistry(t), raw)
}

// jsonData returns raw JSON data; "" is a null (tombstone).
func jsonData(t testing.TB, s, schema string) connect.Data {
	t.Helper()
	var d connect.Data
	if s == "" {
		d = connect.RawData(connect.FormatJSON, nil)
	} else {
		d = connect.RawData(connect.FormatJSON, []byte(s))
	}
	if schema != "" {
		d.Schema = parseSchema(t, schema)
	}
	return d
}

func parseSchema(t testing.TB, s string) *connect.Schema {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var sc connect.Schema
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("bad test schema %s: %v", s, err)
	}
	return &sc
}

func schemaJSON(t testing.TB, s *connect.Schema) string {
	t.Helper()
	if s == nil {
		return "-"
	}
	b, err := connect.EncodeJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dataJSON(t testing.TB, d *connect.Data) string {
	t.Helper()
	b, err := d.AppendJSON(nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

func newRecord(t testing.TB, key, value string) *connect.Record {
	return &connect.Record{
		Topic: "events", Partition: 3, Offset: 42, Timestamp: testTime,
		Key:   jsonData(t, key, ""),
		Value: jsonData(t, value, ""),
	}
}

// tcase is one transform test: a plugin, its config, an input record and
// the exact expected output bytes.
type tcase struct {
	name     string
	typ      string
	cfg      map[string]string
	key      string // input key JSON; "" is null
	value    string // input value JSON; "" is null
	keySch   string // input key schema JSON
	valueSch string // input value schema JSON
	prep     func(r *connect.Record)

	want      string // expected value JSON ("null" for null); "" skips the check
	wantKey   string // expected key JSON; "" skips the check
	wantSch   string // expected value schema JSON, "-" for none; "" skips the check
	wantKeySc string // expected key schema JSON, "-" for none; "" skips the check
	wantErr   string // substring of the Apply error
	cfgErr    string // substring of the config errors
	dropped   bool
	check     func(t *testing.T, r *connect.Record)
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := chainOf(t, tc.typ, tc.cfg)
			if tc.cfgErr != "" {
				if len(errs) == 0 || !strings.Contains(errs.Error(), tc.cfgErr) {
					t.Fatalf("config errors %q, want %q", errs, tc.cfgErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("config: %v", errs)
			}
			r := newRecord(t, tc.key, tc.value)
			if tc.keySch != "" {
				r.Key.Schema = parseSchema(t, tc.keySch)
			}
			if tc.valueSch != "" {
				r.Value.Schema = parseSchema(t, tc.valueSch)
			}
			if tc.prep != nil {
				tc.prep(r)
			}
			out, err := c.Apply(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.dropped {
				if out != nil {
					t.Fatal("record not dropped")
				}
				return
			}
			if out == nil {
				t.Fatal("record dropped")
			}
			if tc.want != "" {
				if got := dataJSON(t, &out.Value); got != tc.want {
					t.Errorf("value\n got %s\nwant %s", got, tc.want)
				}
			}
			if tc.wantKey != "" {
				if got := dataJSON(t, &out.Key); got != tc.wantKey {
					t.Errorf("key\n got %s\nwant %s", got, tc.wantKey)
				}
			}
			if tc.wantSch != "" {
				if got := schemaJSON(t, out.Value.Schema); got != tc.wantSch {
					t.Errorf("value schema\n got %s\nwant %s", got, tc.wantSch)
				}
			}
			if tc.wantKeySc != "" {
				if got := schemaJSON(t, out.Key.Schema); got != tc.wantKeySc {
					t.Errorf("key schema\n got %s\nwant %s", got, tc.wantKeySc)
				}
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

// notDecoded checks that the transform left the key or value undecoded.
func notDecoded(key bool) func(t *testing.T, r *connect.Record) {
	return func(t *testing.T, r *connect.Record) {
		t.Helper()
		if operand(r, key).Decoded() {
			t.Errorf("key=%v was decoded", key)
		}
	}
}

// sameBytes checks that the value is still exactly the input bytes.
func sameBytes(in string) func(t *testing.T, r *connect.Record) {
	return func(t *testing.T, r *connect.Record) {
		t.Helper()
		b, err := r.Value.Raw()
		if err != nil || !bytes.Equal(b, []byte(in)) {
			t.Errorf("value bytes %q (err %v), want the input %q", b, err, in)
		}
	}
}

func header(r *connect.Record, k string) string {
	v, ok := r.Headers.Get(k)
	if !ok {
		return "<absent>"
	}
	if v == nil {
		return "<null>"
	}
	return string(v)
}
