package connect

import (
	"encoding/json"
	"testing"
)

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{``, ` `, `1`, `-`, `-0`, `01`, `1.`, `1.5e`, `1e+5`, `"a\u12"`, `"a\u12ab"`, `"\x"`, "\"\x01\"",
		`{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `tru`, `true `, ` null`, `{}`, `[]`, `{"a":[{"b":null}]}`, `"\\"`, `"\\\""`,
		"\"é\"", "\"\xff\"", `[`, `{"a":1}x`, `"abcdefghijklmno\"pq"`, `"abcdefghijklmnopqrstu`, "0\v",
		`{"id":9007199254740993,"price":1.10,"nested":{"s":"with \"quotes\" and \u00e9"}}`} {
		if got, want := ValidJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("%q: ValidJSON %v, json.Valid %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c\n"}],"d":-1.5e3}`))
	f.Add([]byte(`"\u00e9 abcdefgh\\ijklmnop"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("%q: ValidJSON %v, json.Valid %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	ev := []byte(`{"event_id":"6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f","event_type":"page_view","user_id":9223372036854775807,` +
		`"url":"https://shop.example.com/products/p-123?ref=home","referrer":"https://www.google.com/","user_agent":"Mozilla/5.0 (X11; Linux x86_64)",` +
		`"timestamp":"2025-01-01T00:00:00.000Z","properties":{"price":19.90,"currency":"EUR","product_id":"P-123"},"context":{"locale":"de-DE"}}`)
	for _, tc := range []struct {
		name string
		f    func([]byte) bool
	}{{"encoding/json", json.Valid}, {"ValidJSON", ValidJSON}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(ev)))
			for b.Loop() {
				if !tc.f(ev) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
