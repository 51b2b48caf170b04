package connect

import (
	"context"
	"errors"
	"log/slog"
)

// Connector is the configuration half of a plugin: it checks a connector
// config and splits the work into task configs. The runtime's group leader
// calls TaskConfigs whenever the connector config changes, so the result
// must be derived from the config alone.
type Connector interface {
	// Validate checks the connector-specific part of the config beyond what
	// the plugin's ConfigSpec already checks. It returns per-key errors.
	Validate(cfg Config) []KeyError
	// TaskConfigs splits the connector config into at most maxTasks task
	// configs. The runtime adds the framework keys (topics, task.class...).
	TaskConfigs(cfg Config, maxTasks int) ([]map[string]string, error)
}

// TaskContext is what the runtime gives every task.
type TaskContext interface {
	// Connector is the connector name, Task the task number.
	Connector() string
	Task() int
	// Logger is a logger carrying the connector and task.
	Logger() *slog.Logger
}

// SinkContext is what the runtime gives a sink task. All its methods may be
// called from any goroutine.
type SinkContext interface {
	TaskContext
	// Report hands a record the task could not deliver to the runtime's error
	// handling (errors.tolerance, the dead letter queue, errors.log.*). It
	// returns nil when the record was handled (written to the DLQ or
	// tolerated), which acknowledges it; an error means the task must fail.
	Report(ctx context.Context, r *Record, err error) error
	// RequestCommit asks for an offset commit soon.
	RequestCommit()
	// Retrying records that the task is retrying a delivery (for status and
	// metrics); pass nil once deliveries succeed again. The runtime keeps this
	// apart from its own Put retries and never clears it.
	Retrying(err error)
}

// SinkTask delivers records to an external system.
//
// The runtime calls Put from one goroutine with batches in offset order per
// partition. Put may deliver synchronously or hand records to background
// work; either way each record must eventually be acknowledged with
// Record.Ack (delivered or deliberately dropped) or passed to
// SinkContext.Report. Offsets are committed only up to the first record not
// yet acknowledged. Put should block (apply backpressure) rather than queue
// without bound.
type SinkTask interface {
	Start(ctx context.Context, cfg Config, sc SinkContext) error
	Put(ctx context.Context, records []*Record) error
	// Flush delivers everything handed to Put so far and returns once it is
	// acknowledged or failed. The runtime calls it before every offset
	// commit (offset.flush.interval.ms), on partition revocation and on
	// stop. If ctx ends first, return a RetriableError: nothing failed, some
	// records are still in flight, and the runtime commits what was acked.
	// Any other error fails the task.
	Flush(ctx context.Context) error
	Stop(ctx context.Context) error
}

// PartitionAware is implemented by sink tasks that keep per-partition state
// (open files, writers). Close is called after the partitions' final commit.
type PartitionAware interface {
	Open(ctx context.Context, partitions []TopicPartition) error
	Close(ctx context.Context, partitions []TopicPartition) error
}

// SourceContext is what the runtime gives a source task.
type SourceContext interface {
	TaskContext
	// Offset returns the last committed source offset of a source partition,
	// or nil if none was committed.
	Offset(partition map[string]any) map[string]any
}

// SourceTask reads from an external system.
type SourceTask interface {
	Start(ctx context.Context, cfg Config, sc SourceContext) error
	// Poll returns the next records. It should block until records are
	// available or ctx is done, returning (nil, nil) when it has nothing.
	Poll(ctx context.Context) ([]*Record, error)
	// Commit is called once per record after Kafka acknowledged it (acks=all),
	// in the order records were polled. This is where a task acknowledges
	// upstream (an MQTT PUBACK).
	Commit(ctx context.Context, r *Record) error
	Stop(ctx context.Context) error
}

// Retriable marks an error that is worth retrying: the runtime keeps the
// same batch and tries again with backoff instead of failing the task.
type Retriable interface {
	Retriable() bool
}

// RetriableError wraps err so the runtime retries.
func RetriableError(err error) error { return retriable{err} }

type retriable struct{ error }

func (retriable) Retriable() bool { return true }
func (r retriable) Unwrap() error { return r.error }

// SystemError wraps err to say the failure is not the record's but the
// system's: a service the task needs is unreachable or refuses its
// credentials. errors.tolerance=all does not skip such a record or send it
// to the dead letter queue, where a whole topic would end up during an
// outage: the task fails (after the retries a RetriableError gets), and is
// restarted once the cause is fixed.
func SystemError(err error) error { return systemError{err} }

type systemError struct{ error }

func (systemError) SystemError() bool { return true }
func (s systemError) Unwrap() error   { return s.error }

// IsSystemError reports whether err, or an error it wraps, is a SystemError.
func IsSystemError(err error) bool {
	var s interface{ SystemError() bool }
	return errors.As(err, &s) && s.SystemError()
}
