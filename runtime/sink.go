package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idleFlush is how long a sink waits for more records before flushing what
// it holds when the topic goes quiet.
const idleFlush = 200 * time.Millisecond

// taskEnv is what a task runner needs from its worker.
type taskEnv struct {
	worker    *Worker
	item      Item
	cfg       connect.Config // task config parsed with the plugin and framework specs
	plugin    *connect.Plugin
	keyConv   connect.Converter
	valueConv connect.Converter
	chain     Chain
	errs      *errorHandler
	log       *slog.Logger
	target    atomic.Value // TargetState
	metrics   *taskMetrics
	inst      *instance // the instance running this task, for status writes
}

func (e *taskEnv) Connector() string       { return e.item.Connector }
func (e *taskEnv) Task() int               { return e.item.Task }
func (e *taskEnv) Logger() *slog.Logger    { return e.log }
func (e *taskEnv) paused() bool            { return e.target.Load() == TargetPaused }
func (e *taskEnv) setTarget(t TargetState) { e.target.Store(t) }

// sinkRunner drives one sink task: it consumes in the connector's consumer
// group, converts and transforms records, hands them to the task, and
// commits per partition only the offsets below which every record was
// acknowledged (delivered, filtered out, or handled by the error policy).
type sinkRunner struct {
	*taskEnv
	task connect.SinkTask
	cl   *kgo.Client

	mu          sync.Mutex // serialises task calls and tracker changes between the loop and rebalance callbacks
	parts       map[connect.TopicPartition]*partTracker
	outstanding atomic.Int64
	stopping    atomic.Bool
	commitNow   atomic.Bool
	maxOut      int64
	consumer    consumerSettings
	lastTopic   string          // for active-topic tracking (guarded by mu)
	seenTopics  map[string]bool // topics already reported (guarded by mu)
}

func newSinkRunner(env *taskEnv, task connect.SinkTask) *sinkRunner {
	return &sinkRunner{taskEnv: env, task: task, parts: map[connect.TopicPartition]*partTracker{}, maxOut: env.cfg.Int("consumer.max.outstanding.records"),
		consumer: resolveConsumer(env.worker.cfg.Config, env.cfg), seenTopics: map[string]bool{}}
}

// Report implements connect.SinkContext.
func (s *sinkRunner) Report(ctx context.Context, r *connect.Record, err error) error {
	var orig *kgo.Record
	if a, seq := r.Acker(); a != nil {
		if p, ok := a.(*partTracker); ok {
			orig = p.original(seq)
		}
	}
	s.metrics.failed.Add(1)
	if herr := s.errs.handle(ctx, StageTaskPut, orig, r.Coordinates(), err); herr != nil {
		return herr
	}
	r.Ack()
	return nil
}

func (s *sinkRunner) RequestCommit()     { s.commitNow.Store(true) }
func (s *sinkRunner) Retrying(err error) { s.metrics.setTaskRetrying(err) }

func (s *sinkRunner) consumerOpts() ([]kgo.Opt, error) {
	group := "connect-" + s.item.Connector
	if g := s.cfg.Raw()["consumer.override.group.id"]; g != "" {
		group = g
	}
	opts := append([]kgo.Opt{}, s.worker.cfg.ClientOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ClientID(fmt.Sprintf("connector-consumer-%s-%d", s.item.Connector, s.item.Task)),
		kgo.SessionTimeout(s.worker.cfg.SessionTimeout),
		kgo.RebalanceTimeout(s.worker.cfg.RebalanceTimeout),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
	)
	opts = append(opts, s.consumer.opts()...)
	if re := s.cfg.String("topics.regex"); re != "" {
		if _, err := regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("topics.regex: %w", err)
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(re))
	} else {
		opts = append(opts, kgo.ConsumeTopics(s.cfg.List("topics")...))
	}
	return opts, nil
}

// run consumes until ctx is done or the task fails. It returns the failure.
func (s *sinkRunner) run(ctx context.Context) error {
	opts, err := s.consumerOpts()
	if err != nil {
		return err
	}
	if err := s.task.Start(ctx, s.cfg, s); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	s.cl = cl
	s.worker.taskStarted(s.inst)

	flushEvery := s.worker.cfg.FlushInterval
	nextCommit := time.Now().Add(flushEvery)
	var failure error
	for failure == nil && ctx.Err() == nil {
		saturated := s.outstanding.Load() >= s.maxOut
		if saturated {
			// The task holds as many unacknowledged records as allowed: stop
			// fetching (bounded memory) and flush now, so a task that acks on
			// Flush (the file sink) frees room without waiting for the interval.
			s.commitNow.Store(true)
		}
		if s.paused() || (saturated && s.outstanding.Load() >= s.maxOut) {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		} else {
			deadline := nextCommit
			if s.outstanding.Load() > 0 {
				// Records are waiting for a flush: if the topic goes quiet,
				// flush soon rather than at the interval (latency of sinks
				// that acknowledge on Flush).
				if soon := time.Now().Add(idleFlush); soon.Before(deadline) {
					deadline = soon
				}
			}
			pollCtx, cancel := context.WithDeadline(ctx, deadline)
			// Batches of max.poll.records (500) keep the time a slow Put
			// holds the commit back short (duplicates after a crash).
			fs := cl.PollRecords(pollCtx, s.consumer.pollRecords)
			cancel()
			if fs.NumRecords() == 0 && s.outstanding.Load() > 0 {
				s.commitNow.Store(true)
			}
			failure = s.process(ctx, fs)
			cl.AllowRebalance()
		}
		if failure == nil && (time.Now().After(nextCommit) || s.commitNow.Swap(false)) {
			failure = s.commit(ctx, nil)
			nextCommit = time.Now().Add(flushEvery)
		}
	}
	return failure
}

