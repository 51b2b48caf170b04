package httpsink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"gopkg.in/yaml.v3"
)

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
