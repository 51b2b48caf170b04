package hdfs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
	"github.com/spur-connect/spur/connectors/hdfs/webhdfstest"
)

var (
	put   = connecttest.Put
	flush = connecttest.Flush
)

func startTask(t testing.TB, url string, kv ...string) (*Task, *connecttest.SinkContext) {
	t.Helper()
	raw := map[string]string{keyWebHDFSURL: url, keyFlushSize: "3", keyBackoff: "1"}
	for i := 0; i+1 < len(kv); i += 2 {
		raw[kv[i]] = kv[i+1]
	}
	task := NewTask()
	return task, connecttest.StartSink(t, Plugins()[0], task, "hdfs", raw)
}

func rec(topic string, partition int32, offset int64, value string) *connect.Record {
	r := &connect.Record{Topic: topic, Partition: partition, Offset: offset, Timestamp: time.UnixMilli(1700000000000 + offset*60000).UTC()}
	if value != "" {
		r.Value = connect.RawData(connect.FormatJSON, []byte(value))
	}
	return r
}

func recs(topic string, partition int32, from, to int64) []*connect.Record {
	var out []*connect.Record
	for o := from; o < to; o++ {
		out = append(out, rec(topic, partition, o, fmt.Sprintf(`{"n":%d}`, o)))
	}
	return out
}

// committed lists the committed files under /topics, by path.
func committed(srv *webhdfstest.Server) map[string]string {
	out := map[string]string{}
	for p, b := range srv.Walk() {
		if strings.HasPrefix(p, "/topics/") && !strings.HasPrefix(p, "/topics/+tmp/") {
			out[p] = string(b)
		}
	}
	return out
}

func paths(m map[string]string) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestFilesAreCommittedByFlushSize(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL)
	put(t, task, sc, recs("clicks", 0, 0, 7)...)
	flush(t, task)
	files := committed(srv)
	want := []string{
		"/topics/clicks/partition=0/clicks+0+0000000000+0000000002.json",
		"/topics/clicks/partition=0/clicks+0+0000000003+0000000005.json",
	}
	if got := paths(files); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if c := files[want[1]]; c != "{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n" {
		t.Fatalf("content %q", c)
	}
	// The seventh record waits in its open file, unacknowledged.
	if n := sc.Unacked(); n != 1 {
		t.Fatalf("%d unacknowledged, want 1", n)
	}
	if tmp := srv.List("/topics/+tmp/clicks"); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

