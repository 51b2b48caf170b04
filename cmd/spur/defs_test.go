package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDefinitionsFlattensAndNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", `
name: clicks-to-file
config:
  connector.class: file-sink
  topics: [clicks, views]
  tasks.max: 2
  value.converter:
    schemas.enable: false
initial_state: paused
---
name: gen
config: {connector.class: datagen, kafka.topic: clicks}
`)
	defs, err := loadDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 {
		t.Fatalf("got %d definitions", len(defs))
	}
	c := defs[0].Config
	if c["topics"] != "clicks,views" || c["tasks.max"] != "2" || c["value.converter.schemas.enable"] != "false" || c["name"] != "clicks-to-file" || defs[0].InitialState != "PAUSED" {
		t.Fatalf("flattened config %v, state %s", c, defs[0].InitialState)
	}

	for _, tc := range []struct{ body, want string }{
		{"name: x\nconfig: {a: 1}\nbogus: 1\n", `unknown field "bogus"`},
		{"config: {a: 1}\n", "name: a non-empty string is required"},
		{"name: x\n", "config: a map"},
		{"name: x\nconfig: {name: y}\n", `config.name "y" does not match`},
		{"name: x\nconfig: {a: 1}\ninitial_state: sleeping\n", "initial_state"},
		{"name: x\nconfig: {a: {b: 1}, a.b: 2}\n", "given twice"},
		{"name: x\nconfig: [\n", "bad.yaml"},
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, "bad.yaml"), []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := loadDefinitions(bad)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%q: error %v, want it to name bad.yaml and contain %q", tc.body, err, tc.want)
		}
	}
}

func TestWorkerConfigPrecedence(t *testing.T) {
	f := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(f, []byte("group.id: from-file\nlisteners: http://:1\noffset:\n  flush.interval.ms: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := loadWorkerConfig(f, []string{"SPUR_GROUP_ID=from-env", "SPUR_LISTENERS=http://:2", "HOME=/x"}, []string{"listeners=http://:3"})
	if err != nil {
		t.Fatal(err)
	}
	if raw["group.id"] != "from-env" || raw["listeners"] != "http://:3" || raw["offset.flush.interval.ms"] != "100" || raw["home"] != "" {
		t.Fatalf("merged %v", raw)
	}
}
