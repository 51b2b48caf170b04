package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-connect/spur/connectors/elasticsearch/estest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestElasticsearchSinkSIGKILLWritesEveryDocumentOnce runs the
// Elasticsearch sink in a worker process against the stand-in, which
// answers slowly and refuses some items with 429 (overload) and the
// documents that break its strict mapping with 400. The worker is
// SIGKILLed mid-stream and a second one takes over. In the end every good
// record is in the index exactly once (record keys are the ids, offsets
// the versions, so re-sent records rewrite their own documents) and every
// bad one is in the dead letter queue with Elasticsearch's reason.
func TestElasticsearchSinkSIGKILLWritesEveryDocumentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("process test is not short")
	}
	const (
		topic = "orders"
		total = 12000
	)
	brokerAddr, cl := hsBroker(t, map[string]int32{topic: 4})
	es := estest.New(t)
	es.CreateIndex(topic, map[string]string{"n": "long", "pad": "keyword"}, true)
	es.SetDelay(30 * time.Millisecond)
	var mu sync.Mutex
	refused := map[string]bool{}
	rejected := 0
	es.RejectItems(func(index, id string) int {
		mu.Lock()
		defer mu.Unlock()
		if !refused[id] && rand.N(50) == 0 {
			refused[id] = true
			rejected++
			return http.StatusTooManyRequests
		}
		return 0
	})
	bad := func(i int) bool { return i%1000 == 7 }

	w1 := startWorker(t, "w1", brokerAddr)
	hsCreate(t, w1.url, "to-es", map[string]string{
		"connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "topics": topic, "tasks.max": "2",
		"connection.url": es.URL, "batch.size": "200", "max.in.flight.requests": "3", "retry.backoff.ms": "20", "max.retries": "-1",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "orders-dlq", "errors.deadletterqueue.context.headers.enable": "true",
	})
	spread(t, w1.url, "to-es", map[string]int{w1.id: 2})

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < total; i += 500 {
			rs := make([]*kgo.Record, 0, 500)
			for n := i; n < i+500; n++ {
				v := fmt.Sprintf(`{"n":%d,"pad":"%050d"}`, n, n)
				if bad(n) {
					v = fmt.Sprintf(`{"n":%d,"unexpected":true}`, n)
				}
				rs = append(rs, &kgo.Record{Topic: topic, Key: []byte("order-" + strconv.Itoa(n)), Value: []byte(v)})
			}
			if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	checkFor(t, 90*time.Second, 20*time.Millisecond, func() error {
		if n := es.Count(topic); n < total/4 {
			return fmt.Errorf("only %d documents", n)
		}
		return nil
	})
	w1.kill()
	killedAt := time.Now()
	atKill := es.Count(topic)
	w2 := startWorker(t, "w2", brokerAddr)
	spread(t, w2.url, "to-es", map[string]int{w2.id: 2})
	t.Logf("SIGKILL with %d documents written; tasks running on the new worker after %v", atKill, time.Since(killedAt).Round(100*time.Millisecond))
	<-produced

	good := total - total/1000
	checkFor(t, 120*time.Second, 250*time.Millisecond, func() error {
		if n := es.Count(topic); n != good {
			return fmt.Errorf("%d of %d documents", n, good)
		}
		return nil
	})
	docs := es.Docs(topic)
	for n := 0; n < total; n++ {
		d, ok := docs["order-"+strconv.Itoa(n)]
		if ok == bad(n) {
			t.Fatalf("order-%d: in the index %v, bad %v", n, ok, bad(n))
		}
		if ok && !strings.Contains(string(d.Source), fmt.Sprintf(`"n":%d,`, n)) {
			t.Fatalf("order-%d holds %s", n, d.Source)
		}
	}

	// The dead letter queue holds each bad record (maybe twice, if the
	// killed worker reported it after its last commit), with the reason.
	dlq := map[string]bool{}
	consumeTopic(t, cl, "orders-dlq", func(r *kgo.Record) {
		msg := header(r, "__connect.errors.exception.message")
		if !strings.Contains(msg, "strict_dynamic_mapping_exception") || !strings.Contains(msg, "order-") {
			t.Errorf("DLQ record %s: message %q", r.Key, msg)
		}
		dlq[string(r.Key)] = true
	}, func() bool { return len(dlq) == total/1000 })
	mu.Lock()
	t.Logf("%d documents exactly once, %d records in the DLQ; %d items refused with 429 and retried; %d bulk requests",
		good, len(dlq), rejected, len(es.BulkRequests()))
	mu.Unlock()
}

// consumeTopic reads topic from the start, calling fn per record, until done.
func consumeTopic(t *testing.T, cl *kgo.Client, topic string, fn func(*kgo.Record), done func() bool) {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(cl.OptValue(kgo.SeedBrokers).([]string)...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !done() {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v", topic, ctx.Err())
		}
		fs.EachRecord(fn)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
