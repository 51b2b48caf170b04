package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func parse(t testing.TB, spec *connect.ConfigSpec, raw map[string]string) connect.Config {
	t.Helper()
	cfg, errs := spec.Parse(raw)
	errs = append(errs, oneTask{}.Validate(cfg)...)
	if len(errs) > 0 {
		t.Fatalf("config %v: %v", raw, errs)
	}
	return cfg
}

// startSource starts a source task the way the runtime does: through
// TaskConfigs, with the given offset store.
func startSource(t testing.TB, sc *connecttest.SourceContext, raw map[string]string) *sourceTask {
	t.Helper()
	cfgs, err := oneTask{}.TaskConfigs(parse(t, sourceSpec, raw), 5)
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("TaskConfigs: %d configs, %v", len(cfgs), err)
	}
	tk := newSourceTask()
	if err := tk.Start(context.Background(), parse(t, sourceSpec, cfgs[0]), sc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Stop(context.Background()) })
	return tk
}

func newSourceContext() *connecttest.SourceContext {
	return &connecttest.SourceContext{Name: "file", Log: quiet}
}

// pollAll polls until a Poll comes back empty, with a context short enough
// that the empty Poll's wait does not slow the test down.
func pollAll(t testing.TB, tk *sourceTask) []*connect.Record {
	t.Helper()
	var all []*connect.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		recs, err := tk.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

type line struct {
	value    string
	position int64
}

func (l line) String() string { return fmt.Sprintf("%q@%d", l.value, l.position) }

func lines(recs []*connect.Record) []line {
	out := make([]line, len(recs))
	for i, r := range recs {
		raw, _ := r.Value.Raw()
		p, _ := connect.OffsetInt(r.SourceOffset["position"])
		out[i] = line{string(raw), p}
	}
	return out
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func sourceConfig(path string, extra ...string) map[string]string {
	m := map[string]string{"file": path, "topic": "lines"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestSourceProducesOneStringRecordPerLineWithKafkasPositions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    []line
	}{
		{"newline endings", "a\nbb\n", []line{{"a", 2}, {"bb", 5}}},
		{"CRLF endings count both bytes", "a\r\nbb\r\n", []line{{"a", 3}, {"bb", 7}}},
		{"lone CR ends a line, as in Kafka", "a\rb\n", []line{{"a", 2}, {"b", 4}}},
		{"empty lines are empty strings", "\n\nx\n", []line{{"", 1}, {"", 2}, {"x", 4}}},
		{"an unterminated last line waits", "a\nhalf", []line{{"a", 2}}},
		{"a CR at the end waits for a possible LF", "a\r", nil},
		{"positions count bytes, not characters", "München\n東京\n", []line{{"München", 9}, {"東京", 16}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, tc.content)
			recs := pollAll(t, startSource(t, newSourceContext(), sourceConfig(path)))
			if got := lines(recs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for _, r := range recs {
				if r.Topic != "lines" || r.Partition != -1 || r.Value.Format() != connect.FormatString || r.Value.IsNull() || !r.Key.IsNull() {
					t.Fatalf("record %+v", r)
				}
				if r.SourcePartition["filename"] != path {
					t.Fatalf("source partition %v", r.SourcePartition)
				}
			}
		})
	}
}

func TestSourceTailsLinesAppendedLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "one\n")
	tk := startSource(t, newSourceContext(), sourceConfig(path))
	steps := []struct {
		write string
		want  []line
	}{
		{"", []line{{"one", 4}}},
		{"two\nthr", []line{{"two", 8}}},
		{"ee\r", nil}, // "three\r" may still become "three\r\n"
		{"\nfour\n", []line{{"three", 15}, {"four", 20}}},
		{"", nil},
	}
	for i, s := range steps {
		appendFile(t, path, s.write)
		if got := lines(pollAll(t, tk)); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("step %d: got %v, want %v", i, got, s.want)
		}
	}
}

