package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBadRecordsGoToTheDLQOrFailTheTask runs malformed JSON through a
// transform chain into the file sink: with errors.tolerance=all every good
// record arrives transformed and every bad one is in the dead letter queue
// with Kafka Connect's context headers (read back with kcat), and the
// committed offsets cover both; with errors.tolerance=none the task fails
// with a trace naming topic, partition, offset and stage.
func TestBadRecordsGoToTheDLQOrFailTheTask(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "good.jsonl")
	broker := "127.0.0.1:" + strconv.Itoa(freePort(t))
	w := startWorker(t, "spur", broker, "--data-dir", filepath.Join(dir, "data"), "--set", "bootstrap.servers=",
		"--set", "embedded.broker.address="+broker)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"raw", "strict"} {
		if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	var rs []*kgo.Record
	good, bad := 0, 0
	for i := 0; i < 200; i++ {
		v := fmt.Sprintf(`{"id":%d,"big":9007199254740993,"email":"u%d@example.com","price":1.10}`, i, i)
		if i%10 == 3 {
			v = fmt.Sprintf(`{"id":%d,"broken":`, i)
			bad++
		} else {
			good++
		}
		rs = append(rs, &kgo.Record{Topic: "raw", Key: []byte(strconv.Itoa(i)), Value: []byte(v),
			Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t" + strconv.Itoa(i))}}})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	b, code, err := httpDo("POST", w.url+"/connectors", map[string]any{"name": "tolerant", "config": map[string]string{
		"connector.class": "FileStreamSink", "topics": "raw", "file": out,
		"transforms": "addSource,dropPII", "transforms.addSource.type": "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.addSource.static.field": "source", "transforms.addSource.static.value": "web",
		"transforms.dropPII.type": "org.apache.kafka.connect.transforms.ReplaceField$Value", "transforms.dropPII.exclude": "email",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "raw-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	}})
	if err != nil || code != 201 {
		t.Fatalf("create: %v %d %s", err, code, b)
	}
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		data, _ := os.ReadFile(out)
		if n := bytes.Count(data, []byte("\n")); n != good {
			return fmt.Errorf("%d of %d good records in the file", n, good)
		}
		return nil
	})
	data, _ := os.ReadFile(out)
	first := strings.SplitN(string(data), "\n", 2)[0]
	if first != `{"big":9007199254740993,"id":0,"price":1.10,"source":"web"}` {
		t.Errorf("transformed record %s", first)
	}

	// The DLQ, read by an independent client.
	var dlq []map[string]any
	checkFor(t, 30*time.Second, 500*time.Millisecond, func() error {
		cmd := exec.Command(kcat, "-C", "-b", broker, "-t", "raw-dlq", "-e", "-J", "-q")
		o, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("kcat: %v", err)
		}
		dlq = nil
		sc := bufio.NewScanner(bytes.NewReader(o))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return err
			}
			dlq = append(dlq, m)
		}
		if len(dlq) != bad {
			return fmt.Errorf("%d of %d bad records in the DLQ", len(dlq), bad)
		}
		return nil
	})
	for _, m := range dlq {
		h := map[string]string{}
		hs, _ := m["headers"].([]any)
		for i := 0; i+1 < len(hs); i += 2 {
			h[fmt.Sprint(hs[i])] = fmt.Sprint(hs[i+1])
		}
		for k, want := range map[string]string{
			"__connect.errors.topic": "raw", "__connect.errors.partition": "0",
			"__connect.errors.connector.name": "tolerant", "__connect.errors.task.id": "0",
			"__connect.errors.stage": "VALUE_CONVERTER",
		} {
			if h[k] != want {
				t.Errorf("DLQ record %v: header %s = %q, want %q", m["key"], k, h[k], want)
			}
		}
		for _, k := range []string{"__connect.errors.offset", "__connect.errors.exception.message", "__connect.errors.exception.class.name", "__connect.errors.exception.stacktrace", "__connect.errors.class.name"} {
			if h[k] == "" {
				t.Errorf("DLQ record %v lacks header %s", m["key"], k)
			}
		}
		key, _ := strconv.Atoi(fmt.Sprint(m["key"]))
		if h["trace"] != "t"+strconv.Itoa(key) || h["__connect.errors.offset"] != strconv.Itoa(key) || !strings.Contains(fmt.Sprint(m["payload"]), `"broken":`) {
			t.Errorf("DLQ record lost its original key, value or headers: %v", m)
		}
	}
	// Committed offsets cover the good and the bad records.
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		offs, err := adm.FetchOffsets(context.Background(), "connect-tolerant")
		if err != nil {
			return err
		}
		if o, ok := offs.Lookup("raw", 0); !ok || o.At != 200 {
			return fmt.Errorf("committed offset %+v, want 200", o)
		}
		return nil
	})

	// errors.tolerance=none: the task fails with a readable trace.
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "strict", Value: []byte(`{"ok":1}`)}, &kgo.Record{Topic: "strict", Value: []byte(`not json`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b, code, err = httpDo("POST", w.url+"/connectors", map[string]any{"name": "strict", "config": map[string]string{
		"connector.class": "FileStreamSink", "topics": "strict", "file": filepath.Join(dir, "strict.jsonl"),
	}})
	if err != nil || code != 201 {
		t.Fatalf("create: %v %d %s", err, code, b)
	}
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		st, err := status(w.url, "strict")
		if err != nil {
			return err
		}
		if len(st.Tasks) != 1 || st.Tasks[0].State != "FAILED" {
			return fmt.Errorf("status %+v", st)
		}
		for _, want := range []string{"strict/0@1", "VALUE_CONVERTER", "Tolerance exceeded", "invalid JSON"} {
			if !strings.Contains(st.Tasks[0].Trace, want) {
				return fmt.Errorf("trace does not name %q: %s", want, st.Tasks[0].Trace)
			}
		}
		return nil
	})
}
