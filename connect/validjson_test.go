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
	// A datagen event as the sink benchmark sends it (746 B, a long user agent).
	datagen := []byte(`{"event_id":"ce6dc5d7-f382-484c-b06b-ef54750a95ac","event_type":"page_view","user_id":8289663276293051662,` +
		`"anonymous_id":"8aa6c9d646c0ee9e","session_id":"a929c9f5b0873acd","url":"https://shop.example.com/p/P-000642",` +
		`"referrer":"https://www.google.com/","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",` +
		`"ip":"203.0.113.53","timestamp":"2025-01-01T00:00:00.091Z","received_at":"2025-01-01T00:00:02.072Z",` +
		`"properties":{"product_id":"P-000642","name":"Pro Face Cream","category":"beauty","price":141.00,"currency":"EUR"},` +
		`"context":{"locale":"de-DE","timezone":"Europe/Berlin","city":"München","screen":{"width":1280,"height":800},"consent":false}}`)
	for _, in := range []struct {
		name string
		ev   []byte
	}{{"small", ev}, {"datagen", datagen}} {
		for _, tc := range []struct {
			name string
			f    func([]byte) bool
		}{{"encoding/json", json.Valid}, {"ValidJSON", ValidJSON}} {
			b.Run(in.name+"/"+tc.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.ev)))
				for b.Loop() {
					if !tc.f(in.ev) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