func TestSourceResumesAfterTheCommittedPosition(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset func(r *connect.Record) map[string]any
	}{
		{"through the JSON offsets topic (json.Number)", func(r *connect.Record) map[string]any {
			b, _ := json.Marshal(r.SourceOffset)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var m map[string]any
			_ = dec.Decode(&m)
			return m
		}},
		{"as float64", func(r *connect.Record) map[string]any {
			return map[string]any{"position": float64(r.SourceOffset["position"].(int64))}
		}},
		{"as int", func(r *connect.Record) map[string]any {
			return map[string]any{"position": int(r.SourceOffset["position"].(int64))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, "a\nb\nc\n")
			sc := newSourceContext()
			first := startSource(t, sc, sourceConfig(path))
			recs := pollAll(t, first)
			sc.SetOffset(recs[1].SourcePartition, tc.offset(recs[1])) // "c" was never acked
			first.Stop(context.Background())

			appendFile(t, path, "d\n")
			got := lines(pollAll(t, startSource(t, sc, sourceConfig(path))))
			if want := []line{{"c", 6}, {"d", 8}}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("resumed with %v, want %v", got, want)
			}
		})
	}
}

func TestSourceStartsOverWhenTheFileShrank(t *testing.T) {
	t.Run("while tailing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.txt")
		writeFile(t, path, "old line 1\nold line 2\n")
		tk := startSource(t, newSourceContext(), sourceConfig(path))
		pollAll(t, tk)
		writeFile(t, path, "new\n") // truncate and rewrite, as copytruncate does
		if got := lines(pollAll(t, tk)); fmt.Sprint(got) != fmt.Sprint([]line{{"new", 4}}) {
			t.Fatalf("after truncation got %v", got)
		}
	})
	t.Run("between runs", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.txt")
		writeFile(t, path, "new\n")
		sc := newSourceContext()
		sc.SetOffset(map[string]any{"filename": path}, map[string]any{"position": 100})
		if got := lines(pollAll(t, startSource(t, sc, sourceConfig(path)))); fmt.Sprint(got) != fmt.Sprint([]line{{"new", 4}}) {
			t.Fatalf("got %v", got)
		}
	})
}

func TestSourceWaitsForTheFileToAppear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.txt")
	tk := startSource(t, newSourceContext(), sourceConfig(path))
	if recs := pollAll(t, tk); len(recs) != 0 {
		t.Fatalf("%d records from a missing file", len(recs))
	}
	writeFile(t, path, "here\n")
	if got := lines(pollAll(t, tk)); fmt.Sprint(got) != fmt.Sprint([]line{{"here", 5}}) {
		t.Fatalf("got %v", got)
	}
}

func TestSourceHonoursBatchSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, strings.Repeat("0123456789\n", 5000))
	tk := startSource(t, newSourceContext(), sourceConfig(path)) // default batch.size 2000
	var sizes []int
	for {
		recs, err := tk.read(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		sizes = append(sizes, len(recs))
	}
	if fmt.Sprint(sizes) != "[2000 2000 1000]" {
		t.Fatalf("poll sizes %v", sizes)
	}
}

func TestSourceReadsLinesLongerThanItsBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	long := strings.Repeat("x", 3*readSize+17)
	writeFile(t, path, "short\n"+long+"\nend\n")
	got := lines(pollAll(t, startSource(t, newSourceContext(), sourceConfig(path))))
	if len(got) != 3 || got[1].value != long || got[2] != (line{"end", int64(6 + len(long) + 1 + 4)}) {
		t.Fatalf("got %d lines, the second %d bytes long", len(got), len(got[1].value))
	}
}

