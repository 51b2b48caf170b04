package connect

import (
	"encoding/json"
	"testing"
)

func TestDataKeepsRawJSONUntouched(t *testing.T) {
	raw := []byte(`{"id": 9007199254740993, "price": 1.10, "s": "<a&b>"}`)
	d := RawData(FormatJSON, raw)
	got, err := d.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(raw) {
		t.Fatalf("raw JSON rewritten: %s", got)
	}
	if d.Decoded() {
		t.Fatal("AppendJSON decoded a value nobody asked for")
	}
}

func TestDataRoundTripsLargeIntegers(t *testing.T) {
	d := RawData(FormatJSON, []byte(`{"id":9007199254740993,"price":1.10}`))
	v, err := d.Value()
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["id"] != json.Number("9007199254740993") {
		t.Fatalf("id decoded as %T %v", m["id"], m["id"])
	}
	m["extra"] = "<x>"
	d.Set(m)
	out, err := d.Raw()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"extra":"<x>","id":9007199254740993,"price":1.10}`; string(out) != want {
		t.Fatalf("got %s, want %s", out, want)
	}
}

func TestDataNullAndInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Data
		null bool
	}{
		{"tombstone", RawData(FormatJSON, nil), true},
		{"json null", RawData(FormatJSON, []byte(" null ")), true},
		{"empty string", RawData(FormatString, []byte{}), false},
		{"object", RawData(FormatJSON, []byte(`{}`)), false},
	} {
		if got := tc.d.IsNull(); got != tc.null {
			t.Errorf("%s: IsNull=%v", tc.name, got)
		}
	}
	for _, bad := range []string{`{"a":1}x`, `{"a":`, `{}]`, ``} {
		if _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%q) accepted", bad)
		}
	}
}

func TestAppendJSONStringsAndBytes(t *testing.T) {
	s := RawData(FormatString, []byte(`he said "hi"`))
	b := RawData(FormatBytes, []byte{0, 1, 2})
	gs, _ := s.AppendJSON(nil)
	gb, _ := b.AppendJSON(nil)
	if string(gs) != `"he said \"hi\""` || string(gb) != `"AAEC"` {
		t.Fatalf("got %s and %s", gs, gb)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":null}]}`))
	f.Add([]byte(`12345678901234567890`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeJSON(b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("DecodeJSON err=%v but json.Valid=%v for %q", err, json.Valid(b), b)
		}
		if err == nil {
			if _, err := EncodeJSON(v); err != nil {
				t.Fatalf("re-encode %q: %v", b, err)
			}
		}
	})
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\nctl\x01\b\f", "ü€😀", "\u2028\u2029", "bad\xffutf8", "<&>"} {
		want, _ := EncodeJSON(s)
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestDecodeJSONRejectsNonJSONWhitespace(t *testing.T) {
	if _, err := DecodeJSON([]byte("0\v")); err == nil {
		t.Fatal(`accepted "0\v"`)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\x00\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := EncodeJSON(s)
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkAppendJSONString escapes a user agent, the longest string of a
// tracking event.
func BenchmarkAppendJSONString(b *testing.B) {
	s := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		dst = AppendJSONString(dst[:0], s)
	}
}
