package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
	"github.com/spur-connect/spur/connectors/datagen"
)

func startSink(t testing.TB, path string) (*sinkTask, *connecttest.SinkContext) {
	t.Helper()
	cfgs, err := oneTask{}.TaskConfigs(parse(t, sinkSpec, map[string]string{"file": path, "topics": "events"}), 3)
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("TaskConfigs: %d configs, %v", len(cfgs), err)
	}
	sc := &connecttest.SinkContext{Name: "file-sink", Log: quiet}
	tk := &sinkTask{}
	if err := tk.Start(context.Background(), parse(t, sinkSpec, cfgs[0]), sc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Stop(context.Background()) })
	return tk, sc
}

func record(v connect.Data) *connect.Record {
	return &connect.Record{Topic: "events", Value: v}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSinkWritesOneLinePerValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value connect.Data
		line  string // "" with skip: no line at all
		skip  bool
	}{
		{"raw JSON byte for byte: 64-bit ids, trailing zeros, spacing, escapes",
			connect.RawData(connect.FormatJSON, []byte(`{"id":9007199254740993, "price":19.90,"s":"<a&b>\u00e9"}`)),
			`{"id":9007199254740993, "price":19.90,"s":"<a&b>\u00e9"}`, false},
		{"a JSON string stays a JSON string", connect.RawData(connect.FormatJSON, []byte(`"hi"`)), `"hi"`, false},
		{"structured values are encoded as JSON", connect.ValueData(map[string]any{"b": 1, "a": []any{"x"}}), `{"a":["x"],"b":1}`, false},
		{"pretty JSON is put on one line", connect.RawData(connect.FormatJSON, []byte("{\n  \"a\": [1,\r\n 2]\n}")), `{"a":[1,2]}`, false},
		{"strings as they are", connect.RawData(connect.FormatString, []byte(`plain "text"`)), `plain "text"`, false},
		{"an empty string is an empty line", connect.RawData(connect.FormatString, []byte{}), ``, false},
		{"bytes as they are", connect.RawData(connect.FormatBytes, []byte{'a', 0xff, 'b'}), "a\xffb", false},
		{"a tombstone has no line", connect.RawData(connect.FormatJSON, nil), "", true},
		{"JSON null has no line", connect.RawData(connect.FormatJSON, []byte(" null")), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.txt")
			tk, sc := startSink(t, path)
			recs := sc.Track(record(tc.value))
			if err := tk.Put(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			if err := tk.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := tc.line + "\n"
			if tc.skip {
				want = ""
			}
			if got := readFile(t, path); got != want {
				t.Fatalf("file holds %q, want %q", got, want)
			}
			if sc.Unacked() != 0 || sc.DoubleAcked() != 0 {
				t.Fatalf("unacked %d, acked twice %d", sc.Unacked(), sc.DoubleAcked())
			}
		})
	}
}

func TestSinkAcksOnlyAfterFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	tk, sc := startSink(t, path)
	batch := sc.Track(
		record(connect.RawData(connect.FormatString, []byte("a"))),
		record(connect.RawData(connect.FormatJSON, nil)), // null: nothing to write, acked at once
		record(connect.RawData(connect.FormatString, []byte("b"))),
	)
	if err := tk.Put(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if n := sc.Unacked(); n != 2 {
		t.Fatalf("%d unacked after Put, want the 2 written records", n)
	}
	// Written through to the OS at once (readers see it, as with Kafka's
	// sink), but not acknowledged until Flush made it durable.
	if got := readFile(t, path); got != "a\nb\n" {
		t.Fatalf("file holds %q after Put", got)
	}
	if err := tk.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "a\nb\n" {
		t.Fatalf("file holds %q after Flush", got)
	}
	if sc.Unacked() != 0 {
		t.Fatalf("%d unacked after Flush", sc.Unacked())
	}

	more := sc.Track(record(connect.RawData(connect.FormatString, []byte("c"))))
	if err := tk.Put(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a second Flush acks nothing again
		if err := tk.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 {
		t.Fatalf("unacked %d, acked twice %d", sc.Unacked(), sc.DoubleAcked())
	}
}

func TestSinkStopFlushesAcksAndCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	tk, sc := startSink(t, path)
	if err := tk.Put(context.Background(), sc.Track(record(connect.RawData(connect.FormatString, []byte("last"))))); err != nil {
		t.Fatal(err)
	}
	if err := tk.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "last\n" || sc.Unacked() != 0 {
		t.Fatalf("after Stop: file %q, %d unacked", got, sc.Unacked())
	}
	if err := tk.Put(context.Background(), sc.Track(record(connect.RawData(connect.FormatString, []byte("x"))))); err == nil {
		t.Fatal("Put after Stop succeeded")
	}
	if err := tk.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestSinkAppendsToAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	writeFile(t, path, "before\n")
	tk, sc := startSink(t, path)
	_ = tk.Put(context.Background(), sc.Track(record(connect.RawData(connect.FormatString, []byte("after")))))
	_ = tk.Flush(context.Background())
	if got := readFile(t, path); got != "before\nafter\n" {
		t.Fatalf("file holds %q", got)
	}
}

func TestSinkRefusesAMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "out.txt")
	cfg := parse(t, sinkSpec, map[string]string{"file": path})
	err := (&sinkTask{}).Start(context.Background(), cfg, &connecttest.SinkContext{Log: quiet})
	if err == nil || !strings.Contains(err.Error(), "file="+path) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error %v, want one naming the key, the path and the missing directory", err)
	}
	if _, statErr := os.Stat(filepath.Dir(path)); statErr == nil {
		t.Fatal("the sink created the directory")
	}
}

func TestSinkReportsAValueItCannotWriteAsOneLine(t *testing.T) {
	bad := connect.RawData(connect.FormatJSON, []byte("{\"a\":\n1"))
	t.Run("tolerated: reported, acked by the error handler, nothing written", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.txt")
		tk, sc := startSink(t, path)
		if err := tk.Put(context.Background(), sc.Track(record(bad), record(connect.RawData(connect.FormatString, []byte("ok"))))); err != nil {
			t.Fatal(err)
		}
		_ = tk.Flush(context.Background())
		if len(sc.Reports()) != 1 || !strings.Contains(sc.Reports()[0].Err.Error(), path) {
			t.Fatalf("reports %v", sc.Reports())
		}
		if got := readFile(t, path); got != "ok\n" || sc.Unacked() != 0 {
			t.Fatalf("file %q, %d unacked", got, sc.Unacked())
		}
	})
	t.Run("not tolerated: Put fails", func(t *testing.T) {
		tk, sc := startSink(t, filepath.Join(t.TempDir(), "out.txt"))
		sc.FailOnReport = true
		if err := tk.Put(context.Background(), sc.Track(record(bad))); err == nil {
			t.Fatal("Put succeeded")
		}
	})
}

// After a failed write or fsync nothing may be acked again: the kernel may
// have dropped the data and a later fsync would succeed without it.
func TestSinkFailsForGoodAfterAWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	tk, sc := startSink(t, path)
	_ = tk.Put(context.Background(), sc.Track(record(connect.RawData(connect.FormatString, []byte("lost")))))
	tk.f.Close() // the disk goes away under the task
	if err := tk.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Flush: %v", err)
	}
	if err := tk.Put(context.Background(), sc.Track(record(connect.RawData(connect.FormatString, []byte("x"))))); err == nil {
		t.Fatal("Put after a failed Flush succeeded")
	}
	if err := tk.Flush(context.Background()); err == nil {
		t.Fatal("second Flush succeeded")
	}
	if sc.Unacked() != 2 {
		t.Fatalf("%d unacked, want both records", sc.Unacked())
	}
}

func TestSinkValidationNamesTheKey(t *testing.T) {
	for _, raw := range []map[string]string{{}, {"file": ""}} {
		_, errs := sinkSpec.Parse(raw)
		if len(errs) != 1 || errs[0].Key != "file" {
			t.Errorf("%v: errors %v, want one for file", raw, errs)
		}
	}
}

// What the sink writes, the source reads back in json mode byte for byte,
// with the same values and the same 64-bit ids.
func TestSinkOutputReadsBackThroughTheSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	sink, sc := startSink(t, path)
	var want []string
	var recs []*connect.Record
	for seq := int64(0); seq < 3000; seq++ {
		v, _ := datagen.AppendEvent(nil, 1, 0, seq)
		want = append(want, string(v))
		recs = append(recs, record(connect.RawData(connect.FormatJSON, v)))
	}
	if err := sink.Put(context.Background(), sc.Track(recs...)); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	got := lines(pollAll(t, startSource(t, newSourceContext(), sourceConfig(path, "file.format", "json"))))
	if len(got) != len(want) {
		t.Fatalf("read back %d lines, wrote %d", len(got), len(want))
	}
	for i := range want {
		if got[i].value != want[i] {
			t.Fatalf("line %d changed:\n%s\n%s", i, got[i].value, want[i])
		}
	}
}
