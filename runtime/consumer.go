package runtime

import (
	"fmt"
	"math"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumerSpec declares the Kafka consumer settings sink tasks honour,
// under Kafka's consumer config names. The worker config sets them for every
// sink with the prefix consumer. (consumer.max.partition.fetch.bytes), a
// connector config for its own tasks with consumer.override., which wins,
// as in Kafka Connect.
//
// The fetch sizes trade memory for throughput. A task holds about two
// fetches of decompressed records (the one it works on and the next), and
// the garbage collector lets the heap grow to twice what is live. With
// Kafka's defaults (1 MiB per partition, 50 MiB per fetch) the bench's
// worker drained ~11% faster and used ~110 MB instead of ~60 MB.
var ConsumerSpec = connect.NewSpec(
	connect.ConfigKey{Name: "max.partition.fetch.bytes", Type: connect.TypeInt, Default: "262144", Importance: connect.Low, Validate: int32Between(0),
		Doc: "Most bytes of one partition in a fetch (Kafka's default is 1048576). A larger batch still comes whole."},
	connect.ConfigKey{Name: "fetch.max.bytes", Type: connect.TypeInt, Default: "4194304", Importance: connect.Low, Validate: int32Between(0),
		Doc: "Most bytes of one fetch over all partitions (Kafka's default is 52428800; at most 1 GiB is used)."},
	connect.ConfigKey{Name: "fetch.min.bytes", Type: connect.TypeInt, Default: "1", Importance: connect.Low, Validate: int32Between(0),
		Doc: "Bytes the broker waits for before it answers a fetch, up to fetch.max.wait.ms."},
	connect.ConfigKey{Name: "fetch.max.wait.ms", Type: connect.TypeInt, Default: "500", Importance: connect.Low, Validate: int32Between(0),
		Doc: "How long the broker may hold a fetch waiting for fetch.min.bytes (at least 10 ms are used: franz-go's minimum)."},
	connect.ConfigKey{Name: "max.poll.records", Type: connect.TypeInt, Default: "500", Importance: connect.Low, Validate: int32Between(1),
		Doc: "Most records one SinkTask.Put receives."},
)

func int32Between(min int64) func(any) error {
	return func(v any) error {
		if n, _ := v.(int64); n < min || n > math.MaxInt32 {
			return fmt.Errorf("must be between %d and %d", min, math.MaxInt32)
		}
		return nil
	}
}

// consumerOverrideSpec is ConsumerSpec under consumer.override., without
// defaults: an unset key keeps the worker's value.
var consumerOverrideSpec = func() *connect.ConfigSpec {
	var keys []connect.ConfigKey
	for _, k := range ConsumerSpec.Keys() {
		k.Doc = fmt.Sprintf("This connector's %s (the worker's consumer.%s by default).", k.Name, k.Name)
		k.Name, k.Group, k.Default = "consumer.override."+k.Name, "Consumer", ""
		keys = append(keys, k)
	}
	return connect.NewSpec(keys...)
}()

// consumerSettings are the resolved consumer settings of one sink task.
type consumerSettings struct {
	partitionBytes, fetchBytes, minBytes int32
	maxWait                              time.Duration
	pollRecords                          int
}

// resolveConsumer merges a connector's consumer.override.* keys over the
// worker's consumer.* keys (both already validated).
func resolveConsumer(worker, conn connect.Config) consumerSettings {
	get := func(key string) int64 {
		if k := "consumer.override." + key; conn.IsSet(k) {
			return conn.Int(k)
		}
		return worker.Int("consumer." + key)
	}
	return consumerSettings{
		partitionBytes: int32(get("max.partition.fetch.bytes")),
		fetchBytes:     int32(get("fetch.max.bytes")),
		minBytes:       int32(get("fetch.min.bytes")),
		maxWait:        time.Duration(get("fetch.max.wait.ms")) * time.Millisecond,
		pollRecords:    int(get("max.poll.records")),
	}
}

// opts renders the settings as franz-go options. Kafka accepts 0 for the
// sizes and the wait; franz-go wants at least 1 byte and 10 ms, reads at
// most 100 MiB from a broker unless told more, and never more than 1 GiB.
func (c consumerSettings) opts() []kgo.Opt {
	const readLimit = 1 << 30
	fetchBytes := min(max(c.fetchBytes, 1), readLimit-1<<20)
	opts := []kgo.Opt{
		kgo.FetchMaxPartitionBytes(max(c.partitionBytes, 1)),
		kgo.FetchMaxBytes(fetchBytes),
		kgo.FetchMinBytes(max(c.minBytes, 1)),
		kgo.FetchMaxWait(max(c.maxWait, 10*time.Millisecond)),
	}
	if fetchBytes > 100<<20 {
		opts = append(opts, kgo.BrokerMaxReadBytes(fetchBytes+1<<20)) // a response's framing on top
	}
	return opts
}
