package transforms

import (
	"errors"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
)

func TestPluginNames(t *testing.T) {
	reg := newRegistry(t)
	ps := Plugins()
	if len(ps) != 29 { // 10 transforms with $Key and $Value, 6 without, 3 predicates
		t.Errorf("%d plugins", len(ps))
	}
	for _, p := range ps {
		simple := p.Class[strings.LastIndex(p.Class, ".")+1:]
		for _, n := range append([]string{p.Class, simple}, p.Aliases...) {
			if got, ok := reg.Lookup(n); !ok || got.Class != p.Class {
				t.Errorf("%s does not resolve to %s", n, p.Class)
			}
		}
		if p.Spec == nil || p.Doc == "" || p.Version == "" {
			t.Errorf("%s lacks spec, doc or version", p.Class)
		}
	}
	for name, alias := range map[string]string{
		"org.apache.kafka.connect.transforms.InsertField$Value":            "insert-field-value",
		"org.apache.kafka.connect.transforms.TimestampConverter$Key":       "timestamp-converter-key",
		"org.apache.kafka.connect.transforms.ValueToKey":                   "value-to-key",
		"org.apache.kafka.connect.transforms.predicates.TopicNameMatches":  "topic-name-matches",
		"org.apache.kafka.connect.transforms.predicates.RecordIsTombstone": "record-is-tombstone",
	} {
		p, ok := reg.Lookup(alias)
		if !ok || p.Class != name {
			t.Errorf("alias %s: %v", alias, p)
		}
	}
}

func TestPredicates(t *testing.T) {
	filterIf := func(pred string, cfg map[string]string, negate bool) map[string]string {
		raw := map[string]string{
			"transforms": "drop", "transforms.drop.type": "Filter", "transforms.drop.predicate": "p",
			"predicates": "p", "predicates.p.type": pred,
		}
		if negate {
			raw["transforms.drop.negate"] = "true"
		}
		for k, v := range cfg {
			raw["predicates.p."+k] = v
		}
		return raw
	}
	withHeader := func(r *connect.Record) *connect.Record { r.Headers.Add("trace", nil); return r }
	tomb := func(r *connect.Record) *connect.Record { r.Value = connect.RawData(connect.FormatJSON, nil); return r }
	jsonNull := func(r *connect.Record) *connect.Record {
		r.Value = connect.RawData(connect.FormatJSON, []byte(" null"))
		return r
	}
	other := func(r *connect.Record) *connect.Record { r.Topic = "events-eu"; return r }
	same := func(r *connect.Record) *connect.Record { return r }
	for _, tc := range []struct {
		name    string
		raw     map[string]string
		rec     func(*connect.Record) *connect.Record
		dropped bool
	}{
		{"topic matches", filterIf("TopicNameMatches", map[string]string{"pattern": "ev.*s"}, false), same, true},
		{"topic must match fully", filterIf("TopicNameMatches", map[string]string{"pattern": "events"}, false), other, false},
		{"topic negated", filterIf("org.apache.kafka.connect.transforms.predicates.TopicNameMatches", map[string]string{"pattern": "events"}, true), other, true},
		{"header present", filterIf("HasHeaderKey", map[string]string{"name": "trace"}, false), withHeader, true},
		{"header absent", filterIf("has-header-key", map[string]string{"name": "trace"}, false), same, false},
		{"header absent negated", filterIf("HasHeaderKey", map[string]string{"name": "trace"}, true), same, true},
		{"tombstone", filterIf("RecordIsTombstone", nil, false), tomb, true},
		{"JSON null is a tombstone", filterIf("RecordIsTombstone", nil, false), jsonNull, true},
		{"not a tombstone", filterIf("RecordIsTombstone", nil, false), same, false},
		{"keep only tombstones", filterIf("RecordIsTombstone", nil, true), same, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := NewChain(newRegistry(t), tc.raw)
			if errs != nil {
				t.Fatal(errs)
			}
			in := tc.rec(newRecord(t, "", `{"a":1}`))
			out, err := c.Apply(in)
			if err != nil {
				t.Fatal(err)
			}
			if (out == nil) != tc.dropped {
				t.Fatalf("dropped=%v, want %v", out == nil, tc.dropped)
			}
			if in.Value.Decoded() || in.Key.Decoded() {
				t.Error("a predicate decoded the record")
			}
		})
	}
}

func TestChainConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]string
		want []string
	}{
		{"missing type", map[string]string{"transforms": "mask"},
			[]string{`transforms.mask.type: Missing required configuration "transforms.mask.type" which has no default value.`}},
		{"unknown class", map[string]string{"transforms": "a", "transforms.a.type": "com.example.Nope"},
			[]string{"transforms.a.type: Invalid value com.example.Nope for configuration transforms.a.type: Class com.example.Nope could not be found."}},
		{"predicate as a transform", map[string]string{"transforms": "a", "transforms.a.type": "TopicNameMatches"},
			[]string{"transforms.a.type: Invalid value TopicNameMatches for configuration transforms.a.type: Class TopicNameMatches is a predicate, not a transformation."}},
		{"duplicate alias", map[string]string{"transforms": "a,a", "transforms.a.type": "Filter"},
			[]string{"transforms: Invalid value a,a for configuration transforms: Duplicate alias provided."}},
		{"negate without predicate", map[string]string{"transforms": "a", "transforms.a.type": "Filter", "transforms.a.negate": "true"},
			[]string{"transforms.a.negate: Invalid value true for configuration transforms.a.negate: Config 'transforms.a.negate' was provided but there is no config 'transforms.a.predicate' defining a predicate to be negated."}},
		{"unknown predicate alias", map[string]string{"transforms": "a", "transforms.a.type": "Filter", "transforms.a.predicate": "p"},
			[]string{`transforms.a.predicate: Invalid value p for configuration transforms.a.predicate: predicate alias "p" is not listed in predicates`}},
		{"predicate without type", map[string]string{"transforms": "a", "transforms.a.type": "Filter", "transforms.a.predicate": "p", "predicates": "p"},
			[]string{`predicates.p.type: Missing required configuration "predicates.p.type" which has no default value.`}},
		{"predicate key error", map[string]string{"predicates": "p", "predicates.p.type": "TopicNameMatches", "predicates.p.pattern": "("},
			[]string{"predicates.p.pattern: Invalid value ( for configuration predicates.p.pattern: not a valid regular expression"}},
		{"every error of every alias", map[string]string{"transforms": "a,b,c", "transforms.a.type": "MaskField$Value", "transforms.b.type": "Cast$Value", "transforms.b.spec": "x:y", "transforms.c.type": "InsertField$Value"},
			[]string{`transforms.a.fields: Missing required configuration "transforms.a.fields"`, "transforms.b.spec: Invalid value x:y", "transforms.c.topic.field: No field insertion configured"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := NewChain(newRegistry(t), tc.raw)
			if c != nil || len(errs) != len(tc.want) {
				t.Fatalf("got %v, %d errors: %v", c, len(errs), errs)
			}
			for i, want := range tc.want {
				if got := errs[i].Key + ": " + errs[i].Message; !strings.HasPrefix(got, want) {
					t.Errorf("error %d\n got %s\nwant %s", i, got, want)
				}
			}
		})
	}
}