// process converts, transforms and puts one poll's records.
func (s *sinkRunner) process(ctx context.Context, fs kgo.Fetches) error {
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		s.log.Warn("fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
	}
	n := fs.NumRecords()
	if n == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := make([]connect.Record, n) // one allocation per poll, not per record
	batch := make([]*connect.Record, 0, n)
	i := 0
	var failure error
	// The records of a poll come partition by partition: remember the last
	// tracker rather than hash the topic name for every record.
	var lastTP connect.TopicPartition
	var lastTr *partTracker
	var bytesIn int64
	fs.EachRecord(func(kr *kgo.Record) {
		if failure != nil {
			return
		}
		if kr.Topic != s.lastTopic { // cheap: a string compare per record
			s.lastTopic = kr.Topic
			if !s.seenTopics[kr.Topic] {
				s.seenTopics[kr.Topic] = true
				go s.worker.trackTopic(s.item.Connector, kr.Topic, s.item.Task)
			}
		}
		r := &recs[i]
		i++
		tp := connect.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}
		tr := lastTr
		if tr == nil || tp != lastTP {
			if tr = s.parts[tp]; tr == nil { // assigned without the callback having run yet
				tr = newPartTracker(&s.outstanding)
				s.parts[tp] = tr
			}
			lastTP, lastTr = tp, tr
		}
		r.SetAcker(tr, tr.add(kr))
		bytesIn += int64(len(kr.Value) + len(kr.Key))
		var out *connect.Record
		var stage Stage
		err := s.errs.retry(ctx, func() (err error) {
			out, stage, err = s.convert(kr, r)
			return err
		})
		if err != nil {
			s.metrics.failed.Add(1)
			if failure = s.errs.handle(ctx, stage, kr, r.Coordinates(), err); failure == nil {
				r.Ack()
			}
			return
		}
		if out == nil {
			s.metrics.filtered.Add(1)
			r.Ack()
			return
		}
		batch = append(batch, out)
	})
	s.metrics.recordsIn.Add(int64(i))
	s.metrics.bytesIn.Add(bytesIn)
	if failure != nil || len(batch) == 0 {
		return failure
	}
	return s.put(ctx, batch)
}

// convert fills r from kr and runs the transform chain.
func (s *sinkRunner) convert(kr *kgo.Record, r *connect.Record) (*connect.Record, Stage, error) {
	r.Topic, r.Partition, r.Offset, r.Timestamp = kr.Topic, kr.Partition, kr.Offset, kr.Timestamp
	if kr.Timestamp.UnixMilli() < 0 {
		r.Timestamp = time.Time{} // Kafka's "no timestamp" (-1)
	}
	var err error
	if r.Key, err = s.keyConv.ToData(kr.Topic, kr.Key); err != nil {
		return nil, StageKeyConverter, err
	}
	if r.Value, err = s.valueConv.ToData(kr.Topic, kr.Value); err != nil {
		return nil, StageValueConverter, err
	}
	if len(kr.Headers) > 0 {
		r.Headers = make(connect.Headers, len(kr.Headers))
		for j, h := range kr.Headers {
			r.Headers[j] = connect.Header{Key: h.Key, Value: h.Value}
		}
	}
	if s.chain == nil {
		return r, "", nil
	}
	out, err := s.chain.Apply(r)
	if err != nil {
		return nil, StageTransformation, err
	}
	return out, "", nil
}

// put hands a batch to the task, retrying retriable failures with backoff.
func (s *sinkRunner) put(ctx context.Context, batch []*connect.Record) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := s.task.Put(ctx, batch)
		s.metrics.putLatency.observe(time.Since(start))
		if err == nil {
			s.metrics.recordsOut.Add(int64(len(batch)))
			s.metrics.setRetrying(nil)
			return nil
		}
		if !isRetriable(err) || ctx.Err() != nil {
			return fmt.Errorf("put %d records (%s to %s): %w", len(batch), batch[0].Coordinates(), batch[len(batch)-1].Coordinates(), err)
		}
		s.metrics.setRetrying(err)
		s.metrics.retries.Add(1)
		s.log.Warn("put failed, retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func isRetriable(err error) bool {
	var r connect.Retriable
	return errors.As(err, &r) && r.Retriable()
}

