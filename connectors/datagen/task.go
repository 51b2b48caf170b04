package datagen

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
)

// idleWait is how long Poll waits once a task has generated its share: the
// task stays RUNNING (a finished share is not a failure) and costs nothing.
const idleWait = time.Second

// maxDebt bounds how far a paced task catches up after a stall (a slow
// broker, a paused task): at most this much of missed schedule is made up,
// so a stall is not followed by an unbounded burst.
const maxDebt = time.Second

// Events and keys are written into shared chunks of chunkSize bytes; a
// new chunk starts when fewer than maxRecordSize bytes are left, so an
// event never straddles two chunks and a chunk is never copied.
const (
	chunkSize     = 64 << 10
	maxRecordSize = 2048 // event plus key, with a wide margin; TestMaxRecordSize checks it
)

type task struct {
	log       *slog.Logger
	topic     string
	seed      int64
	index     int
	batch     int
	limit     int64 // this task's share of iterations; -1 is unlimited
	seq       int64 // sequence number of the next event
	wallClock bool
	compact   bool // event.shape=compact
	partition map[string]any

	// Pacing: rateGap > 0 spaces events evenly; otherwise maxInterval > 0
	// spaces them randomly (Confluent's max.interval); neither is unpaced.
	rateGap     time.Duration
	maxInterval time.Duration
	next        time.Time // when the next event is due, once paced

	idleLogged bool
	done       chan struct{}
	stopOnce   sync.Once
}

func newTask() *task { return &task{done: make(chan struct{})} }

func (t *task) Start(_ context.Context, cfg connect.Config, sc connect.SourceContext) error {
	t.log = sc.Logger()
	index, count, err := taskPosition(cfg.Raw(), sc.Task())
	if err != nil {
		return fmt.Errorf("datagen task %d: %w", sc.Task(), err)
	}
	t.index = index
	t.topic = cfg.String(keyTopic)
	t.seed = cfg.Int(keySeed)
	t.batch = int(cfg.Int(keyBatchSize))
	t.wallClock = strings.EqualFold(cfg.String(keyEventTime), eventTimeNow)
	t.compact = strings.EqualFold(cfg.String(keyEventShape), eventShapeCompact)
	t.limit = -1
	if it := cfg.Int(keyIterations); it > 0 {
		t.limit = share(it, index, count)
	}
	if rate := cfg.Float(keyRate); rate > 0 {
		t.rateGap = max(time.Duration(float64(time.Second)/rate), 1)
		if cfg.Int(keyMaxInterval) > 0 {
			t.log.Info("datagen: rate takes precedence over max.interval", "rate", rate, "max.interval", cfg.Int(keyMaxInterval))
		}
	} else {
		t.maxInterval = cfg.Millis(keyMaxInterval)
	}

	t.partition = map[string]any{"task": index}
	if off := sc.Offset(t.partition); off != nil {
		seq, err := connect.OffsetInt(off["seq"])
		if err != nil {
			return fmt.Errorf("datagen task %d: committed source offset %v: seq: %w", index, off, err)
		}
		t.seq = seq
	}
	t.log.Info("datagen task started", "topic", t.topic, "task", index, "tasks", count, "seq", t.seq, "share", t.limit)
	return nil
}

// taskPosition reads the task index and count that TaskConfigs wrote. A
// config without them (a task started by hand) is the only task, or the
// one the runtime numbered.
func taskPosition(raw map[string]string, fallback int) (index, count int, err error) {
	index, count = fallback, 1
	if s, ok := raw[keyTaskIndex]; ok {
		if index, err = strconv.Atoi(s); err != nil {
			return 0, 0, fmt.Errorf("%s: %q is not an integer", keyTaskIndex, s)
		}
	}
	if s, ok := raw[keyTaskCount]; ok {
		if count, err = strconv.Atoi(s); err != nil {
			return 0, 0, fmt.Errorf("%s: %q is not an integer", keyTaskCount, s)
		}
	}
	if index < 0 || count < 1 || index >= count {
		return 0, 0, fmt.Errorf("%s=%d is not below %s=%d: the task config was not made by this connector", keyTaskIndex, index, keyTaskCount, count)
	}
	return index, count, nil
}

