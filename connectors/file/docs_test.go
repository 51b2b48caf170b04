package file

import (
	"os"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
)

// The reference table in docs/connectors/file.md is the spec rendered;
// this keeps the two from drifting until the docs are generated.
func TestDocsTableMatchesTheSpec(t *testing.T) {
	doc, err := os.ReadFile("../../docs/connectors/file.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{keyTable(sourceSpec), keyTable(sinkSpec)} {
		if !strings.Contains(string(doc), table) {
			t.Errorf("docs/connectors/file.md lacks a config table of a spec; it should read:\n%s", table)
		}
	}
}

func keyTable(s *connect.ConfigSpec) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, k := range s.Keys() {
		def := "`" + k.Default + "`"
		if k.Required {
			def = "required"
		} else if k.Default == "" {
			def = `""`
		}
		b.WriteString("| `" + k.Name + "` | " + string(k.Type) + " | " + def + " | " + k.Doc + " |\n")
	}
	return b.String()
}
