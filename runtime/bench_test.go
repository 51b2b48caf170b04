package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkSinkPath measures records/s from Kafka through the sink runner
// (converters, tracker, Put, ack, commit) into a task that acks at once.
func BenchmarkSinkPath(b *testing.B) {
	b.Run("ack-in-put", func(b *testing.B) { benchSinkPath(b, false) })
	b.Run("ack-on-flush", func(b *testing.B) { benchSinkPath(b, true) })
}

func benchSinkPath(b *testing.B, ackOnFlush bool) {
	kafka := startKafka(b)
	const n = 200000
	createTopic(b, kafka, "bench", 6)
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafka...), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for i := 0; i < n; i++ {
		cl.Produce(context.Background(), &kgo.Record{Value: []byte(fmt.Sprintf(`{"n":%d,"pad":"%0300d"}`, i, i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	t0 := time.Now()
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("produced %d records, flush took %v", n, time.Since(t0))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		store := newMemStore()
		store.ackOnFlush = ackOnFlush
		w := startWorker(b, kafka, testRegistry(store), map[string]string{"group.id": fmt.Sprint("g", i),
			"config.storage.topic": fmt.Sprint("c", i), "status.storage.topic": fmt.Sprint("s", i), "offset.storage.topic": fmt.Sprint("o", i)})
		start := time.Now()
		// A new connector name per iteration: the sink group connect-<name>
		// of an earlier iteration has committed the whole topic.
		name := fmt.Sprint("snk", i)
		if _, err := w.PutConnector(context.Background(), name, map[string]string{"name": name, "connector.class": "mem", "topics": "bench"}, "", false); err != nil {
			b.Fatal(err)
		}
		last := time.Now()
		for {
			d, _ := store.counts()
			if d == n {
				break
			}
			if time.Since(last) > time.Second {
				b.Logf("%v: %d delivered", time.Since(start).Round(time.Millisecond), d)
				last = time.Now()
			}
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
		w.stop(b)
	}
}