// Poll returns the next batch of events: up to batch.size of them, only
// those due when paced, none once the task's share is done.
func (t *task) Poll(ctx context.Context) ([]*connect.Record, error) {
	n := t.batch
	if t.limit >= 0 {
		left := t.limit - t.seq
		if left <= 0 {
			if !t.idleLogged {
				t.idleLogged = true
				t.log.Info("datagen task generated its share of iterations; idle until stopped", "share", t.limit)
			}
			t.sleep(ctx, idleWait)
			return nil, nil
		}
		n = int(min(left, int64(n)))
	}

	now := time.Now()
	if t.paced() {
		if t.next.IsZero() {
			t.next = now
		} else if behind := now.Sub(t.next); behind > maxDebt {
			t.next = now.Add(-maxDebt)
		}
		if wait := t.next.Sub(now); wait > 0 {
			if !t.sleep(ctx, wait) {
				return nil, nil
			}
			now = time.Now()
		}
		due := 0
		for due < n && !t.next.After(now) {
			t.next = t.next.Add(t.gap(t.seq + int64(due)))
			due++
		}
		n = due
	}
	return t.generate(n, now), nil
}

func (t *task) paced() bool { return t.rateGap > 0 || t.maxInterval > 0 }

// gap is the pause after event seq: fixed for rate, and for max.interval
// uniform in [0, max.interval), derived from the seed so pacing is as
// reproducible as the events.
func (t *task) gap(seq int64) time.Duration {
	if t.rateGap > 0 {
		return t.rateGap
	}
	h := mix(uint64(t.seed) ^ uint64(t.index)<<48 ^ uint64(seq)*0x2545f4914f6cdd1d)
	return time.Duration(h % uint64(t.maxInterval))
}

// generate builds n records. Values and keys share chunks and records
// share one slice, so a record costs its source offset map and little else.
func (t *task) generate(n int, now time.Time) []*connect.Record {
	if n <= 0 {
		return nil
	}
	var nowMillis int64
	if t.wallClock {
		nowMillis = now.UnixMilli()
	}
	recs := make([]connect.Record, n)
	out := make([]*connect.Record, n)
	var buf []byte
	for i := range recs {
		if cap(buf)-len(buf) < maxRecordSize {
			buf = make([]byte, 0, chunkSize)
		}
		seq := t.seq
		start := len(buf)
		var uid int64
		buf, uid = appendEvent(buf, t.seed, t.index, seq, nowMillis, t.compact)
		mid := len(buf)
		buf = strconv.AppendInt(buf, uid, 10)
		r := &recs[i]
		r.Topic = t.topic
		r.Partition = -1
		r.Timestamp = now
		// Three-index slices: a consumer appending to a value must not
		// overwrite the next record's bytes in the shared buffer.
		r.Key = connect.RawData(connect.FormatString, buf[mid:len(buf):len(buf)])
		r.Value = connect.RawData(connect.FormatJSON, buf[start:mid:mid])
		r.SourcePartition = t.partition
		r.SourceOffset = map[string]any{"seq": seq + 1}
		out[i] = r
		t.seq++
	}
	return out
}

// Commit has nothing to acknowledge upstream: the runtime stores the
// source offset, which is all a restart needs.
func (t *task) Commit(context.Context, *connect.Record) error { return nil }

// Stop ends a Poll that is waiting, from any goroutine.
func (t *task) Stop(context.Context) error {
	t.stopOnce.Do(func() { close(t.done) })
	return nil
}

// sleep waits for d, ctx or Stop, and reports whether the full d passed.
func (t *task) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
	case <-t.done:
	}
	return false
}
