package elasticsearch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

// FuzzParseBulk feeds arbitrary responses to the bulk response parser: it
// must never panic, and items it returns must match the request.
func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(`{"took":3,"errors":false,"items":[{"index":{"status":201}}]}`), 1)
	f.Add([]byte(`{"took":3,"errors":true,"items":[{"index":{"_index":"a","_id":"1","status":429,"error":{"type":"es_rejected_execution_exception","reason":"x","caused_by":{"type":"y","reason":"z"}}}}]}`), 1)
	f.Add([]byte(`{"items":[{"create":{"status":409}},{"delete":{"status":404,"result":"not_found"}}],"errors":true}`), 2)
	f.Add([]byte(`{"errors":false}`), 0)
	f.Add([]byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		items, err := parseBulk(body, n)
		if err == nil && items != nil && len(items) != n {
			t.Fatalf("%d items for %d actions", len(items), n)
		}
	})
}

// FuzzAppendItem builds bulk items from arbitrary valid JSON keys and
// values: every item must be one action line and one source line of valid
// JSON (or be refused with an error), whatever whitespace the value has.
func FuzzAppendItem(f *testing.F) {
	f.Add(`"k"`, `{"a":1}`, false)
	f.Add(`12`, "{\n\"a\" : [1,\n2]}\n", true)
	f.Add(`"\u2028\"x"`, `{"s":"line\nbreak"}`, false)
	f.Add(`{"id":1}`, `[1]`, false)
	f.Add(`-0`, `{}`, true)
	f.Add(`"k"`, `{ }`, false)
	f.Add(`"k"`, `{"\u0040timestamp":"2020-01-01T00:00:00Z" }` /* odd length: a data stream */, false)
	f.Fuzz(func(t *testing.T, key, value string, upsert bool) {
		if !json.Valid([]byte(key)) || !json.Valid([]byte(value)) {
			return
		}
		raw := map[string]string{keyURLs: "http://127.0.0.1:1"}
		switch {
		case upsert:
			raw[keyWriteMethod] = "upsert"
		case len(value)%2 == 1:
			// a data stream: @timestamp spliced into the value, or set
			// on the decoded value when the value has its own
			raw[keyStreamType], raw[keyStreamDataset] = "LOGS", "fuzz"
		}
		c, errs := Spec().Parse(raw)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		s, kerrs := newSettings(c)
		if len(kerrs) > 0 {
			t.Fatal(kerrs)
		}
		task := &Task{s: s}
		r := &connect.Record{Topic: "t", Offset: 7, Timestamp: time.Unix(1, 0),
			Key: connect.RawData(connect.FormatJSON, []byte(key)), Value: connect.RawData(connect.FormatJSON, []byte(value))}
		out, _, err := task.appendItem([]byte("x\n"), r, "idx")
		if err != nil {
			if string(out) != "x\n" {
				t.Fatalf("refused item left bytes behind: %q", out)
			}
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(out[2:]), "\n"), "\n")
		if len(lines) != 2 || !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("item %q is not two lines", out[2:])
		}
		var action map[string]map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &action); err != nil {
			t.Fatalf("action line %q: %v", lines[0], err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &doc); err != nil {
			t.Fatalf("source line %q: %v", lines[1], err)
		}
		if s.dataStreams() {
			if n := topLevelKeys(lines[1], "@timestamp"); n != 1 {
				t.Fatalf("data stream document %q has %d @timestamp keys, want 1", lines[1], n)
			}
		}
	})
}

// topLevelKeys counts the top-level keys of a JSON object named name, as
// Elasticsearch reads them (escapes decoded, duplicates counted).
func topLevelKeys(obj, name string) int {
	dec := json.NewDecoder(strings.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	n := 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return -1
		}
		if key == name {
			n++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return -1
		}
	}
	return n
}
