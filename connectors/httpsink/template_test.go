package httpsink

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spur-connect/spur/connect"
)

func sampleRecord() *connect.Record {
	r := jsonRec("orders", 7, 42, `{"user":{"id":9007199254740993,"name":"Zoë"},"tags":["a","b"],"ok":true,"client_id":"c 1/2"}`)
	r.Key = connect.RawData(connect.FormatJSON, []byte(`"key-1"`))
	return r
}

func TestTemplateRender(t *testing.T) {
	cases := []struct{ src, want string }{
		{"plain", "plain"},
		{"${topic}-${partition}", "orders-7"},
		{"k=${key}", "k=key-1"},
		{"${value.user.id}", "9007199254740993"},
		{"${value.user.name}/${value.tags.1}/${value.ok}", "Zoë/b/true"},
		{"${value.tags}", `["a","b"]`},
		{"$${topic} is literal", "${topic} is literal"},
		{"${env:SECRET} stays", "${env:SECRET} stays"},
		{"$ and $x and {}", "$ and $x and {}"},
	}
	for _, c := range cases {
		tm, err := parseTemplate(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		got, err := tm.render(nil, sampleRecord(), escNone)
		if err != nil || string(got) != c.want {
			t.Errorf("%q rendered %q, %v; want %q", c.src, got, err, c.want)
		}
	}
	tm, _ := parseTemplate("https://x/${value.client_id}?c=${value.client_id}&t=${topic}")
	tm.markURL()
	got, _ := tm.render(nil, sampleRecord(), escURL)
	if string(got) != "https://x/c%201%2F2?c=c+1%2F2&t=orders" {
		t.Errorf("URL rendered %s", got)
	}
	tm, _ = parseTemplate("${value.missing}")
	if _, err := tm.render(nil, sampleRecord(), escNone); !errors.Is(err, errMissingField) {
		t.Errorf("missing field: %v", err)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, src := range []string{"${", "a${topic", "${}", "${value}", "${value.}", "${value.a..b}", "${Topic}", "${offset}"} {
		if _, err := parseTemplate(src); err == nil {
			t.Errorf("%q parsed", src)
		}
	}
}

func TestAppendQuotedMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x01\x1f\x7f", "<&>", "ü🚀", "\u2028\u2029", "bad\xffutf8\xc3", "\t\n\r\b\f"} {
		want, _ := connect.EncodeJSON(s)
		if got := appendQuoted(nil, []byte(s)); string(got) != string(want) {
			t.Errorf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
	}
}

// FuzzTemplate: parsing never panics; a parsed template re-parses from its
// String form to the same thing; rendering never panics and renders text
// without references unchanged.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", "${topic}", "${value.a.b}", "$${x}", "${env:A}", "${", "}{$", "${value.0}", "a${key}b${partition}c", "$$${topic}"} {
		f.Add(s)
	}
	r := sampleRecord()
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := parseTemplate(src)
		if err != nil {
			return
		}
		again, err := parseTemplate(tm.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", src, tm.String(), err)
		}
		if again.String() != tm.String() {
			t.Fatalf("String() not stable: %q -> %q -> %q", src, tm.String(), again.String())
		}
		out, err := tm.render(nil, r, escNone)
		if err != nil && !errors.Is(err, errMissingField) {
			t.Fatalf("render %q: %v", src, err)
		}
		if !strings.Contains(src, "${") && string(out) != src {
			t.Fatalf("%q rendered as %q", src, out)
		}
		tm.markURL()
		if _, err := tm.render(nil, r, escURL); err != nil && !errors.Is(err, errMissingField) {
			t.Fatalf("render URL %q: %v", src, err)
		}
	})
}

// FuzzEnvelope: an envelope that parses renders valid JSON with the records
// array in place.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{`{"batch":"${records}"}`, `{"a":{"b":["${records}",1,null]},"k":"${key}","v":"${value.user.id}","s":"x${topic}y"}`, `{"x":"\u2028","batch":"${records}"}`} {
		f.Add(s)
	}
	r := sampleRecord()
	f.Fuzz(func(t *testing.T, src string) {
		env, err := parseEnvelope(src)
		if err != nil {
			return
		}
		b, at, err := env.render(nil, r)
		if err != nil {
			return
		}
		doc := append(append(append([]byte{}, b[:at]...), `[{"r":1}]`...), b[at:]...)
		if !json.Valid(doc) || !utf8.Valid(doc) {
			t.Fatalf("envelope %q rendered invalid JSON %q", src, doc)
		}
	})
}

// FuzzRawField: scanning raw JSON for a field finds what decoding finds.
func FuzzRawField(f *testing.F) {
	f.Add(`{"a":{"b":[1,{"c":"x\"y"}]},"d":null,"e\u0041":true}`, "a.b.1.c")
	f.Add(`{"a":1,"b":[{"x":[]},"s"]}`, "b.0.x")
	f.Add(`[{"k":"v"}, 2]`, "0.k")
	f.Add(`{"eA":1}`, "eA")
	f.Add(`{"a":1,"b":2,"a":{"c":3}}`, "a.c")
	f.Fuzz(func(t *testing.T, doc, path string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		segs, err := parsePath(path)
		if err != nil {
			return
		}
		d := connect.RawData(connect.FormatJSON, []byte(doc))
		want, werr := lookupValue(&d, segs)
		raw, ok, err := rawField(trimSpace([]byte(doc)), segs)
		if err != nil {
			t.Fatalf("rawField(%q, %q): %v", doc, path, err)
		}
		if (werr == nil) != ok {
			t.Fatalf("rawField(%q, %q) found=%v, decoding found %v (%v)", doc, path, ok, want, werr)
		}
		if !ok {
			return
		}
		got, err := connect.DecodeJSON(raw)
		if err != nil {
			t.Fatalf("rawField(%q, %q) = %q: %v", doc, path, raw, err)
		}
		if asJSON(got) != asJSON(want) {
			t.Fatalf("rawField(%q, %q) = %s, decoding gives %s", doc, path, asJSON(got), asJSON(want))
		}
	})
}
