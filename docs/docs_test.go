// Package docs holds Spur's Markdown documentation. Its test keeps every
// reference table equal to the config spec it documents: the spec is the
// only place a key is declared, and the docs are rendered from it.
//
// Regenerate the tables with: SPUR_WRITE_DOCS=1 go test ./docs/
package docs

import (
	"os"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/datagen"
	"github.com/spur-connect/spur/connectors/elasticsearch"
	"github.com/spur-connect/spur/connectors/file"
	"github.com/spur-connect/spur/connectors/hdfs"
	"github.com/spur-connect/spur/connectors/httpsink"
	"github.com/spur-connect/spur/connectors/mqtt"
	"github.com/spur-connect/spur/converters/avro"
	"github.com/spur-connect/spur/runtime"
)

func TestReferenceTablesMatchTheSpecs(t *testing.T) {
	reg := connect.NewRegistry()
	for _, ps := range [][]*connect.Plugin{datagen.Plugins(), file.Plugins(), elasticsearch.Plugins(), hdfs.Plugins(), httpsink.Plugins(), mqtt.Plugins(), avro.Plugins()} {
		reg.MustRegister(ps...)
	}
	plugin := func(name string) *connect.ConfigSpec {
		p, ok := reg.Lookup(name)
		if !ok {
			t.Fatalf("no plugin %s", name)
		}
		return p.Spec
	}
	docs := map[string]map[string]*connect.ConfigSpec{
		"worker-config.md":                 {"worker": runtime.WorkerSpec},
		"connector-config.md":              {"connectors": runtime.SinkSpec.With(runtime.SourceSpec)},
		"connectors/datagen.md":            {"datagen": plugin("datagen")},
		"connectors/file.md":               {"file-source": plugin("file-source"), "file-sink": plugin("file-sink")},
		"connectors/http-sink.md":          {"http-sink": plugin("http-sink")},
		"connectors/elasticsearch-sink.md": {"elasticsearch-sink": plugin("elasticsearch-sink")},
		"connectors/hdfs-sink.md":          {"hdfs-sink": plugin("hdfs-sink")},
		"connectors/mqtt-source.md":        {"mqtt-source": plugin("mqtt-source")},
		"converters.md":                    {"avro": plugin("avro")},
	}
	for path, specs := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		want := doc
		for name, spec := range specs {
			want = render(t, path, want, name, spec.Markdown())
		}
		if want == doc {
			continue
		}
		if os.Getenv("SPUR_WRITE_DOCS") != "" {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("docs/%s is out of date with its spec: run SPUR_WRITE_DOCS=1 go test ./docs/", path)
	}
}

// render replaces the generated block named name with table.
func render(t *testing.T, path, doc, name, table string) string {
	begin := "<!-- generated from the spec of " + name + ": do not edit -->\n"
	const end = "<!-- end of generated -->"
	i := strings.Index(doc, begin)
	if i < 0 {
		t.Fatalf("docs/%s has no generated block for %s", path, name)
	}
	j := strings.Index(doc[i:], end)
	if j < 0 {
		t.Fatalf("docs/%s: the block for %s is not closed", path, name)
	}
	return doc[:i+len(begin)] + table + "\n" + doc[i+j:]
}