func TestChainOrderAndErrors(t *testing.T) {
	reg := newRegistry(t)
	build := func(order string) *Chain {
		c, errs := NewChain(reg, map[string]string{
			"transforms":                 order,
			"transforms.ins.type":        "InsertField$Value",
			"transforms.ins.topic.field": "topic",
			"transforms.ren.type":        "ReplaceField$Value",
			"transforms.ren.renames":     "topic:source",
		})
		if errs != nil {
			t.Fatal(errs)
		}
		return c
	}
	for order, want := range map[string]string{
		"ins,ren": `{"a":1,"source":"events"}`,
		"ren,ins": `{"a":1,"topic":"events"}`,
	} {
		r, err := build(order).Apply(newRecord(t, "", `{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := dataJSON(t, &r.Value); got != want {
			t.Errorf("%s: %s, want %s", order, got, want)
		}
	}
	c := build("ins, ren")
	if c.Len() != 2 {
		t.Errorf("Len %d", c.Len())
	}
	_, err := c.Apply(newRecord(t, "", `[1]`))
	var se *StageError
	if !errors.As(err, &se) || se.Alias != "ins" || se.Class != "org.apache.kafka.connect.transforms.InsertField$Value" {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(err.Error(), "transform ins (org.apache.kafka.connect.transforms.InsertField$Value) failed: Only Map objects") {
		t.Errorf("message %q", err)
	}
	_, err = c.Apply(newRecord(t, "", `{"a":`))
	if err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("invalid JSON: %v", err)
	}
}

// A Filter stops the chain: later transforms do not run.
func TestChainFilterStops(t *testing.T) {
	c, errs := NewChain(newRegistry(t), map[string]string{
		"transforms": "f,boom", "transforms.f.type": "Filter",
		"transforms.boom.type": "ExtractField$Value", "transforms.boom.field": "x",
	})
	if errs != nil {
		t.Fatal(errs)
	}
	out, err := c.Apply(newRecord(t, "", `not json`))
	if out != nil || err != nil {
		t.Fatalf("%v %v", out, err)
	}
}

type panicky struct{}

func (panicky) Apply(*connect.Record) (*connect.Record, error) { panic("boom") }

func TestChainRecoversPanics(t *testing.T) {
	c := &Chain{stages: []stage{{alias: "p", class: "x.Panicky", t: panicky{}}}}
	_, err := c.Apply(newRecord(t, "", "{}"))
	var se *StageError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("error %v", err)
	}
}

func TestEmptyChains(t *testing.T) {
	var nilChain *Chain
	c, errs := NewChain(newRegistry(t), map[string]string{"name": "x", "transforms": " "})
	if errs != nil || c.Len() != 0 || nilChain.Len() != 0 {
		t.Fatal(errs)
	}
	r := newRecord(t, "", `{"a":1}`)
	for _, ch := range []*Chain{nilChain, c} {
		allocs := testing.AllocsPerRun(100, func() {
			if out, err := ch.Apply(r); out != r || err != nil {
				t.Fatal(out, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d allocations", int(allocs))
		}
	}
	if r.Value.Decoded() {
		t.Error("decoded")
	}
}

func TestSpec(t *testing.T) {
	raw := map[string]string{
		"transforms": "mask,route", "transforms.mask.type": "MaskField$Value", "transforms.route.type": "nope",
		"predicates": "p", "predicates.p.type": "TopicNameMatches",
	}
	spec := Spec(newRegistry(t), raw)
	for name, group := range map[string]string{
		"transforms":                           "Transforms",
		"predicates":                           "Predicates",
		"transforms.mask.type":                 "Transforms: mask",
		"transforms.mask.predicate":            "Transforms: mask",
		"transforms.mask.negate":               "Transforms: mask",
		"transforms.mask.fields":               "Transforms: mask",
		"transforms.mask.hash.salt":            "Transforms: mask",
		"transforms.route.type":                "Transforms: route",
		"predicates.p.type":                    "Predicates: p",
		"predicates.p.pattern":                 "Predicates: p",
		"transforms.mask.field.syntax.version": "Transforms: mask",
	} {
		k, ok := spec.Lookup(name)
		if !ok || k.Group != group {
			t.Errorf("%s: %v %+v", name, ok, k)
		}
	}
	if k, _ := spec.Lookup("transforms.mask.hash.salt"); k.Type != connect.TypePassword {
		t.Error("salt is not a password")
	}
	if got := spec.Redacted(map[string]string{"transforms.mask.hash.salt": "s"}); got["transforms.mask.hash.salt"] != connect.Hidden {
		t.Error("salt not redacted")
	}
	if u := spec.Unknown(map[string]string{"transforms.mask.fieldz": "a"}); len(u) != 1 {
		t.Errorf("unknown %v", u)
	}
}

// One chain serves all tasks of a connector: apply it from many goroutines
// (run with -race), with a shared input schema that must never change.
func TestChainConcurrentAndSchemasImmutable(t *testing.T) {
	c, errs := NewChain(newRegistry(t), map[string]string{
		"transforms":                     "ins,rep,cast,mask,flat",
		"transforms.ins.type":            "InsertField$Value",
		"transforms.ins.topic.field":     "topic",
		"transforms.rep.type":            "ReplaceField$Value",
		"transforms.rep.renames":         "id:key",
		"transforms.cast.type":           "Cast$Value",
		"transforms.cast.spec":           "key:string",
		"transforms.mask.type":           "MaskField$Value",
		"transforms.mask.fields":         "topic",
		"transforms.mask.hash.algorithm": "sha256",
		"transforms.flat.type":           "Flatten$Value",
	})
	if errs != nil {
		t.Fatal(errs)
	}
	shared := parseSchema(t, structID)
	before := schemaJSON(t, shared)
	done := make(chan *connect.Schema)
	for g := 0; g < 8; g++ {
		go func() {
			var last *connect.Schema
			for i := 0; i < 200; i++ {
				r := newRecord(t, "", `{"id":12345678901234567890}`)
				r.Value.Schema = shared
				out, err := c.Apply(r)
				if err != nil {
					t.Error(err)
					break
				}
				if got := dataJSON(t, &out.Value); got != `{"key":"12345678901234567890","topic":"`+sha("events")+`"}` {
					t.Errorf("value %s", got)
					break
				}
				last = out.Value.Schema
			}
			done <- last
		}()
	}
	var first *connect.Schema
	for g := 0; g < 8; g++ {
		s := <-done
		if first == nil {
			first = s
		}
		if s != first {
			t.Error("the derived schema was not cached")
		}
	}
	if schemaJSON(t, shared) != before {
		t.Errorf("input schema changed: %s", schemaJSON(t, shared))
	}
	want := `{"type":"struct","optional":false,"name":"ev","fields":[{"type":"string","optional":false,"field":"key"},{"type":"string","optional":true,"field":"topic"}]}`
	if got := schemaJSON(t, first); got != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
}