// commit flushes the task and commits the acknowledged offsets of the given
// partitions (all if nil). The caller must not hold s.mu.
func (s *sinkRunner) commit(ctx context.Context, only map[connect.TopicPartition]bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked(ctx, only)
}

func (s *sinkRunner) commitLocked(ctx context.Context, only map[connect.TopicPartition]bool) error {
	fctx, cancel := context.WithTimeout(ctx, max(s.worker.cfg.FlushTimeout, s.worker.cfg.ShutdownTimeout))
	err := s.task.Flush(fctx)
	cancel()
	if err != nil && !isRetriable(err) {
		// Commit what was acknowledged anyway: it was delivered.
		s.commitAcked(ctx, only)
		return fmt.Errorf("flush: %w", err)
	}
	s.commitAcked(ctx, only)
	return nil
}

func (s *sinkRunner) commitAcked(ctx context.Context, only map[connect.TopicPartition]bool) {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	marks := map[*partTracker]int64{}
	for tp, tr := range s.parts {
		if only != nil && !only[tp] {
			continue
		}
		off, ok := tr.toCommit()
		if !ok {
			continue
		}
		if offsets[tp.Topic] == nil {
			offsets[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		marks[tr] = off
	}
	if len(offsets) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.worker.cfg.FlushTimeout)
	defer cancel()
	var cerr error
	s.cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		cerr = commitResponseErr(resp)
	})
	if cerr != nil {
		s.log.Warn("offset commit failed; will retry on the next commit", "err", cerr)
		return
	}
	for tr, off := range marks {
		tr.markCommitted(off)
	}
	s.metrics.commits.Add(1)
}

func (s *sinkRunner) onAssigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var tps []connect.TopicPartition
	for t, ps := range assigned {
		for _, p := range ps {
			tp := connect.TopicPartition{Topic: t, Partition: p}
			if s.parts[tp] == nil {
				s.parts[tp] = newPartTracker(&s.outstanding)
			}
			tps = append(tps, tp)
		}
	}
	s.log.Info("partitions assigned", "partitions", len(tps))
	if pa, ok := s.task.(connect.PartitionAware); ok && len(tps) > 0 {
		if err := pa.Open(ctx, tps); err != nil {
			s.log.Error("open partitions", "err", err)
			s.worker.failTaskAsync(s.inst, fmt.Errorf("open partitions: %w", err))
		}
	}
}

func (s *sinkRunner) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if s.stopping.Load() {
		return // stop() already flushed, committed and closed everything
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	only := map[connect.TopicPartition]bool{}
	for t, ps := range revoked {
		for _, p := range ps {
			only[connect.TopicPartition{Topic: t, Partition: p}] = true
		}
	}
	if len(only) == 0 {
		return
	}
	if err := s.commitLocked(ctx, only); err != nil {
		s.log.Error("commit on revoke", "err", err)
	}
	s.closeLocked(ctx, only)
	s.log.Info("partitions revoked", "partitions", len(only))
}

func (s *sinkRunner) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	if s.stopping.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	only := map[connect.TopicPartition]bool{}
	for t, ps := range lost {
		for _, p := range ps {
			only[connect.TopicPartition{Topic: t, Partition: p}] = true
		}
	}
	s.closeLocked(ctx, only) // no commit: another member may own them now
	s.log.Warn("partitions lost", "partitions", len(only))
}

func (s *sinkRunner) closeLocked(ctx context.Context, only map[connect.TopicPartition]bool) {
	var tps []connect.TopicPartition
	for tp := range only {
		if tr := s.parts[tp]; tr != nil {
			tr.release()
			delete(s.parts, tp)
		}
		tps = append(tps, tp)
	}
	if pa, ok := s.task.(connect.PartitionAware); ok && len(tps) > 0 {
		if err := pa.Close(ctx, tps); err != nil {
			s.log.Warn("close partitions", "err", err)
		}
	}
}

// stop flushes, commits, closes partitions and the task, and leaves the
// consumer group, within ctx's deadline.
func (s *sinkRunner) stop(ctx context.Context) {
	s.stopping.Store(true)
	if s.cl != nil {
		s.mu.Lock()
		if err := s.commitLocked(ctx, nil); err != nil {
			s.log.Warn("final commit", "err", err)
		}
		all := map[connect.TopicPartition]bool{}
		for tp := range s.parts {
			all[tp] = true
		}
		s.closeLocked(ctx, all)
		s.mu.Unlock()
		s.cl.CloseAllowingRebalance()
	}
	if err := s.task.Stop(ctx); err != nil {
		s.log.Warn("stop task", "err", err)
	}
}

func commitResponseErr(resp *kmsg.OffsetCommitResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}