func TestSourceJSONLines(t *testing.T) {
	const content = `{"id":9007199254740993,"price":19.90}` + "\n" +
		"\n" + // blank: skipped
		`  [1, 2, {"a":null}]  ` + "\r\n" +
		`"just a string"` + "\n" +
		`{"broken":` + "\n" +
		`{"after":"the broken line"}` + "\n"

	t.Run("valid lines are JSON, copied byte for byte", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.jsonl")
		writeFile(t, path, content)
		tk := startSource(t, newSourceContext(), sourceConfig(path, "file.format", "json"))
		recs, err := tk.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []line{{`{"id":9007199254740993,"price":19.90}`, 38}, {`  [1, 2, {"a":null}]  `, 63}, {`"just a string"`, 79}}
		if got := lines(recs); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for _, r := range recs {
			if r.Value.Format() != connect.FormatJSON {
				t.Fatalf("%s is %v, not JSON", r.Value.String(), r.Value.Format())
			}
		}
		v, _ := recs[0].Value.Value()
		if id := v.(map[string]any)["id"]; id != json.Number("9007199254740993") {
			t.Fatalf("id decoded as %v", id)
		}

		// fail (the default): the good lines came first; now the task stops
		// at the broken line, naming it, and stays there.
		for i := 0; i < 2; i++ {
			recs, err = tk.Poll(context.Background())
			if err == nil || len(recs) != 0 {
				t.Fatalf("Poll at the broken line: %d records, error %v", len(recs), err)
			}
			for _, want := range []string{path, "line 5", "byte 79", "behavior.on.invalid.json=string"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		}
	})

	t.Run("behavior.on.invalid.json=string passes broken lines on as marked strings", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in.jsonl")
		writeFile(t, path, content)
		recs := pollAll(t, startSource(t, newSourceContext(), sourceConfig(path, "file.format", "json", "behavior.on.invalid.json", "string")))
		if len(recs) != 5 {
			t.Fatalf("%d records, want 5", len(recs))
		}
		broken := recs[3]
		if raw, _ := broken.Value.Raw(); string(raw) != `{"broken":` || broken.Value.Format() != connect.FormatString {
			t.Fatalf("broken line became %q (%v)", raw, broken.Value.Format())
		}
		if h, ok := broken.Headers.Get(HeaderInvalidJSON); !ok || !strings.Contains(string(h), "invalid JSON") {
			t.Fatalf("header %s=%q", HeaderInvalidJSON, h)
		}
		if recs[4].Value.Format() != connect.FormatJSON || len(recs[4].Headers) != 0 {
			t.Fatal("the line after the broken one is not plain JSON")
		}
	})
}

func TestSourceStopEndsAWaitingPoll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "")
	tk := startSource(t, newSourceContext(), sourceConfig(path))
	time.AfterFunc(20*time.Millisecond, func() { tk.Stop(context.Background()) })
	start := time.Now()
	if recs, err := tk.Poll(context.Background()); err != nil || len(recs) != 0 {
		t.Fatalf("Poll: %d records, %v", len(recs), err)
	}
	if d := time.Since(start); d >= pollInterval {
		t.Fatalf("Poll waited %v despite Stop", d)
	}
	if recs, err := tk.Poll(context.Background()); err != nil || len(recs) != 0 {
		t.Fatalf("Poll after Stop: %d records, %v", len(recs), err)
	}
}

func TestSourceRejectsAnUnreadableOffset(t *testing.T) {
	sc := newSourceContext()
	sc.SetOffset(map[string]any{"filename": "/x"}, map[string]any{"position": "12"})
	err := newSourceTask().Start(context.Background(), parse(t, sourceSpec, sourceConfig("/x")), sc)
	if err == nil || !strings.Contains(err.Error(), "position") || !strings.Contains(err.Error(), "/x") {
		t.Fatalf("error %v, want one naming the file and position", err)
	}
}

func TestNextLineAgreesWithItsContract(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line string
		n    int
		ok   bool
	}{
		{"", "", 0, false},
		{"abc", "", 0, false},
		{"abc\n", "abc", 4, true},
		{"abc\r\ndef", "abc", 5, true},
		{"abc\rdef", "abc", 4, true},
		{"abc\r", "", 0, false},
		{"\r\n", "", 2, true},
		{"a\nb\r\n", "a", 2, true},
		{"a\rb\n", "a", 2, true},
	} {
		line, n, ok := nextLine([]byte(tc.in))
		if string(line) != tc.line || n != tc.n || ok != tc.ok {
			t.Errorf("nextLine(%q) = %q, %d, %v; want %q, %d, %v", tc.in, line, n, ok, tc.line, tc.n, tc.ok)
		}
	}
}

func TestSourceValidationNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		raw map[string]string
		key string
	}{
		{map[string]string{"topic": "t"}, "file"},
		{map[string]string{"topic": "t", "file": "  "}, "file"},
		{map[string]string{"file": "/x"}, "topic"},
		{map[string]string{"file": "/x", "topic": "a/b"}, "topic"},
		{map[string]string{"file": "/x", "topic": "t", "batch.size": "0"}, "batch.size"},
		{map[string]string{"file": "/x", "topic": "t", "file.format": "xml"}, "file.format"},
		{map[string]string{"file": "/x", "topic": "t", "behavior.on.invalid.json": "skip"}, "behavior.on.invalid.json"},
	} {
		cfg, errs := sourceSpec.Parse(tc.raw)
		errs = append(errs, oneTask{}.Validate(cfg)...)
		if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Message, tc.key) {
			t.Errorf("%v: errors %v, want one for %s", tc.raw, errs, tc.key)
		}
	}
}

func TestPluginsAnswerToKafkaAndShortNames(t *testing.T) {
	r := connect.NewRegistry()
	r.MustRegister(Plugins()...)
	for name, typ := range map[string]connect.PluginType{
		"org.apache.kafka.connect.file.FileStreamSourceConnector": connect.PluginSource,
		"FileStreamSource": connect.PluginSource,
		"file-source":      connect.PluginSource,
		"org.apache.kafka.connect.file.FileStreamSinkConnector": connect.PluginSink,
		"FileStreamSink": connect.PluginSink,
		"file-sink":      connect.PluginSink,
	} {
		if _, err := r.LookupType(name, typ); err != nil {
			t.Error(err)
		}
	}
}

// FuzzSourceLines feeds arbitrary bytes to the source, appended to the file
// in arbitrary pieces as a writer would, in json mode with invalid lines
// passed on. Whatever the input and however it is cut, the records must
// account for every byte up to the last position, each line exactly once,
// and every record marked JSON must decode.
func FuzzSourceLines(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n\r\n[1,2]\r{\"b\":\n"), uint8(3))
	f.Add([]byte("\"x\"\r\r\n\n  \n9007199254740993\n"), uint8(1))
	f.Add([]byte("{}\xff\n\"\\u00e9\"\n"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		path := filepath.Join(t.TempDir(), "in.jsonl")
		writeFile(t, path, "")
		tk := startSource(t, newSourceContext(), sourceConfig(path, "file.format", "json", "behavior.on.invalid.json", "string"))
		var recs []*connect.Record
		// Small pieces for small inputs; at most 256 appends for big ones.
		n := max(int(step)%16+1, len(data)/256)
		for i := 0; i < len(data); i += n {
			appendFile(t, path, string(data[i:min(i+n, len(data))]))
			got, err := tk.read(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, got...)
		}
		got, err := tk.read(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, got...)

		// Replay the positions: between two records lie the line, its
		// terminator and perhaps skipped blank lines, nothing else.
		prev := int64(0)
		for _, r := range recs {
			pos, _ := connect.OffsetInt(r.SourceOffset["position"])
			if pos <= prev || pos > int64(len(data)) {
				t.Fatalf("position %d after %d (input %d bytes)", pos, prev, len(data))
			}
			raw, _ := r.Value.Raw()
			seg := data[prev:pos]
			rest := bytes.TrimRight(seg, "\r\n")
			if !bytes.HasSuffix(rest, raw) || len(bytes.Trim(rest[:len(rest)-len(raw)], " \t\r\n")) != 0 {
				t.Fatalf("record %q does not end segment %q", raw, seg)
			}
			switch r.Value.Format() {
			case connect.FormatJSON:
				if _, err := r.Value.Value(); err != nil || !json.Valid(raw) {
					t.Fatalf("record %q marked JSON does not decode: %v", raw, err)
				}
			case connect.FormatString:
				if _, ok := r.Headers.Get(HeaderInvalidJSON); !ok {
					t.Fatalf("string record %q without the %s header", raw, HeaderInvalidJSON)
				}
				if json.Valid(raw) {
					t.Fatalf("valid JSON %q passed on as invalid", raw)
				}
			}
			prev = pos
		}
		// Whatever is left must not hold a complete non-blank line.
		tail := data[prev:]
		for len(tail) > 0 {
			line, n, ok := nextLine(tail)
			if !ok {
				break
			}
			if !isBlank(line) {
				t.Fatalf("complete line %q after position %d was not produced", line, prev)
			}
			tail = tail[n:]
		}
	})
}
