package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/spur-connect/spur/connect"
)

// errors.tolerance=all skips bad records, but a failure that is not the
// record's (connect.SystemError: a service the task needs is down) fails
// the task instead: nothing goes to the dead letter queue, and the record
// is not acknowledged.
func TestSystemErrorsAreNotTolerated(t *testing.T) {
	kafka := startKafka(t)
	store := newMemStore()
	store.fail = func(r *connect.Record) error {
		switch r.Offset {
		case 3:
			return errors.New("bad record")
		case 7:
			return connect.SystemError(errors.New("schema registry unreachable"))
		}
		return nil
	}
	w := startWorker(t, kafka, testRegistry(store), nil)
	createTopic(t, kafka, "sys", 1)
	produceN(t, kafka, "sys", 0, 20)
	createConnector(t, w, "snk", map[string]string{"connector.class": "mem", "topics": "sys",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "sys-dlq", "errors.deadletterqueue.context.headers.enable": "true",
		"consumer.override.max.poll.records": "1"})
	var trace string
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		st, err := w.Status("snk")
		if err != nil || len(st.Tasks) != 1 || st.Tasks[0].State != StateFailed {
			return fmt.Errorf("status %+v %v", st, err)
		}
		trace = st.Tasks[0].Trace
		return nil
	})
	if !strings.Contains(trace, "schema registry unreachable") || !strings.Contains(trace, "not the record's") {
		t.Fatalf("trace %q", trace)
	}
	// The bad record went to the DLQ; the one that met the outage did not.
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafka...), kgo.ConsumeTopics("sys-dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var offsets []string
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "__connect.errors.offset" {
					offsets = append(offsets, string(h.Value))
				}
			}
		})
	}
	if fmt.Sprint(offsets) != "[3]" {
		t.Fatalf("dead letter queue holds offsets %v, want [3]", offsets)
	}
	if d, _ := store.counts(); d != 6 {
		t.Fatalf("%d records delivered before the failure, want 6 (0-6 without 3)", d)
	}
}
