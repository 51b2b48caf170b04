package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sourceRunner drives one source task: poll, transform, convert, produce
// (idempotent, acks=all), and only after Kafka acknowledged a record call the
// task's Commit for it (in poll order) and remember its source offset, which
// is written to the offsets topic every offset.flush.interval.ms and on stop.
type sourceRunner struct {
	*taskEnv
	task connect.SourceTask
	prod *kgo.Client

	inflight atomic.Int64
	maxOut   int64
	space    chan struct{} // signalled when in-flight records drop

	mu       sync.Mutex // guards the fields below
	queue    []*sourceEntry
	offsets  map[string]sourceOffset // latest acknowledged offset per source partition
	dirty    bool
	failure  error
	topicsOK map[string]bool
}

type sourceEntry struct {
	rec  *connect.Record
	done bool
	err  error
}

func newSourceRunner(env *taskEnv, task connect.SourceTask) *sourceRunner {
	return &sourceRunner{taskEnv: env, task: task, maxOut: env.cfg.Int("producer.max.outstanding.records"),
		space: make(chan struct{}, 1), offsets: map[string]sourceOffset{}, topicsOK: map[string]bool{}}
}

// Offset implements connect.SourceContext.
func (s *sourceRunner) Offset(partition map[string]any) map[string]any {
	return s.worker.offsets.get(s.item.Connector, partition)
}

