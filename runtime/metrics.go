package runtime

import (
	"sync"
	"sync/atomic"
	"time"
)

// taskMetrics counts what one task did; /metrics and status read them.
type taskMetrics struct {
	recordsIn  atomic.Int64 // consumed (sink) or polled (source)
	bytesIn    atomic.Int64
	recordsOut atomic.Int64 // put to the task (sink) or acknowledged by Kafka (source)
	filtered   atomic.Int64
	failed     atomic.Int64
	retries    atomic.Int64
	commits    atomic.Int64
	putLatency latency

	mu           sync.Mutex
	putRetrying  error // the runtime retrying Put
	taskRetrying error // the task retrying deliveries (SinkContext.Retrying)
}

func (m *taskMetrics) setRetrying(err error) {
	m.mu.Lock()
	m.putRetrying = err
	m.mu.Unlock()
}

func (m *taskMetrics) setTaskRetrying(err error) {
	m.mu.Lock()
	m.taskRetrying = err
	m.mu.Unlock()
}

// Retrying returns the error being retried, or nil.
func (m *taskMetrics) Retrying() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.taskRetrying != nil {
		return m.taskRetrying
	}
	return m.putRetrying
}

// latency keeps a count and sum of observed durations.
type latency struct {
	count atomic.Int64
	sumNs atomic.Int64
}

func (l *latency) observe(d time.Duration) {
	l.count.Add(1)
	l.sumNs.Add(int64(d))
}

// TaskMetrics is a snapshot of a task's counters.
type TaskMetrics struct {
	RecordsIn, BytesIn, RecordsOut, Filtered, Failed, Retries, Commits int64
	PutCount                                                           int64
	PutSeconds                                                         float64
	Retrying                                                           string
}

func (m *taskMetrics) snapshot() TaskMetrics {
	t := TaskMetrics{
		RecordsIn: m.recordsIn.Load(), BytesIn: m.bytesIn.Load(), RecordsOut: m.recordsOut.Load(),
		Filtered: m.filtered.Load(), Failed: m.failed.Load(), Retries: m.retries.Load(), Commits: m.commits.Load(),
		PutCount: m.putLatency.count.Load(), PutSeconds: float64(m.putLatency.sumNs.Load()) / 1e9,
	}
	if err := m.Retrying(); err != nil {
		t.Retrying = err.Error()
	}
	return t
}
