package transforms

import (
	"os"
	"strings"
	"testing"
)

// Every plugin has a section in docs/transforms.md with a table row for
// every key of its spec.
func TestDocsCoverEveryKey(t *testing.T) {
	b, err := os.ReadFile("../docs/transforms.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, s := range strings.Split(string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(s, "\n")
		sections[title] = body
	}
	for _, p := range Plugins() {
		name, _, _ := strings.Cut(p.Class[strings.LastIndex(p.Class, ".")+1:], "$")
		body, ok := sections[name]
		if !ok {
			t.Errorf("no section %q", name)
			continue
		}
		for _, k := range p.Spec.Keys() {
			row := "| `" + k.Name + "` | " + string(k.Type) + " |"
			if !strings.Contains(body, row) {
				t.Errorf("%s: no table row %q", name, row)
			}
		}
	}
	if _, ok := sections["Differences from Kafka"]; !ok {
		t.Error("no section on the differences from Kafka")
	}
}
