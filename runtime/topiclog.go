package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicLog is a compacted topic read from its start and tailed for as long as
// the worker runs: the store behind the config, status and offsets topics
// (Kafka Connect's KafkaBasedLog). Every record goes to apply, in order per
// partition, on the log's own goroutine.
type topicLog struct {
	topic string
	cl    *kgo.Client
	adm   *kadm.Client
	prod  *kgo.Client
	apply func(*kgo.Record)

	mu   sync.Mutex
	pos  map[int32]int64 // next offset to read per partition
	wake chan struct{}   // closed and replaced whenever pos advances
}

func newTopicLog(topic string, opts []kgo.Opt, adm *kadm.Client, prod *kgo.Client, apply func(*kgo.Record)) (*topicLog, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ClientID("spur-store-"+topic),
	)...)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", topic, err)
	}
	return &topicLog{topic: topic, cl: cl, adm: adm, prod: prod, apply: apply, pos: map[int32]int64{}, wake: make(chan struct{})}, nil
}

// run consumes until ctx is done.
func (l *topicLog) run(ctx context.Context) {
	for {
		fs := l.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachRecord(l.apply)
		l.mu.Lock()
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				l.pos[p.Partition] = p.Records[n-1].Offset + 1
			}
		})
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	}
}

// readToEnd blocks until every record that was in the topic when it was
// called has been applied.
func (l *topicLog) readToEnd(ctx context.Context) error {
	ends, err := l.adm.ListEndOffsets(ctx, l.topic)
	if err != nil {
		return fmt.Errorf("store %s: list end offsets: %w", l.topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("store %s: list end offsets: %w", l.topic, err)
	}
	for {
		l.mu.Lock()
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 && l.pos[o.Partition] < o.Offset {
				behind = true
			}
		})
		wake := l.wake
		l.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("store %s: reading to the end: %w", l.topic, ctx.Err())
		}
	}
}

// write produces one record (value nil = tombstone) and waits for the ack.
func (l *topicLog) write(ctx context.Context, key string, value []byte) error {
	return l.writeMany(ctx, []*kgo.Record{{Topic: l.topic, Key: []byte(key), Value: value}})
}

func (l *topicLog) writeMany(ctx context.Context, rs []*kgo.Record) error {
	for _, r := range rs {
		r.Topic = l.topic
	}
	if err := l.prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("store %s: write: %w", l.topic, err)
	}
	return nil
}

func (l *topicLog) close() { l.cl.Close() }

// ensureTopic creates a compacted topic if it is missing and checks the
// partition count of an existing one when want > 0 and exact is set.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, rf int16, exact bool) error {
	cleanup := "compact"
	res, err := adm.CreateTopic(ctx, partitions, rf, map[string]*string{"cleanup.policy": &cleanup}, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s (%d partitions, replication factor %d): %w", topic, partitions, rf, err)
	}
	if !exact {
		return nil
	}
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	if t, ok := td[topic]; ok && t.Err == nil && int32(len(t.Partitions)) != partitions {
		return fmt.Errorf("topic %s has %d partitions; it must have exactly %d", topic, len(t.Partitions), partitions)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func isTopicExists(err error) bool { return errors.Is(err, kerr.TopicAlreadyExists) }