func TestATaskTakingOverWritesEveryRecordOnce(t *testing.T) {
	srv := webhdfstest.New(t)
	// A previous owner committed offsets 0-9 and crashed before Kafka's
	// offset commit, leaving a temp file of its next file behind.
	srv.WriteFile("/topics/t/partition=0/t+0+0000000000+0000000009.json", []byte("earlier\n"))
	srv.WriteFile("/topics/+tmp/t/t+0+0000000010+0000000011.json.abc.tmp", []byte("partial"))
	srv.WriteFile("/topics/+tmp/t/t+1+0000000000+0000000001.json.def.tmp", []byte("another partition's"))

	task, sc := startTask(t, srv.URL, keyFlushSize, "5")
	if err := task.Open(context.Background(), []connect.TopicPartition{{Topic: "t", Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	put(t, task, sc, recs("t", 0, 5, 15)...) // replayed from Kafka's committed offset 5
	flush(t, task)
	connecttest.Flush(t, task)
	if n := sc.Unacked(); n != 0 {
		t.Fatalf("%d unacknowledged", n)
	}
	want := []string{"/topics/t/partition=0/t+0+0000000000+0000000009.json", "/topics/t/partition=0/t+0+0000000010+0000000014.json"}
	if got := paths(committed(srv)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if tmp := srv.List("/topics/+tmp/t"); fmt.Sprint(tmp) != "[t+1+0000000000+0000000001.json.def.tmp]" {
		t.Fatalf("temp files %v: partition 0's must be gone, partition 1's kept", tmp)
	}
}

func TestPassingFailuresAreRetried(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL)
	srv.FailNext("CREATE", 2, http.StatusServiceUnavailable)
	srv.FailNext("RENAME", 1, http.StatusInternalServerError)
	put(t, task, sc, recs("t", 0, 0, 3)...)
	if n := sc.Unacked(); n != 0 || len(committed(srv)) != 1 {
		t.Fatalf("%d unacknowledged, files %v", n, paths(committed(srv)))
	}
	if sc.RetryingErr() != nil {
		t.Fatalf("retry note not cleared: %v", sc.RetryingErr())
	}
}

func TestRefusalsFailTheTask(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL)
	srv.FailNext("CREATE", 1, http.StatusForbidden)
	err := task.Put(context.Background(), sc.Track(recs("t", 0, 0, 3)...))
	if err == nil || !strings.Contains(err.Error(), "AccessControlException") || !strings.Contains(err.Error(), "/topics/+tmp/t/") {
		t.Fatalf("Put: %v", err)
	}
	if n := sc.Unacked(); n != 3 {
		t.Fatalf("%d unacknowledged, want 3", n)
	}
}

func TestARenameAlreadyDoneCountsAndAConflictFails(t *testing.T) {
	srv := webhdfstest.New(t)
	// The same file, committed by an attempt whose answer was lost.
	srv.WriteFile("/topics/t/partition=0/t+0+0000000000+0000000002.json", []byte("{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"))
	// Other content under the next name: another writer.
	srv.WriteFile("/topics/t/partition=1/t+1+0000000000+0000000002.json", []byte("something else\n"))
	task, sc := startTask(t, srv.URL)
	task.committed[connect.TopicPartition{Topic: "t", Partition: 0}] = -1 // as if read before the file appeared
	task.committed[connect.TopicPartition{Topic: "t", Partition: 1}] = -1
	put(t, task, sc, recs("t", 0, 0, 3)...)
	if n := sc.Unacked(); n != 0 {
		t.Fatalf("%d unacknowledged", n)
	}
	err := task.Put(context.Background(), sc.Track(recs("t", 1, 0, 3)...))
	if err == nil || !strings.Contains(err.Error(), "exists already with other content") {
		t.Fatalf("Put: %v", err)
	}
}

func TestPartitioners(t *testing.T) {
	value := func(o int64, v string) *connect.Record { return rec("t", 0, o, v) }
	cases := []struct {
		name string
		kv   []string
		in   []*connect.Record
		want []string
	}{
		{"field", []string{keyPartitioner, "FieldPartitioner", keyFieldName, "country,device.kind", keyFlushSize, "10"},
			[]*connect.Record{value(0, `{"country":"DE","device":{"kind":"web"}}`), value(1, `{"country":"DE","device":{"kind":"web"}}`), value(2, `{"country":"FR","device":{"kind":"app"}}`)},
			[]string{"/topics/t/country=DE/kind=web/t+0+0000000000+0000000001.json", "/topics/t/country=FR/kind=app/t+0+0000000002+0000000002.json"}},
		{"hourly by record time", []string{keyPartitioner, "io.confluent.connect.storage.partitioner.HourlyPartitioner", keyTimezone, "UTC", keyExtractor, "Record", keyFlushSize, "100"},
			recs("t", 0, 0, 3), // 22:13, 22:14, 22:15 on 2023-11-14
			[]string{"/topics/t/year=2023/month=11/day=14/hour=22/t+0+0000000000+0000000002.json"}},
		{"time-based in a zone, by a value field", []string{keyPartitioner, "TimeBasedPartitioner", keyPathFormat, "'dt'=YYYY-MM-dd", keyDuration, "86400000",
			keyTimezone, "Asia/Tokyo", keyExtractor, "RecordField", keyTSField, "at", keyFlushSize, "100"},
			[]*connect.Record{value(0, `{"at":"2024-01-31T14:59:00Z"}`), value(1, `{"at":1706713200000}`)}, // Tokyo: 23:59 on the 31st, then 00:00 on the 1st
			[]string{"/topics/t/dt=2024-01-31/t+0+0000000000+0000000000.json", "/topics/t/dt=2024-02-01/t+0+0000000001+0000000001.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := webhdfstest.New(t)
			task, sc := startTask(t, srv.URL, c.kv...)
			put(t, task, sc, c.in...)
			// Make the last file due: a record of another partition would
			// not; a task at max.open.records would.
			task.mu.Lock()
			for _, w := range task.writers {
				if err := task.commit(context.Background(), w); err != nil {
					t.Fatal(err)
				}
			}
			task.mu.Unlock()
			if got := paths(committed(srv)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("files %v, want %v", got, c.want)
			}
		})
	}
}

func TestRecordsThatCannotBePlacedGoToTheErrorPath(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL, keyPartitioner, "FieldPartitioner", keyFieldName, "country", keyFlushSize, "2")
	put(t, task, sc, rec("t", 0, 0, `{"country":"DE"}`), rec("t", 0, 1, `{"other":1}`), rec("t", 0, 2, `{"country":"a/b"}`), rec("t", 0, 3, `{"country":"DE"}`), rec("t", 0, 4, ""))
	reps := sc.Reports()
	if len(reps) != 2 || !strings.Contains(reps[0].Err.Error(), "no field country") || !strings.Contains(reps[1].Err.Error(), "cannot be a directory name") {
		t.Fatalf("reports %v", reps)
	}
	if got := paths(committed(srv)); fmt.Sprint(got) != "[/topics/t/country=DE/t+0+0000000000+0000000003.json]" {
		t.Fatalf("files %v", got)
	}
	if n := sc.Unacked(); n != 0 {
		t.Fatalf("%d unacknowledged (the tombstone is skipped)", n)
	}
}

func TestRotation(t *testing.T) {
	t.Run("by record time span", func(t *testing.T) {
		srv := webhdfstest.New(t)
		task, sc := startTask(t, srv.URL, keyFlushSize, "100", keyExtractor, "Record", keyRotate, "120000")
		put(t, task, sc, recs("t", 0, 0, 4)...) // a minute apart: 0 and 2 span two minutes
		if got := paths(committed(srv)); fmt.Sprint(got) != "[/topics/t/partition=0/t+0+0000000000+0000000002.json]" {
			t.Fatalf("files %v", got)
		}
	})
	t.Run("by schedule, at a flush", func(t *testing.T) {
		srv := webhdfstest.New(t)
		task, sc := startTask(t, srv.URL, keyFlushSize, "100", keyRotateSchedule, "3600000", keyTimezone, "UTC")
		now := time.Date(2024, 5, 1, 10, 59, 0, 0, time.UTC)
		task.now = func() time.Time { return now }
		task.schedule = task.nextSchedule(now)
		put(t, task, sc, recs("t", 0, 0, 2)...)
		flush(t, task)
		if n := len(committed(srv)); n != 0 {
			t.Fatalf("%d files before 11:00", n)
		}
		now = now.Add(time.Minute)
		flush(t, task)
		if got := paths(committed(srv)); len(got) != 1 || sc.Unacked() != 0 {
			t.Fatalf("files %v, %d unacknowledged", got, sc.Unacked())
		}
	})
	t.Run("max.open.records", func(t *testing.T) {
		srv := webhdfstest.New(t)
		task, sc := startTask(t, srv.URL, keyFlushSize, "100", keyMaxOpen, "5")
		put(t, task, sc, append(recs("t", 0, 0, 3), recs("t", 1, 0, 2)...)...)
		if got := paths(committed(srv)); fmt.Sprint(got) != "[/topics/t/partition=0/t+0+0000000000+0000000002.json]" {
			t.Fatalf("files %v", got)
		}
	})
}

func TestStringFormat(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL, keyFormat, "io.confluent.connect.hdfs.string.StringFormat", keyFlushSize, "2", keyTopicsDir, "/data/raw/")
	put(t, task, sc, &connect.Record{Topic: "logs", Offset: 0, Value: connect.RawData(connect.FormatString, []byte("hello"))},
		&connect.Record{Topic: "logs", Offset: 1, Value: connect.RawData(connect.FormatString, []byte("world"))})
	if b, ok := srv.File("/data/raw/logs/partition=0/logs+0+0000000000+0000000001.txt"); !ok || string(b) != "hello\nworld\n" {
		t.Fatalf("file %q %v; all: %v", b, ok, srv.Walk())
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		kv  []string
		key string
	}{
		{[]string{keyFormat, "io.confluent.connect.hdfs.avro.AvroFormat"}, keyFormat},
		{[]string{keyKerberos, "true"}, keyKerberos},
		{[]string{keyHive, "true"}, keyHive},
		{[]string{keyPartitioner, "HourlyPartitioner"}, keyTimezone},
		{[]string{keyPartitioner, "TimeBasedPartitioner", keyTimezone, "UTC", keyPathFormat, "YYYY"}, keyDuration},
		{[]string{keyPartitioner, "TimeBasedPartitioner", keyTimezone, "UTC", keyDuration, "1000", keyPathFormat, "'y'=YYYY/EEE"}, keyPathFormat},
		{[]string{keyPartitioner, "FieldPartitioner"}, keyFieldName},
		{[]string{keyPartitioner, "x.Y"}, keyPartitioner},
		{[]string{keyRotateSchedule, "1000"}, keyTimezone},
		{[]string{keyPartitioner, "TimeBasedPartitioner", keyTimezone, "UTC", keyDuration, "1000", keyPathFormat, "yy-MMM"}, keyPathFormat},
		{[]string{keyTimezone, "Mars/Olympus"}, keyTimezone},
		{[]string{keyMaxOpen, "20000", "consumer.max.outstanding.records", "10000"}, keyMaxOpen},
		{[]string{keyWebHDFSURL, "", keyHDFSURL, "ftp://nn"}, keyHDFSURL},
		{[]string{keyWebHDFSURL, ""}, keyHDFSURL},
	}
	for _, c := range cases {
		raw := map[string]string{keyWebHDFSURL: "http://127.0.0.1:9870", keyFlushSize: "10"}
		for i := 0; i+1 < len(c.kv); i += 2 {
			raw[c.kv[i]] = c.kv[i+1]
			if c.kv[i+1] == "" {
				delete(raw, c.kv[i])
			}
		}
		conf, errs := Spec().Parse(raw)
		all := append([]connect.KeyError(nil), errs...)
		if len(errs) == 0 {
			all = append(all, validateSettings(conf)...)
		}
		found := false
		for _, e := range all {
			found = found || e.Key == c.key
		}
		if !found {
			t.Errorf("%v: errors %v, want one naming %s", c.kv, all, c.key)
		}
	}
}

