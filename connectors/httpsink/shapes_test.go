package httpsink

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
)

// Every body shape, checked by parsing what the server received.
func TestBodyShapes(t *testing.T) {
	three := func() []*connect.Record {
		return []*connect.Record{
			jsonRec("tracking", 0, 0, `{"type":"track","userId":"u1","event":"a"}`),
			jsonRec("tracking", 0, 1, `{"type":"track","userId":"u2","event":"b"}`),
			jsonRec("tracking", 1, 0, `{"type":"track","userId":"u1","event":"c"}`),
		}
	}
	elems := `[{"type":"track","userId":"u1","event":"a"},{"type":"track","userId":"u2","event":"b"},{"type":"track","userId":"u1","event":"c"}]`
	cases := []struct {
		name        string
		kv          []string
		contentType string
		check       func(t *testing.T, reqs []received)
	}{
		{"bare array (Mixpanel)", []string{keyBodyFormat, "json", keyMaxSize, "10"}, "application/json",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decode(t, reqs[0].Body), mustJSON(t, elems))
			}},
		{"NDJSON (Mixpanel /import)", []string{keyBodyFormat, "ndjson", keyMaxSize, "10"}, "application/x-ndjson",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decodeLines(t, reqs[0].Body), mustJSON(t, elems))
			}},
		{"Segment envelope with secret", []string{keyBodyFormat, "json", keyMaxSize, "10",
			keyEnvelope, `{"batch": "${records}", "writeKey": "wk_secret", "context": {"library": {"name": "spur"}}}`}, "application/json",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decode(t, reqs[0].Body), mustJSON(t, `{"batch":`+elems+`,"writeKey":"wk_secret","context":{"library":{"name":"spur"}}}`))
			}},
		{"Amplitude envelope", []string{keyBodyFormat, "json", keyMaxSize, "10",
			keyEnvelope, `{"api_key": "amp_key", "events": "${records}", "options": {"min_id_length": 1}}`}, "application/json",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decode(t, reqs[0].Body), mustJSON(t, `{"api_key":"amp_key","events":`+elems+`,"options":{"min_id_length":1}}`))
				if !strings.HasPrefix(string(reqs[0].Body), `{"api_key":"amp_key","events":[`) {
					t.Errorf("envelope member order not kept: %s", reqs[0].Body)
				}
			}},
		{"PostHog envelope", []string{keyBodyFormat, "json", keyMaxSize, "10",
			keyEnvelope, `{"api_key": "phc_x", "historical_migration": false, "batch": "${records}"}`}, "application/json",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decode(t, reqs[0].Body), mustJSON(t, `{"api_key":"phc_x","historical_migration":false,"batch":`+elems+`}`))
			}},
		{"GA4: one request per client_id", []string{keyBodyFormat, "json", keyMaxSize, "25",
			keyEnvelope, `{"client_id": "${value.userId}", "events": "${records}"}`}, "application/json",
			func(t *testing.T, reqs []received) {
				if len(reqs) != 2 {
					t.Fatalf("got %d requests, want 2 (one per user)", len(reqs))
				}
				got := map[string]any{}
				for _, r := range reqs {
					v := decode(t, r.Body).(map[string]any)
					got[v["client_id"].(string)] = v["events"]
				}
				equalJSON(t, got["u1"], mustJSON(t, `[{"type":"track","userId":"u1","event":"a"},{"type":"track","userId":"u1","event":"c"}]`))
				equalJSON(t, got["u2"], mustJSON(t, `[{"type":"track","userId":"u2","event":"b"}]`))
			}},
		{"GA4 with element path", []string{keyBodyFormat, "json", keyMaxSize, "25", keyElementPath, "event",
			keyEnvelope, `{"client_id": "${value.userId}", "events": "${records}"}`}, "application/json",
			func(t *testing.T, reqs []received) {
				if len(reqs) != 2 {
					t.Fatalf("got %d requests, want 2", len(reqs))
				}
				for _, r := range reqs {
					v := decode(t, r.Body).(map[string]any)
					if v["client_id"] == "u1" {
						equalJSON(t, v["events"], mustJSON(t, `["a","c"]`))
					}
				}
			}},
		{"METRO legacy prefix/suffix with misspelled separator", []string{keyMaxSize, "5",
			keyPrefix, `{"batches": [`, keySuffix, `]}`, keySeperator, `,`}, "text/plain; charset=utf-8",
			func(t *testing.T, reqs []received) {
				one(t, reqs)
				equalJSON(t, decode(t, reqs[0].Body), mustJSON(t, `{"batches":`+elems+`}`))
			}},
		{"single value per request", []string{keyBodyFormat, "json", keyAsArray, "false"}, "application/json",
			func(t *testing.T, reqs []received) {
				if len(reqs) != 3 {
					t.Fatalf("got %d requests, want 3", len(reqs))
				}
				pos := map[string]int{}
				for i, r := range reqs {
					pos[decode(t, r.Body).(map[string]any)["event"].(string)] = i
				}
				if len(pos) != 3 || pos["a"] > pos["b"] {
					t.Errorf("events by request %v: want a, b, c once each, a (offset 0) before b (offset 1)", pos)
				}
			}},
	}
	for _, gz := range []bool{false, true} {
		for _, c := range cases {
			name := c.name
			kv := c.kv
			if gz {
				name += " gzip"
				kv = append(append([]string{}, kv...), keyCompression, "gzip")
			}
			t.Run(name, func(t *testing.T) {
				rec := newRecorder(t, nil)
				task, sc := startTask(t, cfg(rec.URL, kv...))
				put(t, task, sc, three()...)
				flush(t, task)
				reqs := rec.requests()
				c.check(t, reqs)
				for _, r := range reqs {
					if ct := r.Header.Get("Content-Type"); ct != c.contentType {
						t.Errorf("Content-Type %q, want %q", ct, c.contentType)
					}
					if ce := r.Header.Get("Content-Encoding"); (ce == "gzip") != gz {
						t.Errorf("Content-Encoding %q with gzip=%v", ce, gz)
					}
				}
				if n := sc.Unacked(); n != 0 {
					t.Errorf("%d records unacked", n)
				}
			})
		}
	}
}