func (s *sourceRunner) run(ctx context.Context) error {
	prod, err := kgo.NewClient(append(append([]kgo.Opt{}, s.worker.cfg.ClientOpts...),
		kgo.ClientID(fmt.Sprintf("connector-producer-%s-%d", s.item.Connector, s.item.Task)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(sourcePartition)),
		kgo.ProducerLinger(5*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	s.prod = prod
	// The task reads its offsets in Start: read the offsets topic to its
	// end first, so a task that just moved here from another worker sees
	// that worker's last commit and does not produce again what it did.
	// Like Kafka Connect, wait through an outage of the topic rather than
	// fail the task.
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.worker.offsets.log.readToEnd(rctx)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // stopped before it started
		}
		s.log.Warn("reading the offsets topic before the task starts; retrying", "err", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	if err := s.task.Start(ctx, s.cfg, s); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	s.worker.taskStarted(s.inst)

	flushEvery := s.worker.cfg.FlushInterval
	nextFlush := time.Now().Add(flushEvery)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := s.failed(); err != nil {
			return err
		}
		if time.Now().After(nextFlush) {
			if err := s.flushOffsets(ctx); err != nil {
				s.log.Warn("writing source offsets", "err", err)
			}
			nextFlush = time.Now().Add(flushEvery)
		}
		if s.paused() || s.inflight.Load() >= s.maxOut {
			select {
			case <-ctx.Done():
			case <-s.space:
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		pctx, cancel := context.WithDeadline(ctx, nextFlush)
		recs, err := s.task.Poll(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			if !isRetriable(err) {
				return fmt.Errorf("poll: %w", err)
			}
			s.metrics.retries.Add(1)
			s.log.Warn("poll failed, retrying", "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, r := range recs {
			if err := s.send(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sourceRunner) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure
}

// send transforms, converts and produces one record; the record enters the
// commit queue in poll order whatever happens to it.
func (s *sourceRunner) send(ctx context.Context, r *connect.Record) error {
	s.metrics.recordsIn.Add(1)
	e := &sourceEntry{rec: r}
	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()

	out := r
	if s.chain != nil {
		var err error
		// Transforms change the record in place, so they are not retried.
		if out, err = s.chain.Apply(r); err != nil {
			return s.tolerate(ctx, e, StageTransformation, err)
		}
	}
	if out == nil {
		s.metrics.filtered.Add(1)
		s.complete(ctx, e, nil)
		return nil
	}
	var kr *kgo.Record
	var stage Stage
	err := s.errs.retry(ctx, func() (err error) {
		kr, stage, err = s.convert(out)
		return err
	})
	if err != nil {
		return s.tolerate(ctx, e, stage, err)
	}
	if err := s.ensureTopic(ctx, kr.Topic); err != nil {
		return err
	}
	s.inflight.Add(1)
	// Produce outlives a stop request: stop flushes the producer, so records
	// already handed over are acknowledged and committed, not duplicated.
	s.prod.Produce(context.WithoutCancel(ctx), kr, func(_ *kgo.Record, err error) {
		s.inflight.Add(-1)
		select {
		case s.space <- struct{}{}:
		default:
		}
		if errors.Is(err, kgo.ErrClientClosed) {
			// The task stopped before Kafka answered: the record was not
			// written, so it is neither tolerated nor committed (committing
			// would PUBACK an MQTT message that is in no topic).
			return
		}
		if err != nil {
			if terr := s.tolerate(ctx, e, StageKafkaProduce, err); terr != nil {
				s.mu.Lock()
				if s.failure == nil {
					s.failure = terr
				}
				s.mu.Unlock()
			}
			return
		}
		if err == nil {
			s.metrics.recordsOut.Add(1)
		}
		s.complete(ctx, e, err)
	})
	return nil
}

// convert turns a transformed record into the Kafka record to produce.
func (s *sourceRunner) convert(out *connect.Record) (*kgo.Record, Stage, error) {
	if out.Topic == "" {
		return nil, StageKafkaProduce, errors.New("record has no topic")
	}
	kr := &kgo.Record{Topic: out.Topic, Partition: out.Partition, Timestamp: out.Timestamp}
	var err error
	if kr.Key, err = s.keyConv.FromData(out.Topic, &out.Key); err != nil {
		return nil, StageKeyConverter, err
	}
	if kr.Value, err = s.valueConv.FromData(out.Topic, &out.Value); err != nil {
		return nil, StageValueConverter, err
	}
	for _, h := range out.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr, "", nil
}

// tolerate applies the error policy to a record that could not be sent.
// Tolerated records count as done so their offsets are committed.
func (s *sourceRunner) tolerate(ctx context.Context, e *sourceEntry, stage Stage, err error) error {
	s.metrics.failed.Add(1)
	where := fmt.Sprintf("source partition %v offset %v", e.rec.SourcePartition, e.rec.SourceOffset)
	if herr := s.errs.handle(ctx, stage, nil, where, err); herr != nil {
		return herr
	}
	s.complete(ctx, e, nil)
	return nil
}

// complete marks an entry done and commits the done prefix of the queue in
// poll order: the task's Commit, then the offset bookkeeping.
func (s *sourceRunner) complete(ctx context.Context, e *sourceEntry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.done, e.err = true, err
	n := 0
	for n < len(s.queue) && s.queue[n].done {
		d := s.queue[n]
		n++
		if d.err != nil {
			continue // producing failed; not committed (the task is failing)
		}
		if cerr := s.task.Commit(ctx, d.rec); cerr != nil {
			s.log.Warn("task commit", "err", cerr)
		}
		if d.rec.SourcePartition != nil {
			s.offsets[canonical(d.rec.SourcePartition)] = sourceOffset{d.rec.SourcePartition, d.rec.SourceOffset}
			s.dirty = true
		}
	}
	clear(s.queue[:n])
	s.queue = s.queue[n:]
}

// flushOffsets writes the latest acknowledged offsets to the offsets topic.
func (s *sourceRunner) flushOffsets(ctx context.Context) error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	offs := make([]sourceOffset, 0, len(s.offsets))
	for _, o := range s.offsets {
		offs = append(offs, o)
	}
	s.dirty = false
	s.mu.Unlock()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.worker.cfg.FlushTimeout)
	defer cancel()
	if err := s.worker.offsets.put(fctx, s.item.Connector, offs); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	s.metrics.commits.Add(1)
	return nil
}

// ensureTopic creates a topic the first time the task writes to it: topics
// that are only auto-created by a produce do not survive a broker crash on
// every broker (kfake among them), and explicit creation applies
// topic.creation.default.*.
func (s *sourceRunner) ensureTopic(ctx context.Context, topic string) error {
	if s.topicsOK[topic] {
		return nil
	}
	parts := int32(s.cfg.Int("topic.creation.default.partitions"))
	rf := int16(s.cfg.Int("topic.creation.default.replication.factor"))
	res, err := s.worker.adm.CreateTopic(ctx, parts, rf, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !isTopicExists(err) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	s.topicsOK[topic] = true
	go s.worker.trackTopic(s.item.Connector, topic, s.item.Task)
	return nil
}

// stop waits for in-flight records, commits them and writes the offsets.
func (s *sourceRunner) stop(ctx context.Context) {
	if s.prod != nil {
		if err := s.prod.Flush(ctx); err != nil {
			s.log.Warn("flushing producer on stop", "err", err)
		}
		if err := s.flushOffsets(ctx); err != nil {
			s.log.Warn("writing source offsets on stop", "err", err)
		}
		s.prod.Close()
	}
	if err := s.task.Stop(ctx); err != nil {
		s.log.Warn("stop task", "err", err)
	}
}

// sourcePartition honours a partition set by the task (Partition >= 0) and
// otherwise partitions by key with Kafka's murmur2 hash, like Kafka's default
// partitioner, so keyed records land where a Java producer would put them.
// Records without a key are spread round-robin.
func sourcePartition(string) func(*kgo.Record, int) int {
	var rr int
	return func(r *kgo.Record, n int) int {
		if r.Partition >= 0 && int(r.Partition) < n {
			return int(r.Partition)
		}
		if r.Key == nil {
			rr++
			return rr % n
		}
		return int(murmur2(r.Key)&0x7fffffff) % n
	}
}

// murmur2 is Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2).
func murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}
