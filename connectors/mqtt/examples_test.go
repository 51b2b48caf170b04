package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spur-connect/spur/connect"
)

// frameworkKeys are the runtime's keys an example may use besides the
// connector's own.
var frameworkKeys = []string{"name", "transforms", "predicates", "connector.class", "tasks.max", "key.converter", "value.converter", "header.converter",
	"errors.tolerance", "errors.log.enable", "errors.log.include.messages", "errors.retry.timeout", "errors.retry.delay.max.ms",
	"producer.max.outstanding.records", "topic.creation.default.partitions", "topic.creation.default.replication.factor"}

var frameworkPrefixes = []string{"key.converter.", "value.converter.", "header.converter.", "transforms.", "predicates.", "producer.override.", "topic.creation."}

type exampleDef struct {
	Name   string
	Config map[string]string
}

// parseExample reads YAML connector definitions shaped like the Kafka
// Connect REST create body, nested maps flattened with dots.
func parseExample(t *testing.T, b []byte) []exampleDef {
	t.Helper()
	var out []exampleDef
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Name   string         `yaml:"name"`
			Config map[string]any `yaml:"config"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		flat := map[string]string{}
		flatten("", doc.Config, flat)
		out = append(out, exampleDef{doc.Name, flat})
	}
}

func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = fmt.Sprint(v)
	}
}

// Every example is a valid config for this connector, found by its class
// name or alias, with no key the runtime would warn about.
func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("../../examples/mqtt/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples in examples/mqtt")
	}
	reg := connect.NewRegistry()
	reg.MustRegister(Plugins()...)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, def := range parseExample(t, b) {
			n++
			if def.Name == "" {
				t.Errorf("%s: a definition without a name", f)
			}
			p, err := reg.LookupType(def.Config["connector.class"], connect.PluginSource)
			if err != nil {
				t.Errorf("%s %s: %v", f, def.Name, err)
				continue
			}
			raw := map[string]string{}
			for k, v := range def.Config {
				// ${env:...} and ${file:...} are resolved by the runtime when a task starts.
				if strings.Contains(v, "${env:") || strings.Contains(v, "${file:") {
					v = "resolved"
				}
				raw[k] = v
			}
			if errs := validate(raw); len(errs) > 0 {
				t.Errorf("%s %s: %v", f, def.Name, errs)
			}
			unknown := p.Spec.Unknown(raw, frameworkPrefixes...)
			for _, k := range unknown {
				if !contains(frameworkKeys, k) {
					t.Errorf("%s %s: unknown key %s", f, def.Name, k)
				}
			}
		}
	}
	t.Logf("%d example connectors checked", n)
}