// JSON survives byte-for-value: 64-bit integers, unicode, nested objects,
// strings holding JSON, HTML characters; raw JSON is copied unchanged.
func TestJSONFidelity(t *testing.T) {
	raw := []string{
		`{"id":9007199254740993,"big":18446744073709551615,"neg":-9223372036854775808,"f":1.0000000000000002,"e":1e400}`,
		`{"name":"Jürgen 🚀 日本","esc":"line\nbreak\t\"q\" \\ \u2028","html":"<a href=\"x\">&</a>"}`,
		`{"nested":{"a":[1,{"b":[true,false,null]},"x"],"empty":{},"arr":[]}}`,
		`  {"ws":  1 }  `,
		`"plain string"`,
		`12345678901234567890`,
		`"{\"spliced\":9007199254740993}"`,
	}
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "100"))
	var recs []*connect.Record
	for i, s := range raw {
		recs = append(recs, jsonRec("t", 0, int64(i), s))
	}
	// A StringConverter value holding JSON is spliced; one holding text is quoted.
	str := &connect.Record{Topic: "t", Offset: 7, Value: connect.RawData(connect.FormatString, []byte(`{"from":"string","id":9007199254740993}`))}
	txt := &connect.Record{Topic: "t", Offset: 8, Value: connect.RawData(connect.FormatString, []byte("not json: <&> \x01"))}
	// A value a transform replaced: structured data is encoded as JSON.
	smt := &connect.Record{Topic: "t", Offset: 9, Value: connect.RawData(connect.FormatJSON, []byte(`{"drop":"pii","keep":1}`))}
	smt.Value.Set(map[string]any{"keep": json64("9007199254740993"), "added": "ü", "inner": map[string]any{"x": []any{json64("1"), "y"}}})
	bin := &connect.Record{Topic: "t", Offset: 10, Value: connect.RawData(connect.FormatBytes, []byte{0, 1, 2, 250})}
	put(t, task, sc, append(recs, str, txt, smt, bin)...)
	flush(t, task)

	reqs := rec.requests()
	one(t, reqs)
	body := string(reqs[0].Body)
	// Untouched raw JSON is copied byte for byte (only surrounding blanks trimmed).
	for _, s := range raw[:6] {
		if !strings.Contains(body, strings.TrimSpace(s)) {
			t.Errorf("body lacks the raw bytes %s", s)
		}
	}
	got := decode(t, reqs[0].Body).([]any)
	want := []any{
		mustJSON(t, raw[0]), mustJSON(t, raw[1]), mustJSON(t, raw[2]), mustJSON(t, raw[3]),
		"plain string", json64("12345678901234567890"),
		mustJSON(t, `{"spliced":9007199254740993}`),
		mustJSON(t, `{"from":"string","id":9007199254740993}`),
		"not json: <&> \x01",
		mustJSON(t, `{"keep":9007199254740993,"added":"ü","inner":{"x":[1,"y"]}}`),
		base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 250}),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d elements, want %d: %s", len(got), len(want), body)
	}
	for i := range want {
		equalJSON(t, got[i], want[i])
	}
	if strings.Contains(body, `\u003c`) || strings.Contains(body, "map[") {
		t.Errorf("HTML-escaped or print-form output: %s", body)
	}
}

