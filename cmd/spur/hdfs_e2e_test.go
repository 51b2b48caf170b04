package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connectors/hdfs/webhdfstest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHDFSSinkSIGKILLWritesEveryRecordOnce runs the HDFS sink in a worker
// process against the WebHDFS stand-in, SIGKILLs the worker mid-stream
// (files committed but offsets not yet, temp files half way) and lets a
// second worker take over. In the end every record is in exactly one
// committed file: the new owner skipped what the committed file names
// cover and deleted the dead worker's temp files.
func TestHDFSSinkSIGKILLWritesEveryRecordOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("process test is not short")
	}
	const (
		topic = "events"
		total = 12000
	)
	brokerAddr, cl := hsBroker(t, map[string]int32{topic: 4})
	fs := webhdfstest.New(t)

	w1 := startWorker(t, "w1", brokerAddr)
	hsCreate(t, w1.url, "archive", map[string]string{
		"connector.class": "io.confluent.connect.hdfs.HdfsSinkConnector", "topics": topic, "tasks.max": "2",
		"hdfs.url": "webhdfs://" + strings.TrimPrefix(fs.URL, "http://"), "flush.size": "300", "retry.backoff.ms": "50",
		"rotate.schedule.interval.ms": "1000", "timezone": "UTC",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	})
	spread(t, w1.url, "archive", map[string]int{w1.id: 2})

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < total; i += 500 {
			rs := make([]*kgo.Record, 0, 500)
			for n := i; n < i+500; n++ {
				rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(n)), Value: []byte(fmt.Sprintf(`{"n":%d}`, n))})
			}
			if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	counts := func() (map[int]int, int) {
		seen, files := map[int]int{}, 0
		for path, b := range fs.Walk() {
			if !strings.HasPrefix(path, "/topics/"+topic+"/") {
				continue
			}
			files++
			for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
				var v struct{ N int }
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatalf("%s: line %q: %v", path, line, err)
				}
				seen[v.N]++
			}
		}
		return seen, files
	}
	checkFor(t, 90*time.Second, 20*time.Millisecond, func() error {
		if seen, _ := counts(); len(seen) < total/4 {
			return fmt.Errorf("only %d records in files", len(seen))
		}
		return nil
	})
	w1.kill()
	killedAt := time.Now()
	atKill, _ := counts()
	w2 := startWorker(t, "w2", brokerAddr)
	spread(t, w2.url, "archive", map[string]int{w2.id: 2})
	t.Logf("SIGKILL with %d records in committed files; tasks running on the new worker after %v", len(atKill), time.Since(killedAt).Round(100*time.Millisecond))
	<-produced

	checkFor(t, 120*time.Second, 250*time.Millisecond, func() error {
		if seen, _ := counts(); len(seen) != total {
			return fmt.Errorf("%d of %d records in files", len(seen), total)
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond) // a second scheduled rotation: anything written twice shows
	seen, files := counts()
	for n := 0; n < total; n++ {
		if seen[n] != 1 {
			t.Fatalf("record %d is in %d files", n, seen[n])
		}
	}
	tmp := 0
	for path := range fs.Walk() {
		if strings.HasPrefix(path, "/topics/+tmp/") {
			tmp++
		}
	}
	if tmp != 0 {
		t.Errorf("%d temp files left: the new owner deletes a dead writer's", tmp)
	}
	t.Logf("all %d records exactly once in %d files", total, files)
}
