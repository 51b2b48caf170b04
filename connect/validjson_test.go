package connect

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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

// TestStopBits checks the stop bits (the assembly on amd64) against a byte
// by byte reference: every byte value at every position of a block, and
// random inputs of every length up to 300 with the zero-padded tail.
func TestStopBits(t *testing.T) {
	isStop := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
	check := func(b []byte) {
		t.Helper()
		stops := make([]uint64, (len(b)+63)/64)
		strStops(b, stops)
		for i := range len(stops) * 64 {
			want := i >= len(b) || isStop(b[i]) // past the end: a stop
			if got := stops[i/64]>>(i%64)&1 == 1; got != want {
				t.Fatalf("len %d, byte %d (%#x): stop bit %v, want %v", len(b), i, b[min(i, len(b)-1)], got, want)
			}
		}
	}
	for c := range 256 {
		for pos := range 64 {
			b := bytes.Repeat([]byte{'a'}, 64)
			b[pos] = byte(c)
			check(b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\"\\\x00\x1f\x20\x7f\x80\xff{}[]:,")
	for n := 0; n <= 300; n++ {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			check(b)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c\n"}],"d":-1.5e3}`))
	f.Add([]byte(`"\u00e9 abcdefgh\\ijklmnop"`))
	f.Add([]byte(`{"a_key_that_is_long":"a value that runs over the 64-byte block boundary \" with escapes \\","n":[1,2.5e-3,{"x":null}]}`))
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
