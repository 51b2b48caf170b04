package connect

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReportsEveryKeyError(t *testing.T) {
	spec := NewSpec(
		ConfigKey{Name: "url", Type: TypeString, Required: true},
		ConfigKey{Name: "tasks.max", Type: TypeInt, Default: "1", Validate: AtLeast(1)},
		ConfigKey{Name: "mode", Default: "a", Validate: OneOf("a", "b")},
		ConfigKey{Name: "secret", Type: TypePassword, Validate: NonEmpty},
		ConfigKey{Name: "list", Type: TypeList, Default: "x, y,,z"},
	)
	_, errs := spec.Parse(map[string]string{"tasks.max": "0", "mode": "c", "secret": " "})
	got := errs.Error()
	for _, want := range []string{`url: Missing required configuration "url"`, "tasks.max: Invalid value 0", "mode: Invalid value c", "secret: Invalid value [hidden]"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	c, errs := spec.Parse(map[string]string{"url": "http://x", "tasks.max": "3"})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if c.Int("tasks.max") != 3 || c.String("mode") != "a" || strings.Join(c.List("list"), "|") != "x|y|z" {
		t.Fatalf("parsed %v", c.values)
	}
}

func TestRegistryResolvesClassNamesAndAliases(t *testing.T) {
	r := NewRegistry()
	p := &Plugin{Class: "org.apache.kafka.connect.file.FileStreamSinkConnector", Aliases: []string{"file-sink"}, Type: PluginSink,
		NewConnector: func() Connector { return nil }, NewSinkTask: func() SinkTask { return nil }}
	if err := r.Register(p); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"org.apache.kafka.connect.file.FileStreamSinkConnector", "FileStreamSinkConnector", "FileStreamSink", "file-sink"} {
		if got, ok := r.Lookup(n); !ok || got != p {
			t.Errorf("Lookup(%q) failed", n)
		}
	}
	dup := &Plugin{Class: "x.FileStreamSinkConnector", Type: PluginSink, NewConnector: p.NewConnector, NewSinkTask: p.NewSinkTask}
	if err := r.Register(dup); err == nil {
		t.Fatal("duplicate simple name accepted")
	}
	if _, err := r.LookupType("file-sink", PluginSource); err == nil {
		t.Fatal("sink accepted as source")
	}
}

func TestCopyPerTask(t *testing.T) {
	c, errs := NewSpec(ConfigKey{Name: "a", Default: "x"}).Parse(map[string]string{"a": "y", "other": "z"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for n, want := range map[int]int{0: 1, 1: 1, 3: 3} {
		out := CopyPerTask(c, n)
		if len(out) != want {
			t.Fatalf("CopyPerTask(%d) gave %d configs", n, len(out))
		}
		out[0]["a"] = "changed" // each task's map is its own
		if c.Raw()["a"] != "y" || out[len(out)-1]["other"] != "z" {
			t.Fatalf("CopyPerTask(%d): %v, raw %v", n, out, c.Raw())
		}
	}
}

// A value echoed in an error message loses the passwords of its URLs.
func TestInvalidValuesHideURLPasswords(t *testing.T) {
	spec := NewSpec(ConfigKey{Name: "urls", Type: TypeList, Validate: func(any) error { return errors.New("bad") }})
	_, errs := spec.Parse(map[string]string{"urls": "http://a:s3cret@h1:80,https://b:x@h2,http://h3"})
	if got := errs.Error(); strings.Contains(got, "s3cret") || strings.Contains(got, "b:x") || !strings.Contains(got, "http://[hidden]@h1:80") || !strings.Contains(got, "http://h3") {
		t.Fatalf("message %q", got)
	}
}
