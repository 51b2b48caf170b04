package mqtt

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const docsPath = "../../docs/connectors/mqtt-source.md"

// configTable renders the spec as the Markdown tables of the docs, one per group.
func configTable() string {
	var b strings.Builder
	group := ""
	for _, k := range Spec().Keys() {
		if k.Group != group {
			group = k.Group
			fmt.Fprintf(&b, "\n**%s**\n\n| Key | Type | Default | Importance | Description |\n|---|---|---|---|---|\n", group)
		}
		def := "`" + k.Default + "`"
		if k.Required {
			def = "(required)"
		} else if k.Default == "" {
			def = "empty"
		}
		doc := strings.ReplaceAll(k.Doc, "|", "\\|")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, strings.ReplaceAll(def, "|", "\\|"), k.Importance, doc)
	}
	return b.String()
}

// The docs' config tables are the spec's: regenerate them with
// SPUR_WRITE_DOCS=1 go test -run TestDocsConfigTable ./connectors/mqtt/
func TestDocsConfigTable(t *testing.T) {
	const begin, end = "<!-- config table: generated from Spec() by docs_test.go -->\n", "<!-- end of config table -->"
	b, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the config table markers", docsPath)
	}
	want := doc[:i+len(begin)] + configTable() + "\n" + doc[j:]
	if want == doc {
		return
	}
	if os.Getenv("SPUR_WRITE_DOCS") != "" {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the config table in %s is out of date: run SPUR_WRITE_DOCS=1 go test -run TestDocsConfigTable ./connectors/mqtt/", docsPath)
}
