package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spur-connect/spur/runtime"
)

var (
	envRef  = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)
	fileRef = regexp.MustCompile(`\$\{file:[^}]*\}`)
)

// TestExamplesAreValid loads every connector definition under examples/
// with the loader `spur run --connectors` and `spur apply` use, and
// validates it against the built-in plugins as the REST API would: no
// error and no unknown key. Environment references get a value; file
// references (secrets on the deploying host) are replaced.
func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*/*.yaml")
	reg, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	opts := runtimeOptions(reg)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		defs, err := parseDefinitions(f, b)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, d := range defs {
			n++
			for k, v := range d.Config {
				for _, m := range envRef.FindAllStringSubmatch(v, -1) {
					t.Setenv(m[1], "example")
				}
				d.Config[k] = fileRef.ReplaceAllString(v, "example")
			}
			v := runtime.ValidateConnector(opts, d.Config)
			for _, e := range v.Errors {
				t.Errorf("%s: %s: %s", d.Source, e.Key, e.Message)
			}
			if len(v.Warnings) > 0 {
				t.Errorf("%s: unknown keys %s", d.Source, strings.Join(v.Warnings, ", "))
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d example connectors found", n)
	}
	t.Logf("%d example connectors valid", n)
}
