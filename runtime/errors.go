package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stage is where in the record path an error happened (Kafka Connect's names).
type Stage string

const (
	StageKeyConverter    Stage = "KEY_CONVERTER"
	StageValueConverter  Stage = "VALUE_CONVERTER"
	StageHeaderConverter Stage = "HEADER_CONVERTER"
	StageTransformation  Stage = "TRANSFORMATION"
	StageTaskPut         Stage = "TASK_PUT"
	StageTaskPoll        Stage = "TASK_POLL"
	StageKafkaProduce    Stage = "KAFKA_PRODUCE"
)

// RecordError is an error in the record path with everything a human needs
// to find the record: connector, task, stage and coordinates.
type RecordError struct {
	Connector string
	Task      int
	Stage     Stage
	Where     string // topic/partition@offset, or the source partition
	Err       error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("connector %s task %d: stage %s: record %s: %v", e.Connector, e.Task, e.Stage, e.Where, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// errorHandler applies errors.tolerance, errors.log.* and the dead letter
// queue to failed records (Kafka Connect's RetryWithToleranceOperator and
// DeadLetterQueueReporter).
type errorHandler struct {
	connector string
	task      int
	tolerate  bool
	logErrors bool
	logMsgs   bool
	dlqTopic  string
	dlqCtx    bool
	producer  *kgo.Client // shared worker producer
	log       *slog.Logger

	retryTimeout time.Duration // errors.retry.timeout; <0 = forever
	retryMaxWait time.Duration // errors.retry.delay.max.ms

	failed    atomic.Int64 // records that failed, tolerated or not
	dlqWrites atomic.Int64
}

func newErrorHandler(cfg connect.Config, connector string, task int, producer *kgo.Client, log *slog.Logger) *errorHandler {
	return &errorHandler{
		connector: connector,
		task:      task,
		tolerate:  cfg.String("errors.tolerance") == "all",
		logErrors: cfg.Bool("errors.log.enable"),
		logMsgs:   cfg.Bool("errors.log.include.messages"),
		dlqTopic:  cfg.String("errors.deadletterqueue.topic.name"),
		dlqCtx:    cfg.Bool("errors.deadletterqueue.context.headers.enable"),
		producer:  producer,
		log:       log,

		retryTimeout: time.Duration(cfg.Int("errors.retry.timeout")) * time.Millisecond,
		retryMaxWait: cfg.Millis("errors.retry.delay.max.ms"),
	}
}

// retry runs op and, while it fails with a retriable error, runs it again
// with Kafka Connect's backoff (300 ms doubling, capped at
// errors.retry.delay.max.ms) until errors.retry.timeout has passed. Errors
// that are not retriable return at once: retrying a malformed record does
// not make it well-formed.
func (h *errorHandler) retry(ctx context.Context, op func() error) error {
	err := op()
	if err == nil || h.retryTimeout == 0 || !isRetriable(err) {
		return err
	}
	deadline := time.Now().Add(h.retryTimeout)
	wait := 300 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if h.retryTimeout > 0 && !time.Now().Add(wait).Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		if err = op(); err == nil || !isRetriable(err) {
			return err
		}
		h.log.Warn("retrying a failed operation", "attempt", attempt, "err", err)
		if wait *= 2; wait > h.retryMaxWait {
			wait = h.retryMaxWait
		}
	}
}

// handle deals with one failed record. It returns nil when the failure is
// tolerated (the record is then skipped, after the DLQ write was
// acknowledged), or the error that must fail the task.
func (h *errorHandler) handle(ctx context.Context, stage Stage, orig *kgo.Record, where string, err error) error {
	h.failed.Add(1)
	rerr := &RecordError{Connector: h.connector, Task: h.task, Stage: stage, Where: where, Err: err}
	if h.logErrors || !h.tolerate {
		attrs := []any{"stage", stage, "record", where, "err", err}
		if h.logMsgs && orig != nil {
			attrs = append(attrs, "key", string(orig.Key), "value", string(orig.Value))
		}
		h.log.Error("Error encountered in task", attrs...)
	}
	if !h.tolerate {
		return fmt.Errorf("Tolerance exceeded in error handler: %w", rerr)
	}
	if connect.IsSystemError(err) {
		// Not the record's fault (e.g. the schema registry is down):
		// tolerating it would skip every record until the cause is fixed.
		return fmt.Errorf("not tolerated, the failure is not the record's: %w", rerr)
	}
	if h.dlqTopic != "" && orig != nil {
		if err := h.toDLQ(ctx, stage, orig, err); err != nil {
			return fmt.Errorf("writing to dead letter queue %s: %w (original error: %v)", h.dlqTopic, err, rerr)
		}
	}
	return nil
}

func (h *errorHandler) toDLQ(ctx context.Context, stage Stage, orig *kgo.Record, cause error) error {
	r := &kgo.Record{Topic: h.dlqTopic, Key: orig.Key, Value: orig.Value, Timestamp: orig.Timestamp}
	r.Headers = append(r.Headers, orig.Headers...)
	if h.dlqCtx {
		add := func(k, v string) {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: "__connect.errors." + k, Value: []byte(v)})
		}
		add("topic", orig.Topic)
		add("partition", strconv.Itoa(int(orig.Partition)))
		add("offset", strconv.FormatInt(orig.Offset, 10))
		add("connector.name", h.connector)
		add("task.id", strconv.Itoa(h.task))
		add("stage", string(stage))
		add("class.name", stageClass(stage))
		add("exception.class.name", errorClass(cause))
		add("exception.message", cause.Error())
		add("exception.stacktrace", errorTrace(cause))
	}
	if err := h.producer.ProduceSync(ctx, r).FirstErr(); err != nil {
		return err
	}
	h.dlqWrites.Add(1)
	return nil
}

func stageClass(s Stage) string {
	switch s {
	case StageKeyConverter, StageValueConverter, StageHeaderConverter:
		return "spur.runtime.Converter"
	case StageTransformation:
		return "spur.transforms"
	}
	return "spur.connect.SinkTask"
}

// errorClass names the Go type of the innermost error, the closest thing to
// Java's exception class name.
func errorClass(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return fmt.Sprintf("%T", err)
		}
		err = next
	}
}

// errorKind names an error's Go type when it says something (a
// *net.OpError, a connector's own error type), not for plain wrapping.
func errorKind(err error) string {
	switch t := fmt.Sprintf("%T", err); t {
	case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.errorString", "*errors.joinError":
		return ""
	default:
		return t + ": "
	}
}

// errorTrace renders an error chain one cause per line: Go has no stack
// traces on errors, and the chain is what says what happened where.
//
// Wrapped messages repeat their cause ("put: flush: status 400"), so each
// "Caused by" line shows only what its level adds.
func errorTrace(err error) string {
	s := err.Error()
	prev := err.Error()
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		if next := errors.Unwrap(e); next != nil {
			msg = strings.TrimSuffix(msg, ": "+next.Error())
		}
		if msg != prev {
			s += "\nCaused by: " + errorKind(e) + msg
		}
		prev = e.Error()
	}
	return s
}