// A string value that looks like JSON but is not is quoted, never spliced.
func TestInvalidJSONStringIsQuoted(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10"))
	put(t, task, sc, &connect.Record{Topic: "t", Value: connect.RawData(connect.FormatString, []byte(`{"broken":`))})
	flush(t, task)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), []any{`{"broken":`})
}

func TestJSONStringsQuote(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyJSONStrings, "quote"))
	put(t, task, sc, &connect.Record{Topic: "t", Value: connect.RawData(connect.FormatString, []byte(`{"a":1}`))})
	flush(t, task)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), []any{`{"a":1}`})
}

func TestStringFormatWritesStructuredValuesAsJSON(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyMaxSize, "10", keyPrefix, "[", keySuffix, "]"))
	r := jsonRec("t", 0, 0, `{"a":1}`)
	r.Value.Set(map[string]any{"b": json64("2"), "c": []any{"x"}})
	put(t, task, sc, r, jsonRec("t", 0, 1, `{"raw":true}`))
	flush(t, task)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), mustJSON(t, `[{"b":2,"c":["x"]},{"raw":true}]`))
}

func TestInvalidJSONGoesToErrorPath(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyValidate, "true"))
	put(t, task, sc, jsonRec("t", 0, 0, `{"ok":1}`), jsonRec("t", 0, 1, `{"broken":`), jsonRec("t", 0, 2, `{"ok":2}`))
	flush(t, task)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), mustJSON(t, `[{"ok":1},{"ok":2}]`))
	reps := sc.Reports()
	if len(reps) != 1 || reps[0].Record.Offset != 1 || !strings.Contains(reps[0].Err.Error(), "not valid JSON") {
		t.Fatalf("reports %+v", reps)
	}
	if sc.Unacked() != 0 {
		t.Fatal("unacked records")
	}
}

func TestRegexReplacements(t *testing.T) {
	rec := newRecorder(t, nil)
	// The REST Proxy replication example: wrap every value.
	task2, sc2 := startTask(t, cfg(rec.URL, keyMaxSize, "10", keyPrefix, `{"records":[`, keySuffix, `]}`,
		keyRegexPatterns, `^(.*)$`, keyRegexReplaces, `{"value":$1,"topic":"${topic}"}`))
	put(t, task2, sc2, jsonRec("orders", 0, 0, `{"a":1}`), jsonRec("orders", 0, 1, `[2]`))
	flush(t, task2)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), mustJSON(t, `{"records":[{"value":{"a":1},"topic":"orders"},{"value":[2],"topic":"orders"}]}`))
}

func one(t testing.TB, reqs []received) received {
	t.Helper()
	if len(reqs) != 1 {
		for _, r := range reqs {
			t.Logf("request: %s %s", r.Method, r.Body)
		}
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

func equalJSON(t testing.TB, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", asJSON(got), asJSON(want))
	}
}

func json64(s string) any { return json.Number(s) }