func TestWebHDFSURLFromConfluentKeys(t *testing.T) {
	for in, want := range map[string]string{
		"hdfs://namenode:8020":   "http://namenode:9870",
		"hdfs://nn":              "http://nn:9870",
		"webhdfs://nn:50070":     "http://nn:50070",
		"swebhdfs://nn:9871":     "https://nn:9871",
		"https://nn:9871/prefix": "https://nn:9871",
	} {
		u, err := webhdfsURL(in)
		if err != nil || u.String() != want {
			t.Errorf("webhdfsURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}

// TestAgainstRealHDFS writes and recovers against the WebHDFS of a real
// cluster named by SPUR_TEST_WEBHDFS_URL (e.g. from examples/hdfs).
func TestAgainstRealHDFS(t *testing.T) {
	url := os.Getenv("SPUR_TEST_WEBHDFS_URL")
	if url == "" {
		t.Skip("SPUR_TEST_WEBHDFS_URL is not set (docker compose -f examples/hdfs/docker-compose.yml up -d namenode datanode; SPUR_TEST_WEBHDFS_URL=http://127.0.0.1:9870)")
	}
	dir := fmt.Sprintf("/spur-test-%d", time.Now().UnixNano())
	task, sc := startTask(t, url, keyTopicsDir, dir, keyUser, "root")
	put(t, task, sc, recs("t", 0, 0, 7)...)
	// A second task replaying from offset 0 writes nothing twice.
	task2, sc2 := startTask(t, url, keyTopicsDir, dir, keyUser, "root")
	put(t, task2, sc2, recs("t", 0, 0, 9)...)
	if sc.Unacked() != 1 || sc2.Unacked() != 0 {
		t.Fatalf("unacknowledged: %d and %d", sc.Unacked(), sc2.Unacked())
	}
	entries, err := task2.c.list(context.Background(), dir+"/t/partition=0")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.PathSuffix)
	}
	if fmt.Sprint(names) != "[t+0+0000000000+0000000002.json t+0+0000000003+0000000005.json t+0+0000000006+0000000008.json]" {
		t.Fatalf("files %v", names)
	}
}

func TestQuietPartitionsAreCommittedAtTheNextFlush(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL, keyFlushSize, "100")
	put(t, task, sc, recs("t", 0, 0, 2)...)
	flush(t, task) // records came in since the last flush: the file stays open
	put(t, task, sc, recs("t", 1, 0, 2)...)
	if n := len(committed(srv)); n != 0 {
		t.Fatalf("%d files while both partitions are busy", n)
	}
	flush(t, task) // partition 0 was quiet for a whole flush interval
	if got := paths(committed(srv)); fmt.Sprint(got) != "[/topics/t/partition=0/t+0+0000000000+0000000001.json]" || sc.Unacked() != 2 {
		t.Fatalf("files %v, %d unacknowledged", got, sc.Unacked())
	}
}

func TestFlushOutOfTimeWhileHDFSFailsIsRetriable(t *testing.T) {
	srv := webhdfstest.New(t)
	task, sc := startTask(t, srv.URL, keyFlushSize, "100", keyBackoff, "50")
	put(t, task, sc, recs("t", 0, 0, 2)...)
	flush(t, task)
	srv.FailNext("CREATE", 1000, http.StatusServiceUnavailable)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var r interface{ Retriable() bool }
	if err := task.Flush(ctx); !errors.As(err, &r) || !r.Retriable() {
		t.Fatalf("Flush: %v, want a retriable error", err)
	}
	if sc.Unacked() != 2 {
		t.Fatalf("%d unacknowledged", sc.Unacked())
	}
}

func TestDailyBucketsAcrossADaylightSavingChange(t *testing.T) {
	c, _ := Spec().Parse(map[string]string{keyWebHDFSURL: "http://x:1", keyFlushSize: "1", keyPartitioner: "DailyPartitioner", keyTimezone: "Europe/Berlin", keyExtractor: "Record"})
	p, errs := newPartitioner(c)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for ts, want := range map[string]string{
		"2025-03-30T08:00:00Z": "year=2025/month=03/day=30", // 10:00 CEST, after the switch
		"2025-03-29T23:30:00Z": "year=2025/month=03/day=30", // 00:30 CET
		"2025-03-29T22:59:00Z": "year=2025/month=03/day=29",
		"2025-10-26T22:59:00Z": "year=2025/month=10/day=26", // 23:59 CET, after the switch back
	} {
		at, _ := time.Parse(time.RFC3339, ts)
		got, err := p.dir(&connect.Record{Timestamp: at}, time.Time{})
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", ts, got, err, want)
		}
	}
}
