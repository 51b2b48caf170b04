package connecttest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

// StartSink parses raw with p's spec, validates it as the runtime does,
// and starts task on a new SinkContext named name, which it returns. The
// task is stopped when the test ends. Verbose tests log at debug level.
func StartSink(t testing.TB, p *connect.Plugin, task connect.SinkTask, name string, raw map[string]string) *SinkContext {
	t.Helper()
	c, errs := p.Spec.Parse(raw)
	if len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	if kerrs := p.NewConnector().Validate(c); len(kerrs) > 0 {
		t.Fatalf("validate: %v", connect.ConfigErrors(kerrs))
	}
	sc := &SinkContext{Name: name, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		sc.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := task.Start(context.Background(), c, sc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		task.Stop(ctx)
	})
	return sc
}

// Put tracks records on sc, as the runtime does, and puts them, failing
// the test on an error.
func Put(t testing.TB, task connect.SinkTask, sc *SinkContext, records ...*connect.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := task.Put(ctx, sc.Track(records...)); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// Flush flushes task, failing the test on an error.
func Flush(t testing.TB, task connect.SinkTask) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := task.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}
