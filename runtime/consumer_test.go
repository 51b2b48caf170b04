package runtime

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestConsumerSettingsResolve(t *testing.T) {
	base := map[string]string{"bootstrap.servers": "127.0.0.1:9092"}
	worker := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	conn := func(kv ...string) map[string]string {
		m := map[string]string{"name": "c", "connector.class": "x", "topics": "t"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name         string
		worker, conn map[string]string
		want         consumerSettings
	}{
		{"defaults", worker(), conn(),
			consumerSettings{partitionBytes: 256 << 10, fetchBytes: 4 << 20, minBytes: 1, maxWait: 500 * time.Millisecond, pollRecords: 500}},
		{"worker consumer.*", worker("consumer.max.partition.fetch.bytes", "1048576", "consumer.max.poll.records", "100"), conn(),
			consumerSettings{partitionBytes: 1 << 20, fetchBytes: 4 << 20, minBytes: 1, maxWait: 500 * time.Millisecond, pollRecords: 100}},
		{"connector override wins", worker("consumer.max.poll.records", "100"), conn("consumer.override.max.poll.records", "7", "consumer.override.fetch.max.wait.ms", "50"),
			consumerSettings{partitionBytes: 256 << 10, fetchBytes: 4 << 20, minBytes: 1, maxWait: 50 * time.Millisecond, pollRecords: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc, _, err := ParseWorkerConfig(tc.worker)
			if err != nil {
				t.Fatal(err)
			}
			cc, errs := SinkSpec.Parse(tc.conn)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if got := resolveConsumer(wc.Config, cc); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBadConsumerSettingsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ key, value, msg string }{
		{"max.poll.records", "0", "must be between 1 and 2147483647"},
		{"fetch.max.bytes", "3000000000", "must be between 0 and 2147483647"},
		{"fetch.min.bytes", "-1", "must be between 0 and 2147483647"},
		{"max.partition.fetch.bytes", "lots", "expected an integer"},
	} {
		_, _, err := ParseWorkerConfig(map[string]string{"bootstrap.servers": "127.0.0.1:9092", "consumer." + tc.key: tc.value})
		if err == nil || !strings.Contains(err.Error(), "consumer."+tc.key) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("worker consumer.%s=%s: error %v", tc.key, tc.value, err)
		}
		_, errs := SinkSpec.Parse(map[string]string{"name": "c", "connector.class": "x", "topics": "t", "consumer.override." + tc.key: tc.value})
		if len(errs) == 0 || !strings.Contains(errs.Error(), "consumer.override."+tc.key) || !strings.Contains(errs.Error(), tc.msg) {
			t.Errorf("consumer.override.%s=%s: errors %v", tc.key, tc.value, errs)
		}
	}
}

// consumer.override.max.poll.records bounds what one Put receives.
func TestMaxPollRecordsBoundsPut(t *testing.T) {
	kafka := startKafka(t)
	store := newMemStore()
	w := startWorker(t, kafka, testRegistry(store), nil)
	createConnector(t, w, "src", map[string]string{"connector.class": "seq", "topic": "polls", "count": "2000"})
	createConnector(t, w, "snk", map[string]string{"connector.class": "mem", "topics": "polls", "consumer.override.max.poll.records": "7"})
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if d, _ := store.counts(); d != 2000 {
			return fmt.Errorf("%d distinct records delivered", d)
		}
		return nil
	})
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.maxPut < 1 || store.maxPut > 7 {
		t.Fatalf("a Put received %d records, want at most 7", store.maxPut)
	}
}

func TestMemoryLimitIsZeroMinusOneOrAtLeast32MiB(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{{"0", true}, {"-1", true}, {"33554432", true}, {"1073741824", true}, {"1000", false}, {"-2", false}, {"1g", false}} {
		_, _, err := ParseWorkerConfig(map[string]string{"bootstrap.servers": "127.0.0.1:9092", "memory.limit.bytes": tc.value})
		if ok := err == nil; ok != tc.ok || (err != nil && !strings.Contains(err.Error(), "memory.limit.bytes")) {
			t.Errorf("memory.limit.bytes=%s: error %v", tc.value, err)
		}
	}
}

// Every value the spec accepts (Kafka's ranges) makes a franz-go client
// that starts: 0 sizes and waits, and fetches beyond franz-go's 100 MiB
// default read limit.
func TestConsumerSettingsAtTheirLimitsMakeAClient(t *testing.T) {
	for _, c := range []consumerSettings{
		{pollRecords: 1},
		{partitionBytes: math.MaxInt32, fetchBytes: math.MaxInt32, minBytes: math.MaxInt32, maxWait: math.MaxInt32 * time.Millisecond, pollRecords: math.MaxInt32},
		{partitionBytes: 1 << 20, fetchBytes: 200 << 20, minBytes: 1, maxWait: 5 * time.Millisecond, pollRecords: 500},
	} {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers("127.0.0.1:1"), kgo.ConsumeTopics("t")}, c.opts()...)...)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		cl.Close()
	}
}
