package api

import (
	"os"
	"strings"
	"testing"
)

// docs/rest-api.md holds the REST keys rendered from Spec; this keeps the
// two from drifting. SPUR_WRITE_DOCS=1 prints the table to paste.
func TestDocsHoldTheSpec(t *testing.T) {
	table := Spec.Markdown()
	if os.Getenv("SPUR_WRITE_DOCS") != "" {
		t.Log("\n" + table)
	}
	doc, err := os.ReadFile("../docs/rest-api.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), table) {
		t.Errorf("docs/rest-api.md lacks the table of api.Spec; it should contain:\n%s", table)
	}
}
