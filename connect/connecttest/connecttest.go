// Package connecttest provides in-memory task contexts for testing connectors
// without a runtime or a broker.
package connecttest

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/spur-connect/spur/connect"
)

// SinkContext is a connect.SinkContext that records acks and reports.
type SinkContext struct {
	Name    string
	TaskNum int
	Log     *slog.Logger

	mu           sync.Mutex
	acked        map[uint64]int
	reported     []Reported
	retrying     error
	commits      int
	nextSeq      uint64
	FailOnReport bool // Report returns the error instead of tolerating it
}

// Reported is one record handed to SinkContext.Report.
type Reported struct {
	Record *connect.Record
	Err    error
}

func (c *SinkContext) Connector() string { return c.Name }
func (c *SinkContext) Task() int         { return c.TaskNum }
func (c *SinkContext) Logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Report records the failed record; it acks it unless FailOnReport.
func (c *SinkContext) Report(_ context.Context, r *connect.Record, err error) error {
	c.mu.Lock()
	c.reported = append(c.reported, Reported{r, err})
	fail := c.FailOnReport
	c.mu.Unlock()
	if fail {
		return err
	}
	r.Ack()
	return nil
}

func (c *SinkContext) RequestCommit() { c.mu.Lock(); c.commits++; c.mu.Unlock() }

func (c *SinkContext) Retrying(err error) { c.mu.Lock(); c.retrying = err; c.mu.Unlock() }

// Ack implements connect.Acker.
func (c *SinkContext) Ack(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acked == nil {
		c.acked = map[uint64]int{}
	}
	c.acked[seq]++
}

// Track attaches this context as the acker of records, as the runtime does
// before Put, and returns them.
func (c *SinkContext) Track(records ...*connect.Record) []*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range records {
		c.nextSeq++
		r.SetAcker(c, c.nextSeq)
	}
	return records
}

// Unacked returns how many tracked records were not acked yet. Records acked
// twice make it report an error through DoubleAcked.
func (c *SinkContext) Unacked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for s := uint64(1); s <= c.nextSeq; s++ {
		if c.acked[s] == 0 {
			n++
		}
	}
	return n
}

// DoubleAcked returns how many tracked records were acked more than once.
func (c *SinkContext) DoubleAcked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.acked {
		if k > 1 {
			n++
		}
	}
	return n
}

// Reports returns the records handed to Report so far.
func (c *SinkContext) Reports() []Reported {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Reported(nil), c.reported...)
}

// RetryingErr returns the last value passed to Retrying.
func (c *SinkContext) RetryingErr() error { c.mu.Lock(); defer c.mu.Unlock(); return c.retrying }

// SourceContext is a connect.SourceContext with offsets kept in memory.
type SourceContext struct {
	Name    string
	TaskNum int
	Log     *slog.Logger

	mu      sync.Mutex
	offsets map[string]map[string]any
}

func (c *SourceContext) Connector() string { return c.Name }
func (c *SourceContext) Task() int         { return c.TaskNum }
func (c *SourceContext) Logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Offset returns what SetOffset stored for the partition.
func (c *SourceContext) Offset(partition map[string]any) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offsets[key(partition)]
}

// SetOffset stores an offset, as the runtime does after Kafka acked a record.
func (c *SourceContext) SetOffset(partition, offset map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offsets == nil {
		c.offsets = map[string]map[string]any{}
	}
	c.offsets[key(partition)] = offset
}

func key(m map[string]any) string {
	b, _ := json.Marshal(m) // maps marshal with sorted keys
	return string(b)
}
