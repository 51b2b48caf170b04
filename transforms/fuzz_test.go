package transforms

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSplitPathV2(t *testing.T) {
	for in, want := range map[string][]string{
		"a":             {"a"},
		"a.b.c":         {"a", "b", "c"},
		"a.":            {"a", ""},
		".a":            {"", "a"},
		"`a.b`.c":       {"a.b", "c"},
		"a.`b.c`":       {"a", "b.c"},
		"`a`b`.c":       {"a`b", "c"},
		"`a\\`.b`":      {"a`.b"},
		"`a.b`":         {"a.b"},
		"``":            {""},
		"`a.b`.":        {"a.b", ""},
		"context.ip":    {"context", "ip"},
		"`foo.bar`.baz": {"foo.bar", "baz"},
	} {
		got, err := splitPathV2(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitPathV2(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"`a", "a.`b", "`a\\`", "`"} {
		if got, err := splitPathV2(bad); err == nil {
			t.Errorf("splitPathV2(%q) = %q, want an error", bad, got)
		}
	}
}

// FuzzFieldPath: any path text parses or fails cleanly; without backticks
// the steps are exactly the dot-separated parts.
func FuzzFieldPath(f *testing.F) {
	for _, s := range []string{"a.b", "`a.b`.c", "`a\\`.b`", "a.", "", "``.``", "`", "\\`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s, true)
		if err != nil {
			if !strings.Contains(s, "`") {
				t.Fatalf("%q without backticks failed: %v", s, err)
			}
			return
		}
		if len(p.steps) == 0 {
			t.Fatalf("%q: no steps", s)
		}
		if !strings.Contains(s, "`") && strings.Join(p.steps, ".") != s {
			t.Fatalf("%q split into %q", s, p.steps)
		}
		m := map[string]any{}
		if parent, err := p.makeParent(m); err != nil || parent == nil {
			t.Fatalf("%q: makeParent %v", s, err)
		} else {
			parent[p.last()] = "v"
		}
		if v, ok := p.get(m); !ok || v != "v" {
			t.Fatalf("%q: get after set = %v %v", s, v, ok)
		}
	})
}

// FuzzDateFormat: any pattern compiles or fails cleanly; a compiled pattern
// formats any time and parses any input without panicking, and a pattern of
// fixed-width numeric fields reads back what it wrote.
func FuzzDateFormat(f *testing.F) {
	f.Add("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-01-07T15:04:05.009Z", int64(1700000000123))
	f.Add("EEE, d MMM yyyy HH:mm:ss Z", "Tue, 14 Nov 2023 22:13:20 +0000", int64(0))
	f.Add("yyMMddHHmmssSSS", "231114221320123", int64(-1))
	f.Add("'a''b' h a z G", "x", int64(1))
	f.Add("yyyy-MM-dd'T'HH:mm:ss.SSS", "", int64(1700000000123))
	f.Add("yyyyMMddHHmmssSSS", "", int64(-1700000000123))
	f.Fuzz(func(t *testing.T, pattern, input string, ms int64) {
		df, err := compileDateFormat(pattern)
		if err != nil {
			return
		}
		ms %= 4e14 // within years 0..14000
		tm := time.UnixMilli(ms)
		out := df.format(tm)
		_, _ = df.parse(input)
		back, err := df.parse(out)
		if roundTrips(df) && tm.Year() >= 1000 && tm.Year() <= 9999 {
			if err != nil || !back.Equal(tm.UTC()) {
				t.Fatalf("pattern %q: %v formatted %q parsed %v (%v)", pattern, tm.UTC(), out, back, err)
			}
		}
	})
}

// roundTrips reports whether a pattern holds every field of a time in an
// unambiguous fixed width.
func roundTrips(df *dateFormat) bool {
	need := map[byte]int{'y': 4, 'M': 2, 'd': 2, 'H': 2, 'm': 2, 's': 2, 'S': 3}
	seen := map[byte]bool{}
	for i, tok := range df.toks {
		if tok.letter == 0 {
			if i > 0 && strings.ContainsAny(tok.lit[:1], "0123456789") {
				return false
			}
			continue
		}
		if need[tok.letter] != tok.count || seen[tok.letter] {
			return false
		}
		seen[tok.letter] = true
	}
	return len(seen) == len(need)
}

// FuzzJavaReplacement: any replacement compiles or fails cleanly, and the
// expansion of a compiled one is well-formed.
func FuzzJavaReplacement(f *testing.F) {
	for _, s := range []string{"$1", "${name}", "\\$", "$10x", "a$", "\\", "${", "${x"} {
		f.Add(s, "events-eu")
	}
	re := regexp.MustCompile(`(?P<name>[a-z]+)-(\w+)`)
	f.Fuzz(func(t *testing.T, repl, topic string) {
		parts, err := compileJavaReplacement(repl, re)
		if err != nil {
			return
		}
		if !strings.ContainsAny(repl, `\$`) && (len(parts) != 1 || parts[0].lit != repl) && repl != "" {
			t.Fatalf("plain %q compiled to %v", repl, parts)
		}
		if m := re.FindStringSubmatchIndex(topic); m != nil {
			var b strings.Builder
			expandJava(&b, parts, topic, m)
			if utf8.ValidString(topic) && utf8.ValidString(repl) && !utf8.ValidString(b.String()) {
				t.Fatalf("invalid UTF-8 from %q %q", repl, topic)
			}
		}
	})
}

// FuzzChainJSON runs arbitrary JSON through a chain of value-changing
// transforms: no panic, and whatever comes out is valid JSON.
func FuzzChainJSON(f *testing.F) {
	for _, s := range []string{tracking, trackingEvent, `{"a":{"b":[1,{"c":null}]},"a.b":1e400}`, `[]`, `"s"`, `{"context":"x"}`, `{"":{"":1}}`} {
		f.Add([]byte(s))
	}
	c, errs := NewChain(newRegistry(f), map[string]string{
		"transforms":                           "ins,rep,mask,cast,hdr,flat",
		"transforms.ins.type":                  "InsertField$Value",
		"transforms.ins.topic.field":           "meta.topic",
		"transforms.ins.field.syntax.version":  "V2",
		"transforms.rep.type":                  "ReplaceField$Value",
		"transforms.rep.exclude":               "context.ip",
		"transforms.rep.renames":               "a:context,user.email:mail",
		"transforms.rep.field.syntax.version":  "V2",
		"transforms.mask.type":                 "MaskField$Value",
		"transforms.mask.fields":               "user.id,a.b,context",
		"transforms.mask.field.syntax.version": "V2",
		"transforms.cast.type":                 "Cast$Value",
		"transforms.cast.spec":                 "event:string,user:int64",
		"transforms.hdr.type":                  "HeaderFrom$Value",
		"transforms.hdr.fields":                "event,meta",
		"transforms.hdr.headers":               "e,m",
		"transforms.hdr.operation":             "move",
		"transforms.flat.type":                 "Flatten$Value",
	})
	if errs != nil {
		f.Fatal(errs)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		r := newRecord(t, "", string(in))
		out, err := c.Apply(r)
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatal(err)
			}
			return
		}
		b, err := out.Value.AppendJSON(nil)
		if err != nil || !json.Valid(b) {
			t.Fatalf("%s -> %s (%v)", in, b, err)
		}
	})
}
