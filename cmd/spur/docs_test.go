package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/runtime"
)

// The reference tables in docs/ are the specs rendered. Regenerate with
// SPUR_WRITE_DOCS=1 go test -run TestReferenceDocsMatchSpecs ./cmd/spur/
func TestReferenceDocsMatchSpecs(t *testing.T) {
	for _, tc := range []struct {
		path string
		spec *connect.ConfigSpec
	}{
		{"../../docs/worker-config.md", runtime.WorkerSpec},
		{"../../docs/connector-config.md", runtime.SinkSpec.With(runtime.SourceSpec)},
	} {
		checkGenerated(t, tc.path, tc.spec.Markdown())
	}
}

func checkGenerated(t *testing.T, path, table string) {
	t.Helper()
	const begin, end = "<!-- generated from the spec: do not edit -->\n", "<!-- end of generated -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-table markers", path)
	}
	want := doc[:i+len(begin)] + table + "\n" + doc[j:]
	if want == doc {
		return
	}
	if os.Getenv("SPUR_WRITE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date: run SPUR_WRITE_DOCS=1 go test -run TestReferenceDocsMatchSpecs ./cmd/spur/", path)
}
