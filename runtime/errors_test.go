package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

func TestRetryRetriesOnlyRetriableErrorsUntilTheTimeout(t *testing.T) {
	h := &errorHandler{retryTimeout: 1500 * time.Millisecond, retryMaxWait: 400 * time.Millisecond, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	calls := 0
	err := h.retry(context.Background(), func() error {
		calls++
		if calls < 3 {
			return connect.RetriableError(errors.New("flaky"))
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retriable: err %v after %d calls", err, calls)
	}
	calls = 0
	bad := errors.New("malformed")
	if err := h.retry(context.Background(), func() error { calls++; return bad }); err != bad || calls != 1 {
		t.Fatalf("non-retriable retried: err %v, %d calls", err, calls)
	}
	calls = 0
	start := time.Now()
	err = h.retry(context.Background(), func() error { calls++; return connect.RetriableError(errors.New("down")) })
	if err == nil || time.Since(start) > 2*time.Second || calls < 3 {
		t.Fatalf("timeout: err %v after %v and %d calls", err, time.Since(start), calls)
	}
	h.retryTimeout = 0
	calls = 0
	_ = h.retry(context.Background(), func() error { calls++; return connect.RetriableError(errors.New("x")) })
	if calls != 1 {
		t.Fatalf("errors.retry.timeout=0 retried %d times", calls-1)
	}
}
